"""The Compare page's parts: a table of 2-6 variants (a preset fills it), every variant trained at
once as a run of its own, overlaid live curves, then the results and what each step gained.

A variant is a row: a name and the settings of one run, each cell checked against the settings spec
(``nn_core.SETTINGS``), so the table accepts exactly what Train's sliders and the CLI's flags accept.
A comparison lives in the session (``COMPARE_RUN``) as a ``Comparison``: the variants, their run
handles on the session's backend, and each one's result as it ends. The page's fragment polls the
handles, redraws the progress and the charts, and reruns itself until every variant has ended.

The presets are ui/compare_presets.py, the table ui/compare_table.py, the results' text
ui/compare_results.py (those make no Streamlit call but the table's column types), the time estimate
``nn_core.estimate`` (Sweep's and the CLIs').
"""

from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from nn_core import SETTINGS, Hyperparams, RunResult, RunStatus, evaluate  # noqa: F401 (SETTINGS: tests)
from nn_core.estimate import estimated_seconds
from nn_core.settings import BY_NAME
from nn_core.trainset import validation_size

from . import datasets, runs
from .compare_presets import BY_PRESET, PRESETS, Preset, preset_variants
from .compare_results import result_rows, results_csv, status_text, step_sentences  # noqa: F401 (tests)
from .compare_table import (COLOUR, COLOURS, COLUMNS, MAX_VARIANTS, MIN_VARIANTS, NAME, SQUARES,  # noqa: F401
                            batch_groups, coloured, column_config, parse_table, table_frame, table_rows)
from .charts_common import PLOT_CONFIG, log_axis, smoothed_batch_costs
from .livechart import DEFAULT_WIDTH
from .liveview import Chart, View, browser_width, cost_grid, live_view
from .polling import ended, next_slice, polled_panel, started

COMPARE_PANEL = "compare_panel"  # its fragment's key
COMPARE_VIEW = "compare_live"  # its live view's key (its charts are named by the keys they once had)
from .state import (COMPARE_ADOPT, COMPARE_DOWNLOAD, COMPARE_EDITOR_ROUND, COMPARE_LIVE_ACCURACY,
                    COMPARE_LIVE_BATCH_COST, COMPARE_LIVE_TEST_COST, COMPARE_PICK, COMPARE_PRESET, COMPARE_RESET,
                    COMPARE_RUN, COMPARE_START, COMPARE_STOP, COMPARE_TABLE, MAX_RUNS, compare_editor_key, lab)
from .text import plain


# How long a comparison may take, estimated before it starts (all its variants, on the backend's workers)
# by nn_core.estimate, the estimator Sweep and the CLIs use.
MAX_SECONDS = 300


def training_images(hp: Hyperparams) -> int:
    """Images a run trains on per epoch: its subset, less the validation images early stopping holds out."""
    images = min(hp.train_size, 60_000)
    return images - validation_size(images) if hp.early_stop else images



# --- a comparison --------------------------------------------------------------------------------

@dataclass(eq=False)
class Comparison:
    """Variants trained at once, each a run of its own on the session's backend."""

    names: list[str]
    variants: list[Hyperparams]
    preset: str | None  # the preset the table was filled from (its steps are described at the end)
    handles: list = field(default_factory=list)
    results: list = field(default_factory=list)  # RunResult per variant once it ended, else None
    scores: list = field(default_factory=list)  # (test cost, test accuracy) per ended variant, None if diverged
    ended: list = field(default_factory=list)  # seconds from Start to each variant's end, as seen here
    adopted: dict = field(default_factory=dict)  # variant -> its index in the session's history
    started: float = field(default_factory=time.perf_counter)
    stopped: bool = False

    def __post_init__(self):
        count = len(self.variants)
        self.results, self.scores, self.ended = [None] * count, [None] * count, [None] * count

    @property
    def finished(self) -> bool:
        return all(result is not None for result in self.results)

    @property
    def seconds(self) -> float:
        """Start to the last end (or to now, while variants train)."""
        return max(self.ended) if self.finished else time.perf_counter() - self.started

    def start(self, backend, owner: object = None) -> None:
        self.started = time.perf_counter()
        self.handles = [backend.start(hp, owner=owner) for hp in self.variants]

    def stop(self) -> None:
        """End every variant after its chunk in flight; each keeps what it trained."""
        self.stopped = True
        for handle in self.handles:
            handle.stop()

    def advance(self, seconds: float, test_images, test_labels) -> None:
        """Let the variants train: runs that train in the polling thread get a share of ``seconds``
        each; runs on workers are waited for until there is news, at the backend's pace (slower as runs
        queue for the workers: each return redraws the page's charts, which costs the browser). Then
        record those that ended."""
        going = [handle for handle, result in zip(self.handles, self.results) if result is None]
        if going and not going[0].trains_in_background:
            for handle in going:
                handle.poll(seconds / len(going))
        # runs on workers go on by themselves: their progress is read below, never waited for
        for index, handle in enumerate(self.handles):
            if self.results[index] is None and handle.progress().finished:
                result = handle.claim()
                if result is not None:
                    result.snapshots = ()  # up to 6 variants of 50 epochs: not their epochs' parameters
                    self.results[index] = result
                    self.scores[index] = score(result, test_images, test_labels)
                    self.ended[index] = time.perf_counter() - self.started


def score(result: RunResult, test_images, test_labels) -> tuple[float, float] | None:
    """A variant's (test cost, test accuracy): a finished run's last (or best) epoch's, measured on the
    whole test set; a stopped run's model measured now; a diverged run has none."""
    if result.status == RunStatus.DIVERGED:
        return None
    if result.status == RunStatus.DONE and result.final is not None:
        return result.final.test_cost, result.final.test_accuracy
    return evaluate(result.model, test_images, test_labels)


# --- charts --------------------------------------------------------------------------------------

LAYOUT = {"height": 320, "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
          "legend": {"orientation": "h", "yanchor": "top", "y": -0.25}, "uirevision": "compare"}


def curves(comparison: Comparison | None) -> list[tuple[str, str, object]]:
    """(name, colour, progress or result) of each variant, in the table's order."""
    if comparison is None:
        return []
    shown = []
    for index, name in enumerate(comparison.names):
        run = comparison.results[index] or (comparison.handles[index].progress() if comparison.handles else None)
        if run is not None:  # Plotly reads tags (<b>, <a href>) and entities in names: escaped, shown as typed
            shown.append((html.escape(name, quote=False), COLOURS[index], run))
    return shown


def epoch_figure(shown, what: str, title: str, planned: int) -> go.Figure:
    """Test cost (log y) or test accuracy by epoch, a line per variant."""
    figure = go.Figure()
    values = []
    for name, colour, run in shown:
        epochs = run.epochs
        y = [getattr(stats, what) for stats in epochs]
        values += y
        figure.add_scatter(x=[stats.epoch for stats in epochs], y=y, name=name, mode="lines+markers",
                           line={"color": colour, "width": 2}, marker={"size": 5})
    yaxis = {"title": "test cross-entropy (log)", **log_axis(values)} if what == "test_cost" else \
        {"title": "test accuracy", "tickformat": ".0%", **({} if values else {"range": [0, 1]})}
    figure.update_layout(title=title, xaxis={"title": "epoch", "range": [0.5, planned + 0.5]}, yaxis=yaxis, **LAYOUT)
    return figure


def batch_cost_figure(shown, max_points: int, grid: bool = False) -> go.Figure:
    """Each variant's batch cost (a moving mean over a tenth of an epoch) against the images it has
    trained on, downsampled to ``max_points`` points a line; a cross where one diverged. ``grid``:
    while the variants train, each line on the live view's fixed grid (its points never move, so each
    poll appends)."""
    figure = go.Figure()
    values = []
    for name, colour, run in shown:
        # Images per batch, on average (an epoch's last batch is smaller): the run's training images, which
        # its batches bound (a backend may hold fewer images than MNIST's 60,000, as in tests).
        per_epoch = min(training_images(run.hparams), run.batches_per_epoch * run.hparams.batch_size)
        images = per_epoch / run.batches_per_epoch
        if grid:
            x, y = cost_grid(run.batch_costs, run.batches_per_epoch, run.batches_per_epoch * run.hparams.epochs)
        else:
            x, y = smoothed_batch_costs(run.batch_costs, run.batches_per_epoch, max_points)
        x = [round(epoch * run.batches_per_epoch * images) for epoch in x]
        values += y
        figure.add_scatter(x=x, y=y, name=name, mode="lines" if len(x) > 1 or grid else "markers",
                           line={"color": colour, "width": 1.5})
        if run.diverged is not None and math.isfinite(run.diverged.cost):
            figure.add_scatter(x=[round((len(run.batch_costs) + 1) * images)], y=[run.diverged.cost],
                               name=f"{name} diverged", mode="markers", showlegend=False,
                               marker={"symbol": "x", "size": 12, "color": colour})
            values.append(run.diverged.cost)
    figure.update_layout(title="Batch cost against images seen", xaxis={"title": "training images seen"},
                         yaxis={"title": "cross-entropy (log)", **log_axis(values)}, **LAYOUT)
    return figure


def show_charts(comparison: Comparison | None) -> None:
    """The three charts (empty before a comparison) in one live view (ui/liveview.py): while the
    variants train, each poll appends their new points; when they have ended, the figures as always."""
    shown = curves(comparison)
    planned = max((hp.epochs for hp in comparison.variants), default=9) if comparison else 9
    live = comparison is not None and not comparison.finished
    batch = batch_cost_figure(shown, browser_width(COMPARE_VIEW) or DEFAULT_WIDTH, grid=live)
    charts = [Chart(COMPARE_LIVE_TEST_COST, epoch_figure(shown, "test_cost", "Test cost by epoch", planned)),
              Chart(COMPARE_LIVE_ACCURACY, epoch_figure(shown, "test_accuracy", "Test accuracy by epoch", planned))]
    run = "idle" if comparison is None else f"compare-{id(comparison)}-{'live' if live else 'ended'}"
    live_view(COMPARE_VIEW, run, View(blocks=[("row", charts), ("row", [Chart(COMPARE_LIVE_BATCH_COST, batch)])],
                                      config=PLOT_CONFIG, live=live))


# --- the page's sections -------------------------------------------------------------------------

def comparison() -> Comparison | None:
    return st.session_state.get(COMPARE_RUN)


def fill_from_preset() -> None:
    """The table's rows from the chosen preset (a new editor key: earlier edits do not carry over)."""
    from .settings import train_settings

    preset = BY_PRESET[st.session_state[COMPARE_PRESET]]
    st.session_state[COMPARE_TABLE] = table_rows(preset_variants(preset, train_settings()))
    st.session_state[COMPARE_EDITOR_ROUND] = st.session_state.get(COMPARE_EDITOR_ROUND, 0) + 1


def preset_choice() -> Preset:
    """The "Preset" select box; the table is filled from it on the first visit and on every change."""
    pick, reset = st.columns([3, 1], vertical_alignment="bottom")
    name = pick.selectbox("Preset", [preset.name for preset in PRESETS], key=COMPARE_PRESET,
                          on_change=fill_from_preset, help="Fills the table below; edit any cell afterwards.")
    reset.button("Refill the table", key=COMPARE_RESET, on_click=fill_from_preset, width="stretch",
                 help="The preset's rows again, with Train's current settings: your edits are dropped.")
    if COMPARE_TABLE not in st.session_state:
        fill_from_preset()
    preset = BY_PRESET[name]
    st.caption(preset.about)
    return preset


def variants_table(train: Hyperparams) -> pd.DataFrame:
    """The editable table of variants (rows can be added and deleted)."""
    key = compare_editor_key(st.session_state.get(COMPARE_EDITOR_ROUND, 0))
    frame = coloured(table_frame(st.session_state[COMPARE_TABLE]), COLOUR)
    edited = st.data_editor(frame, key=key, num_rows="dynamic", hide_index=True, column_config=column_config(train),
                            width="stretch")
    return edited.data if hasattr(edited, "data") else edited  # a Styler's edits come back as its frame


def check_table(frame: pd.DataFrame) -> tuple[list[str], list[Hyperparams]] | None:
    """The table's variants, or None after saying (as text) why they cannot start, or how long they take."""
    try:
        names, variants = parse_table(frame)
    except ValueError as problem:
        st.error(plain(str(problem), limit=400))
        return None
    room = lab().room(leave_out=comparison())  # a new comparison replaces the last one's runs
    if len(variants) > room:
        st.error(f"These {len(variants)} variants are more runs than this session can still keep ({room}): it "
                 f"keeps at most {MAX_RUNS} runs in all (Train's history, and its sweep's and comparison's runs "
                 "that are not in it). Use fewer variants, or reload the page to start a new session.")
        return None
    workers = max(1, int(getattr(runs.backend(), "workers", 1)))
    seconds = estimated_seconds(variants, workers, data=datasets.current())
    if seconds > MAX_SECONDS:
        st.error(f"These {len(variants)} variants would take about {seconds:,.0f} s on {workers} "
                 f"worker{'s' * (workers > 1)}, more than the {MAX_SECONDS} s a comparison here may take (every "
                 "variant trains at once, sharing the workers). Use fewer epochs, smaller batches' partners "
                 "(a larger batch size), fewer or narrower layers, fewer training images or fewer variants.")
        return None
    groups = batch_groups(names, variants)
    same = " ".join(f"{', '.join(plain(name) for name in group)} see the same batches in the same order."
                    for group in groups)
    st.caption(f"{len(variants)} variants, each a run of its own, all at once on {workers} "
               f"worker{'s' * (workers > 1)}: about {seconds:.0f} s. Every run starts from its own seed; variants "
               "with the same seed, batch size, training images and network shape draw the same initial weights "
               "(up to their scale) and the same shuffle, so they see the same batches in the same order. "
               + (same or "Here no two variants do."))
    return names, variants


def compare_panel(checked: tuple[list[str], list[Hyperparams]] | None, preset: str) -> None:
    """Start / Stop, each variant's progress and the live charts: a fragment that reruns itself every
    POLL_SECONDS while variants train on the workers (reading their progress, never waiting for it)."""
    current = comparison()
    polling = current is not None and not current.finished and current.handles[0].trains_in_background
    polled_panel(COMPARE_PANEL, _compare_panel, polling, checked, preset)


def _compare_panel(checked: tuple[list[str], list[Hyperparams]] | None, preset: str) -> None:
    current = comparison()
    going = current is not None and not current.finished
    left, right = st.columns(2)
    start = left.button("Start", type="primary", key=COMPARE_START, disabled=going or checked is None,
                        width="stretch", help="Train every variant at once, each as a run of its own.")
    stop = right.button("Stop", key=COMPARE_STOP, disabled=not going, width="stretch",
                        help="End every variant now; each keeps what it trained.")
    if start and not going and checked is not None:
        names, variants = checked
        current = Comparison(names, variants, preset)
        current.start(runs.backend(), runs.owner())
        st.session_state[COMPARE_RUN] = current
        started(current.handles[0].trains_in_background)
        going = True
    if stop and going:
        current.stop()
    if current is None:
        st.info("Press **Start** to train every variant at once.")
        show_charts(None)
        return
    if going:
        data = datasets.current()
        current.advance(0.5, data.test_images, data.test_labels)
    progress_section(current)
    show_charts(current)
    if not current.finished:
        next_slice(current.handles[0].trains_in_background)
    elif going:
        ended()  # the results below


def progress_section(current: Comparison) -> None:
    """A line per variant: its colour, name, how far it is, and whether it diverged."""
    ended = sum(result is not None for result in current.results)
    head = (f"{ended} of {len(current.names)} variants ended · {current.seconds:.1f} s"
            + (" · stopped" if current.stopped else ""))
    st.markdown(f"**{head}**" + ("" if not current.finished else " from Start to the last end"))
    for index, name in enumerate(current.names):
        result = current.results[index]
        run = result or current.handles[index].progress()
        done = run.total_batches_done if result is None else len(run.batch_costs)
        total = max(1, run.batches_per_epoch * run.hparams.epochs)
        where = (f"epoch {min(done // run.batches_per_epoch + (result is None), run.hparams.epochs)}"
                 f"/{run.hparams.epochs}")
        if run.diverged is not None:
            state = f"diverged at epoch {run.diverged.epoch}, batch {run.diverged.batch}: the others go on"
        elif result is not None:
            state = status_text(result)
        else:
            state = f"training, {where}"
        text = f"{SQUARES[index]} {plain(name)} · {state}"
        if result is not None and run.diverged is None and current.scores[index] is not None:
            text += f" · test accuracy {current.scores[index][1]:.2%}"
        st.progress(min(1.0, done / total) if result is None else 1.0, text=text)


TABLE_FORMATS = {"learning_rate": "%g", "l2": "%g", "test_accuracy": "%.4f", "test_cost": "%.4f",
                 "train_seconds": "%.2f"}


def results_section() -> None:
    """When every variant has ended: the results table and its CSV, what each step gained, and any
    variant made the active model."""
    current = comparison()
    if current is None or not current.finished:
        return
    st.subheader("Results")
    rows = result_rows(current)
    frame = pd.DataFrame(rows)
    styled = frame.style.apply(lambda cells: [f"background-color: {COLOURS[i]}55" for i in range(len(cells))],
                               subset=[NAME])  # the variant's colour, light enough to read the name on
    config = {column: st.column_config.NumberColumn(BY_NAME[column].label if column in BY_NAME else column,
                                                    format=TABLE_FORMATS.get(column))
              for column in frame.columns if column in TABLE_FORMATS or
              (column in BY_NAME and BY_NAME[column].kind is not str)}
    st.dataframe(styled, hide_index=True, column_config=config, width="stretch")
    st.download_button("Download results", results_csv(current), file_name="compare-results.csv",
                       mime="text/csv", key=COMPARE_DOWNLOAD, on_click="ignore")
    preset = BY_PRESET.get(current.preset)
    sentences = step_sentences(current, ladder=preset.ladder if preset else False)
    if sentences:
        st.markdown("**What each step did** (from this comparison's figures)")
        for index, sentence in enumerate(sentences, start=2):
            st.markdown(f"{SQUARES[index - 1]} {plain(sentence, limit=600)}")
    adopt_section(current)


def adopt_section(current: Comparison) -> None:
    """Any variant joins Train's history and becomes the active model (Evaluate, Draw and Inside use it)."""
    session = lab()
    indices = list(range(len(current.names)))
    labels = [f"{current.names[i]} · {current.results[i].status}" for i in indices]  # options show as typed
    pick, button = st.columns([3, 1], vertical_alignment="bottom")
    chosen = pick.selectbox("A variant", indices, format_func=labels.__getitem__, key=COMPARE_PICK)
    # never refused: a variant's run is already counted among the session's (see ui.state.Lab.kept)
    if button.button("Use this model", key=COMPARE_ADOPT, width="stretch"):
        result = current.results[chosen]
        if chosen in current.adopted:
            index = current.adopted[chosen]
            if index in session.scores:
                session.active = index
        else:
            index = current.adopted[chosen] = runs.keep_run(result)
        if result.status == RunStatus.DIVERGED:
            st.warning(f"{plain(current.names[chosen])} diverged: it joined Train's history as run #{index + 1} but "
                       "is not the active model.")
        else:
            st.success(f"{plain(current.names[chosen])} is run #{index + 1} in Train's history and now the active "
                       "model, for Evaluate, Draw and Inside.")
