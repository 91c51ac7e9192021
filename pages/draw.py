"""Draw page: draw a digit with the mouse and watch this session's model read it; or name classes of
your own, draw examples of each, train on them and watch the canvas read them (ui.own_classes).

Every stroke reruns only the fragment below (canvas, reading, and why), and a rerun does one image's
worth of work: preprocess the canvas (a few ms), one forward pass and one backward pass for the
saliency (microseconds). No data is loaded here.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from nn_core.preprocess import SIDE
from ui import datasets
from ui.canvas import canvas_field, drawn_canvas, stroke_count
from ui.charts_common import PLOT_CONFIG, probability_figure
from ui.explain import why_this_digit
from ui.handwriting import fine_tune_panel, label_buttons, my_digits_section
from ui.images import enlarge
from ui.own_classes import own_classes_section
from ui.runs import DRAW_PAGE, require_model
from ui.state import DRAW_CANVAS_ROUND, DRAW_FIELD, DRAW_MODE, DRAW_MODE_PICK, DRAW_PROBABILITIES, draw_canvas_key
from ui.text import plain

CANVAS_SIDE = 280  # CSS px: 10x the 28x28 field
# A 20 px box holds MNIST's digits with strokes ~2-3 px thick: a digit drawn ~200 px tall with an
# 18 px brush has the same proportions (the preprocessing evens out smaller and larger ones).
BRUSH = 18
INPUT_ZOOM = 7  # 28 px -> 196 px, crisp squares
DIGITS, OWN_CLASSES = "Digits 0-9", "My own classes"


def clear_canvas() -> None:
    st.session_state[DRAW_CANVAS_ROUND] += 1


def canvas(key: str):
    """The drawing canvas (white ink on black, 10x the 28x28 field) under ``key``, for either reading."""
    return drawn_canvas(lambda: st_canvas(
        stroke_width=BRUSH, stroke_color="#FFFFFF", background_color="#000000", drawing_mode="freedraw",
        width=CANVAS_SIDE, height=CANVAS_SIDE, return_image_data=True, update_streamlit=True, key=key))


def mode_switch() -> None:
    """Digits or my own classes: drawn under the canvas, so on a phone the canvas, the prediction and the
    label buttons still fit on the first screen (the mode is read from its state before it is drawn)."""
    modes = (DIGITS, OWN_CLASSES)
    data = datasets.current()
    session_model = DIGITS if data.is_mnist else f"{plain(datasets.display_name(data), 40)} (the session's data set)"
    st.radio("The canvas reads", modes, index=modes.index(st.session_state.get(DRAW_MODE, DIGITS)),
             format_func=lambda mode: session_model if mode == DIGITS else mode,
             horizontal=True, key=DRAW_MODE_PICK, on_change=keep_mode)


def keep_mode() -> None:
    """The mode outlives the radio (whose state goes when another page is shown)."""
    st.session_state[DRAW_MODE] = st.session_state[DRAW_MODE_PICK]


st.title("Draw")
if st.session_state.get(DRAW_MODE) == OWN_CLASSES:
    own_classes_section(canvas, mode_switch)
    st.stop()
run = require_model(here=DRAW_PAGE)
if run is None:
    mode_switch()  # my own classes need no model
    st.stop()

st.session_state.setdefault(DRAW_CANVAS_ROUND, 0)


@st.fragment
def draw_and_read(model) -> None:
    started = time.perf_counter()  # the server's work for a stroke starts here
    drawing, reading = st.columns([1, 1.4], gap="large")
    drawing.caption("Draw one digit, 0-9, large or small, anywhere in the box.")
    try:  # the canvas's state comes from the browser, and a user can send any JSON as it
        with drawing:
            board = canvas(draw_canvas_key(st.session_state[DRAW_CANVAS_ROUND]))
        field = canvas_field(board)  # (784,) float32 in [0, 1]; None before the first stroke
    except ValueError as error:  # the browser sent something no canvas makes
        clear_canvas()
        reading.warning(f"This drawing could not be read ({plain(str(error))}); the canvas was cleared.")
        return
    finally:
        drawing.button("Clear", on_click=clear_canvas, icon=":material/ink_eraser:")  # under the canvas
    st.session_state[DRAW_FIELD] = field
    if field is None:
        reading.info(f"The canvas is empty: draw a {datasets.noun()} and the network will read it as you go.")
        why_this_digit(model, None)
        return
    probabilities = model.predict_proba(field)  # (classes,)
    predicted = int(np.argmax(probabilities))
    # Under the canvas: the prediction and the label buttons, so on a phone (where the columns stack)
    # canvas, prediction and buttons fit on one screen; the input image and probabilities follow.
    with drawing:
        st.metric("Prediction", datasets.escaped_names(model.classes)[predicted],
                  help=f"The {datasets.noun()} with the highest probability.")
        timing = st.empty()  # filled last, so the time covers the chart too
        if datasets.current().is_mnist:  # my digits are MNIST's
            label_buttons()
    with reading:
        st.image(enlarge((field.reshape(SIDE, SIDE) * 255).astype(np.uint8), INPUT_ZOOM),
                 caption="What the network sees: 28x28, like MNIST", width=SIDE * INPUT_ZOOM, output_format="PNG")
        names = datasets.chart_names(datasets.class_names(model.classes))
        st.plotly_chart(probability_figure(probabilities, predicted, names), config=PLOT_CONFIG, key=DRAW_PROBABILITIES)
    strokes = stroke_count(board.json_data)
    milliseconds = (time.perf_counter() - started) * 1000
    timing.caption(f"{probabilities[predicted]:.0%} sure · {strokes} stroke{'s' * (strokes != 1)}, "
                   f"read in {milliseconds:.1f} ms on the server")
    why_this_digit(model, field)  # which pixels push for the reading, and Perturb


draw_and_read(run.model)
mode_switch()
st.caption("The drawing is cropped, its strokes brought to MNIST's thickness, straightened if "
           "slanted, scaled to a 20-pixel box and centred by its centre of mass in 28x28, as "
           "MNIST's digits were.")
st.divider()
my_digits_section()
# Drawn last: the panel may rerun the whole page, which would cut short anything after it.
fine_tune_panel()
