"""The Draw page's "my classes": name 2-10 classes, draw examples of each on the canvas, train the lab's
network on them (a run of a few seconds, with progress), and the canvas reads them live. The drawings
go out as a zip of one folder per class and come back from one; they can become the session's data set.

Everything lives in this session's ``OwnClasses`` (``st.session_state[DRAW_OWN]``): the drawings, the
run while it trains and the network it made. Names are a user's text: shown as plain text everywhere
(``plain``; the probabilities in a table, whose cells are never Markdown). The canvas itself is the
page's (``pages/draw.py``, the one place that imports the component), handed in as ``canvas(key)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import streamlit as st

from nn_core.data import DataError, DataSet
from nn_core.datasets import read_dataset, write_zip_of_folders
from nn_core.handwriting import MAX_DRAWINGS
from nn_core.preprocess import SIDE

from . import runs, server
from .canvas import canvas_field, stroke_count
from .handwriting import THUMBS_PER_DIGIT, strip
from .images import enlarge
from .polling import ended, next_slice, polled_panel, started
from .own_drawings import MAX_CLASSES, MIN_EXAMPLES, RECIPE, Drawings, Trained
from .state import (DRAW_OWN, DRAW_OWN_CLEAR, DRAW_OWN_DOWNLOAD, DRAW_OWN_FORM, DRAW_OWN_NAME, DRAW_OWN_TRAIN,
                    DRAW_OWN_UNDO, DRAW_OWN_UPLOAD, DRAW_OWN_USE, draw_own_key, lab)
from .text import plain
from .training import progress_text

TRAIN_PANEL = "draw_own_train_panel"  # its fragment's key
INPUT_ZOOM = 5  # 28 px -> 140 px
MAX_UPLOAD_BYTES = 5 * 2**20  # a zip of MAX_DRAWINGS 28x28 PNGs is ~0.2 MB


@dataclass(eq=False)
class OwnClasses:
    """One session's drawn classes: the drawings, the run training on them, the network it made."""

    drawings: Drawings = field(default_factory=Drawings)
    run: object | None = None  # the run handle while it trains
    data: DataSet | None = None  # what the run trains on, while it trains
    fingerprint: str = ""  # of the drawings it trains on
    started: float = 0.0  # perf_counter time the run started
    trained: Trained | None = None  # the network of the last run that ended
    canvas_round: int = 0  # bumped for a new, empty canvas
    uploads: dict[str, tuple[bool, str]] = field(default_factory=dict)  # a file's id -> (opened, message)

    @property
    def reader(self) -> Trained | None:
        """The trained network, if it still reads the classes as they are named now."""
        trained = self.trained
        usable = trained is not None and trained.status != "diverged" and trained.names == self.drawings.names
        return trained if usable else None


def own() -> OwnClasses:
    return st.session_state.setdefault(DRAW_OWN, OwnClasses())


def new_canvas() -> None:
    own().canvas_round += 1


def change(drawings: Drawings) -> None:
    """Keep the new drawings and redraw the whole page (its counts), on a new canvas."""
    session = own()
    session.drawings = drawings
    session.canvas_round += 1
    st.rerun()


# --- the classes: names, counts, thumbnails -----------------------------------------------------

def name_form(drawings: Drawings) -> None:
    with st.form(DRAW_OWN_FORM, clear_on_submit=True, border=False):
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        name = left.text_input("New class", key=DRAW_OWN_NAME, max_chars=200,
                               placeholder="circle, arrow, smile… (up to 10 classes)")
        added = right.form_submit_button("Add class", disabled=len(drawings.names) >= MAX_CLASSES)
    if added:
        try:
            change(drawings.add_class(name or ""))
        except ValueError as problem:
            st.warning(str(problem))


def class_rows(drawings: Drawings) -> None:
    counts = drawings.counts()
    for k, name in enumerate(drawings.names):
        text, empty, delete = st.columns([6, 1, 1], vertical_alignment="center")
        shown = drawings.of(k)[:THUMBS_PER_DIGIT]
        more = f" (the first {THUMBS_PER_DIGIT} shown)" if counts[k] > THUMBS_PER_DIGIT else ""
        text.markdown(f"**{plain(name)}**: {counts[k]} drawing{'s' * (counts[k] != 1)}{more}")
        if len(shown):
            text.image(strip(shown), output_format="PNG")
        if empty.button("Empty", key=draw_own_key("empty", k), disabled=not counts[k],
                        help="Delete this class's drawings (the class stays)."):
            change(drawings.clear(k))
        if delete.button("Delete", key=draw_own_key("delete", k), help="Delete this class and its drawings."):
            change(drawings.remove_class(k))
    if st.button("Undo the last drawing", key=DRAW_OWN_UNDO, disabled=not len(drawings),
                 icon=":material/undo:"):
        change(drawings.undo())


# --- the canvas: add a drawing to a class, and read it ------------------------------------------

def add_buttons(drawings: Drawings, image: np.ndarray) -> None:
    """"Add this drawing to" one button per class: a click keeps the input the canvas made."""
    st.markdown("**Add this drawing to**")
    row = st.container(horizontal=True, gap="small")
    for k, name in enumerate(drawings.names):
        if row.button(plain(name), key=draw_own_key("add", k), disabled=drawings.full):
            change(drawings.add(image, k))
    if drawings.full:
        st.caption(f"The set holds {MAX_DRAWINGS} drawings, the most it keeps.")


def show_reading(reader: Trained, image: np.ndarray, strokes: int, started: float, where) -> None:
    probabilities = reader.reads(image)
    best = int(np.argmax(probabilities))
    where.metric("Prediction", plain(reader.names[best]), help="The class with the highest probability.")
    where.dataframe(pd.DataFrame({"class": reader.names, "probability": probabilities}), hide_index=True,
                    column_config={"probability": st.column_config.ProgressColumn(
                        "probability", format="percent", min_value=0.0, max_value=1.0)})
    milliseconds = (time.perf_counter() - started) * 1000
    where.caption(f"{probabilities[best]:.0%} sure · {strokes} stroke{'s' * (strokes != 1)}, "
                  f"read in {milliseconds:.1f} ms on the server")


@st.fragment
def draw_and_read(canvas) -> None:
    """The canvas and its reading: a stroke reruns only this."""
    started, session = time.perf_counter(), own()
    drawings, reader = session.drawings, session.reader
    drawing, reading = st.columns([1, 1.4], gap="large")
    drawing.caption("Draw one example of one of your classes, then add it to its class.")
    try:  # the canvas's state comes from the browser, and a user can send any JSON as it
        with drawing:
            board = canvas(draw_own_key("canvas", session.canvas_round))
        image = canvas_field(board, deskew_slant=False)  # a slant may be what tells two classes apart
    except ValueError as error:
        new_canvas()
        reading.warning(f"This drawing could not be read ({plain(str(error))}); the canvas was cleared.")
        return
    finally:
        drawing.button("Clear", key=DRAW_OWN_CLEAR, on_click=new_canvas, icon=":material/ink_eraser:")
    if image is None:
        reading.info("The canvas is empty: draw an example of a class"
                     + (", and the network reads it as you go." if reader else "."))
        return
    with drawing:
        if drawings.names:
            add_buttons(drawings, image)
        else:
            st.caption("Name a class above to add this drawing to it.")
    reading.image(enlarge((image.reshape(SIDE, SIDE) * 255).astype(np.uint8), INPUT_ZOOM),
                  caption="What the network sees: 28x28", width=SIDE * INPUT_ZOOM, output_format="PNG")
    strokes = stroke_count(board.json_data)
    if reader is not None:
        show_reading(reader, image, strokes, started, reading)
    else:
        reading.caption(f"{strokes} stroke{'s' * (strokes != 1)} · not read yet: train on your classes first")


# --- training ------------------------------------------------------------------------------------

def start_training() -> str | None:
    """Start a run on the drawings; a reason if it cannot start."""
    session = own()
    problem = session.drawings.unready()
    if problem:
        return problem
    try:
        data = session.drawings.data_set()
        session.run = runs.backend().start(RECIPE, owner=runs.owner(), data=data)
    except DataError as error:  # the drawings (cannot happen once ready), or workers holding all the data sets they may
        return f"The training could not start: {plain(str(error))}"
    session.data, session.fingerprint, session.started = data, session.drawings.fingerprint, time.perf_counter()
    return None


def finish(session: OwnClasses) -> bool:
    """Keep the ended run's network (once); whether it had ended."""
    result = session.run.claim()
    if result is None:
        return False
    result.snapshots = ()  # fifty epochs' parameters: not kept
    session.trained = Trained.of(result, session.data, session.fingerprint)
    session.run = session.data = None
    return True


def report(trained: Trained) -> str:
    names = ", ".join(plain(name) for name in trained.names)
    status = "" if trained.status == "done" else f" (it {trained.status})"
    return (f"Trained in {trained.seconds:.1f} s{status} on {trained.trained_on} of your {trained.drawings} "
            f"drawings of {names}. Of the {trained.held_out} drawings held out (one in five of each class, "
            f"never trained on) it reads {trained.right} right. Draw on the canvas: it reads your classes.")


def training_panel() -> None:
    """Train on the drawings, with progress, then what it made: a fragment that reruns itself every
    POLL_SECONDS while the run trains on the workers."""
    session = own()
    polling = session.run is not None and session.run.trains_in_background
    polled_panel(TRAIN_PANEL, _training_panel, polling)


def _training_panel() -> None:
    session = own()
    if st.button("Train on my classes", type="primary", key=DRAW_OWN_TRAIN, disabled=session.run is not None,
                 help=f"{RECIPE.epochs} epochs of the post's network on your drawings, each batch warped anew "
                      "(augmentation): a few seconds."):
        problem = start_training()
        if problem:
            st.warning(problem)
            return
        started(session.run.trains_in_background)
    run = session.run
    if run is None:
        if session.trained is not None:
            stale = session.reader is None or session.drawings.fingerprint != session.trained.fingerprint
            (st.warning if stale else st.success)(report(session.trained) + (
                " Your classes or drawings have changed since: train again to include them." if stale else ""))
        return
    # on workers: read, never waited for; in the polling thread (LocalBackend: tests): a slice of training
    progress = run.progress() if run.trains_in_background else run.poll()
    if progress.finished and finish(session):
        ended()  # the canvas reads the new network
    st.progress(progress.total_batches_done / progress.total_batches,
                text="Training on your classes · " + progress_text(progress, session.started))
    next_slice(run.trains_in_background)


# --- files and the session's data set -----------------------------------------------------------

def open_upload(session: OwnClasses, upload) -> tuple[bool, str]:
    """Replace the session's drawings by an uploaded zip's (once per file): whether it was opened, and a
    message. ``upload``: Streamlit's UploadedFile (its file_id, name, size and getvalue)."""
    seen = session.uploads.get(upload.file_id)
    if seen is not None:
        return seen
    name = plain(upload.name, 80)
    try:
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValueError(f"it is {upload.size:,} bytes, more than the {MAX_UPLOAD_BYTES // 2**20} MB a "
                             f"drawn set of {MAX_DRAWINGS} drawings can be")
        drawings = Drawings.of_data_set(read_dataset(upload.getvalue(), filename=upload.name))
    except (DataError, ValueError) as error:
        outcome = False, f"{name} was not opened: {plain(str(error))} Your classes are unchanged."
    else:
        session.drawings, session.canvas_round = drawings, session.canvas_round + 1
        counts = ", ".join(f"{count}× {plain(k)}" for k, count in zip(drawings.names, drawings.counts()))
        outcome = True, f"{name}: opened {len(drawings)} drawings of {len(drawings.names)} classes ({counts})."
    session.uploads[upload.file_id] = outcome
    return outcome


def use_as_data_set(session: OwnClasses) -> str:
    """Make the drawings the session's data set, and the network trained here on exactly them a run of its
    history (once): what changed, in a sentence or two (plain text). RuntimeError while something trains."""
    from . import datasets  # the session's data set (the Data page's module)

    said = datasets.use(session.drawings.data_set())
    trained = session.trained
    if (trained is not None and trained.result is not None and session.reader is trained
            and trained.fingerprint == session.drawings.fingerprint and not lab().full):
        trained.result.origin = "trained on Draw on your drawn classes"
        index = runs.keep_run(trained.result)
        session.trained = replace(trained, result=None)  # kept once
        said += f" The network trained here on them is run #{index + 1} of its history."
    return said


def files_row(drawings: Drawings) -> None:
    complete = bool(drawings.names) and min(drawings.counts()) > 0 and len(drawings.names) >= 2
    left, middle, right = st.columns(3)
    left.download_button("Download my drawings (.zip)", data=lambda: write_zip_of_folders(drawings.data_set()),
                         file_name="my-drawn-classes.zip", mime="application/zip", key=DRAW_OWN_DOWNLOAD,
                         on_click="ignore", disabled=not complete,
                         help="One folder of 28x28 PNGs per class, named after it: open it here again, or on "
                              "the Data page.")
    if middle.button("Use as the session's data set", key=DRAW_OWN_USE, disabled=drawings.unready() is not None,
                     help="Train, Evaluate and every other page then work on your drawn classes."):
        try:
            st.success(plain(use_as_data_set(own())))
        except RuntimeError as busy:
            st.warning(plain(str(busy)))
    upload = right.file_uploader("Open drawings (.zip)", type=["zip"], key=DRAW_OWN_UPLOAD,
                                 max_upload_size=server.SMALL_UPLOAD_MB, help="A zip of one folder per class, like the download. It replaces your "
                                      "classes and drawings.")
    if upload is not None:
        opened, message = open_upload(own(), upload)
        (st.success if opened else st.error)(message)


def own_classes_section(canvas, mode_switch) -> None:
    """The whole of "my classes"; ``canvas(key)``: the page's drawing canvas under that key; ``mode_switch()``:
    the page's choice of what the canvas reads, drawn under it."""
    drawings = own().drawings
    st.caption(f"Name 2 to {MAX_CLASSES} classes, draw at least {MIN_EXAMPLES} examples of each (ten work "
               "well), train, and the canvas reads your classes. Drawings are kept in this session only.")
    name_form(drawings)
    draw_and_read(canvas)
    mode_switch()
    if drawings.names:
        st.subheader("My classes")
        class_rows(drawings)
        training_panel()
    st.divider()
    files_row(drawings)
