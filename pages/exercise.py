"""Exercise page: a teacher builds a link that hides or locks controls and sets a goal the lab checks."""

import streamlit as st

from nn_core import SETTINGS
from nn_core.settings import BY_NAME
from ui import exercise as ex
from ui.settings import shown, train_settings
from ui.state import (EXERCISE_HIDE, EXERCISE_LOCK, EXERCISE_MAX_EPOCHS, EXERCISE_MAX_HIDDEN, EXERCISE_TARGET,
                      EXERCISE_TEXT, EXERCISE_TITLE)

st.title("Exercise")
st.caption("Point a class at one question: build a link that opens the lab with some settings and pages hidden, "
           "some settings locked at Train's current values, and a goal the lab checks after every run. Students "
           "see the title and instructions as typed, on every page.")

train = train_settings()
root = ex.app_root(st.context.url)

st.subheader("Build a link")
title = st.text_input("Title", max_chars=ex.MAX_TITLE, key=EXERCISE_TITLE)
instructions = st.text_area("Instructions", max_chars=ex.MAX_INSTRUCTIONS, key=EXERCISE_TEXT,
                            help="Shown as typed, as plain text (no Markdown, no HTML).")
choices = [s.name for s in SETTINGS] + [f"page:{name}" for name in ex.PAGES if name != ex.UNHIDEABLE]


def hide_label(choice: str) -> str:
    return f"{ex.PAGES[choice.removeprefix('page:')]} page" if choice.startswith("page:") else BY_NAME[choice].label


hide = st.multiselect("Hide", choices, format_func=hide_label, key=EXERCISE_HIDE,
                      help="Settings left out of the forms and pages left out of the navigation (Train stays: "
                           "the goal is checked there).")
lock = st.multiselect("Lock", [s.name for s in SETTINGS], key=EXERCISE_LOCK,
                      format_func=lambda name: f"{BY_NAME[name].label} ({shown(BY_NAME[name], getattr(train, name))})",
                      help="Settings fixed at Train's current value (in brackets): shown, but disabled.")
target = st.number_input("Target test accuracy (%)", min_value=0.1, max_value=100.0, value=90.0, step=0.1,
                         format="%.2f", key=EXERCISE_TARGET)
left, right = st.columns(2)
hidden_units = BY_NAME["hidden_units"]
max_hidden = left.selectbox("Largest hidden units allowed", [None, *hidden_units.slider], key=EXERCISE_MAX_HIDDEN,
                            format_func=lambda value: "No limit" if value is None else str(value),
                            help="The Hidden units slider ends there.")
max_epochs = right.number_input("Most epochs allowed", min_value=1, max_value=BY_NAME["epochs"].high, value=None,
                                step=1, placeholder="No limit", key=EXERCISE_MAX_EPOCHS,
                                help="The Epochs slider ends there.")

maxima = {name: value for name, value in (("hidden_units", max_hidden), ("epochs", max_epochs)) if value is not None}
built = ex.Exercise(title.strip(), instructions.strip(),
                    hidden_settings=tuple(c for c in hide if not c.startswith("page:")),
                    hidden_pages=tuple(c.removeprefix("page:") for c in hide if c.startswith("page:")),
                    locks={name: getattr(train, name) for name in lock}, target=round(float(target), 2),
                    maxima={name: int(value) for name, value in maxima.items()})
too_high = [f"{BY_NAME[name].label} is locked at {built.locks[name]}, above its largest allowed {highest}"
            for name, highest in built.maxima.items() if name in built.locks and built.locks[name] > highest]
length = ex.link_length(ex.link_params(built, train))
if too_high:
    st.error(f"{'; '.join(too_high)}. Lower the value on Train or the limit here.")
elif length > ex.MAX_LINK:
    st.error(f"This link would be {length:,} characters long, more than the {ex.MAX_LINK:,} an exercise link may "
             "have: shorten the instructions.")
else:
    link = f"{root}?{ex.query(built, train)}"
    st.caption(f"{built.goal_sentence()} The link starts from Train's current settings (those that differ from the "
               "post's).")
    st.code(link, language=None, wrap_lines=True)
    st.link_button("Open the exercise", link, type="primary",
                   help="In a new tab: a new session, as a student's would be.")

st.divider()
st.subheader("Built in")
for exercise, settings in ex.builtin_exercises():
    with st.container(border=True):
        st.text(exercise.title)
        st.caption(f"{exercise.instructions} {exercise.goal_sentence()}")
        link = f"{root}?{ex.query(exercise, settings)}"
        st.code(link, language=None, wrap_lines=True)
        st.link_button("Open", link)
