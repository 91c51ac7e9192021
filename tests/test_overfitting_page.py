"""Issue 22's "Seeing the gap" through the pages (AppTest): Train on 1,000 of MNIST's training images
shows train, test and (with early stopping) validation together, the gap marked, the best epoch and a
reading computed from the run; label noise says the train figures are on the noisy labels and shows
the accuracy on the true ones; Evaluate names the training set and the regularisation; the form's
sections; and the default run's charts stay as they were.

Runs train on the whole of MNIST (the subset is the setting's own): 1,000 images, 128 hidden units,
15 epochs, about 3 s a run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nn_core import LocalBackend
from nn_core.reading import gap_reading, noise_reading
from tests.test_train_page import live_figures as train_page_figures
from ui.state import Lab, setting_key

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
TIMEOUT = 90  # s per script run, training included, on a shared 2-core machine
SMALL = {"n": 1000, "hidden": 128, "epochs": 15}  # overfits within 15 epochs


@pytest.fixture
def new_app(mnist):
    def open_app(query: dict | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.session_state["lab"] = Lab(backend=LocalBackend(mnist))
        for key, value in (query or {}).items():
            at.query_params[key] = value
        return at.run()
    return open_app


def widgets(at: AppTest):
    return (*at.select_slider, *at.slider, *at.number_input, *at.selectbox)


def train(at: AppTest, **values) -> AppTest:
    """Set settings by URL key, then press Train and let the run end."""
    for key, value in values.items():
        next(w for w in widgets(at) if w.key == setting_key(key)).set_value(value)
    at.run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    return at


def live_figures(at: AppTest) -> list[dict]:
    return train_page_figures(at)[:2]


def names(figure: dict) -> list[str]:
    return [trace.get("name") for trace in figure["data"]]


def annotations(figure: dict) -> list[str]:
    return [note["text"] for note in figure["layout"].get("annotations", [])]


def texts(at: AppTest) -> list[str]:
    return [element.value for element in at.text]


def test_early_stopping_shows_validation_the_gap_the_best_epoch_and_the_reading(new_app):
    at = train(new_app(), **SMALL, patience=3)
    run = at.session_state["lab"].runs[0]
    hp = run.hparams
    assert (hp.train_size, hp.early_stop) == (1000, 3) and run.best_epoch is not None
    cost, accuracy = live_figures(at)
    assert names(cost) == ["batch cost (smoothed)", "train cost", "test cost", "validation cost"]
    assert names(accuracy) == ["train accuracy", "test accuracy", "validation accuracy"]
    validation = cost["data"][3]["y"]
    assert validation == pytest.approx([e.validation_cost for e in run.epochs])
    # the gap: the test line filled down to the train line, and the last epoch's gap written on it
    assert cost["data"][2]["fill"] == "tonexty" and accuracy["data"][1]["fill"] == "tonexty"
    last = run.epochs[-1]
    assert f"gap {last.test_cost - last.train_cost:+.3f}" in annotations(cost)
    assert f"gap {(last.test_accuracy - last.train_accuracy) * 100:+.1f} pts" in annotations(accuracy)
    # the best epoch marked on both charts, where the validation cost was lowest
    best = min(run.epochs, key=lambda e: e.validation_cost).epoch
    assert best == run.best_epoch
    for figure in (cost, accuracy):
        assert f"best epoch {best}" in annotations(figure)
        assert [shape["x0"] for shape in figure["layout"]["shapes"]] == [best]
    # the reading: the run's own sentence, with its numbers, as plain text
    reading = gap_reading(run.epochs, hp, run.best_epoch, run.stopped_early)
    assert reading in texts(at)
    if run.stopped_early:
        assert f"lowest at epoch {best}" in reading and f"{run.epochs[best - 1].test_cost:.3f}" in reading
    else:
        assert f"{last.train_cost:.3f}" in reading and f"{last.test_cost:.3f}" in reading
    assert not any("noisy labels" in text for text in texts(at))  # no label noise: no note on it
    assert at.expander[2].label == "Overfitting lab: 1,000 images, early stopping 3"

    at.switch_page("pages/evaluate.py").run()
    assert not at.exception, at.exception
    caption = at.caption[0].value
    assert "Trained on 1,000 training images (a fixed, class-balanced subset)" in caption
    assert "the last 200 held out for validation" in caption
    assert "regularisation: early stopping (patience 3)" in caption
    assert f"the model kept from epoch {run.best_epoch}" in caption


def test_label_noise_puts_the_train_figures_on_the_noisy_labels_and_shows_the_true_ones(new_app):
    at = train(new_app(), **SMALL, noise=0.3, dropout=0.5)
    run = at.session_state["lab"].runs[0]
    cost, accuracy = live_figures(at)
    # no early stopping: no validation line, no best epoch
    assert names(cost) == ["batch cost (smoothed)", "train cost (noisy labels)", "test cost"]
    assert names(accuracy) == ["train accuracy (noisy labels)", "test accuracy", "train accuracy (true labels)"]
    assert accuracy["data"][2]["y"] == pytest.approx([e.train_accuracy_true for e in run.epochs])
    assert not cost["layout"].get("shapes")
    note = noise_reading(run.epochs[-1], run.hparams)
    assert note.startswith("Train figures are on the noisy labels (30% replaced)")
    assert f"{run.epochs[-1].train_accuracy_true:.1%} of the true labels" in note
    shown = texts(at)
    assert shown == [gap_reading(run.epochs, run.hparams), note]  # the reading, then the note on the noise

    at.switch_page("pages/evaluate.py").run()
    assert not at.exception, at.exception
    caption = at.caption[0].value
    assert ("Trained on 1,000 training images (a fixed, class-balanced subset); 30% of its labels replaced by "
            "random digits; regularisation: dropout 0.5.") in caption


def test_the_default_charts_gain_no_lines_and_the_form_has_four_sections(new_app):
    at = new_app()
    assert [e.label for e in at.expander] == ["Network", "Training", "Overfitting lab: off", "Schedule: constant"]
    in_sections = [[w.key.removeprefix("train_") for w in widgets(section)] for section in at.expander]
    assert [sorted(keys) for keys in in_sections] == [
        sorted(["hidden", "layers", "act", "init"]), sorted(["opt", "lr", "beta", "batch", "epochs", "seed"]),
        sorted(["n", "l2", "dropout", "noise", "augment", "patience"]), sorted(["sched", "decay", "every", "warmup"])]
    cost, accuracy = live_figures(at)
    assert names(cost) == ["batch cost (smoothed)", "train cost", "test cost", "post's test cost"]
    assert names(accuracy) == ["train accuracy", "test accuracy"]
    assert not annotations(cost) and not cost["layout"].get("shapes") and not at.main.text  # nothing before a run
    # a link opens with the lab's settings named on its closed section
    at = new_app({"n": "1000", "dropout": "0.5"})
    assert at.expander[2].label == "Overfitting lab: 1,000 images, dropout 0.5"
    assert at.select_slider(key=setting_key("n")).value == 1000
