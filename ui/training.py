"""The Train page's panel: Train and Stop, live progress while a run trains, then its result.

One fragment holds the panel (``run_panel``): Train and Stop (their clicks rerun it alone: Train starts
the run in its callback, so the same rerun draws it training), and in it the live panel, a fragment of
its own that, while a run trains on the workers, reruns itself every ``ui.liveview.POLL_SECONDS``
(``st.fragment(run_every=...)``), reads the run's progress without waiting for it, and sends the live
view (ui/liveview.py) only what is new. Its polling is announced by the panel's own rerun, so it
does not depend on any rerun of the whole page arriving.

The whole page reruns only where it shows something new, and never in the middle of a poll's
drawing: after Train (the settings form drawn locked) and after a run's end (its history, the active
model), from the live panel's next poll, and again at each poll until a full run of the page has
drawn it (``_PAGE_BEHIND``). Moving the learning rate or momentum mid-run reruns their own fragment
alone (ui.settings). A run of ``LocalBackend`` (AppTest's) trains in the polling thread, a slice per
rerun of the whole script, as before.
"""

from __future__ import annotations

import time

import streamlit as st

from nn_core import Hyperparams, Progress, RunStatus
from nn_core import health as core_health
from nn_core.reading import gap_reading, noise_reading
from nn_core.training import describe_changes

from . import datasets, exercise, runs
from . import health
from .charts_common import PLOT_CONFIG, log_axis
from .charts_train import accuracy_figure, best_epoch, mark_changes, train_label, training_cost_figure
from .live_units import live_units_pager, live_units_view, replay_units, section as units_section, units_palette
from .livechart import DEFAULT_WIDTH
from .liveview import Chart, View, browser_width, cost_grid, live_view
from .polling import next_slice, polled_panel
from .schedule import add_rate_trace
from .state import TRAIN_START, TRAIN_STOP, full_message, lab
from .text import plain

# The live view's key: fixed, so the browser keeps its one element (and its plots) from the empty
# charts shown before a run, through every poll of the run, to its result (see ui/liveview.py).
LIVE_VIEW = "train_live"
CONTROLS, LIVE_PANEL = "train_controls", "train_live_panel"  # the panel's two fragments' keys
_EPOCH_SPECS = "_train_live_epoch_specs"  # the live view's per-epoch figures, made once per epoch
_LAST_VIEW = "_train_live_last_view"  # (progress, view) of the last poll
# What the page lacks that the live panel alone cannot draw: "form" (Train's callback: the form is to be
# drawn locked), then "drawn" once the panel has drawn the run, its result or the start: the whole page
# reruns at the panel's next rerun. Every full run of the page clears it (training_panel).
_PAGE_BEHIND = "_train_page_behind"
TRAIN_READING = "train_reading"  # the container of the gap's reading (its key: a CSS class to find it by)


def progress_text(progress: Progress, started: float) -> str:
    done, total = progress.total_batches_done, progress.total_batches
    elapsed = time.perf_counter() - started
    eta = f"{elapsed / done * (total - done):.1f} s" if done else "measuring…"
    epochs = progress.hparams.epochs
    return (f"Epoch {min(progress.epoch + 1, epochs)}/{epochs} · batch {progress.batch}/{progress.batches_per_epoch}"
            f" · {done:,}/{total:,} batches · ETA {eta}")


def curve_charts(epochs, batch_costs, batches_per_epoch: int, hparams: Hyperparams, diverged=None,
                 changes=(), max_points: int = 400) -> list[Chart]:
    """The cost and accuracy charts of a run that is not training (empty before a run, its result
    after: the batch costs downsampled to the cost chart's width), as the page has always drawn them."""
    cost = training_cost_figure(epochs, batch_costs, batches_per_epoch, hparams, diverged, max_points=max_points,
                                reference=datasets.current().is_mnist)
    accuracy = accuracy_figure(epochs, hparams.epochs)
    for figure in (cost, accuracy):  # where the learning rate or momentum was changed during the run
        mark_changes(figure, hparams, changes, batches_per_epoch)
    add_rate_trace(cost, hparams, changes, batches_per_epoch)  # a schedule's rate over the batch axis
    return [Chart("cost", cost), Chart("accuracy", accuracy)]


def health_blocks(epochs, hparams: Hyperparams, running: bool) -> list:
    """The network's health as the view's blocks: a heading, a note, three line charts side by side
    and the weights' distribution under them, each with its help (see ui/health.py). An ended run
    without a measured epoch has the heading and the note alone."""
    figures = health._live_specs(tuple(epochs), hparams)
    row = [Chart(name, figures[name], core_health.HELP[name]) for name in health.FIGURES[:3]]
    blocks = [("heading", "Network health"), ("note", "health")]
    if running or health.measured(epochs):
        blocks += [("row", row), ("row", [Chart("weights", figures["weights"], core_health.HELP["weights"])])]
    return blocks


def health_note(epochs, running: bool) -> str:
    if health.measured(epochs):
        return ""
    return ("The network's health is measured at the end of each epoch: its figures appear after the first."
            if running else "No epoch of this run ended, so there are no health figures.")


def live_curve_charts(progress: Progress, run_id: str) -> list[Chart]:
    """A running run's cost and accuracy charts: the figures of its epochs so far (made once per epoch
    and per change of a setting), the batch costs on the view's fixed grid, the cost axis's ticks
    over everything shown."""
    key = (run_id, len(progress.epochs), len(progress.changes))
    cache = st.session_state.get(_EPOCH_SPECS)
    if cache is None or cache[0] != key:
        from .livechart import figure_spec

        charts = curve_charts(progress.epochs, [], progress.batches_per_epoch, progress.hparams,
                              changes=progress.changes)
        cache = st.session_state[_EPOCH_SPECS] = (key, [_steady_names(figure_spec(chart.figure), progress.epochs)
                                                        for chart in charts])
    cost, accuracy = cache[1]
    x, y = cost_grid(progress.batch_costs, progress.batches_per_epoch, progress.total_batches)
    shown = list(y) + [v for trace in cost["data"][1:] if trace.get("yaxis") != "y2"  # not the rate's axis
                       for v in (trace.get("y") or []) if isinstance(v, (int, float))]
    axis = {k: v for k, v in cost["layout"].get("yaxis", {}).items() if k not in ("tickvals", "ticktext", "tickmode",
                                                                                    "dtick")}
    cost = {"data": [{**cost["data"][0], "x": x, "y": y, "mode": "lines"}, *cost["data"][1:]],
            "layout": {**cost["layout"], "yaxis": {**axis, **log_axis(shown)}}}
    return [Chart("cost", cost), Chart("accuracy", accuracy)]


def _steady_names(spec: dict, epochs) -> dict:
    """A live figure whose traces keep their names from the run's start: the training figures' names say
    what they were measured on ("train cost (10,000-image sample; last epoch: all)") only once an epoch
    has been, and a trace renamed is a figure sent whole again (ui/liveview.py), at every poll until the
    browser has acknowledged it. Live, they are "train cost" and "train accuracy"; the result says more."""
    plain_names = {train_label(name, epochs): name for name in ("train cost", "train accuracy")}
    return {**spec, "data": [{**trace, "name": plain_names.get(trace.get("name"), trace.get("name"))}
                             for trace in spec["data"]]}


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


def _outcome(index: int, status) -> None:
    """What happened to an ended run, in one message in ``status``."""
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


def show_result(index: int, status, page_behind: bool = False) -> None:
    """The outcome of an ended run: what happened and its figures (in ``status``, the place of the
    progress bar), and its curves. ``page_behind``: drawn by the panel alone, the page's rerun still to
    come (the view keeps its watchdog until then, see ui/liveview.py)."""
    session = lab()
    run = session.runs[index]
    _outcome(index, status)
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
    charts = curve_charts(run.epochs, run.batch_costs, run.batches_per_epoch, run.hparams, run.diverged,
                          changes=run.changes, max_points=browser_width(LIVE_VIEW) or DEFAULT_WIDTH)
    view = View(blocks=[("row", charts), *health_blocks(run.epochs, run.hparams, running=False)],
                notes={"health": health_note(run.epochs, running=False)}, config=PLOT_CONFIG, watch=page_behind)
    st.container()  # the place of the units' pager while a run trains (see _running_view)
    live_view(LIVE_VIEW, f"result-{index}-{id(run)}", view)
    show_reading(run.epochs, run.hparams, stopped_early=run.stopped_early)
    replay_units(run)  # the first layer's units, with a slider over the epochs the run kept


def training_panel(hparams: Hyperparams) -> None:
    """The panel (Train, Stop and the live panel) as a fragment; called by every full run of the page,
    which draws all the page lacked (see _PAGE_BEHIND)."""
    st.session_state.pop(_PAGE_BEHIND, None)
    st.fragment(run_panel, key=CONTROLS)(hparams)


def run_panel(hparams: Hyperparams) -> None:
    """Train and Stop (a click reruns this fragment alone, its action done in the callback before),
    then the live panel: polling while a run trains on the workers, announced by whichever run of
    this fragment or of the page draws it."""
    session = lab()
    run = session.current
    left, right = st.columns(2)
    left.button("Train", type="primary", key=TRAIN_START, disabled=run is not None or session.full,
                width="stretch", on_click=_train, args=(hparams,))
    right.button("Stop", key=TRAIN_STOP, disabled=run is None, width="stretch", on_click=_stop,
                 help="End the run now and keep the model trained so far.")
    polling = run is not None and run.trains_in_background
    polled_panel(LIVE_PANEL, live_panel, polling, hparams)


def _train(hparams: Hyperparams) -> None:
    """Train's callback: the run starts before the panel is drawn, so this very rerun shows it training
    and announces its polls; the form is drawn locked by the page's next full run (_PAGE_BEHIND)."""
    session = lab()
    if session.current is None and not session.full:
        runs.start_run(hparams)
        st.session_state[_PAGE_BEHIND] = "form"


def _stop() -> None:
    run = lab().current
    if run is not None:
        run.stop()  # the live panel sees the run end at its next poll


def _idle_panel(session, hparams: Hyperparams, status) -> None:
    """No run training: the last run's result, or the empty charts before the first one."""
    if session.full:
        status.warning(full_message())
    if session.last_finished is not None:
        show_result(session.last_finished, status)
        return
    status.info("Press **Train** to train the network with these settings (about 3 seconds with the "
                "post's defaults). Moving a slider changes the next run, not the last result.")
    # The charts the run will fill, already there: their axes (and, for the post's settings, its
    # test cost to beat), and the browser loads plotly.js now rather than in the middle of the
    # first run (about a second of a core in headless Chromium, measured).
    st.container()  # the place of the units' pager while a run trains (see _running_view)
    live_view(LIVE_VIEW, "idle", View(blocks=[("row", curve_charts([], [], 1, hparams))], config=PLOT_CONFIG))
    show_reading([], None)
    units_section()  # where a run's units will be, so the sections after keep their places


def _ended(run, status) -> None:
    """The run has ended: its result here at once; the whole page (history, active model, download; this
    panel without run_every) follows at the panel's next poll, so nothing drawn here is dropped by a rerun."""
    index = runs.collect_ended()
    if index is None or not run.trains_in_background:
        st.rerun()  # the whole page: history, active model and download change
    st.session_state[_PAGE_BEHIND] = "drawn"
    show_result(index, status, page_behind=True)


def _running_status(run, progress, session, status) -> None:
    """The progress bar, the changes made so far and what the run waits for, above the view."""
    status.progress(progress.total_batches_done / progress.total_batches,
                    text=progress_text(progress, session.current_started))
    if progress.changes:
        status.caption(changes_sentence(progress.hparams, progress.changes, progress.batches_per_epoch,
                                        ended=False).strip())
    waiting = getattr(run, "waiting_for", lambda: None)()  # a Dask scheduler left without workers
    if waiting:
        status.warning(plain(waiting, limit=400))


def _running_view(progress, run_id: str, pager) -> View:
    """The live view of ``progress``: rebuilt only when the progress changed (a run on workers keeps its
    snapshot until a chunk returns; with no news the same view is sent as it was, at next to no cost).
    The units' pager is drawn in ``pager`` either way: a container there in every state of the panel,
    so that the live view's element never changes place (a new place remounts it in the browser,
    which then asks for, and redraws, the whole view)."""
    last = st.session_state.get(_LAST_VIEW)
    with pager:
        if last is not None and last[0] is progress:
            live_units_pager(progress)
            return last[1]
        units = live_units_view(progress)
    view = View(blocks=[("row", live_curve_charts(progress, run_id)), ("units", None),
                        *health_blocks(progress.epochs, progress.hparams, running=True)],
                notes={"health": health_note(progress.epochs, running=True)}, config=PLOT_CONFIG,
                palette=units_palette(), units=units, live=True)
    st.session_state[_LAST_VIEW] = (progress, view)
    return view


def live_panel(hparams: Hyperparams) -> None:
    """The live run's progress and view, or the last run's result (or the empty charts before one)."""
    session = lab()
    run = session.current
    status = st.container()  # the messages, or the progress, above the view: one place either way
    if st.session_state.get(_PAGE_BEHIND) == "drawn":
        st.rerun()  # the start or the result is shown: now the whole page (until one has drawn it)
    if st.session_state.get(_PAGE_BEHIND) == "form":
        st.session_state[_PAGE_BEHIND] = "drawn"  # drawn below: the next rerun is the page's
    if run is None:
        return _idle_panel(session, hparams, status)
    # A run on the workers goes on without this thread: its progress is read, not waited for. A run
    # of LocalBackend (tests) trains in the polling thread, a slice per poll.
    progress = run.progress() if run.trains_in_background else run.poll()
    if progress.finished:
        return _ended(run, status)
    _running_status(run, progress, session, status)
    run_id = f"run-{len(session.runs)}-{session.current_started}"
    live_view(LIVE_VIEW, run_id, _running_view(progress, run_id, st.container()))
    show_reading(progress.epochs, progress.hparams)
    units_section()
    next_slice(run.trains_in_background)  # AppTest's runs: the whole script again
