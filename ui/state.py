"""One session's state, behind typed accessors. Every key of ``st.session_state`` the app uses is
named here; widget keys carry their page's prefix (``train_``, ``evaluate_``, ``draw_``, ``sweep_``,
``inside_``, ``compare_``, ``exercise_``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import streamlit as st

from nn_core import LocalBackend, LocalRun, RunResult
from nn_core.handwriting import DigitSet, Tuning

LAB = "lab"  # the Lab below
EVALUATE_CACHE = "evaluate_cache"  # the Evaluate page's diagnostics of the active model
# Widget keys
TRAIN_START, TRAIN_STOP = "train_start", "train_stop"
TRAIN_ACTIVE_PICK, TRAIN_COMPARE_PICK = "train_active_pick", "train_compare_pick"
TRAIN_DOWNLOAD, TRAIN_UPLOAD = "train_download", "train_upload"
EVALUATE_TRUE, EVALUATE_PREDICTED = "evaluate_true", "evaluate_predicted"
EVALUATE_RATES, EVALUATE_CHART = "evaluate_rates", "evaluate_confusion_chart"
EVALUATE_CELL_FOR = "evaluate_cell_for"  # the diagnostics the chosen cell was first set for
EVALUATE_UNITS_PER_PAGE, EVALUATE_UNITS_PAGE = "evaluate_units_per_page", "evaluate_units_page"
EVALUATE_UNITS_LAYER = "evaluate_units_layer"  # the hidden layer whose units are shown
EVALUATE_MAP_CACHE = "evaluate_map_cache"  # ui.hidden_map.MapCache: the active model's maps, its t-SNE job
EVALUATE_MAP_METHOD, EVALUATE_MAP_SAMPLE = "evaluate_map_method", "evaluate_map_sample"
EVALUATE_MAP_EPOCH, EVALUATE_MAP_CHART = "evaluate_map_epoch", "evaluate_map_chart"
EVALUATE_MAP_TSNE = "evaluate_map_tsne"  # the button computing a t-SNE map
TRAIN_UNITS_EPOCH = "train_units_epoch"  # the replay slider over a finished run's kept epochs
TRAIN_UNITS_FOR = "train_units_for"  # the run the replay slider was set for (a new run starts at its end)
TRAIN_UNITS_PER_PAGE, TRAIN_UNITS_PAGE = "train_units_per_page", "train_units_page"
DRAW_CANVAS_ROUND = "draw_canvas_round"  # bumped by Clear: a new canvas key is a new, empty canvas
DRAW_PROBABILITIES = "draw_probabilities"
DRAW_FIELD = "draw_field"  # the 28x28 input the network last read on the canvas, for the label buttons
DRAW_REMOVE_PICK, DRAW_REMOVE = "draw_remove_pick", "draw_remove"
DRAW_DOWNLOAD, DRAW_UPLOAD = "draw_digits_download", "draw_digits_upload"
DRAW_TUNE, DRAW_TUNE_STOP = "draw_tune", "draw_tune_stop"
DRAW_WHY_DIGIT = "draw_why_digit"  # the digit whose saliency is shown; None: the network's reading
DRAW_FOOL_TARGET, DRAW_PERTURB = "draw_fool_target", "draw_perturb"  # "Make it read as" and its button
DRAW_PERTURBATION = "draw_perturbation"  # ui.explain.Fooled: the last perturbation, with its input and model
DRAW_MODE, DRAW_MODE_PICK = "draw_mode", "draw_mode_pick"  # what Draw's canvas reads: digits or my classes; its radio
DRAW_OWN = "draw_own"  # ui.own_classes.OwnClasses: the drawn classes, their drawings and the network trained on them
DRAW_OWN_FORM, DRAW_OWN_NAME = "draw_own_form", "draw_own_name"  # a new class's name
DRAW_OWN_UNDO, DRAW_OWN_CLEAR = "draw_own_undo", "draw_own_clear"  # the last drawing; the canvas
DRAW_OWN_TRAIN, DRAW_OWN_USE = "draw_own_train", "draw_own_use"
DRAW_OWN_DOWNLOAD, DRAW_OWN_UPLOAD = "draw_own_download", "draw_own_upload"
SWEEP_VARIED, SWEEP_SEEDS, SWEEP_EPOCHS = "sweep_varied", "sweep_seeds", "sweep_epochs"
SWEEP_START, SWEEP_STOP, SWEEP_PICK, SWEEP_ADOPT = "sweep_start", "sweep_stop", "sweep_pick", "sweep_adopt"
SWEEP_DOWNLOAD = "sweep_download"
INSIDE_RUN = "inside_run"  # the Inside page's ui.inside.Inside: its stepped run and where it started from
INSIDE_SOURCE, INSIDE_IMAGE = "inside_source", "inside_image"
INSIDE_STEP, INSIDE_STEP_10, INSIDE_STEP_100, INSIDE_RESET = "inside_step", "inside_step_10", "inside_step_100", "inside_reset"
INSIDE_UNITS_PER_PAGE, INSIDE_UNITS_PAGE = "inside_units_per_page", "inside_units_page"
COMPARE_RUN = "compare_run"  # the Compare page's ui.compare.Comparison: its variants, runs and results
COMPARE_TABLE = "compare_table"  # the variants table's rows, as a preset (or Reset) last filled it
COMPARE_EDITOR_ROUND = "compare_editor_round"  # bumped on each fill: a new editor key drops the old edits
COMPARE_PRESET, COMPARE_START, COMPARE_STOP = "compare_preset", "compare_start", "compare_stop"
COMPARE_PICK, COMPARE_ADOPT = "compare_pick", "compare_adopt"
COMPARE_RESET, COMPARE_DOWNLOAD = "compare_reset", "compare_download"
COMPARE_LIVE_TEST_COST, COMPARE_LIVE_ACCURACY = "compare_live_test_cost", "compare_live_accuracy"
COMPARE_LIVE_BATCH_COST = "compare_live_batch_cost"
EXERCISE_TITLE, EXERCISE_TEXT, EXERCISE_HIDE = "exercise_title", "exercise_text", "exercise_hide"
EXERCISE_LOCK, EXERCISE_TARGET = "exercise_lock", "exercise_target"
EXERCISE_MAX_HIDDEN, EXERCISE_MAX_EPOCHS = "exercise_max_hidden", "exercise_max_epochs"
MAX_RUNS = 50  # runs one session keeps in all, each a model of ~0.2-1.6 MB: its history (uploads included)
# and the runs of its sweep and its comparison that are not in the history (ended, training or to come)


def setting_key(url_key: str) -> str:
    """The Train page's widget key of one setting."""
    return f"train_{url_key}"


def sweep_values_key(name: str) -> str:
    """The Sweep page's text box of one varied setting's values."""
    return f"sweep_values_{name}"


def compare_editor_key(round_: int) -> str:
    return f"compare_editor_{round_}"


def draw_canvas_key(round_: int) -> str:
    return f"draw_canvas_{round_}"


def draw_own_key(what: str, k: int) -> str:
    """A Draw page widget of the drawn class ``k`` ("add", "empty", "delete"), or its canvas ("canvas", round)."""
    return f"draw_own_{what}_{k}"


@dataclass(frozen=True)
class Score:
    """A model's test cost and accuracy, measured when its run joined the session."""

    cost: float
    accuracy: float


@dataclass(eq=False)
class Lab:
    """This session's runs: every one that ended (oldest first), the active model, the run in progress."""

    runs: list[RunResult] = field(default_factory=list)
    scores: dict[int, Score] = field(default_factory=dict)  # by run index; diverged runs have none
    active: int | None = None  # index of the model Evaluate and Draw use
    compared: list[int] = field(default_factory=list)  # runs whose test cost Train overlays
    current: LocalRun | None = None  # the run being trained on Train
    current_started: float = 0.0  # perf_counter time it started
    last_finished: int | None = None  # the run whose result Train shows
    uploads: dict[str, int] = field(default_factory=dict)  # uploaded file id -> run index
    link_read: bool = False  # the settings in the URL were read (once per session)
    backend: LocalBackend | None = None  # trains this session's runs; None: the server's
    sweep: object | None = None  # the Sweep page's ui.sweep.Sweep, once one was started
    digits: DigitSet = field(default_factory=DigitSet.empty)  # "my digits", labelled on Draw
    digit_uploads: dict[str, tuple[bool, str]] = field(default_factory=dict)  # a set file's id -> (added, message)
    tuning: Tuning | None = None  # the last fine-tuning on my digits
    bases: dict[int, int] = field(default_factory=dict)  # a fine-tuned run's index -> its base run's (an exercise counts both)
    exercise: object | None = None  # the link's ui.exercise.Exercise (read once per session), if any
    exercise_read: bool = False
    exercise_notices: list[str] = field(default_factory=list)  # what the link had that was refused, shown once
    dataset: object | None = None  # ui.datasets.SessionData: the data set in use (MNIST if none), runs kept for others

    @property
    def full(self) -> bool:
        """The session keeps MAX_RUNS runs (see ``kept``): no new run or upload is taken."""
        return self.kept() >= MAX_RUNS

    def kept(self, leave_out: object = None) -> int:
        """The runs this session keeps or will keep, each once: its history, and the runs of its sweep
        and its comparison that are not in it (a run adopted into the history is the same object).
        ``leave_out``: a sweep or comparison about to be replaced by a new one, not counted."""
        history = {id(run) for run in self.runs}
        holders = [holder for holder in (self.sweep, _comparison()) if holder is not None and holder is not leave_out]
        shelved = getattr(self.dataset, "shelved", 0)  # the runs kept for the data sets not in use
        return len(self.runs) + sum(_outside(holder, history) for holder in holders) + shelved

    def room(self, leave_out: object = None) -> int:
        """How many more runs the session can keep (``leave_out``: as in ``kept``)."""
        return max(0, MAX_RUNS - self.kept(leave_out))

    @property
    def active_run(self) -> RunResult | None:
        return self.runs[self.active] if self.active is not None and 0 <= self.active < len(self.runs) else None

    def add(self, result: RunResult, score: Score | None) -> int:
        """Append a run; a scored (usable) one becomes the active model. Returns its index."""
        self.runs.append(result)
        index = len(self.runs) - 1
        if score is not None:
            self.scores[index] = score
            self.active = index
        self.compared.append(index)
        self.drop_snapshots(keep=(index, self.active))
        return index

    def drop_snapshots(self, keep: tuple) -> None:
        """Free the epochs' snapshots of every run but those at the indices ``keep`` (the latest run and the
        active model): with the run in progress, at most three runs' (each at most
        nn_core.snapshots.SNAPSHOT_BYTES, 24 MiB) stay in a session."""
        for index, run in enumerate(self.runs):
            if run.snapshots and index not in keep:
                run.snapshots = ()

    def start(self, run: LocalRun) -> None:
        self.current, self.current_started = run, time.perf_counter()


def _comparison():
    """The Compare page's comparison, if this session has one (None outside a session)."""
    try:
        return st.session_state.get(COMPARE_RUN)
    except Exception:  # no session to ask (a Lab used outside a running page)
        return None


def _outside(holder, history: set[int]) -> int:
    """The runs of a sweep (nn_core.sweep.Sweep) or a comparison (ui.compare.Comparison) that are not in
    the history: ended ones, those training and those still to start."""
    ended = sum(result is not None and id(result) not in history for result in holder.results)
    to_come = sum(result is None for result in holder.results)  # a comparison's variants still training
    return ended + to_come + len(getattr(holder, "active", ())) + len(getattr(holder, "pending", ()))


def full_message() -> str:
    """Why no new run can start, in one sentence or two."""
    return (f"This session keeps {MAX_RUNS} runs, the most it keeps (its history, and its sweep's and comparison's "
            "runs not in it), so no new run can start. A new sweep or comparison replaces the last one's runs; "
            "download the models you want to keep; reloading the page starts a new session.")


def lab() -> Lab:
    return st.session_state.setdefault(LAB, Lab())
