"""AppTest tests of changing the learning rate and momentum on Train while a run trains (#21): the
slider's move reaches the session's run, which goes on (not restarted) and records the change; the
other settings are locked meanwhile; the result's message, its charts and its history row name it.

AppTest follows the panel's reruns to the run's end, so a run cannot be caught mid-way by a click:
the run is started and trained part-way by the test itself (what Train and a few polls do), and the
slider is moved before the page polls it again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, LocalBackend, Mnist, Trainer
from nn_core.runs import TRAIN_SAMPLE
from nn_core.settings import SETTINGS
from nn_core.training import CHANGEABLE
from tests.test_train_page import live_figures
from ui.state import Lab, setting_key

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
SUBSET = 2000  # training images: 16 batches of 128 an epoch
TIMEOUT = 60


@pytest.fixture
def small(mnist):
    return Mnist(mnist.train_images[:SUBSET], mnist.train_labels[:SUBSET], mnist.test_images, mnist.test_labels)


def open_train(small) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lab"] = Lab(backend=LocalBackend(small))
    return at.run()


def start_part_way(at: AppTest, hparams: Hyperparams, batches: int):
    """A run of ``hparams`` started in the session (as Train does) and trained ``batches`` batches."""
    lab = at.session_state["lab"]
    run = lab.backend.start(hparams)
    lab.start(run)
    while run.progress().total_batches_done < batches:
        run.poll(0.01)
    assert not run.progress().finished
    return run


def widgets(at: AppTest) -> dict:
    return {w.key: w for w in (*at.select_slider, *at.slider, *at.number_input, *at.selectbox, *at.checkbox)
            if w.key and w.key.startswith("train_") and w.key not in ("train_active_pick",)}


def test_moving_the_learning_rate_during_a_run_changes_it_without_restarting(small):
    at = open_train(small)
    hparams = Hyperparams(epochs=4)
    run = start_part_way(at, hparams, batches=20)  # epoch 1.25 of 4
    done_before = run.progress().total_batches_done
    at.select_slider(key=setting_key("lr")).set_value(0.4).run()  # the page then polls the run to its end
    assert not at.exception, at.exception
    lab = at.session_state["lab"]
    assert lab.current is None and len(lab.runs) == 1  # the same run went on to its end: no second run
    result = lab.runs[0]
    assert result.status == "done" and [s.epoch for s in result.epochs] == [1, 2, 3, 4]
    assert len(result.batch_costs) == 4 * 16 and result.hparams == hparams  # its settings as started
    assert len(result.changes) == 1
    change = result.changes[0]
    assert (change.name, change.value, change.batch) == ("learning_rate", 0.4, done_before)
    words = f"learning rate 4 → 0.4 at epoch {done_before / 16:.1f}"
    assert result.describe_changes() == [words]
    # the message that says it finished, the run's history row and its label name the change
    assert any(words in message.value for message in at.success), [m.value for m in at.success]
    history = at.dataframe[0].value
    assert list(history["changed during the run"]) == [words]
    assert words in at.selectbox(key="train_active_pick").format_func(0)
    # both charts mark it where it happened, its exact batch in the hover text
    cost, accuracy = live_figures(at)[:2]
    for figure in (cost, accuracy):
        lines = [shape for shape in figure["layout"].get("shapes", []) if shape.get("name") == "change 1"]
        notes = [note for note in figure["layout"].get("annotations", []) if note.get("name") == "change 1"]
        assert [line["x0"] for line in lines] == [done_before / 16]
        assert [note["text"] for note in notes] == ["learning rate 4 → 0.4"]
        assert f"from batch {done_before}" in notes[0]["hovertext"]
    # replayed in nn_core from its recorded changes: the same parameters, to the bit
    trainer = Trainer(small, hparams, train_sample=TRAIN_SAMPLE, changes=result.changes)
    while not trainer.finished:
        trainer.run(max_batches=1000)
    assert np.array_equal(trainer.model.flat, result.model.flat)
    assert np.array_equal(trainer.batch_costs, result.batch_costs)
    # and the slider keeps its value for the next run
    assert at.select_slider(key=setting_key("lr")).value == 0.4


def test_momentum_too_and_no_change_without_a_run(small):
    at = open_train(small)
    at.slider(key=setting_key("beta")).set_value(0.5).run()  # no run: only the next run's setting
    assert not at.exception and not at.session_state["lab"].runs
    run = start_part_way(at, Hyperparams(epochs=2), batches=5)
    done = run.progress().total_batches_done
    at.slider(key=setting_key("beta")).set_value(0.8).run()
    result = at.session_state["lab"].runs[0]
    assert result.hparams.momentum == 0.9  # as started (by the test), then changed once
    assert result.describe_changes() == [f"momentum 0.9 → 0.8 at epoch {done / 16:.1f}"]
    assert run.progress().finished


def test_the_other_settings_are_locked_while_a_run_trains_and_say_why(small):
    """The form as a full rerun draws it mid-run (the page is rendered alone, the run not polled)."""
    from ui.settings import LOCKED_NOTE

    def page():
        import streamlit as st

        from ui.settings import settings_form
        from ui.state import lab

        lab()  # the test's Lab, given below
        settings_form()
        st.session_state["drawn"] = True

    at = AppTest.from_function(page, default_timeout=TIMEOUT)
    lab = Lab(backend=LocalBackend(small))
    at.session_state["lab"] = lab
    at.run()
    assert all(not w.disabled for w in widgets(at).values())
    assert not any(LOCKED_NOTE in caption.value for caption in at.caption)
    run = lab.backend.start(Hyperparams(epochs=2))
    lab.start(run)
    run.poll(0.01)
    at.run()
    changeable = {setting_key(s.url_key) for s in SETTINGS if s.name in CHANGEABLE}
    assert {key for key, w in widgets(at).items() if not w.disabled} == changeable
    assert len(widgets(at)) == len(SETTINGS)
    assert any(LOCKED_NOTE in caption.value for caption in at.caption)
    # a move of the learning rate reaches the run (not polled here: recorded for its next batch)
    done = run.progress().total_batches_done
    at.select_slider(key=setting_key("lr")).set_value(1.0).run()
    assert [(c.batch, c.name, c.value) for c in run.progress().changes] == [(done, "learning_rate", 1.0)]
    at.select_slider(key=setting_key("lr")).set_value(1.0).run()  # no move, no new change
    assert len(run.progress().changes) == 1
