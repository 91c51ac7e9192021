"""The Draw page's "my digits" through AppTest: label buttons, the set's section (counts, removal,
download and upload), and fine-tuning as a run of its own, on the real MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from nn_core import Hyperparams, LocalBackend, RunStatus, Trainer
from nn_core.handwriting import MAX_DRAWINGS, MIN_DRAWINGS, VARIATIONS, DigitSet
from nn_core.preprocess import to_mnist
from tests.digit_strokes import rasterise
from tests.personal_hand import teaching
from tests.test_draw_page import canvas_state, draw_page, prediction
from ui.state import Lab, Score

DRAWINGS = teaching()


@pytest.fixture(scope="module")
def small_run(mnist):
    trainer = Trainer(mnist, Hyperparams(epochs=1))
    trainer.run()
    return trainer.result()


def session(at) -> Lab:
    return at.session_state["lab"]


def open_with(run, mnist, digits: DigitSet | None = None):
    at = draw_page(run)
    lab = session(at)
    lab.backend = LocalBackend(mnist)
    lab.scores[0] = Score(0.1, 0.95)  # as if scored when it joined
    if digits is not None:
        lab.digits = digits
    return at.run()


def draw(at, drawing):
    at.session_state[f"draw_canvas_{at.session_state['draw_canvas_round']}"] = canvas_state(rasterise(drawing.strokes))
    return at.run()


def test_a_label_button_keeps_what_the_network_saw_and_clears_the_canvas(small_run, mnist):
    at = open_with(small_run, mnist)
    assert not at.exception and not [b for b in at.button if b.label == "7"]  # nothing to label yet
    seven = next(d for d in DRAWINGS if d.label == 7)
    draw(at, seven)
    assert prediction(at) is not None
    at.button(key="draw_label_7").click().run()
    assert not at.exception
    digits = session(at).digits
    assert len(digits) == 1 and digits.labels.tolist() == [7]
    seen = to_mnist(rasterise(seven.strokes))
    assert np.abs(digits.fields()[0] - seen).max() <= 0.5 / 255 + 1e-6
    assert at.session_state["draw_canvas_round"] == 1 and prediction(at) is None  # a fresh canvas
    assert any("1 drawing: 1× 7" in c.value for c in at.caption)
    assert any("7: 1" in str(image.proto) for image in at.get("image"))  # its thumbnail row


def test_removing_a_drawing(small_run, mnist):
    three = DigitSet.empty().add(np.zeros(784), 1).add(np.ones(784), 2).add(np.zeros(784), 3)
    at = open_with(small_run, mnist, three)
    at.selectbox(key="draw_remove_pick").set_value(1).run()
    at.button(key="draw_remove").click().run()
    assert not at.exception and session(at).digits.labels.tolist() == [1, 3]


def test_too_few_digits_get_a_clear_message_and_no_run(small_run, mnist):
    at = open_with(small_run, mnist, DigitSet.empty().add(np.zeros(784), 1))
    at.button(key="draw_tune").click().run()
    assert not at.exception
    assert any("Too few digits to learn from" in w.value and f"at least {MIN_DRAWINGS}" in w.value for w in at.warning)
    assert len(session(at).runs) == 1 and session(at).current is None


def test_fine_tuning_is_a_run_in_the_history_made_active(small_run, mnist):
    digits = DigitSet.empty()
    for drawing in DRAWINGS:
        digits = digits.add(to_mnist(rasterise(drawing.strokes)), drawing.label)
    at = open_with(small_run, mnist, digits)
    at.button(key="draw_tune").click().run()
    assert not at.exception, at.exception
    lab = session(at)
    assert len(lab.runs) == 2 and lab.active == 1 and lab.current is None
    tuned = lab.runs[1]
    assert tuned.status == RunStatus.DONE and tuned.origin == "fine-tuned from #1 on 30 of your digits"
    assert tuned.hparams.hidden_units == small_run.hparams.hidden_units
    message = next(s.value for s in at.success if "fine-tuned" in s.value)
    tuning = lab.tuning
    (check_before, _), (check_after, own_after) = tuning.before, tuning.after
    assert f"reads {check_after.fraction:.0%} right (before: {check_before.fraction:.0%})" in message
    assert f"{own_after.right} of 30" in message and "Test accuracy" in message
    assert check_after.fraction > check_before.fraction  # it learned the hand
    assert not np.array_equal(tuned.model.flat, small_run.model.flat)
    # the training mix (~31 MB for 500 drawings) is held only while the run trains: the ended tuning
    # keeps neither its run nor its mix, and its message the count of variations
    assert tuning.run is None and tuning.plan.mix is None and tuning.variations == 30 * VARIATIONS
    assert f"{30 * VARIATIONS:,} variations" in message


def test_a_bad_upload_changes_nothing_and_a_good_one_adds(small_run, mnist):
    """AppTest has no file uploader: the page's own handler is called with upload-like objects."""
    from ui.handwriting import add_uploaded

    class Upload:
        def __init__(self, name, data):
            self.name, self.file_id, self._data = name, name, data

        def getvalue(self):
            return self._data

    at = open_with(small_run, mnist, DigitSet.empty().add(np.zeros(784), 4))
    lab = session(at)
    import streamlit as st  # the handler reads the session through st.session_state

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(st, "session_state", {"lab": lab})
        added, message = add_uploaded(Upload("*evil*.npz", b"not a zip"))
        assert not added and "not added" in message and r"\*evil\*" in message and len(lab.digits) == 1
        good = DigitSet.empty().add(np.ones(784), 8).add(np.ones(784), 9)
        added, message = add_uploaded(Upload("mine.npz", good.to_bytes()))
        assert added and "added 2 drawings" in message and lab.digits.labels.tolist() == [4, 8, 9]
        assert add_uploaded(Upload("mine.npz", good.to_bytes()))[0] and len(lab.digits) == 3  # once per file
        lab.digits = DigitSet(np.zeros((MAX_DRAWINGS - 1, 784), np.uint8), np.zeros(MAX_DRAWINGS - 1, np.uint8))
        added, message = add_uploaded(Upload("more.npz", good.to_bytes()))
        assert not added and f"more than {MAX_DRAWINGS}" in message and len(lab.digits) == MAX_DRAWINGS - 1


def test_a_diverging_fine_tuning_says_so_and_keeps_the_active_model(small_run, mnist):
    """A base model trained at a learning rate that fine-tuning's half of still blows up."""
    from dataclasses import replace

    wild = replace(small_run, hparams=replace(small_run.hparams, learning_rate=1000.0))
    digits = DigitSet.empty()
    for drawing in DRAWINGS[:6]:
        digits = digits.add(to_mnist(rasterise(drawing.strokes)), drawing.label)
    at = open_with(wild, mnist, digits)
    at.button(key="draw_tune").click().run()
    assert not at.exception, at.exception
    lab = session(at)
    assert lab.runs[1].status == RunStatus.DIVERGED and lab.active == 0
    assert any("Fine-tuning diverged" in e.value and "active model is unchanged" in e.value for e in at.error)
    assert not any("fine-tuned on your" in s.value for s in at.success)
