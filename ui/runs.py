"""Starting runs and keeping the ones that ended, and what a page shows when it needs a model."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from nn_core import DataError, Hyperparams, RunResult, RunStatus, evaluate

from . import datasets, server
from .state import Lab, Score, lab
from .text import plain

TRAIN_PAGE, DRAW_PAGE = "pages/train.py", "pages/draw.py"


class OnData:
    """A backend that starts every run on one data set (the session's when it was made): the Train page's
    run, a sweep's and a comparison's runs all train on the data set in use when they started."""

    def __init__(self, backend, data):
        self.backend, self.data = backend, data

    def start(self, hparams: Hyperparams, initial=None, mix=None, owner=None, data=None):
        data = self.data if data is None else data
        if data.is_mnist:  # the backend's own MNIST (a backend without data sets takes no ``data``)
            return self.backend.start(hparams, initial, mix, owner=owner)
        return self.backend.start(hparams, initial, mix, owner=owner, data=data)

    def __getattr__(self, name: str):
        return getattr(self.backend, name)


def backend() -> OnData:
    """Where this session's runs train (its own backend if one was given, else the server's), on the
    session's data set."""
    return OnData(lab().backend or server.training().backend, datasets.current())


def owner() -> str | None:
    """Who this session's runs belong to, for the backend's fair queue and its watchdog: the session's
    id (its runs stop soon after its tab has closed, see ui.server.session_alive)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def where_runs_train() -> tuple[str, str | None]:
    """What the Train page says about where runs train, and a problem with the named cluster."""
    if lab().backend is not None:
        return "Runs train in this server's own process.", None
    training = server.training()
    return training.where, training.problem


def start_run(hparams: Hyperparams, initial=None, mix=None):
    """Start this session's run: fresh, or from the model ``initial``, on the session's data set or on a
    training ``mix``."""
    try:
        run = backend().start(hparams, initial, mix, owner=owner())
    except DataError as error:  # the workers hold as many data sets as they may: nothing started
        st.error(plain(str(error)))  # (only a session's own data set is shared: never MNIST's runs)
        return None
    lab().start(run)
    return run


def collect_ended() -> int | None:
    """If the session's current run has ended, record it (once, whichever thread gets here first)
    and return its index; else None."""
    session = lab()
    run = session.current
    if run is None or not run.progress().finished:
        return None
    result = run.claim()  # one thread records the run: no st.* call until it is in the session
    if result is None:
        return None
    session.current = None
    tuning = session.tuning if session.tuning is not None and session.tuning.run is run else None
    if tuning is not None:
        result.origin = f"fine-tuned from #{tuning.base + 1} on {len(tuning.own)} of your digits"
    session.last_finished = index = keep_run(result)
    if tuning is not None:
        session.bases[index] = tuning.base  # its history: an exercise counts the base's epochs too
        tuning.finish(index, result.model)
    return index


def keep_run(result: RunResult) -> int:
    """Add an ended run to the session, scored on the test set; a diverged run is kept for its curve
    but never scored or made active, and so is a run that failed before its first batch. A finished run's last epoch was measured on the whole test set
    with its final parameters, by the same ``evaluate``: that is its score, not measured again here
    (where it would delay the result by a whole pass over the test set)."""
    score = None
    if result.status == RunStatus.DONE and result.final is not None:
        score = Score(result.final.test_cost, result.final.test_accuracy)
    elif result.status == RunStatus.FAILED and len(result.batch_costs) == 0:
        pass  # it never trained (e.g. its workers could not run it): no score, and not made active
    elif result.status != RunStatus.DIVERGED:
        data = datasets.current()
        score = Score(*evaluate(result.model, data.test_images, data.test_labels))
    return lab().add(result, score)


def network_summary(hp: Hyperparams) -> str:
    """The network in a few words: "64 sigmoid units" or "2 layers of 64 sigmoid units"."""
    units = f"{hp.hidden_units} {hp.activation} units"
    return units if hp.layers == 1 else f"{hp.layers} layers of {units}"


def training_summary(hp: Hyperparams) -> str:
    """How it was trained, in a few words: "momentum, learning rate 4, β 0.9, lecun initialisation,
    batch 128" (SGD uses no β, so none is named)."""
    beta = "" if hp.optimizer == "sgd" else f", β {hp.momentum:g}"
    return (f"{hp.optimizer}, learning rate {hp.learning_rate:g}{beta}, {hp.init} initialisation, "
            f"batch {hp.batch_size:,}")


def run_label(session: Lab, index: int) -> str:
    run = session.runs[index]
    hp = run.hparams
    score = session.scores.get(index)
    accuracy = f"{score.accuracy:.2%}" if score else "no score"
    origin = f" · {run.origin}" if run.origin else ""
    depth = f" ×{hp.layers}" if hp.layers > 1 else ""
    beta = "" if hp.optimizer == "sgd" else f" beta {hp.momentum:g}"
    changed = "".join(f" · {words}" for words in run.describe_changes())  # "learning rate 4 → 0.5 at epoch 2.4"
    return (f"#{index + 1} {run.status} · {accuracy} · H {hp.hidden_units}{depth} {hp.activation}, {hp.init}, "
            f"{hp.optimizer} lr {hp.learning_rate:g}{beta}, batch {hp.batch_size:,}{origin}{changed}")


def require_model(here: str | None = None) -> RunResult | None:
    """The active run, or None after telling the user to train one first (with a link). ``here``: the
    calling page, which says nothing about a run it drives itself."""
    session = lab()
    collect_ended()
    run = session.active_run
    tuning = session.tuning is not None and session.current is session.tuning.run
    page, name = (DRAW_PAGE, "Draw") if tuning else (TRAIN_PAGE, "Train")
    if session.current is not None and page != here:  # a run started on Train, or a fine-tuning on Draw
        progress = session.current.progress()
        where = f"epoch {min(progress.epoch + 1, progress.hparams.epochs)} of {progress.hparams.epochs}"
        state = (f"is training, at {where}" if session.current.trains_in_background
                 else f"is paused at {where}: it goes on when you return to {name}")
        st.info(f"{'Fine-tuning on your digits' if tuning else 'A training run'} {state}."
                + (" Meanwhile this page shows the previous model." if run is not None else ""))
        st.page_link(page, label=f"Back to {name}", icon="🏋️" if name == "Train" else "✏️")
    elif run is None:
        st.info("No trained model yet in this session. Train one first (it takes a few seconds).")
        st.page_link(TRAIN_PAGE, label="Go to Train", icon="🏋️")
    return run
