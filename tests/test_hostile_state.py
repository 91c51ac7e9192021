"""State a user's browser sends that no widget would (#25): a canvas's JSON of the wrong shape, a Plotly
click at x "1e999", a file of no drawings. Each gets a message or is ignored; none raises in the session."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, Mnist, Trainer
from nn_core.handwriting import DigitSet
from ui.canvas import MAX_DATA_URL_CHARACTERS, stroke_count
from ui.charts_common import selected_points
from ui.charts_evaluate import cell_from_selection
from ui.state import Lab
from tests.digit_strokes import STYLES, Placement, rasterise

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small_run(mnist):
    trainer = Trainer(Mnist(mnist.train_images[:5000], mnist.train_labels[:5000], mnist.test_images,
                            mnist.test_labels), Hyperparams(epochs=1, hidden_units=32))
    trainer.run()
    return trainer.result()


def seven_url() -> str:
    _, _, strokes = next(s for s in STYLES if s[0] == 7)
    buffer = io.BytesIO()
    Image.fromarray(rasterise(Placement("medium", 170).apply(strokes, np.random.default_rng(0)))).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# (the canvas's state, whether the drawing in it can still be read)
HOSTILE_CANVAS = {
    "objects: 5": ({"drawing": {"raw": {"objects": 5}, "data": "SEVEN"}}, True),
    "raw: [1]": ({"drawing": {"raw": [1], "data": "SEVEN"}}, True),
    "objects: [1, 'x']": ({"drawing": {"raw": {"objects": [1, "x", None]}, "data": "SEVEN"}}, True),
    "data: 5": ({"drawing": {"raw": {"objects": []}, "data": 5}}, False),
    "drawing: 'x'": ({"drawing": "x"}, False),
    "drawing: [1]": ({"drawing": [1]}, False),
    "backgroundFit: 5": ({"drawing": {"raw": {"objects": []}, "data": "SEVEN"}, "backgroundFit": 5}, False),
    "a 20 MB data URL": ({"drawing": {"raw": {"objects": []}, "data": "data:image/png;base64," + "A" * 20_000_000}},
                         False),
}


@pytest.mark.parametrize("name", HOSTILE_CANVAS)
def test_a_hostile_canvas_state_never_raises(small_run, name):
    state, readable = HOSTILE_CANVAS[name]
    if isinstance(state["drawing"], dict) and state["drawing"].get("data") == "SEVEN":
        state = {**state, "drawing": {**state["drawing"], "data": seven_url()}}
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.session_state["lab"] = Lab(runs=[small_run], active=0)
    at.switch_page("pages/draw.py").run()
    at.session_state["draw_canvas_0"] = state
    at.run()
    assert not at.exception, at.exception
    read = [m.value for m in at.metric if m.label == "Prediction"]
    if readable:  # the odd JSON is only the stroke count's: the drawing itself still reads
        assert read == ["7"] and any("0 strokes" in c.value for c in at.caption)
    else:
        assert not read and any("could not be read" in w.value for w in at.warning)
        assert at.session_state["draw_canvas_round"] == 1  # a fresh canvas: the bad state is not read again
        at.run()
        assert not at.exception and any("empty" in i.value for i in at.info)


def test_stroke_count_reads_only_a_canvas_json():
    assert stroke_count({"objects": [{"type": "path"}, {"type": "Path"}, {"type": "rect"}]}) == 2
    for odd in (None, 5, "x", [1], {"objects": 5}, {"objects": "path"}, {"objects": [1, None, ["path"]]}):
        assert stroke_count(odd) == 0
    assert MAX_DATA_URL_CHARACTERS < 6_000_000


@pytest.mark.parametrize("chart", [
    {"selection": {"points": [{"x": "1e999", "y": 3}]}}, {"selection": {"points": [{"x": 2, "y": float("nan")}]}},
    {"selection": {"points": [{"x": [1], "y": {}}]}}, {"selection": {"points": [1, "x", None]}},
    {"selection": {"points": 5}}, {"selection": {"points": {"x": 1, "y": 2}}}, {"selection": 5}, {"selection": "x"},
    {"selection": [1]}, 5, "x", None, {}, {"selection": {"points": [{"x": 11, "y": -1}]}},
])
def test_a_hostile_plotly_click_chooses_no_cell(chart):
    assert cell_from_selection(selected_points(chart)) is None


def test_a_real_click_still_chooses_its_cell():
    chart = {"selection": {"points": [{"x": "1e999", "y": 3}, {"x": 4.0, "y": 9}]}}  # the first unusable
    assert cell_from_selection(selected_points(chart)) == (9, 4)


def test_an_upload_of_no_drawings_says_the_file_held_none(monkeypatch):
    import streamlit as st

    from ui.handwriting import add_uploaded

    class Upload:
        name = file_id = "empty.npz"

        def getvalue(self):
            return DigitSet.empty().to_bytes()

    lab = Lab(digits=DigitSet.empty().add(np.zeros(784), 4))
    monkeypatch.setattr(st, "session_state", {"lab": lab})
    added, message = add_uploaded(Upload())
    assert not added and message == "empty\\.npz holds no drawings, so nothing was added. Your digits are unchanged."
    assert len(lab.digits) == 1


@pytest.mark.parametrize("chart", [
    {"selection": 5}, {"selection": "x"}, {"selection": {"points": 5}}, {"selection": {"points": [1, "x", None]}},
    {"selection": {"points": [{"curve_number": "1e999", "point_index": 0}]}},
    {"selection": {"points": [{"curve_number": 3, "point_index": 10**30}]}}, 5, None,
])
def test_a_hostile_click_on_the_hidden_map_chooses_no_image(chart):
    from ui.hidden_map import image_at

    rows, labels = np.array([5, 8, 13]), np.array([3, 3, 7])
    assert image_at(selected_points(chart), rows, labels) is None
    assert image_at([{"curve_number": 3, "point_index": 1}], rows, labels) == 8  # a real click still works


@pytest.mark.parametrize("state", [{"width": float("inf")}, {"width": float("nan")}, {"width": 1e300},
                                   {"width": -5}, {"width": "600"}, {"width": True}, {"width": [600]}, 5, "x", None])
def test_a_live_charts_width_from_the_browser_is_used_only_if_a_screen_can_have_it(state, monkeypatch):
    import streamlit as st

    from ui.livechart import DEFAULT_WIDTH, chart_width, reported_width

    assert reported_width(state) is None
    monkeypatch.setattr(st, "session_state", {"chart": state})
    assert chart_width("chart") == DEFAULT_WIDTH  # a width of 1e999 (infinity) raised OverflowError
    assert reported_width({"width": 812}) == 812


@pytest.mark.parametrize("state", [{"width": float("inf"), "need": 5, "ack": "3"}, {"need": "x" * 10_000, "ack": True},
                                   {"ack": 1e300, "need": ["a"]}, {"ack": -7}, 5, "x", None, [1, 2]])
def test_the_live_views_state_from_the_browser_is_read_only_as_what_it_can_be(state, monkeypatch):
    import streamlit as st

    from ui.liveview import _acknowledged, _need, browser_width

    monkeypatch.setattr(st, "session_state", {"view": state})
    assert browser_width("view") is None and _need("view") is None
    assert _acknowledged("view") in (None, -7)  # an int the element never had is simply not found in the records
    monkeypatch.setattr(st, "session_state", {"view": {"width": 812, "need": "1-0.5", "ack": 4}})
    assert (browser_width("view"), _need("view"), _acknowledged("view")) == (812, "1-0.5", 4)
