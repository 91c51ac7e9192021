"""Download a run as code: "Download as Python" (one NumPy script) and "Download as notebook", or, for a
run the export cannot express exactly, a sentence naming the setting instead of the buttons."""

from __future__ import annotations

import streamlit as st

from nn_core import RunResult, RunStatus
from nn_core.export import notebook_text, refusal, script

from .state import lab


def _caveat(run: RunResult) -> str | None:
    """What the script does differently from this run, said before download (None: nothing)."""
    hp = run.hparams
    if run.status == RunStatus.UPLOADED:
        return "This model was uploaded: the code trains a new one from scratch with its settings."
    if run.status == RunStatus.DIVERGED:
        return ("This run diverged; the code has no divergence check and trains on with its settings "
                "(its costs become huge or not a number).")
    if run.stopped_early:
        return None  # early stopping is a setting: the script stops where the run stopped
    if len(run.epochs) < hp.epochs:
        return f"This run ended after {len(run.epochs)} of {hp.epochs} epochs; the code trains all {hp.epochs}."
    return None


def export_buttons(run: RunResult, index: int, key: str) -> None:
    """The two download buttons for ``run`` (run #``index + 1``), keys prefixed ``key``."""
    reason = refusal(run.hparams, run.changes, run.origin, data=run.data_key)
    if reason:
        st.caption(f"Run #{index + 1} as code: not available. {reason}")
        return
    st.caption(f"Run #{index + 1} as code, to read, run and change at home (NumPy only; the same test figures):")
    left, right = st.columns(2)
    left.download_button("Download as Python", key=f"{key}_export_script", width="stretch",
                         data=lambda: script(run.hparams, run.changes, data=run.data_key), file_name=f"run-{index + 1}.py",
                         mime="text/x-python", on_click="ignore",
                         help="This run as one short NumPy script: python run.py --data DIR (a folder of MNIST's "
                              "IDX files) trains it again and prints the same figures, one line per epoch.")
    right.download_button("Download as notebook", key=f"{key}_export_notebook", width="stretch",
                          data=lambda: notebook_text(run.hparams, run.changes, data=run.data_key), file_name=f"run-{index + 1}.ipynb",
                          mime="application/x-ipynb+json", on_click="ignore",
                          help="The same code as a Jupyter notebook: data, network, training loop and a cost plot.")
    caveat = _caveat(run)
    if caveat:
        st.caption(caveat)


def train_export() -> None:
    """On Train: the buttons for the run whose result the page shows, once no run trains."""
    session = lab()
    index = session.last_finished
    if session.current is None and index is not None and 0 <= index < len(session.runs):
        export_buttons(session.runs[index], index, "train")


def active_export() -> None:
    """On Evaluate: the buttons for the active model's run."""
    session = lab()
    if session.active_run is not None:
        export_buttons(session.active_run, session.active, "evaluate")
