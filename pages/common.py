"""State and data shared by the pages.

The dataset is loaded once per server (``st.cache_resource``, arrays read-only) and shared by
every session. Each session's runs and active model live only in ``st.session_state``:

- ``runs``: list[nn_core.RunResult], every finished run of this session, oldest first
  (trained, stopped, diverged, or uploaded);
- ``active_run``: index into ``runs`` of the model the Evaluate and Draw pages use, or None.
"""

from __future__ import annotations

import streamlit as st

from nn_core import Mnist, RunResult, load_mnist

TRAIN_PAGE = "pages/train.py"


@st.cache_resource
def one_blas_thread():
    """Pin BLAS to one thread for the whole server, once. Sessions train in threads of one process;
    nn_core's per-run ``blas_threads()`` limit would otherwise be entered and restored by concurrent
    sessions in any order, leaving some chunks on two threads (4-15x slower on a shared core)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


@st.cache_resource(show_spinner="Loading MNIST (once per server)…")
def mnist() -> Mnist:
    """The four MNIST arrays as uint8, one read-only copy for all sessions."""
    return load_mnist().read_only()


def init_state() -> None:
    st.session_state.setdefault("runs", [])
    st.session_state.setdefault("active_run", None)


def runs() -> list[RunResult]:
    init_state()
    return st.session_state["runs"]


def add_run(result: RunResult, activate: bool = True) -> int:
    """Append a run to this session's history (and make it active); return its index."""
    history = runs()
    history.append(result)
    if activate:
        st.session_state["active_run"] = len(history) - 1
    return len(history) - 1


def active_run() -> RunResult | None:
    init_state()
    index = st.session_state["active_run"]
    history = st.session_state["runs"]
    return history[index] if index is not None and 0 <= index < len(history) else None


def require_model() -> RunResult | None:
    """The active run, or None after telling the user to train one first (with a link)."""
    run = active_run()
    trainer = st.session_state.get("trainer")  # a run started on Train, paused while we are away
    if trainer is not None:
        where = f"epoch {trainer.epoch + 1} of {trainer.hparams.epochs}"
        st.info(f"A training run is paused at {where}: it goes on when you return to Train."
                + (" Meanwhile this page shows the previous model." if run is not None else ""))
        st.page_link(TRAIN_PAGE, label="Back to Train", icon="🏋️")
    elif run is None:
        st.info("No trained model yet in this session. Train one first (it takes a few seconds).")
        st.page_link(TRAIN_PAGE, label="Go to Train", icon="🏋️")
    return run
