"""The Train page in headless Chromium against a live server: full default training, Stop, and
session isolation between two browser contexts."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import exceptions, go_to, main_area, metric_value, new_page, open_app, press, wait_for_metric

TRAINING_TIMEOUT_MS = 120_000  # a default run takes ~3 s alone; the machine is shared with other suites
CHART_TIMEOUT_MS = 30_000  # the page reruns in full right after showing a result and draws its charts again


def percent(text: str) -> float:
    match = re.fullmatch(r"(\d+\.\d{2})%", text.strip())
    assert match, f"not a percentage with two decimals: {text!r}"
    return float(match.group(1))


def test_train_with_defaults_reaches_97_percent(page, app_url):
    open_app(page, app_url)
    press(page, "Train")
    value = wait_for_metric(page, "Test accuracy", TRAINING_TIMEOUT_MS)
    assert percent(value.inner_text()) >= 97.0
    assert metric_value(page, "Test cost").inner_text()
    assert metric_value(page, "Training time").inner_text().endswith(" s")
    # The run's two charts (the costs and the accuracy, live charts kept from the run): waited for, as
    # the page has just rerun.
    for chart in ("cost", "accuracy"):
        expect(main_area(page).locator(f".st-key-train_live [data-chart={chart}].js-plotly-plot")).to_be_visible(
            timeout=CHART_TIMEOUT_MS)
    # The post's reference curve is drawn for the post's settings.
    expect(main_area(page).get_by_text("post's test cost").first).to_be_attached(timeout=CHART_TIMEOUT_MS)
    assert exceptions(page) == []
    assert "finished: 9 epochs" in main_area(page).inner_text()


def test_stop_keeps_the_partial_model(page, app_url):
    open_app(page, f"{app_url}/?epochs=50")
    epochs = main_area(page).locator("[data-testid='stSlider']").filter(has_text="Epochs")
    assert epochs.locator("[data-testid='stSliderThumbValue']").inner_text() == "50"  # from the link
    press(page, "Train")
    progress = main_area(page).locator("[data-testid='stProgress']")
    progress.filter(has_text=re.compile(r"Epoch [3-9]/50")).wait_for(timeout=TRAINING_TIMEOUT_MS)
    press(page, "Stop")
    main_area(page).get_by_text("stopped by you").wait_for(timeout=30_000)
    accuracy = metric_value(page, "Test accuracy")
    assert percent(accuracy.inner_text()) >= 90.0  # two or more epochs on the full set
    assert progress.count() == 0  # no longer training
    # the fragment shows the result at once; the full-page rerun that follows enables Train again
    expect(main_area(page).get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=30_000)
    assert exceptions(page) == []


def test_a_model_trained_in_one_session_is_not_visible_in_another(browser, app_url):
    (first, a), (second, b) = new_page(browser), new_page(browser)
    try:
        open_app(a, f"{app_url}/?epochs=1")
        open_app(b, app_url)
        press(a, "Train")
        wait_for_metric(a, "Test accuracy", TRAINING_TIMEOUT_MS)
        assert "Run history" in main_area(a).inner_text()

        b.wait_for_timeout(500)  # let any stray message arrive
        assert metric_value(b, "Test accuracy").count() == 0
        shown = main_area(b).inner_text()
        assert "Press Train" in shown and "Runs of this session appear here" in shown
        go_to(b, "Evaluate")
        b.get_by_text("No trained model yet in this session").wait_for(timeout=30_000)
        assert exceptions(b) == []
    finally:
        first.close()
        second.close()
