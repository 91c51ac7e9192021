"""Chromium: Find the learning rate under Train's settings draws the range test, says its rule, and
"Use this rate" moves the learning-rate slider."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import exceptions, main_area, open_app, press


def test_find_the_learning_rate_then_use_it(page, app_url):
    open_app(page, app_url)
    press(page, "Find the learning rate")
    area = main_area(page)
    expect(area.get_by_text("fell fastest")).to_be_visible(timeout=120_000)
    chart = area.locator(".st-key-lrfind_chart .js-plotly-plot")
    expect(chart).to_be_visible(timeout=30_000)
    expect(chart.locator(".scatterlayer .trace")).to_have_count(2)  # raw costs and their smoothing
    expect(chart.get_by_text("slider 4")).to_be_visible()
    use = area.get_by_role("button", name=re.compile(r"^Use this rate \("))
    rate = re.search(r"\((.+)\)", use.inner_text()).group(1)  # the slider's value nearest the suggestion
    assert rate != "4" and float(rate) > 0
    use.click()
    slider = area.locator("[data-testid='stSlider']").filter(has_text="Learning rate")
    expect(slider.locator("[data-testid='stSliderThumbValue']")).to_have_text(rate, timeout=30_000)
    expect(chart.get_by_text(f"slider {rate}")).to_be_visible(timeout=30_000)  # the chart marks the new value
    assert exceptions(page) == []
