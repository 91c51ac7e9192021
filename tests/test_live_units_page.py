"""Train's hidden units (ui/live_units.py) through AppTest: the sheet of unit images is the run's own
weights in the page's colours, and after a run a slider replays the epochs it kept. (That they
change while a run trains is checked in Chromium, tests/test_see_it_learn_browser.py.)"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from nn_core.snapshots import unit_images
from ui.images import diverging_rgb
from ui.live_units import COLUMNS, sheet
from ui.state import TRAIN_UNITS_EPOCH
from tests.test_train_page import new_app, session, train  # noqa: F401 (new_app is a fixture)


def test_a_sheet_is_each_units_weights_in_the_colours_of_evaluate(mnist):
    flat = np.random.default_rng(1).standard_normal(784 * 20 + 20 + 200 + 10).astype(np.float32)
    units, limit = unit_images(flat, 20)
    picture = np.asarray(Image.open(io.BytesIO(sheet(units))).convert("RGB"))  # a palette PNG, 28 px a unit
    assert picture.shape == (2 * 28 + 2, COLUMNS * 30 - 2, 3)  # 16 a row, 2 px apart
    W1 = flat[: 784 * 20].reshape(784, 20)
    unit = 17  # second row, second column
    shown = picture[30:58, 30:58]  # (28, 28, 3)
    expected = diverging_rgb(np.clip(W1[:, unit].reshape(28, 28), -limit, limit), limit)
    assert np.abs(shown.astype(int) - expected.astype(int)).max() <= 2  # 127 levels a side


def test_after_a_run_a_slider_replays_its_epochs(new_app):  # noqa: F811
    at = train(new_app(), epochs=3, hidden=16)
    slider = at.select_slider(key=TRAIN_UNITS_EPOCH)
    assert slider.options == ["start", "epoch 1", "epoch 2", "epoch 3"] and slider.value == 3
    captions = [c.value for c in at.caption if "hidden layer's units" in c.value]
    assert captions and captions[0].startswith("The first hidden layer's units after epoch 3 · 16 units")
    slider.set_value(0).run()
    assert not at.exception, at.exception
    assert any(c.value.startswith("The first hidden layer's units before training") for c in at.caption)
    run = session(at).runs[-1]
    assert [s.epoch for s in run.snapshots] == [0, 1, 2, 3]
    # a second run starts its slider at its own end
    at.button(key="train_start").click().run()
    assert len(session(at).runs) == 2 and at.select_slider(key=TRAIN_UNITS_EPOCH).value == 3
