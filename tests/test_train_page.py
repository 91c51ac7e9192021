"""AppTest tests of the Train page: real MNIST, real training on a 2,000-image subset.

The page reads ``st.session_state["train_subset"]`` (a test-only hook, not in the UI) and trains
on that many training images; the test set stays whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, load_model

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
SUBSET = 2000
TIMEOUT = 60  # seconds per script run, training included; generous for a busy 2-core machine


def new_app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["train_subset"] = SUBSET
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def train(at: AppTest, **settings) -> AppTest:
    """Set sliders by key (hidden, lr, beta, batch, epochs, seed, act), then press Train."""
    for key, value in settings.items():
        widget = next(w for w in (*at.select_slider, *at.slider, *at.number_input, *at.selectbox) if w.key == key)
        widget.set_value(value)
    at.run()
    at.button(key="train").click().run()
    assert not at.exception, at.exception
    return at


def chart_traces(at: AppTest) -> list[list[str]]:
    """Trace names of each Plotly chart on the page, in order."""
    return [[trace.get("name") for trace in json.loads(chart.proto.spec)["data"]] for chart in at.get("plotly_chart")]


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_defaults_are_the_posts_run():
    at = new_app()
    assert not at.exception
    assert at.title[0].value == "Train"
    values = {w.label: w.value for w in (*at.select_slider, *at.slider, *at.number_input, *at.selectbox)}
    assert values == {"Hidden units": 64, "Learning rate": 4.0, "Momentum (beta)": 0.9, "Batch size": 128,
                      "Epochs": 9, "Seed": 138, "Hidden activation": "sigmoid"}
    hp = Hyperparams()
    assert (hp.hidden_units, hp.learning_rate, hp.momentum, hp.batch_size, hp.epochs, hp.seed, hp.activation) == (
        64, 4.0, 0.9, 128, 9, 138, "sigmoid")
    lr = at.select_slider(key="lr")
    assert lr.options[0] == "0.001" and lr.options[-1] == "1000" and "4" in lr.options
    assert at.button(key="train").disabled is False and at.button(key="stop").disabled is True
    assert not at.metric and not at.session_state["runs"]  # nothing trained, nothing shown


def test_short_run_gives_metrics_and_an_active_model():
    at = train(new_app(), epochs=1)
    shown = metrics(at)
    assert set(shown) == {"Test accuracy", "Test cost", "Training time"}
    accuracy = float(shown["Test accuracy"].rstrip("%"))
    assert shown["Test accuracy"].endswith("%") and len(shown["Test accuracy"].split(".")[1]) == 3  # "97.44%"
    assert 50 < accuracy <= 100  # one epoch on 2,000 images: well above chance (10%), below a full run
    assert float(shown["Test cost"]) < 2.0
    assert shown["Training time"].endswith(" s")
    runs = at.session_state["runs"]
    assert len(runs) == 1 and runs[0].status == "done" and at.session_state["active_run"] == 0
    assert runs[0].hparams.epochs == 1 and len(runs[0].history) == 1
    assert abs(runs[0].history[0].test_accuracy * 100 - accuracy) < 0.006  # the metric is the run's own
    cost, accuracy_chart = chart_traces(at)[:2]
    # the post's own curve is the reference for the post's settings (any number of epochs)
    assert cost == ["batch cost (smoothed)", "train cost", "test cost", "post's test cost"]
    assert accuracy_chart == ["train accuracy", "test accuracy"]
    # Moving a slider afterwards neither trains nor loses the result.
    at.select_slider(key="hidden").set_value(128).run()
    assert metrics(at) == shown and len(at.session_state["runs"]) == 1


def test_maximum_learning_rate_diverges_and_keeps_the_previous_model():
    at = train(new_app(), epochs=1)
    first = at.session_state["runs"][0]
    at = train(at, lr=1000.0)
    assert not at.exception
    runs = at.session_state["runs"]
    assert len(runs) == 2 and runs[1].status == "diverged"
    assert at.session_state["active_run"] == 0 and runs[0] is first  # previous model still active
    errors = " ".join(e.value for e in at.error)
    assert "diverged" in errors and "Lower the learning rate" in errors and "run #1" in errors
    assert "Traceback" not in errors
    assert not at.metric  # no score for a diverged run
    cost = chart_traces(at)[0]  # the curve up to the divergence, the point where it blew up, no post's curve
    assert cost == ["batch cost (smoothed)", "train cost", "test cost", "diverged"]
    table = at.dataframe[0].value
    assert list(table["status"]) == ["done", "diverged"]


def test_malformed_upload_shows_an_error_and_changes_nothing():
    at = train(new_app(), epochs=1)
    before = list(at.session_state["runs"])
    at.file_uploader(key="upload").upload("model.npz", b"this is not a zip archive").run()
    assert not at.exception
    assert any("not a model this app can use" in e.value for e in at.error)
    assert at.session_state["runs"] == before and at.session_state["active_run"] == 0


def test_download_then_upload_makes_the_model_active(tmp_path):
    at = train(new_app(), epochs=1)
    run = at.session_state["runs"][0]
    from nn_core import model_bytes

    data = model_bytes(run.model, run.hparams, run.metrics())
    model, hparams, _ = load_model(data)
    at.file_uploader(key="upload").upload("mine.npz", data).run()
    assert not at.exception
    runs = at.session_state["runs"]
    assert len(runs) == 2 and runs[1].status == "uploaded" and at.session_state["active_run"] == 1
    assert runs[1].hparams == hparams and (runs[1].model.flat == model.flat).all()
    at.run()  # a rerun does not add the same upload again
    assert len(at.session_state["runs"]) == 2
    # picking the first run makes it active again
    at.selectbox(key="active_pick").set_value(0).run()
    assert at.session_state["active_run"] == 0


def test_settings_round_trip_through_the_url():
    link = {"hidden": "128", "lr": "0.3", "beta": "0.5", "batch": "64", "epochs": "3", "seed": "7", "act": "relu"}
    at = new_app(link)
    assert not at.exception and not at.warning
    values = {w.key: w.value for w in (*at.select_slider, *at.slider, *at.number_input, *at.selectbox)}
    assert values == {"hidden": 128, "lr": 0.3, "beta": 0.5, "batch": 64, "epochs": 3, "seed": 7, "act": "relu"}
    assert at.query_params == link  # written back unchanged
    at.select_slider(key="lr").set_value(1.5).run()
    assert at.query_params["lr"] == "1.5"
    # a visit to another page keeps the settings
    at.switch_page("pages/evaluate.py").run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert {w.key: w.value for w in (*at.select_slider, *at.slider)}["lr"] == 1.5
    assert at.query_params["lr"] == "1.5" and at.query_params["act"] == "relu"
    # ... and a new session opened with that URL shows the same sliders
    again = new_app(dict(at.query_params))
    assert {w.key: w.value for w in (*again.select_slider, *again.slider)}["lr"] == 1.5


@pytest.mark.parametrize("bad", [{"lr": "banana"}, {"hidden": "100"}, {"epochs": "500"}, {"act": "softsign"},
                                 {"beta": "1.5"}, {"seed": "-3"}])
def test_invalid_url_settings_fall_back_to_defaults_with_a_warning(bad):
    at = new_app({**bad, "batch": "256"})
    assert not at.exception
    key = next(iter(bad))
    assert any(f"{key}={bad[key]}" in w.value for w in at.warning)
    values = {w.key: w.value for w in (*at.select_slider, *at.slider, *at.number_input, *at.selectbox)}
    defaults = {"hidden": 64, "lr": 4.0, "beta": 0.9, "batch": 256, "epochs": 9, "seed": 138, "act": "sigmoid"}
    assert values == defaults  # the bad one is the default, the good one is kept


def test_smoothed_batch_costs_is_a_moving_mean_in_epoch_units():
    import numpy as np

    from pages.charts import smoothed_batch_costs

    x, y = smoothed_batch_costs(np.arange(20, dtype=np.float32), batches_per_epoch=10)  # window 1
    assert x[0] == 0.1 and x[-1] == 2.0 and y == list(range(20))
    x, y = smoothed_batch_costs(np.arange(200, dtype=np.float32), batches_per_epoch=100)  # window 10
    assert x[0] == 0.1 and y[0] == 4.5 and y[-1] == 194.5 and x[-1] == 2.0
    x, y = smoothed_batch_costs(np.ones(4221), batches_per_epoch=469, max_points=400)
    assert len(x) <= 401 and x[-1] == 4221 / 469 and set(y) == {1.0}
    assert smoothed_batch_costs([], 469) == ([], [])
