"""Issue 22 in Chromium: Train on 1,000 training images (from a link) shows the train/test gap in its
charts (the band between the train and test lines, the last gap written on each chart) and its reading
under them, whose numbers are the chart's; the Train form's sections at a phone's width."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import exceptions, main_area, open_app, press, run_ended, wait_until

TRAINING_TIMEOUT_S = 90  # 20 epochs of 1,000 images take ~2 s alone; the machine is shared
CHART_TIMEOUT_MS = 30_000
MEMORISING = re.compile(r"Test cost has risen for (\d+) epochs \(lowest ([\d.]+) at epoch (\d+), now ([\d.]+)\) "
                        r"while train cost fell to ([\d.]+): the network is memorising its 1,000 training images\.")


def test_a_thousand_images_show_the_gap_and_its_reading(page, app_url):
    open_app(page, f"{app_url}/?n=1000&epochs=20")
    main = main_area(page)
    expect(main.get_by_text("Overfitting lab: 1,000 images")).to_be_visible()  # the link's setting, named
    press(page, "Train")
    assert wait_until(lambda: run_ended(page), TRAINING_TIMEOUT_S), main.inner_text()[-1500:]
    assert "finished: 20 epochs" in main.inner_text()

    cost = main.locator(".st-key-train_live [data-chart=cost].js-plotly-plot")  # the live view's (ui/liveview.js)
    accuracy = main.locator(".st-key-train_live [data-chart=accuracy].js-plotly-plot")
    for chart in (cost, accuracy):
        expect(chart).to_be_visible(timeout=CHART_TIMEOUT_MS)
        # the band: the test line's fill down to the train line, drawn with an area
        expect(chart.locator("path.js-fill").first).to_be_attached(timeout=CHART_TIMEOUT_MS)
    cost_gap = cost.locator(".annotation-text", has_text="gap")
    expect(cost_gap).to_have_count(1, timeout=CHART_TIMEOUT_MS)
    expect(accuracy.locator(".annotation-text", has_text=re.compile(r"gap [+-]\d+\.\d pts"))).to_have_count(1)
    band = cost.locator("path.js-fill").first.get_attribute("d")
    assert band and band.count("L") > 10  # an area over the 20 epochs, not an empty path

    reading = main.locator(".st-key-train_reading")
    expect(reading).to_contain_text("1,000 training images", timeout=CHART_TIMEOUT_MS)
    text = reading.inner_text().strip()
    memorising = MEMORISING.fullmatch(text)
    assert memorising, text  # 20 epochs of the post's network on 1,000 images: memorising, measured
    rising, lowest, at, now, train = memorising.groups()
    assert int(rising) == 20 - int(at) and float(now) > float(lowest)
    gap = float(cost_gap.text_content().removeprefix("gap "))  # SVG text: no inner_text
    assert abs(gap - (float(now) - float(train))) <= 0.0015  # the chart's gap is the reading's
    assert exceptions(page) == []


def test_the_train_form_sections_fit_a_phone(browser, app_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        open_app(page, app_url)
        main = main_area(page)
        sections = main.locator("[data-testid='stExpander'] summary")
        expect(sections).to_have_count(4)
        labels = sections.all_inner_texts()  # each with its icon's name too
        assert all(name in label for name, label in zip(["Network", "Training", "Overfitting lab: off",
                                                         "Schedule: constant"], labels)), labels
        expect(main.get_by_text("Hidden units")).to_be_visible()
        expect(main.get_by_text("Training images", exact=True)).to_be_hidden()  # the lab is closed until opened
        sections.nth(2).click()
        expect(main.get_by_text("Training images", exact=True)).to_be_visible()
        for slider in main.locator("[data-testid='stSlider']").all():
            box = slider.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1, box
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        assert exceptions(page) == []
    finally:
        context.close()
