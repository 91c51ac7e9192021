"""The Evaluate page through Streamlit's AppTest, with a real model trained on a subset of MNIST.

``python -m tests.test_evaluate_page`` (from the repository's root) times the page after a default (post's)
training instead.
"""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix
from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, Mnist, RunResult, Trainer, evaluate
from nn_core.metrics import report_rows
from ui.state import Lab
from tests.browser import exceptions, go_to, main_area, open_app, press, wait_for_metric

ROOT = Path(__file__).resolve().parent.parent

APP = str(ROOT / "streamlit_app.py")
PAGE = "pages/evaluate.py"
MAX_EXAMPLES = 40


def train_subset(mnist, samples=8000, epochs=2, hidden_units=40, max_batches=None, seed=1):
    """A real RunResult: a few hundred batches on a subset, evaluated on the full test set."""
    subset = Mnist(mnist.train_images[:samples], mnist.train_labels[:samples], mnist.test_images, mnist.test_labels)
    trainer = Trainer(subset, Hyperparams(hidden_units=hidden_units, epochs=epochs, seed=seed))
    while not trainer.finished and (max_batches is None or trainer.total_batches_done < max_batches):
        trainer.run(max_batches=max_batches or 500)
    if not trainer.finished:
        trainer.stop()
    return trainer.result()


@pytest.fixture(scope="module")
def run(mnist):
    return train_subset(mnist)  # 2 epochs x 63 batches of 128


@pytest.fixture(scope="module")
def expected(run, mnist):
    """What the page should show, computed directly with NumPy and scikit-learn."""
    model = run.model  # the network written out in float64, independently of nn_core's forward
    hidden = 1 / (1 + np.exp(-(mnist.test_images / 255.0) @ model.W1.astype(np.float64) - model.b1))
    logits = hidden @ model.W2.astype(np.float64) + model.b2  # (10000, 10)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    predictions = probabilities.argmax(axis=1)  # float32 could differ only where two logits are within ~1e-5
    cost, accuracy = evaluate(run.model, mnist.test_images, mnist.test_labels)
    return {"probabilities": probabilities, "predictions": predictions, "cost": cost, "accuracy": accuracy,
            "confusion": confusion_matrix(mnist.test_labels, predictions, labels=list(range(10)))}


def open_page(runs, active=0) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lab"] = Lab(runs=list(runs), active=active)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def plotly_specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def decode(value):
    """A Plotly JSON array: a plain list, or NumPy's base64 ``{"dtype", "bdata", "shape"}`` form."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]).newbyteorder("<"))
        shape = value.get("shape")
        return array.reshape([int(d) for d in str(shape).split(",")]) if shape else array
    return np.asarray(value)


def heatmap(at) -> dict:
    (trace,) = [t for spec in plotly_specs(at) for t in spec["data"] if t["type"] == "heatmap"]
    return trace


def shown_examples(at) -> list[int]:
    """Test-set indices of the example images, read from their captions ("#123: ...")."""
    captions = at.image[0].captions
    return [int(re.match(r"#(\d+):", caption).group(1)) for caption in captions]


def test_without_a_model_it_says_so_and_links_to_train():
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    assert any("No trained model" in info.value for info in at.info)
    assert [(link.proto.label, link.proto.page) for link in at.page_link] == [("Go to Train", "train")]
    assert not at.metric and not at.get("plotly_chart")


def test_metrics_heatmap_and_report(run, expected, mnist):
    at = open_page([run])
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Test accuracy"] == f"{expected['accuracy']:.2%}"
    assert re.fullmatch(r"\d\.\d{4}", metrics["Test cost"])
    assert abs(float(metrics["Test cost"]) - expected["cost"]) <= 0.5e-4 + 1e-6  # rounded to 4 decimals
    mistakes = 10_000 - int(np.trace(expected["confusion"]))
    assert metrics["Mistakes"] == f"{mistakes:,} of 10,000"

    counts = decode(heatmap(at)["z"])
    assert counts.shape == (10, 10) and counts.sum() == 10_000
    np.testing.assert_array_equal(counts, expected["confusion"])
    assert heatmap(at)["text"][3][5] == str(expected["confusion"][3, 5])  # counts written in the cells

    table = at.dataframe[0].value
    assert list(table["digit"]) == [str(d) for d in range(10)] + ["macro avg", "weighted avg"]
    for row, want in zip(table.to_dict("records"), report_rows(mnist.test_labels, expected["predictions"])):
        assert row["precision"] == pytest.approx(want["precision"]) and row["recall"] == pytest.approx(want["recall"])
        assert row["f1-score"] == pytest.approx(want["f1-score"]) and row["support"] == want["support"]

    curves = [spec for spec in plotly_specs(at) if any(t["type"] == "scatter" and t.get("name") == "test cost"
                                                          for t in spec["data"])]
    assert len(curves) == 1 and len(decode(curves[0]["data"][1]["y"])) == len(run.epochs) == 2


def test_rates_toggle_is_instant_and_row_normalised(run, expected):
    at = open_page([run])
    cached = at.session_state["evaluate_cache"]["diagnostics"]
    at.toggle(key="evaluate_rates").set_value(True).run()
    assert not at.exception
    rates = decode(heatmap(at)["z"])
    np.testing.assert_allclose(rates, expected["confusion"] / expected["confusion"].sum(axis=1, keepdims=True))
    np.testing.assert_allclose(rates.sum(axis=1), 1.0)
    assert heatmap(at)["text"][0][0].endswith("%")
    assert at.session_state["evaluate_cache"]["diagnostics"] is cached  # not recomputed for a toggle


def test_starts_on_the_most_frequent_mistake(run, expected):
    at = open_page([run])
    off_diagonal = expected["confusion"] - np.diag(np.diag(expected["confusion"]))
    true_digit, predicted_digit = np.unravel_index(np.argmax(off_diagonal), (10, 10))
    assert (at.selectbox(key="evaluate_true").value, at.selectbox(key="evaluate_predicted").value) == (
        true_digit, predicted_digit)


def test_choosing_a_cell_shows_exactly_its_images(run, expected, mnist):
    at = open_page([run])
    probabilities, predictions, labels = expected["probabilities"], expected["predictions"], mnist.test_labels
    off_diagonal = [(t, p) for t in range(10) for p in range(10) if t != p and expected["confusion"][t, p] > 1]
    cells = [off_diagonal[0], off_diagonal[-1], (8, 8)]  # two kinds of mistake and a diagonal cell (> 40 images)
    for true_digit, predicted_digit in cells:
        at.selectbox(key="evaluate_true").set_value(true_digit)
        at.selectbox(key="evaluate_predicted").set_value(predicted_digit).run()
        assert not at.exception
        members = np.flatnonzero((labels == true_digit) & (predictions == predicted_digit))
        confidence = probabilities[members, predicted_digit]
        # mistakes: most confident first; correct answers: least confident first
        members = members[np.argsort(-confidence if true_digit != predicted_digit else confidence, kind="stable")]
        shown = shown_examples(at)
        assert len(shown) == min(len(members), MAX_EXAMPLES)
        assert set(shown) <= set(members.tolist())
        # the order is the page's claim; allow float32-vs-float64 ties to swap neighbours
        np.testing.assert_allclose(probabilities[shown, predicted_digit], probabilities[members[: len(shown)],
                                   predicted_digit], rtol=1e-4)
        assert any(f"{len(members):,} {true_digit}s" in md.value for md in at.markdown)
        first = shown[0]
        top = np.argsort(-probabilities[first])[:3]
        assert at.image[0].captions[0].startswith(f"#{first}: {top[0]}\u00a0")
        assert len(at.image[0].value) == len(shown)  # one image per caption


def test_an_empty_cell_says_so(run, expected):
    empty = [(t, p) for t in range(10) for p in range(10) if expected["confusion"][t, p] == 0]
    if not empty:
        pytest.skip("this model confuses every pair at least once")
    at = open_page([run])
    at.selectbox(key="evaluate_true").set_value(empty[0][0])
    at.selectbox(key="evaluate_predicted").set_value(empty[0][1]).run()
    assert not at.exception
    assert any("No test image" in message.value for message in at.success)
    assert len(at.image) == 2  # only the units and their colour scale


def test_hidden_units_in_pages_with_one_colour_scale(run):
    at = open_page([run])
    units = at.image[1]
    assert units.captions[0].startswith("unit 0 ") and len(units.captions) == 40  # H = 40 fits one page
    at.select_slider(key="evaluate_units_per_page").set_value(16).run()
    at.number_input(key="evaluate_units_page").set_value(3).run()
    assert not at.exception
    captions = at.image[1].captions
    assert [int(c.split()[1]) for c in captions] == list(range(32, 40))
    W2 = run.model.W2
    assert captions[0] == f"unit 32 ↑{int(np.argmax(W2[32]))} ↓{int(np.argmin(W2[32]))}"
    assert "shared by all units" in at.image[2].captions[0]


def test_model_without_epochs_and_switching_models(mnist, run, expected):
    stopped = train_subset(mnist, samples=8000, epochs=2, hidden_units=20, max_batches=30, seed=2)
    assert stopped.status == "stopped" and not stopped.epochs
    at = open_page([run, stopped], active=1)
    assert any("no per-epoch figures" in info.value for info in at.info)
    cost, accuracy = evaluate(stopped.model, mnist.test_images, mnist.test_labels)
    assert {m.label: m.value for m in at.metric}["Test accuracy"] == f"{accuracy:.2%}"
    assert len(at.image[1].captions) == 20  # H = 20: two page sizes, default shows all
    at.session_state["lab"].active = 0
    at.run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Test accuracy"] == f"{expected['accuracy']:.2%}"
    assert at.session_state["evaluate_cache"]["run"] is run


def test_an_uploaded_model_without_history(run, expected):
    uploaded = RunResult(hparams=run.hparams, model=run.model.copy(), epochs=[],
                         batch_costs=np.empty(0, np.float32), batches_per_epoch=0, status="uploaded")
    at = open_page([uploaded])
    assert any("uploaded model carries no training history" in info.value for info in at.info)
    assert {m.label: m.value for m in at.metric}["Test accuracy"] == f"{expected['accuracy']:.2%}"
    assert "uploaded model" in at.caption[0].value


def test_clicking_a_heatmap_cell_in_chromium_shows_that_cell(page, app_url):
    """Plotly heatmaps send Streamlit no selection; the page's invisible cell markers must."""
    main = main_area(page)
    open_app(page, f"{app_url}/?epochs=1")  # one epoch (~95%): mistakes in many cells, a short wait
    press(page, "Train")
    wait_for_metric(page, "Test accuracy", 120_000)
    go_to(page, "Evaluate")
    chart = main.locator(".st-key-evaluate_confusion_chart")
    chart.locator(".nsewdrag").wait_for(timeout=60_000)
    page.wait_for_timeout(500)  # let Plotly finish its first layout
    plot_area = chart.locator(".nsewdrag").bounding_box()  # the 10x10 cells, true digit 0 at the top

    def click_cell(true_digit, predicted_digit):
        x = plot_area["x"] + (predicted_digit + 0.5) * plot_area["width"] / 10
        y = plot_area["y"] + (true_digit + 0.5) * plot_area["height"] / 10
        page.mouse.move(x, y)
        page.wait_for_timeout(300)
        page.mouse.click(x, y)

    def chosen():  # the two selectboxes' values
        return [main.get_by_role("combobox", name=label).input_value() for label in ("True digit", "Predicted digit")]

    click_cell(3, 3)
    main.get_by_text(re.compile(r"3s read correctly")).wait_for(timeout=30_000)
    assert chosen() == ["3", "3"]
    click_cell(9, 4)
    main.get_by_text(re.compile(r"9s read as 4|No test image of a 9 was read as 4")).wait_for(timeout=30_000)
    assert chosen() == ["9", "4"]
    assert exceptions(page) == []


if __name__ == "__main__":
    # Timing: the page's first render after a default training, then a toggle rerun and a cell change.
    from nn_core import load_mnist

    data = load_mnist()
    trainer = Trainer(data, Hyperparams())
    while not trainer.finished:
        trainer.run(max_batches=1000)
    result = trainer.result()
    for attempt in range(3):
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()  # the Train page: loads MNIST into the server-wide cache, like a real session would have
        at.session_state["lab"] = Lab(runs=[result], active=0)
        at.switch_page(PAGE)
        start = time.perf_counter()
        at.run()
        first = time.perf_counter() - start
        start = time.perf_counter()
        at.toggle(key="evaluate_rates").set_value(True).run()
        toggle = time.perf_counter() - start
        start = time.perf_counter()
        at.selectbox(key="evaluate_true").set_value(3)
        at.selectbox(key="evaluate_predicted").set_value(5).run()
        cell = time.perf_counter() - start
        assert not at.exception, at.exception
        print(f"attempt {attempt + 1}: first render {first * 1000:.0f} ms, toggle rerun {toggle * 1000:.0f} ms, "
              f"cell change {cell * 1000:.0f} ms (test accuracy {result.final.test_accuracy:.2%})")
