"""The Train page's panel: Train and Stop, live progress while a run trains, then its result.

The panel is a fragment that polls the session's run handle (which trains a slice of CPU time per
poll on the local backend), redraws progress and charts, and reruns itself, so Stop and every other
widget answer while a run is going (a plain loop ignores clicks). When the run has ended, the thread
that claims its result records it in the session and reruns the whole page.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from nn_core import Hyperparams, Progress, RunStatus
from nn_core.reading import gap_reading, noise_reading
from nn_core.training import describe_changes

from . import exercise, runs
from .charts import PLOT_CONFIG, accuracy_figure, best_epoch, mark_changes, training_cost_figure
from .health import health_section
from .livechart import chart_width, live_chart
from .live_units import live_units, replay_units, section as units_section
from .state import KICK, KICK_ROUND, TRAIN_START, TRAIN_STOP, full_message, lab
from .text import plain

# The live charts' keys: fixed, so the browser keeps each chart's one plot from the empty charts shown
# before a run, through every update of the run (see ui/livechart.py).
LIVE_COST, LIVE_ACCURACY = "train_live_cost", "train_live_accuracy"
TRAIN_READING = "train_reading"  # the container of the gap's reading (its key: a CSS class to find it by)


SENT_TIMEOUT = 0.25  # s: the longest a rerun waits for what the run before it drew to leave the server


def wait_until_sent(timeout: float = SENT_TIMEOUT) -> None:
    """Until what this script run has drawn has left the server for the browser (its session's queue
    flushed, every 5 ms by Streamlit's event loop), at most ``timeout``.

    A rerun clears its session's queue of the deltas not yet sent when it starts: drawn and then
    rerun at once, a run's result (or a live update) was often dropped, and the browser saw the
    result only when the full-page rerun that follows reached this panel, drawn last on its page
    (0.6-1 s later, measured). Streamlit has no public call for this; where its internals differ
    (AppTest's runtime) this returns at once."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        session = Runtime.instance()._session_mgr.get_active_session_info(get_script_run_ctx().session_id).session
        queue = session._browser_queue
        queue.is_empty()
    except Exception:  # another Streamlit, AppTest's mock runtime, no session: nothing to wait for
        return
    deadline = time.monotonic() + timeout
    while not queue.is_empty() and time.monotonic() < deadline:
        time.sleep(0.002)


_kick = st.components.v2.component("nn_lab.kick", js=Path(__file__).with_name("kick.js").read_text(),
                                   isolate_styles=False)


def in_browser() -> bool:
    """This script run serves a browser session (not AppTest's runtime, which has no browser)."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        return Runtime.instance()._session_mgr.get_active_session_info(get_script_run_ctx().session_id) is not None
    except Exception:
        return False


def rerun_panel() -> None:
    """Run the fragment again, once what it drew has been sent.

    A fragment drawn by a full-page run (the first run after Train, a slider moved mid-run, a page
    switched back to) may not rerun alone, and falling back to a full-page rerun made every later poll
    one too: the whole page, its settings form and history, redrawn about ten times a second for the
    rest of the run. There an invisible element in the fragment asks the browser for one trigger
    instead, which reruns only the fragment; from then on it reruns itself. (AppTest has no browser:
    there the whole page reruns.)"""
    wait_until_sent()
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        if not in_browser():
            st.rerun()
    round_ = st.session_state[KICK_ROUND] = st.session_state.get(KICK_ROUND, 0) + 1
    _kick(key=KICK, data={"round": round_}, on_go_change=_nothing)


def _nothing() -> None:
    """The trigger only reruns the fragment."""


def progress_text(progress: Progress, started: float) -> str:
    done, total = progress.total_batches_done, progress.total_batches
    elapsed = time.perf_counter() - started
    eta = f"{elapsed / done * (total - done):.1f} s" if done else "measuring…"
    epochs = progress.hparams.epochs
    return (f"Epoch {min(progress.epoch + 1, epochs)}/{epochs} · batch {progress.batch}/{progress.batches_per_epoch}"
            f" · {done:,}/{total:,} batches · ETA {eta}")


def show_curves(epochs, batch_costs, batches_per_epoch: int, hparams: Hyperparams, diverged=None,
                stopped_early: bool = False, changes=()) -> None:
    """The cost and accuracy charts: empty before a run, filled in place as it trains, its result
    after (the batch costs downsampled to the cost chart's width). The same two live charts
    throughout, so the browser draws each once and then only updates it. Under them, the run's
    train/test gap read in one line (and, with label noise, what the network makes of the noise)."""
    cost = training_cost_figure(epochs, batch_costs, batches_per_epoch, hparams, diverged,
                                max_points=chart_width(LIVE_COST))
    accuracy = accuracy_figure(epochs, hparams.epochs)
    for figure in (cost, accuracy):  # where the learning rate or momentum was changed during the run
        mark_changes(figure, hparams, changes, batches_per_epoch)
    left, right = st.columns(2)
    with left:
        live_chart(cost, key=LIVE_COST, config=PLOT_CONFIG)
    with right:
        live_chart(accuracy, key=LIVE_ACCURACY, config=PLOT_CONFIG)
    show_reading(epochs, hparams, stopped_early)


def show_reading(epochs, hparams: Hyperparams, stopped_early: bool = False) -> None:
    """The gap's reading under the charts, as plain text, in a container that is there even before
    the first epoch (so the elements after it keep their places, and the live charts their plots)."""
    reading = st.container(key=TRAIN_READING)
    if not epochs:
        return
    reading.text(gap_reading(epochs, hparams, best_epoch(epochs), stopped_early))
    noise = noise_reading(epochs[-1], hparams)
    if noise:
        reading.text(noise)


def changes_sentence(hparams: Hyperparams, changes, batches_per_epoch: int, ended: bool = True) -> str:
    """" Changed while it trained: learning rate 4 → 0.5 at epoch 2.4." (empty without changes)."""
    if not changes:
        return ""
    words = "; ".join(describe_changes(hparams, changes, batches_per_epoch))
    return f" Changed while it {'trained' if ended else 'trains'}: {words}."


def show_result(index: int, status) -> None:
    """The outcome of an ended run: what happened and its figures (in ``status``, the place of the
    progress bar), and its curves."""
    session = lab()
    run = session.runs[index]
    done = len(run.batch_costs)
    changed = changes_sentence(run.hparams, run.changes, run.batches_per_epoch)
    if run.status == RunStatus.DIVERGED:
        kept = (f"The active model is still run #{session.active + 1}." if session.active_run is not None
                else "No model is active yet.")
        status.error(f"Run #{index + 1} diverged. {run.diverged.message} {kept}{changed}")
    elif run.status == RunStatus.FAILED and index not in session.scores:
        status.error(f"Run #{index + 1} failed before it trained: {plain(run.note or 'unknown')}. It has no "
                     f"figures; the active model is unchanged.{changed}")
    elif run.status == RunStatus.FAILED:
        status.error(f"Run #{index + 1} ended early: {plain(run.note or 'unknown')}. The model trained so far is "
                     f"kept and active.{changed}")
    elif run.status == RunStatus.STOPPED:
        epoch, batch = divmod(done, run.batches_per_epoch)
        status.warning(f"Run #{index + 1} stopped by you after {epoch} full epochs and {batch} batches "
                       f"({done:,} batches). The model trained so far is kept and active.{changed}")
    else:
        epochs = len(run.epochs)
        status.success(f"Run #{index + 1} finished: {epochs} epoch{'s' if epochs != 1 else ''}. It is the "
                       f"active model, used by the Evaluate and Draw pages.{changed}")
    score = session.scores.get(index)
    if score is not None:
        a, b, c = status.columns(3)
        a.metric("Test accuracy", f"{score.accuracy:.2%}")
        b.metric("Test cost", f"{score.cost:.4f}")
        c.metric("Training time", f"{run.train_seconds:.1f} s",
                 help="Time spent in gradient steps; the evaluation after each epoch is not counted.")
    verdict = exercise.session_verdict(index)  # an exercise's goal, checked after every run
    if verdict is not None:
        (status.success if verdict.reached else status.info)(verdict.text)
    show_curves(run.epochs, run.batch_costs, run.batches_per_epoch, run.hparams, run.diverged,
                stopped_early=run.stopped_early, changes=run.changes)
    replay_units(run)  # the first layer's units, with a slider over the epochs the run kept
    health_section(run.epochs, run.hparams, live=True)


@st.fragment
def training_panel(hparams: Hyperparams) -> None:
    """Train / Stop, then either a poll of the live run or the last run's result.

    Draw it last on its page (into a container placed where it belongs): when it falls back to a
    full-page rerun, everything after it in the script would not be drawn.
    """
    session = lab()
    run = session.current
    left, right = st.columns(2)
    train_clicked = left.button("Train", type="primary", key=TRAIN_START, disabled=run is not None or session.full,
                                width="stretch")
    stop_clicked = right.button("Stop", key=TRAIN_STOP, disabled=run is None, width="stretch",
                                help="End the run now and keep the model trained so far.")
    if train_clicked and run is None:
        runs.start_run(hparams)
        # The whole page, so that the settings form is drawn locked (but for the learning rate and
        # momentum, which the run takes while it trains): this fragment cannot redraw it.
        st.rerun()
    # The messages, or the progress, above the charts: one place either way, so the live charts keep
    # their place (and the browser its plots) when a click on Train turns the first into the second.
    status = st.container()
    if run is None:
        if session.full:
            status.warning(full_message())
        if session.last_finished is None:
            status.info("Press **Train** to train the network with these settings (about 3 seconds with the "
                        "post's defaults). Moving a slider changes the next run, not the last result.")
            # The charts the run will fill, already there: their axes (and, for the post's settings, its
            # test cost to beat), and the browser loads plotly.js now rather than in the middle of the
            # first run (about a second of a core in headless Chromium, measured).
            show_curves([], [], 1, hparams)
            units_section()  # where a run's units will be, so the sections after keep their places
        else:
            show_result(session.last_finished, status)
        return

    if stop_clicked:
        run.stop()
    progress = run.poll()  # trains a slice, or waits for the next chunk: each backend knows how long
    if progress.finished:
        index = runs.collect_ended()
        if index is not None:
            show_result(index, status)  # at once, here; the full rerun below takes longer to reach the fragment
            wait_until_sent()  # the result reaches the browser before the rerun could drop it
        st.rerun()  # the whole page: history, active model and download change
    status.progress(progress.total_batches_done / progress.total_batches,
                    text=progress_text(progress, session.current_started))
    if progress.changes:
        status.caption(changes_sentence(progress.hparams, progress.changes, progress.batches_per_epoch,
                                        ended=False).strip())
    waiting = getattr(run, "waiting_for", lambda: None)()  # a Dask scheduler left without workers
    if waiting:
        status.warning(plain(waiting, limit=400))
    show_curves(progress.epochs, progress.batch_costs, progress.batches_per_epoch, progress.hparams,
                changes=progress.changes)
    live_units(progress)  # the first layer's units as they stand, redrawn with the charts
    health_section(progress.epochs, progress.hparams, live=True, running=True)
    rerun_panel()
