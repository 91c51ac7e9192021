"""Classroom exercises in the session: the link's exercise read once and kept in ``Lab.exercise``, its
banner, its locks and limits applied to the forms, its verdict on the session's runs, and the Exercise
page's built-in exercises. The exercise and its link are ui/exercise_link.py (its names are read from
here too), the verdict ui/exercise_verdict.py.
"""

from __future__ import annotations

import streamlit as st

from nn_core import Hyperparams
from nn_core.settings import BY_NAME

# The exercise, its link and its verdict, by their names here too (pages and tests read them as ``exercise.X``).
from .exercise_link import (GOALS, HIDE, HIDE_PAGE, KEYS, LOCK, MAX_EPOCHS, MAX_HIDDEN, MAX_INSTRUCTIONS,  # noqa: F401
                            MAX_LINK, MAX_TITLE, MAXIMA, NEVER_LEARNS_BELOW, PAGES, PREFIX, SETTING_KEYS, TARGET,
                            TEXT, TITLE, UNHIDEABLE, Exercise, app_root, link_length, link_params, parse, query,
                            settings_params)
from .exercise_verdict import Verdict, verdict  # noqa: F401
from .links import shown
from .state import lab, setting_key
from .text import plain


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
    fixed = ", ".join(f"{BY_NAME[name].label} ({shown(BY_NAME[name], value)})" for name, value in exercise.locks.items()
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
            f"{shown(BY_NAME[s], getattr(train, s))}" for s in exercise.hidden_settings
            if s not in exercise.locks and getattr(variant, s) != getattr(train, s)]
        if why:
            st.error(f"{plain(name, limit=60)}: {plain('; '.join(why), limit=600)}. Change the row to start.")
            return None
    return checked
