"""The Inside page through Streamlit's AppTest, on the real MNIST files: its Batch cost is the default
run's, every matrix it draws (heatmaps, bars, composed images), for every depth, and the optimizer's worked
numbers, for every optimizer, match the float64 pass and optimizers of ``tests.test_inside``."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, Trainer
from nn_core.inside import chosen_weights
from tests.test_evaluate_page import decode, train_subset
from tests.test_inside import (LEARNING_RATES, OPTIMIZERS, ReferenceOptimizer, assert_close, assert_numbers,
                               expected_numbers, initial_params, initial_weights, reference)
from ui.inside import tex_number
from ui.state import INSIDE_RUN, INSIDE_SOURCE, Lab, setting_key

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
PAGE = "pages/inside.py"


@pytest.fixture
def media(monkeypatch) -> dict:
    """Every file the page hands Streamlit's media storage (st.image's PNGs), by file id."""
    files, original = {}, MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        files[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return files


def open_page(settings: dict | None = None, lab: Lab | None = None, source: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for url_key, value in (settings or {}).items():
        at.session_state[setting_key(url_key)] = value
    if lab is not None:
        at.session_state["lab"] = lab
    if source is not None:
        at.session_state[INSIDE_SOURCE] = source
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def press(at: AppTest, label: str) -> AppTest:
    next(button for button in at.button if button.label == label).click().run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def figures(at: AppTest) -> dict[str, dict]:
    """The page's Plotly figures by title."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {spec["layout"]["title"]["text"]: spec for spec in specs}


def heatmap(spec: dict) -> np.ndarray:
    return np.asarray(decode(spec["data"][0]["z"]), np.float64)


def images(at: AppTest, media: dict) -> dict[str, np.ndarray]:
    """The page's st.image pictures by the start of their caption, decoded from the PNGs it sent."""
    shown = {}
    for element in at.get("image"):
        for url, caption in zip(element.value, element.captions):
            file_id = re.search(r"/([0-9a-f]+)\.\w+$", url).group(1)
            shown[caption] = np.asarray(Image.open(io.BytesIO(media[file_id])))
    return shown


def untile(sheet: np.ndarray, count: int, columns: int, zoom: int, gap: int = 2) -> np.ndarray:
    """(count, 28, 28[, 3]) back from a composed picture of zoomed 28x28 images, ``columns`` a row."""
    cell = 28 * zoom + gap
    return np.stack([sheet[r * cell : r * cell + 28 * zoom : zoom, c * cell : c * cell + 28 * zoom : zoom]
                     for r, c in (divmod(i, columns) for i in range(count))])


def colours(values: np.ndarray, limit: float) -> np.ndarray:
    """Blue-white-red as the page paints weights (written again here, in float64)."""
    t = np.clip(values / limit, -1, 1)[..., None]
    white, red, blue = np.array([255.0] * 3), np.array([178.0, 24, 43]), np.array([33.0, 102, 172])
    return np.where(t >= 0, white + t * (red - white), white - t * (blue - white))


def by_caption(shown: dict, start: str) -> np.ndarray:
    return next(image for caption, image in shown.items() if caption.startswith(start))


def test_batch_cost_is_the_default_runs_after_step_step_10_and_step_100(mnist):
    reference_run = Trainer(mnist, Hyperparams())  # nn_core's own default run
    reference_run.run(max_batches=111)
    costs = reference_run.batch_costs
    at = open_page()
    assert metric(at, "Batch cost") == "—" and metric(at, "Step") == "0"
    for label, total in (("Step", 1), ("Step 10", 11), ("Step 100", 111)):
        press(at, label)
        assert metric(at, "Batch cost") == f"{costs[total - 1]:.4f}"
        assert metric(at, "Step") == str(total)
        assert metric(at, "Epoch position") == f"1/9 · {total}/469"
        assert at.session_state[INSIDE_RUN].run.last.cost == costs[total - 1]  # the very number, unrounded
        assert any(f"= {costs[total - 1]:.6f}" in element.value for element in at.get("latex"))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_every_matrix_shown_matches_a_float64_pass(mnist, media, activation):
    lr = 0.5 if activation == "relu" else 4.0
    hp = Hyperparams(learning_rate=lr, activation=activation)
    at = open_page({"act": activation, "lr": lr})
    (W1, W2), permutation = initial_weights(hp)
    params = {"W1": W1, "b1": np.zeros(64), "W2": W2, "b2": np.zeros(10)}
    velocity = {name: np.zeros(np.shape(value)) for name, value in params.items()}
    for number in (1, 2):  # the second step starts from a non-zero velocity
        press(at, "Step")
        rows = permutation[(number - 1) * 128 : number * 128]
        X, y = mnist.train_images[rows] / 255.0, mnist.train_labels[rows].astype(int)
        expected = reference(params, X, y, activation)
        for name in velocity:  # the post's momentum, in float64
            velocity[name] = hp.momentum * velocity[name] + (1 - hp.momentum) * expected["d" + name]
        check_figures(figures(at), expected, velocity, hp, activation)
        check_images(images(at, media), X, expected, params, velocity, hp)
        params = {name: params[name] - lr * velocity[name] for name in params}


def check_figures(shown: dict, expected: dict, velocity: dict, hp: Hyperparams, activation: str) -> None:
    for title, name in (("Z1", "Z1"), (f"A1 = {activation}(Z1)", "A1"), ("Z2", "Z2"), ("A2 = softmax(Z2)", "A2"),
                        ("dZ2 = A2 − Y", "dZ2"), ("dW2", "dW2"), ("dA1", "dA1"),
                        (f"{activation}′(Z1)", "derivative1"), ("dZ1", "dZ1")):
        assert_close(title, heatmap(shown[title]), expected[name])
    for title, name in (("db2", "db2"), ("db1", "db1")):
        assert_close(title, decode(shown[title]["data"][0]["y"]), expected[name])
    assert_close("softmax bars", decode(shown["What the network thinks"]["data"][0]["y"]), expected["A2"][0])
    # momentum: the newest point of each chosen weight's gradient, velocity and update
    weights = shown["A few weights over the last steps"]["data"]
    chosen = [("W1", 406, 0), ("W1", 375, 1), ("W1", 487, 2), ("W2", 0, 0), ("W2", 1, 1), ("W2", 2, 7)]
    for i, (name, row, column) in enumerate(chosen):
        gradient, v, update = (decode(trace["y"])[-1] for trace in weights[3 * i : 3 * i + 3])
        true_velocity = velocity[name][row, column]
        assert gradient == pytest.approx(expected["d" + name][row, column], rel=1e-3, abs=1e-7)
        assert v == pytest.approx(true_velocity, rel=1e-3, abs=1e-7)
        assert update == pytest.approx(hp.learning_rate * true_velocity, rel=1e-3, abs=1e-7)
    norms = shown["Norms over the last steps, per layer"]["data"]  # layer 1: gradient, velocity, update; then 2
    for layer, names in enumerate((("W1", "b1"), ("W2", "b2"))):
        gradient = np.sqrt(sum(np.sum(expected["d" + n] ** 2) for n in names))
        v = np.sqrt(sum(np.sum(velocity[n] ** 2) for n in names))
        for k, value in enumerate((gradient, v, hp.learning_rate * v)):
            assert decode(norms[3 * layer + k]["y"])[-1] == pytest.approx(value, rel=1e-4)


def check_images(shown: dict, X, expected: dict, params: dict, velocity: dict, hp: Hyperparams) -> None:
    batch = untile(by_caption(shown, "Step "), 128, 16, zoom=2)
    assert np.array_equal(batch.reshape(128, 784), np.round(X * 255).astype(np.uint8))  # the very images
    after = params["W1"] - hp.learning_rate * velocity["W1"]
    for start, matrix, columns in (("dW1", expected["dW1"], 16), ("W1 before", params["W1"], 8),
                                   ("W1 after", after, 8), ("W1 change", after - params["W1"], 8)):
        caption = next(c for c in shown if c.startswith(start))
        limit = float(re.search(r"±(\d+(?:\.\d+)?(?:e[-+]?\d+)?)", caption).group(1))
        picture = untile(by_caption(shown, start), 64, columns, zoom=2).astype(np.float64)
        painted = colours(matrix.T.reshape(64, 28, 28), limit)
        # the limit is printed to 3 digits (up to 0.1% off): a colour may differ by that and rounding, not more
        assert np.abs(picture - painted).max() <= 2, start


def test_it_starts_from_the_active_model_and_leaves_it_alone(mnist):
    run = train_subset(mnist, samples=2000, epochs=1, hidden_units=24)  # 16 batches
    kept = run.model.flat.copy()
    lab = Lab(runs=[run], active=0)
    at = open_page(lab=lab, source="active")
    assert "active model's weights" in " ".join(c.value for c in at.caption)
    press(at, "Step 10")
    inside = at.session_state[INSIDE_RUN]
    assert inside.run.hparams == run.hparams and inside.run.steps == 10
    first = Trainer(mnist, run.hparams, initial=run.model)  # the same start, stepped by nn_core's own loop
    first.run(max_batches=10)
    assert metric(at, "Batch cost") == f"{first.batch_costs[9]:.4f}"
    assert np.array_equal(run.model.flat, kept) and len(lab.runs) == 1  # Train's run is untouched


def test_without_an_active_model_it_says_so():
    at = open_page(source="active")
    assert "No active model yet" in at.info[0].value
    assert not at.metric


def test_reset_starts_over():
    at = open_page()
    press(at, "Step")
    first = metric(at, "Batch cost")
    press(at, "Step 10")
    press(at, "Reset")
    assert metric(at, "Batch cost") == "—" and metric(at, "Step") == "0"
    press(at, "Step")
    assert metric(at, "Batch cost") == first


def test_512_units_are_paged(media):
    at = open_page({"hidden": 512, "lr": 1.0})
    press(at, "Step")
    assert at.select_slider(key="inside_units_per_page").value == 64
    at.number_input(key="inside_units_page").set_value(8).run()
    assert not at.exception, at.exception
    z1 = figures(at)["Z1"]
    assert list(decode(z1["data"][0]["x"])) == list(range(448, 512)) and heatmap(z1).shape == (128, 64)
    step = at.session_state[INSIDE_RUN].run.last
    assert_close("Z1 page 8", heatmap(z1), step.stages.Z[0][:, 448:])
    shown = images(at, media)
    assert by_caption(shown, "dW1").shape[:2] == (4 * 58 - 2, 16 * 58 - 2)  # one picture of 64 units
    assert any("units 448–511 of 512" in caption for caption in shown)


def test_a_diverging_run_says_so_and_stops_stepping():
    at = open_page({"lr": 1000.0})
    press(at, "Step 10")
    assert "diverged" in at.error[0].value and "Lower the learning rate" in at.error[0].value
    assert next(b for b in at.button if b.label == "Step").disabled


def numbers_table(at: AppTest) -> dict[str, np.ndarray]:
    """The worked numbers' table (weights by quantity), as the page hands it to Streamlit."""
    (table,) = at.dataframe
    return {column: table.value[column].to_numpy(np.float64) for column in table.value.columns}


def latex_text(at: AppTest) -> str:
    return "\n".join(element.value for element in at.get("latex"))


@pytest.mark.parametrize("layers", [2, 3])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_each_optimizer_at_depths_2_and_3(mnist, optimizer, layers):
    """Two Steps with Train's settings set to each optimizer and 2 or 3 hidden layers: a stage per layer, each
    heatmap and bar chart the float64 pass's, and the optimizer's formula worked with its real numbers."""
    lr = LEARNING_RATES[optimizer]
    hp = Hyperparams(optimizer=optimizer, learning_rate=lr, layers=layers, hidden_units=32)
    at = open_page({"opt": optimizer, "lr": lr, "layers": layers, "hidden": 32})
    params, permutation = initial_params(hp)
    reference_optimizer = ReferenceOptimizer(hp, params)
    for number in (1, 2):  # the second step starts from the optimizer's non-zero state
        press(at, "Step")
        rows = permutation[(number - 1) * 128 : number * 128]
        X, y = mnist.train_images[rows] / 255.0, mnist.train_labels[rows].astype(int)
        expected = reference(params, X, y, hp.activation)
        grads = {name: expected["d" + name] for name in params}
        previous = {key: {name: array.copy() for name, array in arrays.items()}  # the state before the step
                    for key, arrays in reference_optimizer.state.items()}
        after, updates = reference_optimizer.step(params, grads)
        shown, out = figures(at), layers + 1
        for l in range(1, layers + 1):  # each hidden layer's stages
            for title, name in ((f"Z{l}", f"Z{l}"), (f"A{l} = sigmoid(Z{l})", f"A{l}"), (f"dA{l}", f"dA{l}"),
                                (f"sigmoid′(Z{l})", f"derivative{l}"), (f"dZ{l}", f"dZ{l}")):
                assert_close(title, heatmap(shown[title]), expected[name])
            assert_close(f"db{l}", decode(shown[f"db{l}"]["data"][0]["y"]), expected[f"db{l}"])
            if l > 1:  # a deeper layer's dW, H x H
                assert_close(f"dW{l}", heatmap(shown[f"dW{l}"]), expected[f"dW{l}"])
        for title, name in ((f"Z{out}", f"Z{out}"), (f"A{out} = softmax(Z{out})", f"A{out}"),
                            (f"dZ{out} = A{out} − Y", f"dZ{out}"), (f"dW{out}", f"dW{out}")):
            assert_close(title, heatmap(shown[title]), expected[name])
        assert f"Z{out + 1}" not in shown
        equations = latex_text(at)
        assert rf"Z_{{{layers}}} = A_{{{layers - 1}}} W_{{{layers}}} + b_{{{layers}}} \quad (128 \times 32)(32 \times 32)" \
            in equations
        assert rf"dW_{{1}} = \frac{{1}}{{m}} X^{{\top}} dZ_{{1}} \quad (784 \times 128)(128 \times 32)" in equations
        # the worked numbers: the chosen weights of every layer, against the float64 optimizer
        want = expected_numbers(hp, params, grads, reference_optimizer, updates, after)
        symbols = {"velocity": "V", "square": "S", "first": "M", "second": "V"}
        for key, arrays in previous.items():
            chosen = [arrays[name][row, column] for name, row, column in chosen_weights(32, layers)]
            want[f"{symbols[key]} before"] = np.array(chosen)
        table = numbers_table(at)
        assert set(table) == set(want)
        assert_numbers(table, want, hp)
        assert at.dataframe[0].value.index[3 if layers > 1 else 0].startswith("W2[" if layers > 1 else "W1[")
        if optimizer == "adam":
            assert rf"t = {number}: \quad 1 - \beta_1^{{\,t}} = 1 - 0.9^{{{number}}} = {1 - 0.9**number:.4g}" in equations
            assert rf"1 - 0.999^{{{number}}} = {1 - 0.999**number:.4g}" in equations
            assert r"\hat M = \frac{M}{1 - \beta_1^{\,t}}" in equations
        if optimizer == "nesterov":
            assert r"\text{(look-ahead)}" in equations
        if optimizer == "rmsprop":
            assert r"\sqrt{S} + \varepsilon" in equations
        norms = shown["Norms over the last steps, per layer"]["data"]
        assert len(norms) == out * (len(previous) + 2)  # a panel per layer: gradient, each state, update
        params = after
    assert metric(at, "Step") == "2"


def test_the_worked_weight_can_be_chosen(mnist):
    at = open_page({"opt": "adam", "lr": 0.001, "layers": 2, "hidden": 32})
    press(at, "Step")
    table = at.dataframe[0].value
    assert list(table.index) == ["W1[406,0]", "W1[375,1]", "W1[487,2]", "W2[1,2]", "W3[0,0]", "W3[1,1]", "W3[2,7]"]
    at.selectbox(key="inside_weight").set_value("W2[1,2]").run()
    assert not at.exception, at.exception
    equations = [element.value.strip("$\n") for element in at.get("latex")]
    delta, after = tex_number(table.loc["W2[1,2]", "Δ"]), tex_number(table.loc["W2[1,2]", "W after"])
    last = [e for e in equations if e.startswith(r"W \leftarrow W - \Delta =")]
    assert len(last) == 1 and last[0].endswith(f"= {after}")
    assert any(e.startswith(r"\Delta = \alpha \frac{\hat M}") and e.endswith(f"= {delta}") for e in equations)
    press(at, "Reset")  # a shallower network: the choice falls back to its first weight
    at.session_state[setting_key("layers")] = 1
    press(at, "Reset")
    press(at, "Step")
    assert at.selectbox(key="inside_weight").value == "W1[406,0]"


def test_a_full_batch_shows_its_first_128_images_and_says_so(mnist):
    at = open_page({"batch": 60_000, "opt": "sgd", "lr": 1.0, "init": "normal"})
    press(at, "Step")
    assert any("60,000 images" in info.value and "first 128" in info.value for info in at.info)
    shown = figures(at)
    assert heatmap(shown["Z1"]).shape == (128, 64) and heatmap(shown["dZ2 = A2 − Y"]).shape == (128, 10)
    assert heatmap(shown["dW2"]).shape == (64, 10)
    assert shown["Z1"]["layout"]["yaxis"]["title"]["text"] == "image (first 128 of 60,000)"
    assert r"Z_{1} = X W_{1} + b_{1} \quad (60000 \times 784)(784 \times 64)" in latex_text(at)
    assert metric(at, "Epoch position") == "1/9 · 1/1"
    step = at.session_state[INSIDE_RUN].run.last
    assert step.stages.X.shape == (128, 784) and step.stages.m == 60_000


def test_deeper_layers_dW_is_paged_both_ways():
    at = open_page({"hidden": 512, "lr": 1.0, "layers": 2})
    press(at, "Step")
    at.number_input(key="inside_units_page").set_value(8).run()
    assert not at.exception, at.exception
    dW2 = figures(at)["dW2"]
    assert list(decode(dW2["data"][0]["x"])) == list(range(448, 512)) == list(decode(dW2["data"][0]["y"]))
    step = at.session_state[INSIDE_RUN].run.last
    assert_close("dW2 page 8", heatmap(dW2), step.stages.dW[1][448:, 448:])
