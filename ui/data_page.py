"""The Data page's sections: the data set in use (its sizes, classes and how it was made, a few of its
images per class), the choice between MNIST and the data set the session holds, and an upload.

A data set's names (its own, its classes', a file's) are the user's: shown with st.text, never as
Markdown, or escaped (ui.text.plain) where a message needs them."""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from nn_core import datasets as readers
from nn_core.data import DataError, DataSet
from nn_core.model import MAX_CLASSES, MIN_CLASSES

from . import datasets, server
from .images import enlarge, png, tile
from .text import plain

UPLOAD_ROUND = "data_upload_round"  # bumped after each upload: a new uploader drops the file (and its bytes)
USE_MNIST, USE_OWN = "data_use_mnist", "data_use_own"
PREVIEW_PER_CLASS = 8  # training images shown per class
PREVIEW_COLUMNS = 4  # classes side by side
PREVIEW_ZOOM = 2
MAX_MB = readers.MAX_UPLOAD_BYTES // 2**20
FORMATS = ("IDX files as MNIST ships them (gzipped or not), a zip of one folder of images per class (the folder "
           "names are the class names), an .npz (x: N x 28 x 28 or N x 784 uint8, y, optional classes) or a CSV "
           "(label,pixel0..pixel783)")


def upload_key() -> str:
    return f"data_upload_{st.session_state.setdefault(UPLOAD_ROUND, 0)}"


def describe(data: DataSet) -> None:
    """The data set in use: its name, sizes, classes and how it was made, as plain text."""
    st.subheader("In use")
    lines = [f"{datasets.display_name(data)}: {datasets.sizes(data)}",
             datasets.classes_line(data, most=data.n_classes)]
    if data.note:
        lines.append(data.note)
    st.text("\n".join(lines))


def choose() -> None:
    """Back to MNIST, or to the data set the session holds; nothing while something trains."""
    data, own, why = datasets.current(), datasets.own(), datasets.busy()
    if why is not None:
        st.info(f"The data set cannot change now. {why}")
    mnist_column, own_column = st.columns(2)
    if mnist_column.button("Use MNIST", key=USE_MNIST, disabled=data.is_mnist or why is not None, width="stretch"):
        switch(server.mnist())
    if own is not None:
        if own_column.button("Use the data set you brought", key=USE_OWN, width="stretch",
                             disabled=own.key == data.key or why is not None):
            switch(own)
        if own.key != data.key:  # held, not in use: named here
            own_column.text(f"{own.name}: {datasets.sizes(own)}")


def switch(data: DataSet) -> None:
    held = datasets.session_data()
    try:
        held.notice = (True, datasets.use(data))
    except RuntimeError as busy:
        held.notice = (False, str(busy))
    st.rerun()


def take(upload) -> tuple[bool, str]:
    """Read an upload and make it the session's data set: (True, what changed), or (False, why not; the
    data set in use unchanged). Its size is checked before it is read."""
    name, before = upload.name, datasets.display_name(datasets.current())
    kept = f"The data set in use is still {before}."
    why = datasets.busy()
    if why is not None:
        return False, f"{name} was not read: {why} {kept}"
    if upload.size > readers.MAX_UPLOAD_BYTES:
        return False, f"{name} is {upload.size / 2**20:.1f} MB; an upload is at most {MAX_MB} MB. {kept}"
    try:
        with st.spinner(f"Reading {plain(name, 80)} and checking every image…"):
            data = readers.read_dataset(upload.getvalue(), name)
    except DataError as error:
        return False, f"{name} was not used: {error}. {kept}"
    except Exception as error:  # noqa: BLE001  (a reader's fault on a user's file: said, nothing changed)
        return False, f"{name} could not be read ({type(error).__name__}). {kept}"
    return True, datasets.use(data)


def upload_section() -> None:
    """The uploader; a file is read once, then the uploader is made anew (its bytes let go)."""
    st.subheader("Bring your own")
    st.caption(f"{FORMATS}. At most {MAX_MB} MB, {readers.MAX_TRAIN_IMAGES:,} training and "
               f"{readers.MAX_TEST_IMAGES:,} test images, {MIN_CLASSES}–{MAX_CLASSES} classes; "
               "images are turned into 28x28 grayscale the way MNIST's were. Without a test split, one is held out. "
               "It stays in this session only.")
    upload = st.file_uploader("A data set file", key=upload_key(), max_upload_size=MAX_MB,
                              disabled=datasets.busy() is not None)
    if upload is not None:
        datasets.session_data().notice = take(upload)
        let_go(upload)
        st.session_state[UPLOAD_ROUND] += 1
        st.rerun()


def let_go(upload) -> None:
    """Drop an upload's bytes (up to 50 MB) from Streamlit's uploaded-file manager once read: it keeps every
    file a session uploaded until the session ends, even after the uploader that took it is gone."""
    ctx = get_script_run_ctx()
    if ctx is not None and ctx.uploaded_file_mgr is not None:
        ctx.uploaded_file_mgr.remove_file(ctx.session_id, upload.file_id)
    upload.close()


def notice() -> None:
    """What the last choice or upload did: one success or one error, as plain text."""
    outcome = datasets.session_data().notice
    if outcome is not None:
        ok, message = outcome
        (st.success if ok else st.error)(plain(message, 600))


def preview(data: DataSet) -> None:
    """A few training images of each class, under its name: what the network will see."""
    st.subheader("What the network sees")
    st.caption(f"The first {PREVIEW_PER_CLASS} training images of each class, at 28x28 as the network reads them.")
    columns = st.columns(PREVIEW_COLUMNS)
    for k, name in enumerate(data.classes):
        rows = np.flatnonzero(data.train_labels == k)
        images = data.train_images[rows[:PREVIEW_PER_CLASS]].reshape(-1, 28, 28)
        with columns[k % PREVIEW_COLUMNS]:
            st.text(f"{name} ({len(rows):,} training images)")
            if len(images):
                st.image(png(enlarge(tile(images, PREVIEW_PER_CLASS, gap=1, background=96), PREVIEW_ZOOM)),
                         output_format="PNG")
