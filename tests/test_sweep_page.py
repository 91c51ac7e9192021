"""The Sweep page through AppTest: a small grid on a 2,000-image subset, its table and charts, a
diverging rate shown as diverged, a run adopted into Train's history, bad values refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nn_core import LocalBackend, Mnist
from ui.state import Lab

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


@pytest.fixture
def sweep_page(mnist):
    small = Mnist(mnist.train_images[:2000], mnist.train_labels[:2000], mnist.test_images, mnist.test_labels)
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lab"] = Lab(backend=LocalBackend(small))
    at.run()
    at.switch_page("pages/sweep.py").run()
    assert not at.exception and at.title[0].value == "Sweep"
    return at


def run_to_end(at: AppTest) -> AppTest:
    at.button(key="sweep_start").click().run()  # AppTest follows the fragment's reruns to the end
    assert not at.exception, at.exception
    assert at.session_state["lab"].sweep.finished
    return at


def test_one_setting_over_a_grid_with_a_diverging_rate(sweep_page):
    at = sweep_page
    at.text_input(key="sweep_values_learning_rate").set_value("0.4, 4, 1000").run()
    assert any("6 runs on 1 worker" in c.value for c in at.caption)  # 3 rates x 2 seeds
    at = run_to_end(at)
    sweep = at.session_state["lab"].sweep
    assert sweep.finished and len(sweep.rows) == 6
    statuses = {(r["learning_rate"], r["seed"]): r["status"] for r in sweep.rows}
    assert statuses == {(lr, seed): "diverged" if lr == 1000 else "done" for lr in (0.4, 4.0, 1000.0)
                        for seed in (138, 139)}
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    line, parallel = charts
    assert any(trace.get("name") == "diverged" for trace in line["data"])  # shown, not dropped
    assert line["layout"]["xaxis"]["type"] == "log"
    assert parallel["data"][0]["type"] == "parcoords" and len(parallel["data"][0]["dimensions"][0]["values"]) == 6
    # a run of the sweep joins Train's history and becomes the active model
    done = next(i for i, r in enumerate(sweep.rows) if r["status"] == "done")
    at.selectbox(key="sweep_pick").set_value(done).run()
    at.button(key="sweep_adopt").click().run()
    lab = at.session_state["lab"]
    assert len(lab.runs) == 1 and lab.active == 0 and lab.runs[0] is sweep.results[done]
    assert any("now the active model" in s.value for s in at.success)


def test_two_settings_give_a_heatmap(sweep_page):
    at = sweep_page
    at.multiselect(key="sweep_varied").set_value(["learning_rate", "hidden_units"]).run()
    at.text_input(key="sweep_values_learning_rate").set_value("1, 4").run()
    at.text_input(key="sweep_values_hidden_units").set_value("16, 32").run()
    at.number_input(key="sweep_seeds").set_value(1).run()
    at = run_to_end(at)
    heatmap = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert heatmap["type"] == "heatmap" and len(heatmap["z"]) == 2 and len(heatmap["z"][0]) == 2


def test_bad_values_and_a_too_big_grid_are_refused(sweep_page):
    at = sweep_page
    at.text_input(key="sweep_values_learning_rate").set_value("4, banana, 5000").run()
    assert any("Learning rate" in e.value for e in at.error) and at.button(key="sweep_start").disabled
    at.text_input(key="sweep_values_learning_rate").set_value(", ".join(str(v) for v in range(1, 40))).run()
    at.number_input(key="sweep_seeds").set_value(5).run()
    assert any("at most 50" in w.value for w in at.warning) and at.button(key="sweep_start").disabled


def test_a_sweep_in_chromium(page, app_url):
    from tests.browser import exceptions, go_to, main_area, open_app, press

    open_app(page, f"{app_url}/?epochs=1")
    go_to(page, "Sweep")
    box = main_area(page).get_by_role("textbox", name="Values of learning rate, separated by commas")
    box.fill("0.4, 1000")
    box.press("Enter")
    main_area(page).get_by_text("4 runs on").wait_for(timeout=30_000)  # 2 rates x 2 seeds
    press(page, "Run sweep")
    main_area(page).get_by_text("4 of 4 runs ended").wait_for(timeout=120_000)
    main_area(page).get_by_role("heading", name="Results").wait_for(timeout=60_000)
    from playwright.sync_api import expect

    charts = main_area(page).locator("[data-testid='stPlotlyChart']")
    expect(charts.nth(1)).to_be_visible(timeout=30_000)  # the rates' figure and all runs'
    assert "diverged" in main_area(page).inner_text()  # the lr 1000 runs, in the table
    assert exceptions(page) == []


def test_stop_in_chromium_ends_the_sweep_and_keeps_what_ended(page, app_url):
    import re

    from playwright.sync_api import expect

    from tests.browser import exceptions, go_to, main_area, open_app, press

    open_app(page, f"{app_url}/?hidden=512")  # Train's width, which the sweep takes: seconds per run
    go_to(page, "Sweep")
    box = main_area(page).get_by_role("textbox", name="Values of learning rate, separated by commas")
    box.fill("0.1, 0.4, 1, 4")
    box.press("Enter")
    main_area(page).get_by_text("8 runs on").wait_for(timeout=30_000)
    press(page, "Run sweep")
    progress = main_area(page).locator("[data-testid='stProgress']")
    progress.filter(has_text="training").wait_for(timeout=60_000)
    press(page, "Stop")
    progress.filter(has_text="stopped").wait_for(timeout=60_000)
    expect(main_area(page).get_by_role("button", name="Run sweep", exact=True)).to_be_enabled(timeout=30_000)
    ended = int(re.search(r"(\d+) of 8 runs ended", progress.inner_text()).group(1))
    assert 1 <= ended < 8 and "stopped" in main_area(page).inner_text()
    assert exceptions(page) == []
