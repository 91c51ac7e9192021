"""AppTest tests of the Train page: real MNIST, real training on a 2,000-image subset.

Each session is given its own backend, training on the first 2,000 training images (the test set
stays whole), so a test run takes a blink.
"""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nn_core import SETTINGS, Hyperparams, LocalBackend, Mnist, Trainer, load_model
from nn_core.jobs import ExecutorBackend
from nn_core.runs import TRAIN_SAMPLE
from ui.liveview import shown
from ui.state import TRAIN_UNITS_PER_PAGE, Lab, setting_key

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
SUBSET = 2000
TIMEOUT = 60  # seconds per script run, training included; generous for a busy 2-core machine


@pytest.fixture
def new_app(mnist):
    """A new session of the app, its runs trained on the first SUBSET training images."""
    small = Mnist(mnist.train_images[:SUBSET], mnist.train_labels[:SUBSET], mnist.test_images, mnist.test_labels)

    def open_app(query: dict | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.session_state["lab"] = Lab(backend=LocalBackend(small))
        for key, value in (query or {}).items():
            at.query_params[key] = value
        return at.run()
    return open_app


def settings(at: AppTest) -> dict:
    """The settings widgets' values by URL key (hidden, lr, beta, batch, epochs, seed, act)."""
    return {w.key.removeprefix("train_"): w.value
            for w in (*at.select_slider, *at.slider, *at.number_input, *at.selectbox) if w.key.startswith("train_")
            and w.key not in ("train_active_pick",)}


def shown_text(markdown: str) -> str:
    """What a message shows: the page escapes every Markdown character of text from a user (and puts an
    invisible word joiner into each address, see ui.text)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def defaults(**changed) -> dict:
    """Every setting's default by URL key, with ``changed`` ones."""
    return {**{s.url_key: s.default for s in SETTINGS}, **changed}


def session(at: AppTest) -> Lab:
    return at.session_state["lab"]


def train(at: AppTest, **values) -> AppTest:
    """Set sliders by URL key (hidden, lr, beta, batch, epochs, seed, act), then press Train."""
    for key, value in values.items():
        widget = next(w for w in (*at.select_slider, *at.slider, *at.number_input, *at.selectbox)
                      if w.key == setting_key(key))
        widget.set_value(value)
    at.run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    return at


LIVE_CHARTS = ["cost", "accuracy", "saturated", "grad_norm", "distinct_units", "weights"]  # the view's, in order


def live_figures(at: AppTest) -> list[dict]:
    """The figures the Train panel's live view shows now (ui/liveview.py), in order."""
    figures = shown("train_live", at.session_state)
    return [figures[name] for name in LIVE_CHARTS if name in figures]


def chart_traces(at: AppTest) -> list[list[str]]:
    """Trace names of each chart of the Train panel (its live charts), in order."""
    return [[trace.get("name") for trace in figure["data"]] for figure in live_figures(at)]


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_defaults_are_the_posts_run(new_app):
    at = new_app()
    assert not at.exception
    assert at.title[0].value == "Train"
    values = {w.label: w.value for w in (*at.select_slider, *at.slider, *at.number_input, *at.selectbox)}
    post = {"Hidden units": 64, "Learning rate": 4.0, "Momentum (beta)": 0.9, "Batch size": 128, "Epochs": 9,
            "Seed": 138, "Hidden activation": "sigmoid", "Hidden layers": 1, "Initialisation": "lecun",
            "Optimizer": "momentum"}
    assert {label: values[label] for label in post} == post
    assert values == {s.label: s.default for s in SETTINGS}  # every other setting at its default too
    hp = Hyperparams()
    assert (hp.hidden_units, hp.learning_rate, hp.momentum, hp.batch_size, hp.epochs, hp.seed, hp.activation) == (
        64, 4.0, 0.9, 128, 9, 138, "sigmoid")
    lr = at.select_slider(key="train_lr")
    assert lr.options[0] == "0.0001" and lr.options[-1] == "1000" and "4" in lr.options
    assert at.button(key="train_start").disabled is False and at.button(key="train_stop").disabled is True
    assert not at.metric and not session(at).runs  # nothing trained, nothing shown


def test_short_run_gives_metrics_and_an_active_model(new_app):
    at = train(new_app(), epochs=1)
    shown = metrics(at)
    assert set(shown) == {"Test accuracy", "Test cost", "Training time"}
    accuracy = float(shown["Test accuracy"].rstrip("%"))
    assert shown["Test accuracy"].endswith("%") and len(shown["Test accuracy"].split(".")[1]) == 3  # "97.44%"
    assert 50 < accuracy <= 100  # one epoch on 2,000 images: well above chance (10%), below a full run
    assert float(shown["Test cost"]) < 2.0
    assert shown["Training time"].endswith(" s")
    runs = session(at).runs
    assert len(runs) == 1 and runs[0].status == "done" and session(at).active == 0
    assert runs[0].hparams.epochs == 1 and len(runs[0].epochs) == 1
    assert abs(runs[0].epochs[0].test_accuracy * 100 - accuracy) < 0.006  # the metric is the run's own
    cost, accuracy_chart = chart_traces(at)[:2]
    # the post's own curve is the reference for the post's settings (any number of epochs)
    assert cost == ["batch cost (smoothed)", "train cost", "test cost", "post's test cost"]
    assert accuracy_chart == ["train accuracy", "test accuracy"]
    # Moving a slider afterwards neither trains nor loses the result.
    at.select_slider(key="train_hidden").set_value(128).run()
    assert metrics(at) == shown and len(session(at).runs) == 1


def test_the_live_view_is_one_element_before_during_and_after_a_run(new_app):
    """The Train panel's charts are one live view with a fixed key (the browser keeps it), from the
    empty charts before a run to its result; the cost axis is labelled with plain numbers."""
    at = new_app()
    assert [chart.key for chart in at.get("bidi_component")] == ["train_live"]
    before = live_figures(at)
    assert [t["name"] for t in before[0]["data"]] == ["batch cost (smoothed)", "train cost", "test cost",
                                                      "post's test cost"]
    assert before[0]["data"][0]["x"] == [] and "template" not in before[0]["layout"]
    at = train(at, epochs=2)
    assert [chart.key for chart in at.get("bidi_component")] == ["train_live"]
    cost, accuracy = live_figures(at)[:2]
    assert len(live_figures(at)) == 6  # then the network's health (ui/health.py)
    batch = cost["data"][0]
    assert 10 < len(batch["x"]) <= 601  # 2 x 16 batches of the subset, smoothed; at most the width's points
    assert len(accuracy["data"][1]["y"]) == 2  # test accuracy after each epoch
    axis = cost["layout"]["yaxis"]
    assert axis["type"] == "log" and axis["tickmode"] == "array"
    assert all(label in {"0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10"} for label in axis["ticktext"])
    low, high = min(batch["y"]), max(batch["y"])
    assert sum(low <= tick <= high for tick in axis["tickvals"]) >= 2  # the span is labelled


class GatedBackend(ExecutorBackend):
    """Runs as chained chunk tasks (nn_core.jobs, as on the server's workers) on a thread of this
    process, each chunk ``BATCHES`` batches, each waiting for the test to let it go: the run goes on
    in the background, and the test decides what it has done between two polls of the page."""

    BATCHES = 5
    workers = 1

    def __init__(self, data: Mnist):
        super().__init__(data)
        self.pool = ThreadPoolExecutor(1)
        self.gate = threading.Semaphore(0)
        self.done = threading.Semaphore(0)

    def submit(self, state, defer_evaluation: bool = False):
        return self.pool.submit(self._chunk, state)

    def _chunk(self, state):
        self.gate.acquire()
        trainer = Trainer.resume(self.data, state, threads=1, train_sample=TRAIN_SAMPLE)
        trainer.run(max_batches=self.BATCHES)
        self.done.release()
        return replace(trainer.state(), mix=None)

    def step(self, at: AppTest) -> dict:
        """Let one chunk train, wait until the run has it, poll the page; what the view was sent."""
        run = session(at).current
        before = run.progress().total_batches_done
        self.gate.release()
        assert self.done.acquire(timeout=TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while run.progress().total_batches_done == before and not run.progress().finished:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        at.run()
        assert not at.exception, at.exception
        return json.loads(next(c for c in at.get("bidi_component") if c.key == "train_live").proto.json)


def test_a_polls_view_is_sent_only_what_is_new(mnist):
    """Polled twice while its run trains in the background, the live view is sent the layout and the
    points so far once, then only the points after them: old points never move (a fixed grid)."""
    small = Mnist(mnist.train_images[:SUBSET], mnist.train_labels[:SUBSET], mnist.test_images, mnist.test_labels)
    backend = GatedBackend(small)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lab"] = Lab(backend=backend)
    at.query_params["epochs"] = "3"
    at.run()
    try:
        at.button(key="train_start").click().run()
        assert session(at).current is not None and session(at).current.trains_in_background
        # The click's own run draws the whole view of the run, once: its layout, no batch yet.
        view = json.loads(next(c for c in at.get("bidi_component") if c.key == "train_live").proto.json)
        assert view["complete"] and [b["kind"] for b in view["blocks"]][:2] == ["row", "units"]
        assert view["charts"]["cost"]["figure"]["data"][0]["x"] == []
        first = backend.step(at)  # the first poll after it: the first points, appended
        assert not first.get("complete") and first["base"] == view["seq"]
        assert "figure" not in first["charts"]["cost"] and first["units"]["n"] == 64  # the units as raw codes
        assert first["charts"]["cost"]["extend"]["from"] == [0]
        # A poll with no news: the same message, nothing rebuilt, and the units' pager still drawn above
        # the view (so the view's element keeps its place: in a new place the browser remounts it).
        at.run()
        assert json.loads(next(c for c in at.get("bidi_component") if c.key == "train_live").proto.json) == first
        assert at.select_slider(key=TRAIN_UNITS_PER_PAGE).value == 64
        known_x = first["charts"]["cost"]["extend"]["x"][0]
        known_y = first["charts"]["cost"]["extend"]["y"][0]
        # The browser acknowledges what it has drawn (as liveview.js does every few messages).
        at.session_state["train_live"] = {"ack": first["seq"]}
        second = backend.step(at)  # the second poll: only the points after those
        assert not second.get("complete") and second["base"] == first["seq"]
        assert set(second["charts"]) == {"cost"}  # no epoch ended: the other charts are not sent at all
        change = second["charts"]["cost"]
        assert "figure" not in change and change["extend"]["i"] == [0] and change["extend"]["from"] == [len(known_x)]
        new_x = change["extend"]["x"][0]
        assert new_x and min(new_x) > max(known_x)  # new points only, after the old ones
        whole = shown("train_live", at.session_state)["cost"]["data"][0]
        known = len(known_x)
        assert whole["x"][:known] == known_x and whole["y"][:known] == known_y  # the old points did not move
        assert len(whole["x"]) == known + len(new_x)
        assert second["units"]["n"] == 64  # the units moved: their new codes
        # Unacknowledged, a message holds everything since the last acknowledged one (none is lost).
        third = backend.step(at)
        assert third["base"] == first["seq"] and third["charts"]["cost"]["extend"]["from"] == [known]
        assert third["charts"]["cost"]["extend"]["x"][0][: len(new_x)] == new_x
        for _ in range(30):  # the rest of the run; at an epoch's end its rows come as new points too
            if session(at).current is None:
                break
            message = backend.step(at)
            if str(message["run"]).startswith("run-"):  # still training: never the whole view again (the
                assert not message.get("complete"), message["seq"]  # health note changing at an epoch's end did)
                at.session_state["train_live"] = {"ack": message["seq"]}
            if "accuracy" in message.get("charts", {}) and not message.get("complete"):
                assert "figure" not in message["charts"]["accuracy"]  # appended, not redrawn
        assert session(at).current is None and len(session(at).runs) == 1
        assert [c.key for c in at.get("bidi_component")] == ["train_live"]
        assert len(live_figures(at)[1]["data"][1]["y"]) == 3  # the result: test accuracy after each epoch
    finally:
        for _ in range(40):
            backend.gate.release()
        backend.pool.shutdown(wait=True)


def test_maximum_learning_rate_diverges_and_keeps_the_previous_model(new_app):
    at = train(new_app(), epochs=1)
    first = session(at).runs[0]
    at = train(at, lr=1000.0)
    assert not at.exception
    runs = session(at).runs
    assert len(runs) == 2 and runs[1].status == "diverged"
    assert session(at).active == 0 and runs[0] is first  # previous model still active
    errors = " ".join(e.value for e in at.error)
    assert "diverged" in errors and "Lower the learning rate" in errors and "run #1" in errors
    assert "Traceback" not in errors
    assert not at.metric  # no score for a diverged run
    cost = chart_traces(at)[0]  # the curve up to the divergence, the point where it blew up, no post's curve
    assert cost == ["batch cost (smoothed)", "train cost", "test cost", "diverged"]
    table = at.dataframe[0].value
    assert list(table["status"]) == ["done", "diverged"]


def test_malformed_upload_shows_an_error_and_changes_nothing(new_app):
    at = train(new_app(), epochs=1)
    before = list(session(at).runs)
    at.file_uploader(key="train_upload").upload("model.npz", b"this is not a zip archive").run()
    assert not at.exception
    assert any("not a model this app can use" in e.value for e in at.error)
    assert session(at).runs == before and session(at).active == 0
    at.run()  # the file stays in the uploader: its refusal is remembered, not parsed again
    assert any("not a model this app can use" in e.value for e in at.error)
    assert list(session(at).uploads.values()) == [next(iter(session(at).uploads.values()))]
    assert isinstance(next(iter(session(at).uploads.values())), str)


def test_download_then_upload_makes_the_model_active(new_app):
    at = train(new_app(), epochs=1)
    run = session(at).runs[0]
    from nn_core import model_bytes

    data = model_bytes(run.model, run.hparams, run.metrics())
    model, hparams, _ = load_model(data)
    at.file_uploader(key="train_upload").upload("mine.npz", data).run()
    assert not at.exception
    runs = session(at).runs
    assert len(runs) == 2 and runs[1].status == "uploaded" and session(at).active == 1
    assert runs[1].hparams == hparams and (runs[1].model.flat == model.flat).all()
    at.run()  # a rerun does not add the same upload again
    assert len(session(at).runs) == 2
    # picking the first run makes it active again
    at.selectbox(key="train_active_pick").set_value(0).run()
    assert session(at).active == 0


def test_settings_round_trip_through_the_url(new_app):
    link = {"hidden": "128", "lr": "0.3", "beta": "0.5", "batch": "64", "epochs": "3", "seed": "7", "act": "relu"}
    at = new_app(link)
    assert not at.exception and not at.warning
    values = settings(at)
    assert values == defaults(hidden=128, lr=0.3, beta=0.5, batch=64, epochs=3, seed=7, act="relu")
    assert {key: at.query_params[key] for key in link} == link  # written back unchanged
    at.select_slider(key="train_lr").set_value(1.5).run()
    assert at.query_params["lr"] == "1.5"
    # a visit to another page keeps the settings
    at.switch_page("pages/evaluate.py").run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert settings(at)["lr"] == 1.5
    assert at.query_params["lr"] == "1.5" and at.query_params["act"] == "relu"
    # ... and a new session opened with that URL shows the same sliders
    again = new_app(dict(at.query_params))
    assert settings(again)["lr"] == 1.5


@pytest.mark.parametrize("bad", [{"lr": "banana"}, {"hidden": "100"}, {"epochs": "500"}, {"act": "softsign"},
                                 {"beta": "1.5"}, {"seed": "-3"}])
def test_invalid_url_settings_fall_back_to_defaults_with_a_warning(new_app, bad):
    at = new_app({**bad, "batch": "256"})
    assert not at.exception
    key = next(iter(bad))
    assert any(f"{key}={bad[key]}" in shown_text(w.value) for w in at.warning)
    values = settings(at)
    assert values == defaults(batch=256)  # the bad one is the default, the good one is kept


def test_smoothed_batch_costs_is_a_moving_mean_in_epoch_units():
    import numpy as np

    from ui.charts_common import smoothed_batch_costs

    x, y = smoothed_batch_costs(np.arange(20, dtype=np.float32), batches_per_epoch=10)  # window 1
    assert x[0] == 0.1 and x[-1] == 2.0 and y == list(range(20))
    x, y = smoothed_batch_costs(np.arange(200, dtype=np.float32), batches_per_epoch=100)  # window 10
    assert x[0] == 0.1 and y[0] == 4.5 and y[-1] == 194.5 and x[-1] == 2.0
    x, y = smoothed_batch_costs(np.ones(4221), batches_per_epoch=469, max_points=400)
    assert len(x) <= 401 and x[-1] == 4221 / 469 and set(y) == {1.0}
    assert smoothed_batch_costs([], 469) == ([], [])


def test_a_link_round_trips_every_setting_at_the_top_of_its_range(new_app):
    link = {"hidden": "512", "lr": "1000", "beta": "0.99", "batch": "60000", "epochs": "50", "seed": "1234567",
            "act": "tanh", "layers": "4", "init": "zeros", "opt": "rmsprop"}
    at = new_app(link)
    assert not at.exception and not at.warning
    assert settings(at) == defaults(hidden=512, lr=1000.0, beta=0.99, batch=60000, epochs=50, seed=1234567,
                                    act="tanh", layers=4, init="zeros", opt="rmsprop")
    assert {key: at.query_params[key] for key in link} == link
    at.number_input(key="train_seed").set_value(2**31 - 1).run()
    assert at.query_params["seed"] == "2147483647"
    assert settings(new_app(dict(at.query_params)))["seed"] == 2**31 - 1


@pytest.mark.parametrize("value", ["x` [Session expired - log in](https://evil.example/login) `",
                                   "![](https://evil.example/pixel.png)", "<img src=x>", "y" * 100_000],
                         ids=["link", "image", "html", "long"])
def test_text_from_a_link_is_shown_as_plain_text_and_cut(new_app, value):
    at = new_app({"act": value})
    assert not at.exception
    (warning,) = at.warning
    shown = shown_text(warning.value)
    assert len(warning.value) < 600 and "act=" in shown
    assert value[:30] in shown  # the value itself, as text
    # every Markdown character arrives escaped: no link, image or HTML can form
    assert not re.search(r"(?<!\\)[\[\]()!<>`]", warning.value.split("act", 1)[1])


def test_a_full_history_takes_no_more_runs_and_says_so(new_app):
    from nn_core import model_bytes
    from ui.state import MAX_RUNS, Score

    at = train(new_app(), epochs=1)
    lab = session(at)
    run = lab.runs[0]
    for _ in range(MAX_RUNS - 1):
        lab.add(run, Score(0.5, 0.9))
    at.run()
    assert not at.exception and at.button(key="train_start").disabled
    assert any(f"keeps {MAX_RUNS} runs" in w.value for w in at.warning)
    at.file_uploader(key="train_upload").upload("more.npz", model_bytes(run.model, run.hparams)).run()
    assert any("was not added" in e.value for e in at.error) and len(lab.runs) == MAX_RUNS
