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

``parse`` reads the parameters into an ``Exercise`` (or none) and the notices on what it refused. This
module is the exercise and its link; ui/exercise_verdict.py judges runs against it; ui/exercise.py keeps
it in the session (read once, from ``streamlit_app.py`` before any page, so the navigation can leave
hidden pages out) and applies it to the forms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import quote, urlencode, urlsplit

from nn_core import SETTINGS, Hyperparams
from nn_core.settings import BY_NAME, number_from_text

from .links import parse_link_value, shown

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
PAGES = {"data": "Data", "train": "Train", "evaluate": "Evaluate", "draw": "Draw", "sweep": "Sweep",
         "compare": "Compare", "inside": "Inside", "exercise": "Exercise"}
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
            return f"{setting.label.lower()} is fixed at {shown(setting, self.locks[name])} by the exercise"
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


def _length_refusal(params: Mapping[str, str]) -> str:
    """Why a link's parameters are too long for an exercise ("" if they are not)."""
    raw = sum(len(str(key)) + len(str(value)) + 2 for key, value in params.items()) - 1  # encoding only adds
    length = raw if raw > MAX_LINK else link_length(params)
    if length <= MAX_LINK:
        return ""
    return (f"This exercise link is {'at least ' if raw == length else ''}{length:,} characters long; an "
            f"exercise link may have at most {MAX_LINK:,}. The lab opens without the exercise.")


def _texts(params: Mapping[str, str], notices: list[str]) -> tuple[str, str]:
    """The title and instructions, each cut to its limit (with a notice)."""
    title, instructions = params.get(TITLE, ""), params.get(TEXT, "")
    if len(title) > MAX_TITLE:
        title = title[:MAX_TITLE]
        notices.append(f"The exercise's title is cut to its first {MAX_TITLE} characters.")
    if len(instructions) > MAX_INSTRUCTIONS:
        instructions = instructions[:MAX_INSTRUCTIONS]
        notices.append(f"The exercise's instructions are cut to their first {MAX_INSTRUCTIONS:,} characters.")
    return title, instructions


def _hidden(params: Mapping[str, str], notices: list[str], unknown: list[str]) -> tuple[list[str], list[str]]:
    """The hidden settings (by name) and the hidden pages."""
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
    return hidden, pages


def _maxima(params: Mapping[str, str], notices: list[str]) -> dict:
    """The limited settings' largest values, by name."""
    maxima = {}
    for key, name in MAXIMA.items():
        if key not in params:
            continue
        setting = BY_NAME[name]
        try:
            maxima[name] = parse_link_value(setting, params[key])
        except ValueError as error:
            notices.append(f"No limit on {setting.label.lower()}: {key}={_cut(params[key])} ({error}).")
    return maxima


def _locks(params: Mapping[str, str], maxima: dict, notices: list[str], unknown: list[str]) -> dict:
    """The locked settings' values, by name (each within its maximum)."""
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
            value = parse_link_value(setting, text.strip())
            if setting.name in maxima and value > maxima[setting.name]:
                raise ValueError(f"above the exercise's largest allowed, {maxima[setting.name]}")
        except ValueError as error:
            notices.append(f"{setting.label} is not locked: {_cut(text.strip()) or 'nothing'} is refused ({error}). "
                           "It stays free.")
            continue
        locks[setting.name] = value
    return locks


def _target(params: Mapping[str, str], notices: list[str]) -> float | None:
    """The target accuracy in percent, or None."""
    if TARGET not in params:
        return None
    text = params[TARGET]
    try:
        target = number_from_text(text, float) if len(text) <= MAX_SHOWN else math.nan
        if not 0 < target <= 100:  # also NaN
            raise ValueError
    except ValueError:
        notices.append(f"No target accuracy: {TARGET}={_cut(text)} is not a percentage in (0, 100].")
        return None
    return target


def _goal(params: Mapping[str, str], notices: list[str]) -> str:
    goal = params.get(GOAL, "accuracy") or "accuracy"
    if goal not in GOALS:
        notices.append(f"Unknown goal {_cut(goal)}; the goal is the target accuracy.")
        goal = "accuracy"
    return goal


def parse(params: Mapping[str, str]) -> tuple[Exercise | None, list[str]]:
    """The exercise in a link's parameters (None when the link has no ``ex_`` key, or is refused) and
    the notices, one line each, as plain text (a value from a link must be shown as text)."""
    if not any(str(key).startswith(PREFIX) for key in params):
        return None, []
    refusal = _length_refusal(params)
    if refusal:
        return None, [refusal]
    notices, unknown = [], [key for key in params if key not in KEYS and key not in SETTING_KEYS]
    title, instructions = _texts(params, notices)
    hidden, pages = _hidden(params, notices, unknown)
    maxima = _maxima(params, notices)
    locks = _locks(params, maxima, notices, unknown)
    target, goal = _target(params, notices), _goal(params, notices)
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
