"""The Train page in headless Chromium against a live server: full default training, Stop, and
session isolation between two browser contexts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

MAIN = "[data-testid='stMain']"
TRAINING_TIMEOUT_MS = 120_000  # a default run takes ~3 s alone; the machine is shared with other suites


def main(page):
    return page.locator(MAIN)


def open_train(page, url: str):
    page.goto(url)
    main(page).get_by_role("button", name="Train", exact=True).wait_for(timeout=60_000)


def press(page, name: str):
    # The app's own buttons, not Streamlit's "Stop" in the header.
    main(page).get_by_role("button", name=name, exact=True).click()


def metric_value(page, label: str):
    metric = main(page).locator("[data-testid='stMetric']").filter(has_text=label)
    return metric.locator("[data-testid='stMetricValue']")


def wait_for_metric(page, label: str):
    """The metric's value element once shown; on timeout, fail with what the page shows instead."""
    value = metric_value(page, label)
    try:
        value.wait_for(timeout=TRAINING_TIMEOUT_MS)
    except Exception:
        pytest.fail(f"no {label!r} metric after {TRAINING_TIMEOUT_MS / 1000:.0f} s; the page shows: "
                    f"{main(page).inner_text()[-1500:]!r}")
    return value


def percent(text: str) -> float:
    match = re.fullmatch(r"(\d+\.\d{2})%", text.strip())
    assert match, f"not a percentage with two decimals: {text!r}"
    return float(match.group(1))


def test_train_with_defaults_reaches_97_percent(page, app_url):
    open_train(page, app_url)
    press(page, "Train")
    value = wait_for_metric(page, "Test accuracy")
    assert percent(value.inner_text()) >= 97.0
    assert metric_value(page, "Test cost").inner_text()
    assert metric_value(page, "Training time").inner_text().endswith(" s")
    assert main(page).locator("[data-testid='stPlotlyChart'] .js-plotly-plot").count() >= 2
    # The post's reference curve is drawn for the post's settings.
    assert main(page).get_by_text("post's test cost").count() >= 1
    assert page.locator("[data-testid='stException']").count() == 0
    assert "finished: 9 epochs" in main(page).inner_text()


def test_stop_keeps_the_partial_model(page, app_url):
    open_train(page, f"{app_url}/?epochs=50")
    epochs = main(page).locator("[data-testid='stSlider']").filter(has_text="Epochs")
    assert epochs.locator("[data-testid='stSliderThumbValue']").inner_text() == "50"  # from the link
    press(page, "Train")
    progress = main(page).locator("[data-testid='stProgress']")
    progress.filter(has_text=re.compile(r"Epoch [3-9]/50")).wait_for(timeout=TRAINING_TIMEOUT_MS)
    press(page, "Stop")
    main(page).get_by_text("stopped by you").wait_for(timeout=30_000)
    accuracy = metric_value(page, "Test accuracy")
    assert percent(accuracy.inner_text()) >= 90.0  # two or more epochs on the full set
    assert progress.count() == 0  # no longer training
    # the fragment shows the result at once; the full-page rerun that follows enables Train again
    expect(main(page).get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_model_trained_in_one_session_is_not_visible_in_another(browser, app_url):
    first = browser.new_context(viewport={"width": 1400, "height": 1000})
    second = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        a, b = first.new_page(), second.new_page()
        open_train(a, f"{app_url}/?epochs=1")
        open_train(b, app_url)
        press(a, "Train")
        wait_for_metric(a, "Test accuracy")
        assert "Run history" in main(a).inner_text()

        b.wait_for_timeout(500)  # let any stray message arrive
        assert metric_value(b, "Test accuracy").count() == 0
        assert "Press Train" in main(b).inner_text() and "Runs of this session appear here" in main(b).inner_text()
        b.get_by_role("link", name="Evaluate").click()
        b.get_by_text("No trained model yet in this session").wait_for(timeout=30_000)
        assert b.locator("[data-testid='stException']").count() == 0
    finally:
        first.close()
        second.close()
