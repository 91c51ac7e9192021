"""The Draw page's logic through Streamlit's AppTest: no model, empty canvas, a drawing, Clear.

AppTest cannot move a mouse, so a drawing is handed to the canvas the way the browser does:
as the component's state (a PNG data URL of the canvas) under the canvas's widget key.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, Trainer
from ui.state import Lab
from tests.digit_strokes import STYLES, Placement, rasterise

ROOT = Path(__file__).resolve().parent.parent
DRAW = "pages/draw.py"


def canvas_state(rgba: np.ndarray) -> dict:
    """What st_canvas holds after a stroke: Fabric's JSON and the canvas as a PNG data URL."""
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"drawing": {"raw": {"objects": [{"type": "Path"}]}, "data": url}}


@pytest.fixture(scope="module")
def small_run(mnist):
    """A quickly trained run (one epoch on the full data is ~0.3 s; enough to read clear digits)."""
    trainer = Trainer(mnist, Hyperparams(epochs=1))
    trainer.run()
    return trainer.result()


def draw_page(run=None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    if run is not None:
        at.session_state["lab"] = Lab(runs=[run], active=0)
    at.switch_page(DRAW)
    at.run()
    assert not at.exception
    return at


def prediction(at: AppTest):
    metrics = [m for m in at.metric if m.label == "Prediction"]
    return metrics[0].value if metrics else None


def test_without_a_model_points_to_train():
    at = draw_page()
    assert any("Train one first" in info.value for info in at.info)
    assert prediction(at) is None
    assert not at.button  # no canvas, no Clear: nothing to draw for
    assert "Train" in str(at.get("page_link")[0].proto)


def test_empty_canvas_shows_a_hint_and_no_prediction(small_run):
    at = draw_page(small_run)
    assert prediction(at) is None
    assert any("empty" in info.value for info in at.info)
    labels = [b.label for b in at.button]
    assert labels[0] == "Clear" and not set("0123456789") & set(labels)  # no drawing to label yet
    at.button[0].click().run()  # Clear on an empty canvas is harmless
    assert not at.exception and prediction(at) is None


def test_a_drawing_is_read_and_clear_empties_the_canvas(small_run):
    at = draw_page(small_run)
    _, _, strokes = next(s for s in STYLES if s[0] == 7)
    seven = rasterise(Placement("medium", 170).apply(strokes, np.random.default_rng(0)))
    at.session_state["draw_canvas_0"] = canvas_state(seven)
    at.run()
    assert not at.exception
    assert prediction(at) == "7"
    assert any("1 stroke, read in" in caption.value for caption in at.caption)
    assert len(at.get("plotly_chart")) == 1  # the ten probabilities
    images = at.get("image")  # the 28x28 input, enlarged, and why it reads 7
    assert len(images) == 2 and "28x28" in str(images[0].proto) and "Why 7" in str(images[1].proto)

    at.button[0].click().run()  # Clear: a new canvas key, a blank canvas
    assert not at.exception
    assert st_key_round(at) == 1
    assert prediction(at) is None and not at.get("plotly_chart")
    assert any("empty" in info.value for info in at.info)


def test_a_blank_canvas_image_counts_as_empty(small_run):
    """After the user draws and undoes, the canvas sends a black image: no prediction."""
    at = draw_page(small_run)
    black = np.zeros((280, 280, 4), np.uint8)
    black[..., 3] = 255
    at.session_state["draw_canvas_0"] = canvas_state(black)
    at.run()
    assert not at.exception and prediction(at) is None


def st_key_round(at: AppTest) -> int:
    return at.session_state["draw_canvas_round"]


def png_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def test_a_grayscale_canvas_image_is_read_like_an_rgba_one(small_run):
    _, _, strokes = next(s for s in STYLES if s[0] == 7)
    seven = rasterise(Placement("medium", 170).apply(strokes, np.random.default_rng(0)))
    at = draw_page(small_run)
    at.session_state["draw_canvas_0"] = {"drawing": {"raw": {"objects": [{"type": "Path"}]},
                                                     "data": png_url(Image.fromarray(seven[..., 0]))}}
    at.run()
    assert not at.exception and prediction(at) == "7"


@pytest.mark.parametrize("data", ["huge", "not base64", "not an image"])
def test_odd_canvas_data_is_refused_in_bounded_memory_and_clears_the_canvas(small_run, data):
    import resource

    url = {"huge": png_url(Image.new("L", (9400, 9400))),  # 88 M pixels, ~90 KB as PNG
           "not base64": "data:image/png,plain",
           "not an image": "data:image/png;base64," + base64.b64encode(b"\x89PNG junk" * 50).decode()}[data]
    at = draw_page(small_run)
    at.session_state["draw_canvas_0"] = {"drawing": {"raw": {"objects": [{"type": "Path"}]}, "data": url}}
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    at.run()
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert not at.exception and prediction(at) is None
    assert any("could not be read" in w.value for w in at.warning)
    assert st_key_round(at) == 1  # a fresh canvas, so the bad value is not read again
    assert growth_mb < 100  # decoding the 9400x9400 image would take ~350 MB


# --- "Why this digit?" and "Make it read as" ------------------------------------------------------

def drawn(label: int) -> np.ndarray:
    _, _, strokes = next(s for s in STYLES if s[0] == label)
    return rasterise(Placement("medium", 170).apply(strokes, np.random.default_rng(0)))


def pills(at: AppTest, label: str):
    return next(p for p in at.pills if p.label == label)


def test_empty_canvas_explains_nothing_and_offers_no_perturb(small_run):
    at = draw_page(small_run)
    assert any("Nothing to explain yet" in info.value for info in at.info)
    assert not at.pills and not at.get("image") and "Perturb" not in [b.label for b in at.button]


def test_why_shows_the_saliency_of_the_reading_or_of_a_chosen_digit(small_run):
    at = draw_page(small_run)
    at.session_state["draw_canvas_0"] = canvas_state(drawn(3))
    at.run()
    assert not at.exception and prediction(at) == "3"
    why = at.get("image")[1].proto
    assert "Why 3 (its reading)" in str(why)
    pills(at, "Pixels that push for or against").set_value(8).run()
    assert not at.exception
    assert "Why 8:" in str(at.get("image")[1].proto) and at.get("image")[1].proto != why
    pills(at, "Pixels that push for or against").set_value(None).run()  # picked again: back to the reading
    assert "Why 3 (its reading)" in str(at.get("image")[1].proto)


def test_perturb_makes_it_read_the_chosen_digit_and_is_forgotten_with_the_drawing(small_run):
    from nn_core.explain import perturb
    from nn_core.preprocess import decode_canvas_png, to_mnist

    at = draw_page(small_run)
    canvas = canvas_state(drawn(3))
    at.session_state["draw_canvas_0"] = canvas
    at.run()
    perturb_button = next(b for b in at.button if b.label == "Perturb")
    assert perturb_button.disabled  # no digit chosen yet
    pills(at, "Make it read as").set_value(8).run()
    next(b for b in at.button if b.label == "Perturb").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Now read as"] == "8" and metrics["Prediction"] == "3"
    # the figures are those of the same input's perturbation computed here
    field = to_mnist(decode_canvas_png(base64.b64decode(canvas["drawing"]["data"].split(",")[1])))
    result = perturb(small_run.model, field, 8)
    assert result.success and small_run.model.predict(result.image)[0] == 8
    assert metrics["Change (L2)"] == f"{result.l2:.2f}"
    assert metrics["Largest pixel change"] == f"{result.max_change:.2f}"
    assert 0 < result.max_change <= 1
    assert len(at.get("image")) == 4  # the input, why, the changed input and the change
    assert at.session_state["draw_perturbation"].result.read_as == 8

    at.session_state["draw_canvas_0"] = canvas_state(drawn(7))  # another drawing: the result is stale
    at.run()
    assert not at.exception and prediction(at) == "7"
    assert "Now read as" not in [m.label for m in at.metric]


def test_perturb_into_the_digit_it_already_reads_changes_nothing(small_run):
    at = draw_page(small_run)
    at.session_state["draw_canvas_0"] = canvas_state(drawn(7))
    at.run()
    pills(at, "Make it read as").set_value(7).run()
    next(b for b in at.button if b.label == "Perturb").click().run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Now read as"] == "7" and metrics["Change (L2)"] == "0.00"
    assert any("already reads as 7" in info.value for info in at.info)


def test_perturb_says_so_when_it_cannot(small_run, monkeypatch):
    """Within 0 steps nothing can change: the page says it could not, and what it still reads."""
    import nn_core.explain

    monkeypatch.setattr(nn_core.explain, "MAX_STEPS", 0)
    at = draw_page(small_run)
    at.session_state["draw_canvas_0"] = canvas_state(drawn(3))
    at.run()
    pills(at, "Make it read as").set_value(8).run()
    next(b for b in at.button if b.label == "Perturb").click().run()
    assert not at.exception
    assert any("could not be made to read as 8" in w.value for w in at.warning)
    assert {m.label: m.value for m in at.metric}["Now read as"] == "3"
