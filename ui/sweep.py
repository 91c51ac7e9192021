"""The Sweep page's parts: the grid chosen, its runs trained a worker's share at a time, the results.

A sweep lives in the session's ``Lab`` as an ``nn_core.sweep.Sweep`` (the same driver as the command
line's): the runs still to start, the handles in flight (as many as the backend has workers) and a
row per ended run. The page's fragment advances it half a second at a time and reruns itself until
none is left or Stop is pressed.
"""

from __future__ import annotations

import time

import streamlit as st

from nn_core import Hyperparams, RunStatus
from nn_core.settings import BY_NAME
from nn_core.estimate import estimated_seconds, run_seconds  # noqa: F401  (the page's estimate)
from nn_core.sweep import COLUMNS, Sweep
from nn_core.tables import csv_text

from . import charts_sweep, datasets, runs
from .charts_common import PLOT_CONFIG
from .history import number_columns
from .text import plain
from .polling import ended, next_slice, polled_panel, started

SWEEP_PANEL = "sweep_panel"  # its fragment's key
from .state import MAX_RUNS as SESSION_RUNS
from .state import SWEEP_ADOPT, SWEEP_DOWNLOAD, SWEEP_PICK, SWEEP_START, SWEEP_STOP, lab

MAX_RUNS = SESSION_RUNS  # the largest grid the page takes: every run a session keeps (its results are kept)
PRESETS = {  # a sensible range of each setting, typed into the values box when it is chosen
    "learning_rate": (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0),  # decades: 1000 diverges
    "hidden_units": (16, 32, 64, 128, 256, 512),
    "momentum": (0.0, 0.5, 0.9, 0.95, 0.99),
    "batch_size": (16, 32, 64, 128, 256, 512, 1024),
    "epochs": (1, 2, 3, 5, 9),
    "seed": (138, 139, 140),
    "activation": ("sigmoid", "tanh", "relu"),
    "layers": (1, 2, 3, 4),
    "init": ("lecun", "normal", "he", "zeros"),
    "optimizer": ("sgd", "momentum", "nesterov", "rmsprop", "adam"),
}
# The estimator is nn_core.estimate's, which the CLIs use too (names kept here for the page's callers).


MAX_VALUES_CHARACTERS = 4000  # a values box's text: 60 values of up to 40 characters (Setting.parse) and commas


def parse_values(name: str, text: str) -> list:
    """Comma-separated values of one setting; ValueError names the first bad one."""
    setting = BY_NAME[name]
    if len(text) > MAX_VALUES_CHARACTERS:  # before splitting it
        raise ValueError(f"{setting.label}: the values are {len(text):,} characters long, more than the "
                         f"{MAX_VALUES_CHARACTERS:,} of {MAX_RUNS} values")
    pieces = [piece.strip() for piece in text.split(",") if piece.strip()]
    if len(pieces) > MAX_RUNS:
        raise ValueError(f"{setting.label}: {len(pieces)} values, more than the {MAX_RUNS} runs a sweep takes")
    values = []
    for part in pieces:
        try:
            values.append(setting.parse(part))
        except ValueError as error:
            raise ValueError(f"{setting.label}: {error}") from None
    if not values:
        raise ValueError(f"{setting.label}: give at least one value")
    return list(dict.fromkeys(values))


def workers() -> int:
    return max(1, int(getattr(runs.backend(), "workers", 1)))


def start(varied: list[str], planned: list[Hyperparams]) -> None:
    data = datasets.current()
    lab().sweep = Sweep(runs.backend(), planned, workers(), data.test_images, data.test_labels, varied=varied,
                        owner=runs.owner())


def room() -> int:
    """The runs a new sweep may have: what the session can still keep, the last sweep's runs left out
    (the new one replaces them; those adopted into Train's history stay there)."""
    session = lab()
    return min(MAX_RUNS, session.room(leave_out=session.sweep))


def too_big(count: int) -> str:
    """Why a grid of ``count`` runs cannot start (it has more than ``room()``)."""
    if count > MAX_RUNS:
        return f"That grid has {count} runs; a sweep here takes at most {MAX_RUNS}. Use fewer values or seeds."
    return (f"That grid has {count} runs, but this session can keep only {room()} more: it keeps at most "
            f"{SESSION_RUNS} runs in all (Train's history, and its sweep's and comparison's runs that are not in "
            "it). Use fewer values or seeds, or reload the page to start a new session.")


def adopt(index: int) -> int:
    """Make a sweep's run part of the session's history (active unless it diverged), once: pressed
    again for the same run, the history's entry is made active again rather than added twice."""
    session = lab()
    result = session.sweep.results[index]
    for kept, run in enumerate(session.runs):
        if run is result:
            if kept in session.scores:
                session.active = kept
            return kept
    return runs.keep_run(result)


def row_label(index: int) -> str:
    values = lab().sweep.rows[index]
    varied = ", ".join(f"{BY_NAME[name].label.lower()} {BY_NAME[name].format(values[name])}"
                       for name in lab().sweep.varied)
    accuracy = "no figures" if values["test_accuracy"] is None else f"{values['test_accuracy']:.2%}"  # failed
    return f"#{index + 1} {varied}, seed {values['seed']} · {values['status']} · {accuracy}"


TABLE_FORMATS = {"learning_rate": "%g", "test_accuracy": "%.4f", "test_cost": "%.4f", "train_seconds": "%.2f"}


def _in_background() -> bool:
    """Whether the session's backend trains on workers (the page polls), not in the polling thread
    (LocalBackend: AppTest's, a slice per rerun)."""
    return getattr(runs.backend(), "workers", None) is not None


def sweep_panel(planned: list[Hyperparams], varied: list[str], ready: bool) -> None:
    """Run sweep / Stop, then the runs filling in while it goes: a fragment that reruns itself every
    POLL_SECONDS while the sweep trains on the workers."""
    sweep = lab().sweep
    polling = sweep is not None and not sweep.finished and _in_background()
    polled_panel(SWEEP_PANEL, _sweep_panel, polling, planned, varied, ready)


def _sweep_panel(planned: list[Hyperparams], varied: list[str], ready: bool) -> None:
    session = lab()
    sweep = session.sweep
    going = sweep is not None and not sweep.finished
    left, right = st.columns(2)
    if left.button("Run sweep", type="primary", key=SWEEP_START, disabled=going or not ready, width="stretch"):
        start(varied, planned)
        sweep, going = session.sweep, True
        started(_in_background())
    if right.button("Stop", key=SWEEP_STOP, disabled=not going, width="stretch") and going:
        sweep.stop()
    if sweep is None:
        st.info("Press **Run sweep** to train the grid.")
        return
    if going:
        # On workers: start what a free worker can take and record what ended, without waiting for news
        # (the fragment polls again). In the polling thread (LocalBackend: tests): a slice of training.
        sweep.advance(0.5, wait=not _in_background())
    done = len(sweep.rows)
    st.progress(done / max(1, sweep.total), text=f"{done} of {sweep.total} runs ended"
                + (f" · {len(sweep.active)} training" if sweep.active else "")
                + (" · stopped" if sweep.stopped else "") + f" · {time.perf_counter() - sweep.started:.1f} s")
    if sweep.failure is not None:  # e.g. the cluster's workers could not run it: the sweep stopped
        st.error(f"A run failed, so the sweep stopped: {plain(sweep.failure, limit=400)}")
    if sweep.rows:
        st.dataframe(sweep.rows, hide_index=True, column_config=number_columns(TABLE_FORMATS))
    if not sweep.finished:
        next_slice(_in_background())
    elif going:
        ended()  # the results below


def results_csv(sweep: Sweep) -> bytes:
    """The sweep's table as the CLI's --csv writes it (the same columns, formulas neutralised)."""
    return csv_text(sweep.rows, COLUMNS).encode()


def results_section() -> None:
    sweep = lab().sweep
    if sweep is None or not sweep.rows or not sweep.finished:
        return
    scored = [r for r in sweep.rows if r["test_accuracy"] is not None]  # a failed run has no figures to chart
    st.subheader("Results")
    names = sweep.varied
    labels = [BY_NAME[name].label for name in names]
    if scored and len(names) == 1:
        st.plotly_chart(charts_sweep.sweep_line_figure(scored, names[0], labels[0]), config=PLOT_CONFIG)
    elif scored:
        st.plotly_chart(charts_sweep.sweep_heatmap_figure(scored, tuple(names), tuple(labels)), config=PLOT_CONFIG)
    if scored:
        st.plotly_chart(charts_sweep.sweep_parallel_figure(scored, names, labels), config=PLOT_CONFIG)
    st.download_button("Download results", results_csv(sweep), file_name="sweep-results.csv", mime="text/csv",
                       key=SWEEP_DOWNLOAD, on_click="ignore")
    indices = list(range(len(sweep.rows)))
    pick, button = st.columns([3, 1], vertical_alignment="bottom")
    names_shown = [row_label(i) for i in indices]  # a plain list: widgets may format options outside the script
    chosen = pick.selectbox("A run of the sweep", indices, format_func=names_shown.__getitem__, key=SWEEP_PICK)
    if button.button("Use this model", key=SWEEP_ADOPT, width="stretch"):
        index = adopt(chosen)
        if sweep.results[chosen].status == RunStatus.DIVERGED:
            st.warning(f"Run #{index + 1} diverged: it joined Train's history but is not the active model.")
        else:
            st.success(f"Run #{index + 1} in Train's history is now the active model, for Evaluate and Draw.")
