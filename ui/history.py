"""The Train page's lower half: this session's run history, and model files in and out."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from nn_core import ModelFileError, RunResult, RunStatus, model_bytes
from nn_core.persist import check_model_fits, load_model_file

from . import datasets, runs, server
from .charts_common import PLOT_CONFIG
from .charts_train import runs_test_cost_figure
from .state import (MAX_RUNS, TRAIN_ACTIVE_PICK, TRAIN_COMPARE_PICK, TRAIN_DOWNLOAD, TRAIN_UPLOAD, Lab, full_message,
                    lab)
from .text import plain

TABLE_FORMATS = {"lr": "%g", "train cost": "%.4f", "test cost": "%.4f", "test accuracy": "%.2f%%", "time (s)": "%.1f"}


def number_columns(formats: dict[str, str]) -> dict:
    """A table's column configuration from {column: printf format}."""
    return {column: st.column_config.NumberColumn(format=number_format) for column, number_format in formats.items()}


def history_rows(session: Lab) -> list[dict]:
    rows = []
    for index, run in enumerate(session.runs):
        hp, last, score = run.hparams, run.final, session.scores.get(index)
        rows.append({
            "run": index + 1, "status": run.status.value, "active": "✓" if index == session.active else "",
            "hidden": hp.hidden_units, "layers": hp.layers, "init": hp.init, "optimizer": hp.optimizer,
            "lr": hp.learning_rate, "beta": hp.momentum if hp.optimizer != "sgd" else None, "batch": hp.batch_size,
            "epochs": f"{len(run.epochs)}/{hp.epochs}", "seed": hp.seed, "activation": hp.activation,
            "train cost": last.train_cost if last else None,
            "test cost": score.cost if score else None,
            "test accuracy": 100 * score.accuracy if score else None,
            "time (s)": run.train_seconds, "from": run.origin or "",
            # the learning rate or momentum moved while it trained: "learning rate 4 → 0.5 at epoch 2.4"
            "changed during the run": "; ".join(run.describe_changes()),
        })
    return rows


def model_file_name(index: int, hparams) -> str:
    """"mnist-mlp-run3-h64.npz", or "mnist-mlp-run3-h64x2.npz" for two hidden layers of 64."""
    depth = f"x{hparams.layers}" if hparams.layers > 1 else ""
    return f"mnist-mlp-run{index + 1}-h{hparams.hidden_units}{depth}.npz"


def pick_active() -> None:
    lab().active = st.session_state[TRAIN_ACTIVE_PICK]


def pick_compared() -> None:
    lab().compared = list(st.session_state[TRAIN_COMPARE_PICK])


def history_section() -> None:
    session = lab()
    st.subheader("Run history")
    if not session.runs:
        st.caption(f"Runs of this session appear here (only you see them; up to {MAX_RUNS}).")
        return
    st.dataframe(history_rows(session), hide_index=True, column_config=number_columns(TABLE_FORMATS))
    indices = list(range(len(session.runs)))
    labels = [runs.run_label(session, i) for i in indices]  # a plain list: widgets may format options later
    # The truth is kept in the Lab; each widget is set to it before it is drawn.
    st.session_state[TRAIN_ACTIVE_PICK] = session.active
    st.selectbox("Active model (used by Evaluate and Draw)", indices, key=TRAIN_ACTIVE_PICK,
                 format_func=labels.__getitem__, on_change=pick_active, placeholder="none yet")
    st.session_state[TRAIN_COMPARE_PICK] = [i for i in session.compared if i in indices]
    chosen = st.multiselect("Compare the test cost of runs", indices, key=TRAIN_COMPARE_PICK,
                            format_func=labels.__getitem__, on_change=pick_compared)
    curves = [(f"#{i + 1} {session.runs[i].status}", session.runs[i]) for i in chosen if session.runs[i].epochs]
    if curves:
        st.plotly_chart(runs_test_cost_figure(curves, reference=datasets.current().is_mnist), config=PLOT_CONFIG)


def model_files_section() -> None:
    session = lab()
    st.subheader("Model file")
    run = session.active_run
    left, right = st.columns(2)
    with left:
        if run is None:
            st.caption("Train or upload a model to download it.")
        else:
            st.download_button(
                "Download active model (.npz)", key=TRAIN_DOWNLOAD,
                data=lambda: model_bytes(run.model, run.hparams, run.metrics(), data=datasets.current()),
                file_name=model_file_name(session.active, run.hparams),
                mime="application/octet-stream", on_click="ignore",
                help="Weights, settings and final metrics as plain arrays (no pickle).")
    with right:
        upload = st.file_uploader("Upload a model (.npz) to make it active", type=["npz"], key=TRAIN_UPLOAD,
                                  max_upload_size=server.SMALL_UPLOAD_MB)
        if upload is not None:
            add_uploaded(upload)


def add_uploaded(upload) -> None:
    """Make an uploaded model active, once per file; a bad file changes nothing and says why (once
    read, a file is never parsed again on later reruns)."""
    session = lab()
    name = plain(upload.name, 80)
    outcome = session.uploads.get(upload.file_id)
    if outcome is None and session.full:
        st.error(f"{name} was not added: {full_message()}")
        return
    if outcome is None:
        outcome = session.uploads[upload.file_id] = _read_upload(upload)
    if isinstance(outcome, str):
        st.error(f"{name} is not a model this app can use: {plain(outcome)}. Nothing was changed.")
    else:
        score = session.scores[outcome]
        st.success(f"{name} is run #{outcome + 1}, test accuracy {score.accuracy:.2%}.")


def _read_upload(upload) -> int | str:
    """The new run's index, or why the file was refused."""
    try:
        saved = load_model_file(upload.getvalue())
        data = datasets.current()
        check_model_fits(saved.data, data)  # never evaluated on a data set it was not made for
    except ModelFileError as error:
        return str(error)
    model, hparams, metrics = saved.model, saved.hparams, saved.metrics
    result = RunResult(hparams=hparams, model=model, epochs=[], batch_costs=np.empty(0, np.float32),
                       batches_per_epoch=math.ceil(len(data.train_images) / hparams.batch_size),
                       status=RunStatus.UPLOADED, train_seconds=metrics.get("train_seconds", 0.0),
                       data_key=data.key)
    return runs.keep_run(result)
