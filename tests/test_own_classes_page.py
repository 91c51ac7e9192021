"""The Draw page's "my own classes" through AppTest: naming classes (and refusing bad names), drawings
added to a class from the canvas, counts, undo, emptying and deleting a class, the bounds, training (a
run with one output per class, on the session's backend) and the canvas then read as the class names;
uploads refused with a message; the zip round trip and the session's data set once their modules exist."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn_core import LocalBackend
from nn_core.handwriting import MAX_DRAWINGS, DigitSet
from nn_core.preprocess import to_mnist
from tests.digit_strokes import rasterise
from tests.own_shapes import KINDS, shape
from tests.test_draw_page import ROOT, canvas_state, prediction
from nn_core.datasets import from_arrays, write_zip_of_folders
from ui.own_classes import MAX_UPLOAD_BYTES, OwnClasses, open_upload
from ui.own_drawings import MAX_CLASSES, MAX_NAME, Drawings, name_problem
from ui.state import Lab

DRAW = "pages/draw.py"


def open_own(mnist) -> AppTest:
    """The Draw page reading "my own classes", in a session that trains on a LocalBackend; no MNIST model."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.session_state["lab"] = Lab(backend=LocalBackend(mnist))
    at.switch_page(DRAW)
    at.run()
    at.radio(key="draw_mode_pick").set_value("My own classes").run()
    assert not at.exception
    return at


def own(at) -> OwnClasses:
    return at.session_state["draw_own"]


def add_class(at, name: str) -> AppTest:
    at.text_input(key="draw_own_name").input(name)
    next(b for b in at.button if b.label == "Add class").click()
    return at.run()


def draw(at, kind: str, rng) -> AppTest:
    at.session_state[f"draw_own_canvas_{own(at).canvas_round}"] = canvas_state(rasterise(shape(kind, rng)))
    return at.run()


def drawn(kinds, per_class: int, seed: int = 0) -> Drawings:
    """Drawings of ``kinds``, ``per_class`` of each, preprocessed as the page does (no deskew)."""
    rng, drawings = np.random.default_rng(seed), Drawings(tuple(kinds))
    for k, kind in enumerate(kinds):
        for _ in range(per_class):
            drawings = drawings.add(to_mnist(rasterise(shape(kind, rng)), deskew_slant=False), k)
    return drawings


def test_the_section_needs_no_model_and_starts_empty(mnist):
    at = open_own(mnist)
    assert any("Name 2 to 10 classes" in c.value for c in at.caption)
    assert any("The canvas is empty" in i.value for i in at.info)
    assert not any("Train one first" in i.value for i in at.info)  # the digits' model is not needed here
    assert prediction(at) is None and not [b for b in at.button if b.label == "Train on my classes"]


def test_the_page_stays_on_my_classes_after_another_page(mnist):
    at = open_own(mnist)
    add_class(at, "circle")
    at.switch_page("pages/train.py").run()
    at.switch_page(DRAW).run()  # the radio's own state went with the other page; the mode did not
    assert not at.exception and at.radio(key="draw_mode_pick").value == "My own classes"
    assert own(at).drawings.names == ("circle",) and any("**circle**: 0 drawings" in m.value for m in at.markdown)


def test_names_are_checked_and_shown_as_plain_text(mnist):
    at = open_own(mnist)
    for bad, says in [("   ", "needs a name"), ("x" * (MAX_NAME + 1), f"at most {MAX_NAME}"),
                      ("a/b", "slash"), (".x", "start with a dot")]:
        add_class(at, bad)
        assert any(says in w.value for w in at.warning), bad
        assert own(at).drawings.names == ()
    add_class(at, "circle")
    add_class(at, "Circle")  # the same name, in other letters
    assert any("already a class" in w.value for w in at.warning)
    add_class(at, "**b** _i_ [l](e.co)")
    assert own(at).drawings.names == ("circle", "**b** _i_ [l](e.co)")
    texts = [m.value for m in at.markdown]
    assert any("\\*\\*b\\*\\* \\_i\\_ \\[l\\]\\(e\\.co\\)" in text for text in texts)  # escaped: plain text
    assert not any("**b**" in text for text in texts)


def test_ten_classes_at_most():
    drawings = Drawings()
    for k in range(MAX_CLASSES):
        drawings = drawings.add_class(f"class {k}")
    assert "most" in name_problem("one more", drawings.names)
    with pytest.raises(ValueError, match="most"):
        drawings.add_class("one more")


def test_drawings_are_added_counted_undone_emptied_and_deleted(mnist):
    at = open_own(mnist)
    rng = np.random.default_rng(0)
    for name in ("circle", "line", "bar"):
        add_class(at, name)
    draw(at, "circle", rng)
    assert [b.label for b in at.button if b.key and b.key.startswith("draw_own_add_")] == ["circle", "line", "bar"]
    assert any("not read yet" in c.value for c in at.caption)
    before = own(at).canvas_round
    at.button(key="draw_own_add_0").click().run()
    assert own(at).drawings.counts() == [1, 0, 0] and own(at).canvas_round == before + 1  # a fresh canvas
    assert any("The canvas is empty" in i.value for i in at.info)
    for kind, k in [("line", 1), ("line", 1), ("bar", 2)]:
        draw(at, kind, rng)
        at.button(key=f"draw_own_add_{k}").click().run()
    assert own(at).drawings.counts() == [1, 2, 1]
    assert any("**line**: 2 drawings" in m.value for m in at.markdown)
    at.button(key="draw_own_undo").click().run()  # the bar goes
    assert own(at).drawings.counts() == [1, 2, 0]
    at.button(key="draw_own_empty_1").click().run()  # the lines go, the class stays
    assert own(at).drawings.counts() == [1, 0, 0] and own(at).drawings.names == ("circle", "line", "bar")
    at.button(key="draw_own_delete_0").click().run()  # the circle and its drawing go
    assert own(at).drawings.names == ("line", "bar") and len(own(at).drawings) == 0
    assert not at.exception


def test_deleting_a_class_keeps_the_others_drawings_with_their_names():
    drawings = drawn(("circle", "line", "bar"), 2)
    line, bar = drawings.of(1), drawings.of(2)
    left = drawings.remove_class(0)
    assert left.names == ("line", "bar") and left.counts() == [2, 2]
    assert np.array_equal(left.of(0), line) and np.array_equal(left.of(1), bar)


def test_the_set_is_bounded():
    drawings = Drawings(("a", "b"), DigitSet(np.zeros((MAX_DRAWINGS, 784), np.uint8),
                                             np.zeros(MAX_DRAWINGS, np.uint8)))
    assert drawings.full
    with pytest.raises(ValueError, match=str(MAX_DRAWINGS)):
        drawings.add(np.zeros(784, np.float32), 1)


def test_training_needs_every_class_drawn_three_times(mnist):
    at = open_own(mnist)
    add_class(at, "circle")
    at.button(key="draw_own_train").click().run()
    assert any("at least 2 classes" in w.value for w in at.warning)
    own(at).drawings = drawn(("circle", "line"), 3).clear(1)
    at.run()
    at.button(key="draw_own_train").click().run()
    assert any("too few of: line" in w.value for w in at.warning) and own(at).run is None


def test_training_makes_a_network_of_the_classes_that_reads_the_canvas(mnist):
    at = open_own(mnist)
    own(at).drawings = drawn(KINDS, 5)
    at.run()
    at.button(key="draw_own_train").click().run()
    assert not at.exception
    trained = own(at).trained
    assert trained is not None and own(at).run is None and trained.status == "done"
    assert trained.model.classes == len(KINDS)  # one output unit per class
    assert trained.model.predict_proba(np.zeros(784, np.float32)).shape == (len(KINDS),)
    assert trained.drawings == 20 and trained.held_out == 4 and trained.right >= 3
    assert any("of the 4 drawings held out" in s.value.lower() for s in at.success)
    rng = np.random.default_rng(7)
    for kind in KINDS:
        draw(at, kind, rng)
        assert prediction(at) == kind
        table = at.dataframe[0].value
        assert table["class"].tolist() == list(KINDS)
        assert abs(table["probability"].sum() - 1) < 1e-5
    drawings = own(at).drawings
    own(at).drawings = drawings.undo().add(drawings.of(0)[0] / 255, 0)  # as many drawings, not the same
    at.run()
    assert any("train again" in w.value for w in at.warning) and not at.success
    draw(at, "bar", rng)
    assert prediction(at) == "bar"  # the same classes: it still reads them
    own(at).drawings = own(at).drawings.add_class("smile")  # the network no longer reads these classes
    at.run()
    draw(at, "circle", rng)
    assert prediction(at) is None and any("train again" in w.value for w in at.warning)


class Upload:
    """What the page reads of an uploaded file (Streamlit's UploadedFile): its id, name, size and bytes."""

    def __init__(self, data: bytes, name: str = "my-drawn-classes.zip", file_id: str = "file-1"):
        self.data, self.name, self.file_id, self.size = data, name, file_id, len(data)

    def getvalue(self) -> bytes:
        return self.data


@pytest.mark.parametrize("data, says", [(b"PK not a zip at all", "was not opened"),
                                        (b"x" * (MAX_UPLOAD_BYTES + 1), "more than the 5 MB")],
                         ids=["not a zip", "too large"])
def test_a_refused_upload_changes_nothing_and_is_read_once(data, says):
    session = OwnClasses(drawings=drawn(("circle", "line"), 1))
    before = session.drawings
    opened, message = open_upload(session, Upload(data, name="evil [x](https://e.com).zip"))
    assert not opened and says in message and "Your classes are unchanged" in message
    assert "\\[x\\]" in message and "https:/" not in message  # the name as plain text, never a link
    assert session.drawings is before
    assert open_upload(session, Upload(b"")) == (opened, message)  # the same file id: not read again


def test_an_upload_of_too_many_classes_is_refused():
    data = from_arrays(np.zeros((24, 784), np.uint8), np.arange(24) % 12, [f"c{k}" for k in range(12)], "twelve")
    with pytest.raises(ValueError, match="2 to 10 classes"):
        Drawings.of_data_set(data)


def test_the_download_opens_again_as_the_same_drawings():
    drawings = drawn(("circle", "line", "bar"), 4)
    try:
        data = write_zip_of_folders(drawings.data_set())
    except NotImplementedError:
        pytest.skip("nn_core.datasets.write_zip_of_folders is helper dsimport's, not merged yet")
    session = OwnClasses()
    opened, message = open_upload(session, Upload(data))
    assert opened, message
    back = session.drawings  # its classes in the folders' order, by name
    assert sorted(back.names) == sorted(drawings.names) and len(back) == len(drawings)
    for k, name in enumerate(drawings.names):  # the same images in each class (PNG is lossless), in any order
        assert sorted(map(bytes, back.of(back.names.index(name)))) == sorted(map(bytes, drawings.of(k)))


def test_the_drawings_become_the_sessions_data_set_with_the_network_trained_on_them(mnist):
    pytest.importorskip("ui.datasets", reason="helper dspages's ui.datasets, not merged yet")
    at = open_own(mnist)
    own(at).drawings = drawn(KINDS, 3)
    at.run()
    at.button(key="draw_own_train").click().run()
    at.button(key="draw_own_use").click().run()
    assert not at.exception
    said = " ".join(s.value for s in at.success).replace("\\", "")  # shown as plain text: escaped Markdown
    assert "Now using My drawn classes" in said and "run #1 of its history" in said
    history = at.session_state["lab"]
    assert len(history.runs) == 1 and history.active == 0 and history.runs[0].model.classes == len(KINDS)
    assert history.runs[0].origin == "trained on Draw on your drawn classes"
    at.button(key="draw_own_use").click().run()  # again: nothing changes, the run is not kept twice
    assert any("already in use" in s.value for s in at.success) and len(at.session_state["lab"].runs) == 1
    options = at.radio(key="draw_mode_pick").options  # the page's own canvas now reads the session's model
    assert options[0] == "My drawn classes (the session's data set)"
    at.radio(key="draw_mode_pick").set_value("Digits 0-9").run()
    draw_key = f"draw_canvas_{at.session_state['draw_canvas_round']}"
    at.session_state[draw_key] = canvas_state(rasterise(shape("cross", np.random.default_rng(3))))
    at.run()
    assert not at.exception and prediction(at) == "cross" and len(at.get("plotly_chart")) == 1
    assert not [b for b in at.button if b.key == "draw_label_0"]  # no "my digits" labels off MNIST
