"""Classroom exercises: a link that hides settings and pages, locks settings and sets a goal the lab
checks after every run.

An exercise rides in the lab's link beside its settings (``?hidden=16&ex_target=97&ex_max_hidden=16``):

- ``ex_title``, ``ex_text``: its title and instructions, shown as plain text on top of every page;
- ``ex_hide``: settings hidden from the forms, by their link keys (``lr,beta``);
- ``ex_hide_page``: pages left out of the navigation (``sweep,compare``; Train, where the goal is
  checked, cannot be hidden);
- ``ex_lock``: settings fixed at a value, ``key:value`` each (``hidden:64,act:sigmoid``);
- ``ex_target``: the target test accuracy in percent; ``ex_max_hidden``, ``ex_max_epochs``: the largest
  hidden units and epochs allowed, enforced as their sliders' range;
- ``ex_goal``: what the verdict checks: ``accuracy`` (the target; the default), ``rescue`` (a run that
  finishes after one that diverged, only the learning rate changed) or ``never_learns`` (a run from
  zero weights that ends far below what the network learns).

``parse`` reads the parameters into an ``Exercise`` (or none) and the notices on what it refused; the
session reads its link once (``read_exercise_from_link``, from ``streamlit_app.py`` before any page, so
the navigation can leave hidden pages out) and keeps the exercise in ``Lab.exercise``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import quote, urlencode, urlsplit

import streamlit as st

from nn_core import SETTINGS, Hyperparams, RunResult, RunStatus
from nn_core.settings import BY_NAME, number_from_text

from . import settings as form  # a module, not its names: ui.settings draws the form with this module's help
from .state import lab, setting_key
from .text import plain

PREFIX = "ex_"
TITLE, TEXT, HIDE, HIDE_PAGE, LOCK = "ex_title", "ex_text", "ex_hide", "ex_hide_page", "ex_lock"
TARGET, MAX_HIDDEN, MAX_EPOCHS, GOAL = "ex_target", "ex_max_hidden", "ex_max_epochs", "ex_goal"
KEYS = (TITLE, TEXT, HIDE, HIDE_PAGE, LOCK, TARGET, MAX_HIDDEN, MAX_EPOCHS, GOAL)
SETTING_KEYS = {s.url_key: s for s in SETTINGS}

MAX_LINK = 2000  # characters of a link's query (URL-encoded): a longer exercise link is refused whole
MAX_TITLE, MAX_INSTRUCTIONS = 100, 1000  # characters; longer ones are cut, with a notice
MAX_SHOWN = 40  # characters of a refused value or key shown in a notice
MAX_NAMED = 8  # unknown keys named in the notice (the rest counted)

# The lab's pages by link name, in the navigation's order (streamlit_app.py checks it has exactly these).
PAGES = {"train": "Train", "evaluate": "Evaluate", "draw": "Draw", "sweep": "Sweep", "compare": "Compare",
         "inside": "Inside", "exercise": "Exercise"}
UNHIDEABLE = "train"  # the page where runs are made and the goal is checked
# What the verdict checks after a run.
GOALS = ("accuracy", "rescue", "never_learns")
# Below this a finished run "never learns" (measured with `python -m nn_core.train --threads 1`: zeros ends
# at 76.7% after the built-in exercise's 3 epochs and 78.1% after the post's 9; with the same 3 epochs he
# reaches 96.7% and normal 93.4%, and lecun 97.6% after 9).
NEVER_LEARNS_BELOW = 0.90
# Settings whose largest value an exercise may set (their sliders' range ends there).
MAXIMA = {MAX_HIDDEN: "hidden_units", MAX_EPOCHS: "epochs"}


@dataclass(frozen=True)
class Exercise:
    """One exercise: what it shows, hides and fixes, and its goal (settings by ``Setting.name``)."""

    title: str = ""
    instructions: str = ""
    hidden_settings: tuple[str, ...] = ()
    hidden_pages: tuple[str, ...] = ()  # PAGES' names
    locks: dict = field(default_factory=dict)  # setting name -> its fixed value
    target: float | None = None  # test accuracy in percent
    maxima: dict = field(default_factory=dict)  # "hidden_units"/"epochs" -> largest value allowed
    goal: str = "accuracy"

    def hides(self, name: str) -> bool:
        return name in self.hidden_settings

    def params(self) -> dict[str, str]:
        """The exercise's link parameters (empty ones left out)."""
        params = {TITLE: self.title, TEXT: self.instructions,
                  HIDE: ",".join(BY_NAME[name].url_key for name in self.hidden_settings),
                  HIDE_PAGE: ",".join(self.hidden_pages),
                  LOCK: ",".join(f"{BY_NAME[n].url_key}:{BY_NAME[n].format(v)}" for n, v in self.locks.items()),
                  TARGET: "" if self.target is None else f"{self.target:g}",
                  MAX_HIDDEN: str(self.maxima.get("hidden_units", "")), MAX_EPOCHS: str(self.maxima.get("epochs", "")),
                  GOAL: "" if self.goal == "accuracy" else self.goal}
        return {key: value for key, value in params.items() if value}

    def goal_sentence(self) -> str:
        """The goal in a sentence (numbers and the spec's labels only: safe as Markdown)."""
        if self.goal == "rescue":
            words = ("Goal: a run that diverges, then one that finishes with only the learning rate changed.")
        elif self.goal == "never_learns":
            words = (f"Goal: a finished run whose initialisation never learns (below {NEVER_LEARNS_BELOW:.0%} test "
                     "accuracy where the others learn).")
        elif self.target is not None:
            words = f"Goal: test accuracy of at least {self.target:g}%."
        else:
            words = ""
        limits = [f"{BY_NAME[name].label.lower()} at most {value}" for name, value in self.maxima.items()]
        if limits:
            words += f" Allowed: {', '.join(limits)}."
        return words.strip()

    def allows(self, name: str, value) -> str:
        """Why ``value`` breaks this exercise's lock or maximum on setting ``name``, or ""."""
        setting = BY_NAME[name]
        if name in self.locks and value != self.locks[name]:
            return f"{setting.label.lower()} is fixed at {form.shown(setting, self.locks[name])} by the exercise"
        if name in self.maxima and value > self.maxima[name]:
            return f"{setting.label.lower()} may be at most {self.maxima[name]} in this exercise"
        return ""

    def breaks(self, hparams: Hyperparams) -> list[str]:
        """Why settings ``hparams`` break the exercise's locks and maxima (empty: they keep them)."""
        return [why for name in (*self.locks, *self.maxima) if (why := self.allows(name, getattr(hparams, name)))]

    def constrain(self, values: dict) -> dict:
        """Settings by name with the locks applied and the maxima enforced."""
        values = dict(values)
        values.update(self.locks)
        for name, highest in self.maxima.items():
            if name in values and values[name] > highest:
                values[name] = highest
        return values


def _cut(text: str, limit: int = MAX_SHOWN) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def link_length(params: Mapping[str, str]) -> int:
    """The characters a query of ``params`` takes in a link, counted before encoding anything long."""
    return sum(len(quote(str(key), safe="")) + len(quote(str(value), safe="")) + 2 for key, value in params.items()) - 1


def _names(text: str) -> list[str]:
    """A comma-separated list, stripped, without empty entries or repeats, in order."""
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def parse(params: Mapping[str, str]) -> tuple[Exercise | None, list[str]]:
    """The exercise in a link's parameters (None when the link has no ``ex_`` key, or is refused) and
    the notices, one line each, as plain text (a value from a link must be shown as text)."""
    if not any(str(key).startswith(PREFIX) for key in params):
        return None, []
    raw = sum(len(str(key)) + len(str(value)) + 2 for key, value in params.items()) - 1  # encoding only adds
    length = raw if raw > MAX_LINK else link_length(params)
    if length > MAX_LINK:
        return None, [f"This exercise link is {'at least ' if raw == length else ''}{length:,} characters long; an "
                      f"exercise link may have at most {MAX_LINK:,}. The lab opens without the exercise."]
    notices, unknown = [], [key for key in params if key not in KEYS and key not in SETTING_KEYS]
    title, instructions = params.get(TITLE, ""), params.get(TEXT, "")
    if len(title) > MAX_TITLE:
        title = title[:MAX_TITLE]
        notices.append(f"The exercise's title is cut to its first {MAX_TITLE} characters.")
    if len(instructions) > MAX_INSTRUCTIONS:
        instructions = instructions[:MAX_INSTRUCTIONS]
        notices.append(f"The exercise's instructions are cut to their first {MAX_INSTRUCTIONS:,} characters.")

    hidden = []
    for key in _names(params.get(HIDE, "")):
        if key in SETTING_KEYS:
            hidden.append(SETTING_KEYS[key].name)
        else:
            unknown.append(f"{HIDE}={key}")
    pages = []
    for name in _names(params.get(HIDE_PAGE, "")):
        if name == UNHIDEABLE:
            notices.append("The Train page stays: the exercise's runs are made there.")
        elif name in PAGES:
            pages.append(name)
        else:
            unknown.append(f"{HIDE_PAGE}={name}")

    maxima = {}
    for key, name in MAXIMA.items():
        if key not in params:
            continue
        setting = BY_NAME[name]
        try:
            maxima[name] = form.parse_link_value(setting, params[key])
        except ValueError as error:
            notices.append(f"No limit on {setting.label.lower()}: {key}={_cut(params[key])} ({error}).")

    locks = {}
    for entry in _names(params.get(LOCK, "")):
        key, colon, text = entry.partition(":")
        setting = SETTING_KEYS.get(key.strip())
        if setting is None:
            unknown.append(f"{LOCK}={key.strip()}")
            continue
        try:
            if not colon:
                raise ValueError("no value given (key:value)")
            value = form.parse_link_value(setting, text.strip())
            if setting.name in maxima and value > maxima[setting.name]:
                raise ValueError(f"above the exercise's largest allowed, {maxima[setting.name]}")
        except ValueError as error:
            notices.append(f"{setting.label} is not locked: {_cut(text.strip()) or 'nothing'} is refused ({error}). "
                           "It stays free.")
            continue
        locks[setting.name] = value

    target = None
    if TARGET in params:
        text = params[TARGET]
        try:
            target = number_from_text(text, float) if len(text) <= MAX_SHOWN else math.nan
            if not 0 < target <= 100:  # also NaN
                raise ValueError
        except ValueError:
            target = None
            notices.append(f"No target accuracy: {TARGET}={_cut(text)} is not a percentage in (0, 100].")
    goal = params.get(GOAL, "accuracy") or "accuracy"
    if goal not in GOALS:
        notices.append(f"Unknown goal {_cut(goal)}; the goal is the target accuracy.")
        goal = "accuracy"
    if unknown:
        named = ", ".join(_cut(key) for key in unknown[:MAX_NAMED])
        more = f" and {len(unknown) - MAX_NAMED} more" if len(unknown) > MAX_NAMED else ""
        notices.insert(0, f"Ignored what this lab does not know in the link: {named}{more}.")
    return Exercise(title, instructions, tuple(hidden), tuple(pages), locks, target, maxima, goal), notices


def settings_params(hparams: Hyperparams) -> dict[str, str]:
    """The settings that differ from the post's, as link parameters (the others are the defaults)."""
    return {s.url_key: s.format(getattr(hparams, s.name)) for s in SETTINGS if getattr(hparams, s.name) != s.default}


def link_params(exercise: Exercise, hparams: Hyperparams | None = None) -> dict[str, str]:
    """An exercise link's parameters: the settings it starts from, then the exercise."""
    return {**({} if hparams is None else settings_params(hparams)), **exercise.params()}


def query(exercise: Exercise, hparams: Hyperparams | None = None) -> str:
    """An exercise link's query (after the ``?``)."""
    return urlencode(link_params(exercise, hparams))


def app_root(url: str | None) -> str:
    """The app's address from a page's (``st.context.url``), without the page's own path."""
    if not url:
        return "http://localhost:8501/"
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if last in PAGES:
        path = path[: len(path) - len(last)]
    return f"{parts.scheme}://{parts.netloc}{path.rstrip('/')}/"


# --- the verdict -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    reached: bool
    text: str  # numbers and the spec's labels only: safe as Markdown


def lineage(runs: list[RunResult], bases: Mapping[int, int], index: int) -> list[RunResult] | None:
    """Run ``index`` and the runs it was trained on top of (a fine-tuning's base, its base's...),
    newest first; None when one of them is an uploaded model, whose training the lab cannot know."""
    chain, seen = [], set()
    while index is not None and index not in seen:
        seen.add(index)
        run = runs[index]
        if run.status == RunStatus.UPLOADED:
            return None
        chain.append(run)
        index = bases.get(index)
    return chain


def epochs_trained(run: RunResult) -> int:
    """The epochs a run trained, one it stopped part-way through included."""
    begun = math.ceil(len(run.batch_costs) / run.batches_per_epoch) if run.batches_per_epoch else 0
    return max(len(run.epochs), begun)


def history_breaks(exercise: Exercise, chain: list[RunResult]) -> list[str]:
    """Why a run with this history (``lineage``) breaks the exercise: any run in it off a lock or above
    a limit, a locked setting changed while one trained, or more epochs in all than the limit."""
    broken = []
    for run in chain:
        broken += exercise.breaks(run.hparams) + [f"{BY_NAME[c.name].label.lower()} was changed while it trained"
                                                  for c in run.changes if c.name in exercise.locks]
    highest = exercise.maxima.get("epochs")
    total = sum(epochs_trained(run) for run in chain)
    if len(chain) > 1 and highest is not None and total > highest:
        broken.append(f"it trained {total} epochs in all, counting the run{'s' * (len(chain) > 2)} it was "
                      f"fine-tuned from, and the exercise allows at most {highest}")
    return list(dict.fromkeys(broken))


def verdict(exercise: Exercise, runs: list[RunResult], accuracies: dict[int, float], index: int,
            bases: Mapping[int, int] | None = None) -> Verdict | None:
    """The verdict on run ``index`` of a session's history (``accuracies``: the scored runs' test
    accuracy, 0-1; ``bases``: a fine-tuned run's index to its base run's), or None when the exercise
    sets no goal. Only a run the exercise's limits allow counts, its whole history counted: a
    fine-tuning adds its epochs to its base's, and an uploaded model (trained who knows how) never counts."""
    run = runs[index]
    chain = lineage(runs, bases or {}, index)
    if chain is None:
        return Verdict(False, "This run does not count: it is, or was trained from, an uploaded model, whose "
                              "training the lab cannot check against the exercise's limits. Train one here.")
    broken = history_breaks(exercise, chain)
    if broken:
        return Verdict(False, f"This run does not count: {'; '.join(broken)}.")
    if exercise.goal == "rescue":
        return _rescue(runs, index)
    if exercise.goal == "never_learns":
        return _never_learns(runs, accuracies, index)
    if exercise.target is None:
        return None
    if run.status == RunStatus.DIVERGED:
        return Verdict(False, f"Not reached: the run diverged, so it has no test accuracy (the target is "
                              f"{exercise.target:g}%).")
    if index not in accuracies:
        return Verdict(False, f"Not reached: the run has no test accuracy (the target is {exercise.target:g}%).")
    accuracy = accuracies[index] * 100
    if accuracy >= exercise.target:
        return Verdict(True, f"Goal reached: {accuracy:.2f}% test accuracy, the target was {exercise.target:g}%.")
    return Verdict(False, f"Not reached yet: {accuracy:.2f}% test accuracy is {exercise.target - accuracy:.2f} "
                          f"percentage points below the target of {exercise.target:g}%.")


def differing(before: Hyperparams, after: Hyperparams) -> list[str]:
    """The settings (by name) in which two runs' settings differ."""
    return [s.name for s in SETTINGS if getattr(before, s.name) != getattr(after, s.name)]


def _rescue(runs: list[RunResult], index: int) -> Verdict:
    run = runs[index]
    if run.status == RunStatus.DIVERGED:
        return Verdict(False, "Diverged. Now rescue it: change the learning rate alone and train again.")
    diverged = [i for i in range(index) if runs[i].status == RunStatus.DIVERGED]
    if not diverged:
        return Verdict(False, "Not yet: first make a run diverge (its cost blows up), then rescue it.")
    if run.status != RunStatus.DONE:
        return Verdict(False, "Not yet: a rescue must run to its end.")
    others = [c for c in run.changes if c.name != "learning_rate"]
    for i in reversed(diverged):
        if differing(runs[i].hparams, run.hparams) == ["learning_rate"] and not others:
            s = BY_NAME["learning_rate"]
            return Verdict(True, f"Goal reached: run #{i + 1} diverged at learning rate "
                                 f"{s.format(runs[i].hparams.learning_rate)}; this run, the same but for a learning "
                                 f"rate of {s.format(run.hparams.learning_rate)}, finished.")
    last = diverged[-1]
    changed = [BY_NAME[name].label.lower() for name in differing(runs[last].hparams, run.hparams)
               if name != "learning_rate"] + [BY_NAME[c.name].label.lower() for c in others]
    if not changed:
        return Verdict(False, f"Not yet: this run has the diverged run #{last + 1}'s learning rate too; change it.")
    return Verdict(False, f"Not yet: besides the learning rate this run changed {', '.join(dict.fromkeys(changed))} "
                          f"from the diverged run #{last + 1}. Change the learning rate alone.")


def _never_learns(runs: list[RunResult], accuracies: dict[int, float], index: int) -> Verdict:
    run = runs[index]
    init = run.hparams.init
    if run.status == RunStatus.DIVERGED:
        return Verdict(False, "This run diverged: that is a learning rate too high, not an initialisation that "
                              "never learns. Keep the learning rate and try the initialisations.")
    if run.status != RunStatus.DONE or index not in accuracies:
        return Verdict(False, "Not yet: let the run finish to see what it learns.")
    accuracy = accuracies[index]
    learning = [accuracies[i] for i in range(len(runs)) if i in accuracies and runs[i].hparams.init != init
                and differing(runs[i].hparams, run.hparams) == ["init"]]
    if init == "zeros" and accuracy < NEVER_LEARNS_BELOW:
        against = (f", {max(learning) - accuracy:.1%} below the best other initialisation with the same settings "
                   f"({max(learning):.2%})" if learning else "")
        return Verdict(True, f"Goal reached: from zeros the run ends at {accuracy:.2%}{against}. Every hidden unit "
                             "starts identical, gets the same update and stays identical: the layer learns like "
                             "a single unit.")
    if accuracy < NEVER_LEARNS_BELOW:
        return Verdict(False, f"Not this one: {init} ended at {accuracy:.2%}, but with better settings it learns. "
                              "Look for the initialisation no setting can rescue.")
    return Verdict(False, f"Not this one: {init} learns ({accuracy:.2%}). Try another initialisation.")


# --- the session -------------------------------------------------------------------------------

def read_exercise_from_link() -> None:
    """Once per session: read the link's exercise (before the navigation, which leaves hidden pages
    out), keep it and its notices in the session, and set the locked settings."""
    session = lab()
    if session.exercise_read:
        return
    session.exercise_read = True
    params = st.query_params.to_dict()
    session.exercise, session.exercise_notices = parse(params)
    if session.exercise is None and session.exercise_notices:  # refused: its keys leave the address bar, so
        for key in params:  # the settings written back after each change do not carry them (a copy each time)
            if key.startswith(PREFIX) or key not in SETTING_KEYS:
                del st.query_params[key]
    enforce()


def current() -> Exercise | None:
    """This session's exercise, if its link had one."""
    return lab().exercise


def hidden_pages() -> tuple[str, ...]:
    exercise = current()
    return exercise.hidden_pages if exercise is not None else ()


def enforce() -> None:
    """The locked settings at their values and the limited ones within their range, in Train's
    widget state (before the form is drawn: a link read later, or a page using Train's settings)."""
    exercise = current()
    if exercise is None:
        return
    for name, value in exercise.locks.items():
        st.session_state[setting_key(BY_NAME[name].url_key)] = value
    for name, highest in exercise.maxima.items():
        key = setting_key(BY_NAME[name].url_key)
        if st.session_state.get(key, BY_NAME[name].default) > highest:
            st.session_state[key] = highest


def write_exercise_to_link() -> None:
    """Keep the exercise's parameters in the address bar (a page switch drops them), so the student's
    link, shared or reloaded, is still the exercise."""
    exercise = current()
    if exercise is None:
        return
    for key, value in exercise.params().items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def exercise_banner() -> None:
    """On top of every page: the exercise's title, instructions (as typed, plain text) and goal; and,
    once, what its link had that was refused."""
    session = lab()
    for notice in session.exercise_notices:
        st.warning(plain(notice, limit=1000))  # it may quote the link
    session.exercise_notices = []
    exercise = session.exercise
    if exercise is None:
        return
    with st.container(border=True, key="exercise_banner"):
        st.text(f"Exercise: {exercise.title}" if exercise.title else "Exercise")
        if exercise.instructions:
            st.text(exercise.instructions)
        goal = exercise.goal_sentence()
        if goal:
            st.caption(goal)


def setting_limits(name: str) -> tuple[bool, bool, object]:
    """How the exercise treats setting ``name`` on a form: (hidden, locked, largest value allowed or None)."""
    exercise = current()
    if exercise is None:
        return False, False, None
    return exercise.hides(name), name in exercise.locks, exercise.maxima.get(name)


def lock_note() -> str:
    """The form's note on the settings the exercise fixes ("" without any)."""
    exercise = current()
    if exercise is None or not exercise.locks:
        return ""
    fixed = ", ".join(f"{BY_NAME[name].label} ({form.shown(BY_NAME[name], value)})" for name, value in exercise.locks.items()
                      if not exercise.hides(name))
    return f"The exercise fixes {fixed}." if fixed else ""


def session_verdict(index: int) -> Verdict | None:
    """The verdict on run ``index`` of this session, or None without an exercise or a goal."""
    exercise = current()
    if exercise is None:
        return None
    session = lab()
    return verdict(exercise, session.runs, {i: s.accuracy for i, s in session.scores.items()}, index, session.bases)


# --- the built-in exercises ---------------------------------------------------------------------

LAB_SETTINGS = ("train_size", "l2", "dropout", "label_noise", "augment", "early_stop")  # the overfitting lab's


def builtin_exercises() -> list[tuple[Exercise, Hyperparams]]:
    """The Exercise page's own exercises, each with the settings its link starts from."""
    return [
        # The issue asked for 97%, which 16 units do not reach here (best measured 95.85%: two relu layers
        # with Adam at 0.002; the post's run at 16 units gives 95.16%, and 32 units 96.45%): the target
        # is one the defaults miss and a search of the other settings finds.
        (Exercise("95.5% with at most 16 hidden units",
                  "Reach 95.5% test accuracy with a network of at most 16 hidden units per layer. The width is "
                  "capped; every other setting is yours to change: the learning rate, the epochs, the optimizer, "
                  "the activation, the depth.", target=95.5, maxima={"hidden_units": 16}),
         Hyperparams(hidden_units=16)),
        (Exercise("Make it diverge, then rescue it with the learning rate alone",
                  "Train a run that diverges: its cost blows up and the lab stops it. Then change the learning "
                  "rate, and nothing else, until a run finishes. Runs are short here (3 epochs).",
                  hidden_settings=LAB_SETTINGS, locks={"epochs": 3}, goal="rescue"),
         Hyperparams(epochs=3)),
        (Exercise("Find the initialisation that never learns",
                  "One way of starting the weights leaves the network unable to learn, whatever else you do. Try "
                  "the initialisations (the Network section) and find it: the lab says when you have. Runs are "
                  "short here (3 epochs).",
                  hidden_settings=LAB_SETTINGS, locks={"epochs": 3}, goal="never_learns"),
         Hyperparams(epochs=3)),
    ]


# --- the other pages with settings (Sweep, Compare) ----------------------------------------------

def free(name: str) -> bool:
    """Setting ``name`` may be varied on other pages: the exercise neither hides nor locks it."""
    exercise = current()
    return exercise is None or not (exercise.hides(name) or name in exercise.locks)


def maximum(name: str):
    """The exercise's largest value of setting ``name``, or None."""
    exercise = current()
    return None if exercise is None else exercise.maxima.get(name)


def refusal(name: str, value) -> str:
    """Why ``value`` of setting ``name`` breaks the exercise ("" if it does not)."""
    exercise = current()
    return "" if exercise is None else exercise.allows(name, value)


def check_variants(checked, train: Hyperparams):
    """Compare's checked variants (names, settings), or None after saying (as text) which one breaks
    the exercise: a locked setting off its value, a limited one above its largest, or a hidden one
    away from Train's value (hidden means not to be varied here either)."""
    exercise = current()
    if exercise is None or checked is None:
        return checked
    for name, variant in zip(*checked):
        why = exercise.breaks(variant) + [
            f"{BY_NAME[s].label.lower()} is hidden by the exercise, so it stays at Train's "
            f"{form.shown(BY_NAME[s], getattr(train, s))}" for s in exercise.hidden_settings
            if s not in exercise.locks and getattr(variant, s) != getattr(train, s)]
        if why:
            st.error(f"{plain(name, limit=60)}: {plain('; '.join(why), limit=600)}. Change the row to start.")
            return None
    return checked
