"""The Data page and a session's data set through Streamlit's AppTest: a four-class data set made from MNIST's
0-3 (renamed, one name a user's Markdown and address, one HTML), chosen on the Data page, named in the
sidebar as plain text, trained on Train (four outputs), and named on Evaluate; a refused file keeps the
data set in use; runs stay with the data set they were trained on.

Until helper dsimport's ``read_dataset`` is merged (main's raises "not built yet"), the upload test reads its
.npz with a stand-in made here from ``from_arrays`` (``npz_reader``): the page's own path (size check,
spinner, error, switch) is what it tests."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, LocalBackend, Mnist
from nn_core import datasets as readers
from nn_core.data import DataError
from ui.compare_table import table_rows
from ui.datasets import SessionData
from ui.state import Lab

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
NAMES = ("cat", "dog", "**bold** https://x.y", "<i>bird</i>")
SUBSET = 2000  # MNIST training images the session's backend holds (its MNIST runs: none here)
TIMEOUT = 90


@pytest.fixture(scope="module")
def pets(mnist):
    """MNIST's 0-3, 300 of each to train on and 100 of each to test on, under NAMES."""
    def pick(labels, per_class):
        return np.concatenate([np.flatnonzero(labels == k)[:per_class] for k in range(len(NAMES))])

    train, test = pick(mnist.train_labels, 300), pick(mnist.test_labels, 100)
    return readers.from_arrays(mnist.train_images[train], mnist.train_labels[train], NAMES, "pets",
                               test_images=mnist.test_images[test], test_labels=mnist.test_labels[test])


def npz_bytes(data) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=data.train_images, y=data.train_labels, x_test=data.test_images, y_test=data.test_labels,
             classes=np.array(data.classes))
    return buffer.getvalue()


def npz_reader(source, filename=None, seed=0):
    """The stand-in for dsimport's read_dataset: an .npz of this test's own layout, never unpickled."""
    try:
        with np.load(io.BytesIO(source), allow_pickle=False) as arrays:
            return readers.from_arrays(arrays["x"], arrays["y"], [str(c) for c in arrays["classes"]],
                                       Path(filename).stem, test_images=arrays["x_test"], test_labels=arrays["y_test"])
    except (ValueError, KeyError, OSError) as error:
        raise DataError(f"not an .npz data set ({error})") from None


@pytest.fixture
def new_app(mnist):
    def open_app(page: str | None = None) -> AppTest:
        small = Mnist(mnist.train_images[:SUBSET], mnist.train_labels[:SUBSET], mnist.test_images, mnist.test_labels)
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.session_state["lab"] = Lab(backend=LocalBackend(small))
        if page:
            at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
        return at
    return open_app


def sidebar(at: AppTest) -> str:
    """The sidebar's text with ``at``'s session state. AppTest runs the app's frame (streamlit_app.py, which
    writes every page's sidebar in a browser) on a session's first run only, later runs (and switched pages)
    the page alone: so a new AppTest is given the same Lab and run once."""
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT)
    fresh.session_state["lab"] = at.session_state["lab"]
    fresh.run()
    assert not fresh.exception, fresh.exception
    return "\n".join(element.value for element in fresh.sidebar.text)


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="data_upload_0").upload(name, content).run()
    assert not at.exception, at.exception
    return at


def test_the_sidebar_names_mnist_by_default(new_app):
    at = new_app()
    assert sidebar(at) == ("Data set: MNIST\n10 classes: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\n"
                           "60,000 training and 10,000 test images")


def test_a_refused_file_shows_one_error_and_keeps_the_data_set(new_app):
    at = new_app("pages/data.py")
    assert at.title[0].value == "Data"
    upload(at, "junk.npz", b"this is no data set")
    assert len(at.error) == 1, [e.value for e in at.error]
    assert "junk" in at.error[0].value and "still MNIST" in at.error[0].value
    assert sidebar(at).startswith("Data set: MNIST\n")
    assert at.session_state["lab"].dataset.data is None and not at.success


def test_a_file_over_the_bound_is_refused_before_it_is_read(new_app, monkeypatch):
    at = new_app("pages/data.py")
    monkeypatch.setattr(readers, "MAX_UPLOAD_BYTES", 1000)  # the check the page makes, on a small file
    monkeypatch.setattr(readers, "read_dataset", lambda *a, **k: pytest.fail("a file over the bound was read"))
    upload(at, "big.npz", bytes(1001))
    assert len(at.error) == 1 and "at most" in at.error[0].value
    assert sidebar(at).startswith("Data set: MNIST\n")


def train_on(at: AppTest) -> AppTest:
    at.switch_page("pages/train.py").run()
    at.slider(key="train_epochs").set_value(3).run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    return at


def confusion_ticks(at: AppTest) -> list[str]:
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    figure = next(spec for spec in specs if spec["layout"].get("title", {}).get("text") == "Confusion matrix")
    return figure["layout"]["xaxis"]["ticktext"]


def test_a_data_set_brought_on_the_data_page_is_trained_and_evaluated_by_its_names(new_app, pets, monkeypatch):
    monkeypatch.setattr(readers, "read_dataset", npz_reader)  # dsimport's reader, once merged
    at = upload(new_app("pages/data.py"), "pets.npz", npz_bytes(pets))
    assert len(at.success) == 1 and not at.error
    shown = "\n".join(element.value for element in at.main.text)
    assert all(name in shown for name in NAMES)  # the preview's names, as written (st.text: no Markdown)
    assert sidebar(at) == f"Data set: pets\n4 classes: {', '.join(NAMES)}\n1,200 training and 400 test images"

    train_on(at)
    session = at.session_state["lab"]
    assert len(session.runs) == 1 and session.runs[0].model.classes == 4 and session.active == 0
    assert session.scores[0].accuracy > 0.9  # four classes of 300 images, 3 epochs
    assert not any("post's" in (trace.get("name") or "") for trace in train_traces(at))

    at.switch_page("pages/evaluate.py").run()
    assert not at.exception, at.exception
    assert confusion_ticks(at) == ["cat", "dog", "**bold** https://x.y", "&lt;i&gt;bird&lt;/i&gt;"]
    report = at.dataframe[0].value
    assert list(report["class"])[:4] == list(NAMES) and int(report["support"].iloc[0]) == 100
    assert at.selectbox(key="evaluate_true").options == list(NAMES)


def train_traces(at: AppTest) -> list[dict]:
    from ui.liveview import shown

    figures = shown("train_live", at.session_state)
    return [trace for figure in figures.values() for trace in figure.get("data", [])]


def test_runs_stay_with_their_data_set(new_app, pets):
    at = new_app("pages/data.py")
    at.session_state["lab"].dataset = SessionData(own=pets)  # brought earlier, MNIST in use
    at.run()
    at.button(key="data_use_own").click().run()
    assert len(at.success) == 1 and sidebar(at).startswith("Data set: pets\n")
    train_on(at)
    assert len(at.session_state["lab"].runs) == 1
    at.switch_page("pages/data.py").run()
    at.button(key="data_use_mnist").click().run()
    session = at.session_state["lab"]
    assert sidebar(at).startswith("Data set: MNIST\n") and session.runs == [] and session.active is None
    assert session.kept() == 1  # the pets run still counts towards the session's bound
    at.switch_page("pages/evaluate.py").run()
    assert any("No trained model yet" in info.value for info in at.info)  # never the pets model on MNIST
    at.switch_page("pages/data.py").run()
    at.button(key="data_use_own").click().run()
    session = at.session_state["lab"]
    assert len(session.runs) == 1 and session.runs[0].model.classes == 4 and session.active == 0


def use_pets(new_app, pets) -> AppTest:
    at = new_app("pages/data.py")
    at.session_state["lab"].dataset = SessionData(own=pets)
    at.run()
    at.button(key="data_use_own").click().run()
    return at


def test_a_sweep_follows_the_data_set(new_app, pets):
    at = use_pets(new_app, pets)
    at.switch_page("pages/sweep.py").run()
    at.text_input(key="sweep_values_learning_rate").set_value("4").run()
    at.number_input(key="sweep_seeds").set_value(1).run()
    at.button(key="sweep_start").click().run()
    assert not at.exception, at.exception
    sweep = at.session_state["lab"].sweep
    assert sweep.finished and [result.model.classes for result in sweep.results] == [4]
    assert len(sweep.test_labels) == 400 and sweep.rows[0]["test_accuracy"] > 0.9  # scored on the pets' tests


def test_inside_steps_on_the_data_set(new_app, pets):
    at = use_pets(new_app, pets)
    at.switch_page("pages/inside.py").run()
    next(button for button in at.button if button.label == "Step").click().run()
    assert not at.exception, at.exception
    step = at.session_state["inside_run"].run.last
    assert step.before.classes == 4 and int(step.stages.y.max()) < 4
    specs = {json.loads(chart.proto.spec)["layout"].get("title", {}).get("text"): json.loads(chart.proto.spec)
             for chart in at.get("plotly_chart")}
    assert specs["What the network thinks"]["layout"]["xaxis"]["ticktext"] == [
        "cat", "dog", "**bold** https://x.y", "&lt;i&gt;bird&lt;/i&gt;"]


def test_a_comparison_follows_the_data_set(new_app, pets):
    at = use_pets(new_app, pets)
    at.switch_page("pages/compare.py").run()
    quick = Hyperparams(epochs=2)
    at.session_state["compare_table"] = table_rows([("a", quick), ("b", replace(quick, learning_rate=1.0))])
    at.run()
    at.button(key="compare_start").click().run()
    assert not at.exception, at.exception
    comparison = at.session_state["compare_run"]
    assert comparison.finished and [result.model.classes for result in comparison.results] == [4, 4]
    assert all(accuracy > 0.8 for _, accuracy in comparison.scores)  # scored on the pets' own test images
