"""Issue 19 through the pages (AppTest): networks of 2 and 3 hidden layers with every optimizer, from
a link to Train, its health charts, Evaluate (health, and each layer's units), Draw and fine-tuning
on my digits, and model files; links carrying the new settings, and the full-batch size.

Each session trains on the first 10,000 training images (the test set stays whole), two epochs: a
run takes about half a second and still learns (60-90% test accuracy, against 10% for chance).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn_core import SETTINGS, LocalBackend, Mnist, RunStatus, load_model, model_bytes
from nn_core.handwriting import DigitSet
from nn_core.optim import OPTIMIZERS
from nn_core.preprocess import to_mnist
from tests.digit_strokes import STYLES, Placement, rasterise
from tests.personal_hand import teaching
from tests.test_draw_page import canvas_state
from tests.test_train_page import LIVE_CHARTS
from ui.liveview import shown
from ui.state import Lab, setting_key

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
SUBSET = 10_000
TIMEOUT = 60
HEALTH_KEYS = ["saturated", "grad_norm", "distinct_units", "weights"]  # the Train view's health charts
# (hidden layers, optimizer, learning rate, activation, initialisation): a rate that suits each optimizer
# (Adam and RMSProp take ~1000x smaller ones than momentum); three sigmoid layers barely move under plain
# SGD in two epochs (their gradients vanish on the way down), so that case is ReLU with He's initialisation.
CASES = [(2, "momentum", 4.0, "sigmoid", "lecun"), (2, "sgd", 2.0, "sigmoid", "lecun"),
         (2, "nesterov", 4.0, "sigmoid", "lecun"), (2, "rmsprop", 0.003, "sigmoid", "lecun"),
         (2, "adam", 0.003, "sigmoid", "lecun"),
         (3, "momentum", 4.0, "sigmoid", "lecun"), (3, "sgd", 0.1, "relu", "he"),
         (3, "nesterov", 4.0, "sigmoid", "lecun"), (3, "rmsprop", 0.003, "tanh", "lecun"),
         (3, "adam", 0.003, "sigmoid", "normal")]
assert {case[1] for case in CASES} == set(OPTIMIZERS)


@pytest.fixture(scope="module")
def subset(mnist):
    return Mnist(mnist.train_images[:SUBSET], mnist.train_labels[:SUBSET], mnist.test_images, mnist.test_labels)


@pytest.fixture(scope="module")
def my_digits() -> DigitSet:
    digits = DigitSet.empty()
    for drawing in teaching():
        digits = digits.add(to_mnist(rasterise(drawing.strokes)), drawing.label)
    return digits


def open_app(subset, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lab"] = Lab(backend=LocalBackend(subset))
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def settings(at: AppTest) -> dict:
    """The settings widgets' values by URL key."""
    return {w.key.removeprefix("train_"): w.value
            for w in (*at.select_slider, *at.slider, *at.number_input, *at.selectbox)
            if w.key in {setting_key(s.url_key) for s in SETTINGS}}


def live_figures(at: AppTest) -> dict[str, dict]:
    """The figures the Train panel's live view shows now, by chart, in the view's order."""
    figures = shown("train_live", at.session_state)
    return {name: figures[name] for name in LIVE_CHARTS if name in figures}


def plotly_titles(at: AppTest) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"].get("title", {}).get("text") for chart in at.get("plotly_chart")]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def check_health(figures: dict[str, dict], layers: int, epochs: int) -> None:
    """The four health figures of a run of ``layers`` hidden layers after ``epochs`` epochs."""
    saturated, grad_norm, distinct, weights = (figures[key] for key in HEALTH_KEYS)
    assert [t["name"] for t in saturated["data"]] == [f"layer {k}" for k in range(1, layers + 1)]
    assert all(len(t["y"]) == epochs and all(0 <= v <= 1 for v in t["y"]) for t in saturated["data"])
    assert [t["name"] for t in grad_norm["data"]] == [f"W{k}" for k in range(1, layers + 2)]
    axis = grad_norm["layout"]["yaxis"]
    assert axis["type"] == "log" and axis["tickmode"] == "array"  # labelled with plain numbers
    assert all(re.fullmatch(r"[0-9.]+(e-?\d+)?", label) for label in axis["ticktext"])
    assert all(v > 0 for t in grad_norm["data"] for v in t["y"])
    lines = [t for t in distinct["data"] if t.get("name", "").startswith("layer")]
    assert len(lines) == layers and all(len(t["y"]) == epochs for t in lines)
    # weights: one small plot per weight matrix, each its median and four bands (two traces each)
    medians = [t for t in weights["data"] if t.get("name") == "median"]
    assert len(medians) == layers + 1 and len(weights["data"]) == 9 * (layers + 1)
    assert sorted({t.get("xaxis", "x") for t in medians}) == sorted(["x"] + [f"x{k}" for k in range(2, layers + 2)])


@pytest.mark.parametrize("layers, optimizer, rate, activation, init", CASES,
                         ids=[f"{case[0]}-layers-{case[1]}" for case in CASES])
def test_a_deep_network_from_a_link_to_train_evaluate_draw_and_fine_tuning(subset, my_digits, layers, optimizer,
                                                                           rate, activation, init):
    link = {"layers": str(layers), "opt": optimizer, "lr": f"{rate:g}", "act": activation, "init": init,
            "epochs": "2"}
    at = open_app(subset, link)
    assert not at.warning
    shown = settings(at)
    assert (shown["layers"], shown["opt"], shown["lr"], shown["act"], shown["init"]) == (
        layers, optimizer, rate, activation, init)

    # Train: the run, its figures, its health, the history
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    lab = at.session_state["lab"]
    (run,) = lab.runs
    assert run.status == RunStatus.DONE and run.model.layers == layers and run.hparams.optimizer == optimizer
    accuracy = float(metric(at, "Test accuracy").rstrip("%")) / 100
    assert accuracy > 0.6, accuracy  # it learned (chance is 10%)
    assert abs(accuracy - run.final.test_accuracy) < 0.00006
    figures = live_figures(at)
    assert list(figures)[:2] == ["cost", "accuracy"] and list(figures)[2:] == HEALTH_KEYS
    check_health(figures, layers, epochs=2)
    view = json.loads(next(c for c in at.get("bidi_component") if c.key == "train_live").proto.json)
    assert {"kind": "heading", "text": "Network health"} in view["blocks"]
    row = at.dataframe[0].value.iloc[0]
    assert (row["layers"], row["optimizer"], row["init"], row["activation"]) == (layers, optimizer, init, activation)

    # Model file: a deep model and its settings, out and back in
    data = model_bytes(run.model, run.hparams, run.metrics())
    at.file_uploader(key="train_upload").upload("deep.npz", data).run()
    assert not at.exception, at.exception
    uploaded = lab.runs[1]
    assert uploaded.status == RunStatus.UPLOADED and uploaded.hparams == run.hparams
    assert np.array_equal(uploaded.model.flat, run.model.flat) and uploaded.model.layers == layers
    assert lab.active == 1
    at.run()  # the history above the upload shows it from the next rerun
    at.selectbox(key="train_active_pick").set_value(0).run()
    assert lab.active == 0

    # Evaluate: the same accuracy, the model described, its health, every layer's units
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception, at.exception
    assert metric(at, "Test accuracy") == f"{run.final.test_accuracy:.2%}"
    caption = at.caption[0].value
    assert f"{layers} layers of 64 {activation} units" in caption and optimizer in caption and init in caption
    titles = plotly_titles(at)
    assert {"Gradient norm", "Distinct units", "Weights over the epochs"} <= set(titles)
    assert ("Dead units" if activation == "relu" else "Saturated units") in titles
    units = at.image[1]
    assert len(units.captions) == 64 and re.fullmatch(r"unit 0 · \d+/20 \d+s", units.captions[0])
    out = run.model.weights[-1]  # (64, 10): the last hidden layer into the digits
    for layer in range(2, layers + 1):
        at.segmented_control(key="evaluate_units_layer").set_value(layer).run()
        assert not at.exception, at.exception
        units = at.image[1]
        assert len(units.value) == 64 and layer in at.session_state["evaluate_cache"]["favourites"]
        arrows = f" ↑{int(np.argmax(out[5]))} ↓{int(np.argmin(out[5]))}" if layer == layers else ""
        assert re.fullmatch(rf"unit 5 · (\d+/20 \d+s|dead){re.escape(arrows)}", units.captions[5]), units.captions[5]
        assert any(f"layer {layer} reads the 64 units of layer {layer - 1}" in c.value for c in at.caption)

    # Draw: the deep model reads a drawing
    at.switch_page("pages/draw.py").run()
    assert not at.exception, at.exception
    _, _, strokes = next(s for s in STYLES if s[0] == 7)
    at.session_state["draw_canvas_0"] = canvas_state(rasterise(Placement("medium", 170).apply(
        strokes, np.random.default_rng(0))))
    at.run()
    assert not at.exception, at.exception
    assert metric(at, "Prediction") in "0123456789"
    (probabilities,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(probabilities["data"][0]["x"]) == 10

    # Fine-tuning on my digits: the base's settings at half its learning rate, same optimizer and depth
    lab.digits = my_digits
    at.button(key="draw_tune").click().run()
    assert not at.exception, at.exception
    tuned = lab.runs[-1]
    assert tuned.status == RunStatus.DONE and lab.active == len(lab.runs) - 1, [e.value for e in at.error]
    assert tuned.hparams.learning_rate == rate / 2 and tuned.hparams.optimizer == optimizer
    assert tuned.model.layers == layers and tuned.origin == "fine-tuned from #1 on 30 of your digits"
    assert any("fine-tuned on your 30 drawings" in s.value and f"2 epochs of {optimizer} at learning rate {rate / 2:g}"
               in s.value for s in at.success), [s.value for s in at.success]
    assert lab.tuning.after[0].fraction >= lab.tuning.before[0].fraction  # it learned the hand, or kept it
    assert lab.scores[len(lab.runs) - 1].accuracy > 0.6  # and MNIST still


def test_a_link_carries_the_new_settings_and_the_full_batch_both_ways(subset):
    link = {"layers": "2", "init": "he", "opt": "adam", "batch": "60000", "lr": "0.001", "epochs": "1"}
    at = open_app(subset, link)
    assert not at.warning
    shown = settings(at)
    assert (shown["layers"], shown["init"], shown["opt"], shown["batch"], shown["lr"]) == (2, "he", "adam", 60000,
                                                                                           0.001)
    assert {key: at.query_params[key] for key in link} == link  # written back as it came
    batch = at.select_slider(key="train_batch")
    assert batch.options[-1] == "60,000 (all)" and batch.options[:3] == ["1", "2", "4"] and "128" in batch.options
    assert batch.format_func(batch.value) == "60,000 (all)"
    at.select_slider(key="train_batch").set_value(1024).run()
    assert at.query_params["batch"] == "1024"
    at.select_slider(key="train_batch").set_value(60000).run()
    assert at.query_params["batch"] == "60000"  # the link keeps the plain number
    again = open_app(subset, dict(at.query_params))
    assert settings(again) == settings(at) and not again.warning

    # One full-batch epoch: one gradient step over the whole (sub)set
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    (run,) = at.session_state["lab"].runs
    assert run.status == RunStatus.DONE and run.batches_per_epoch == 1 and len(run.batch_costs) == 1
    assert run.hparams.batch_size == 60000 and run.model.layers == 2


@pytest.mark.parametrize("bad", [{"layers": "5"}, {"layers": "0"}, {"opt": "adagrad"}, {"init": "xavier"},
                                 {"batch": "60001"}, {"batch": "100"}, {"opt": "*Adam*"}])
def test_a_bad_new_setting_in_a_link_warns_and_keeps_the_default(subset, bad):
    at = open_app(subset, bad if "layers" in bad else {**bad, "layers": "3"})
    key, value = next(iter(bad.items()))
    warnings = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]
    assert any(f"{key}={value}" in w and "using the default" in w for w in warnings), warnings
    setting = next(s for s in SETTINGS if s.url_key == key)
    assert settings(at)[key] == setting.default
    if key != "layers":
        assert settings(at)["layers"] == 3  # the good one beside it is kept


def test_the_history_and_its_labels_name_depth_initialisation_and_optimizer(subset):
    from ui.history import model_file_name
    from ui.runs import run_label

    at = open_app(subset, {"layers": "2", "opt": "sgd", "lr": "2", "epochs": "1", "init": "he"})
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    lab = at.session_state["lab"]
    table = at.dataframe[0].value
    assert table.loc[0, "layers"] == 2 and table.loc[0, "init"] == "he" and table.loc[0, "optimizer"] == "sgd"
    assert table.loc[0, "beta"] is None or np.isnan(table.loc[0, "beta"])  # SGD has no beta
    label = run_label(lab, 0)
    assert "H 64 ×2 sigmoid, he, sgd lr 2, batch 128" in label and "beta" not in label
    assert model_file_name(0, lab.runs[0].hparams) == "mnist-mlp-run1-h64x2.npz"
    loaded, hparams, _ = load_model(model_bytes(lab.runs[0].model, lab.runs[0].hparams))
    assert loaded.layers == 2 and hparams.init == "he" and hparams.optimizer == "sgd"
