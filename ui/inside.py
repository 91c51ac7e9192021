"""The Inside page's parts: a session-local run stepped a batch at a time (``nn_core.inside``), and
each stage of its last step in the seed post's equations, beside the numbers it produced.

The run is this session's alone (``st.session_state[INSIDE_RUN]``) and trains in the script itself:
a step is a millisecond or two, far less than a job round trip, and Train's runs never see it.
Figures stay cheap at 512 units: an m x H matrix is shown for the first ``MAX_ROWS`` images and the
units of the current page, and the units' 28x28 images are composed into one picture per panel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from nn_core.diagnostics import column_images
from nn_core.inside import KINDS, InsideRun, Step, chosen_weights
from nn_core.runs import TRAIN_SAMPLE

from . import server
from .charts import (PLOT_CONFIG, chosen_weights_figure, matrix_figure, momentum_norms_figure, probability_figure,
                     vector_figure)
from .images import diverging_rgb, enlarge, png, symmetric_limit, tile
from .settings import train_settings
from .state import (INSIDE_IMAGE, INSIDE_RESET, INSIDE_RUN, INSIDE_SOURCE, INSIDE_STEP, INSIDE_STEP_10,
                    INSIDE_STEP_100, lab)

SOURCES = {"fresh": "A fresh model with Train's settings", "active": "The active model"}
STEP_BUTTONS = (("Step", INSIDE_STEP, 1), ("Step 10", INSIDE_STEP_10, 10), ("Step 100", INSIDE_STEP_100, 100))
MAX_ROWS = 128  # images of the batch shown in an m x H or m x 10 heatmap
BATCH_COLUMNS, BATCH_ZOOM = 16, 2  # the batch's images: 16 a row at 56 px
UNIT_ZOOM = 2
UNIT_COLOUR_PERCENTILE = 99.0  # as on Evaluate: the largest 1% of entries saturate


@dataclass(eq=False)
class Inside:
    """The session's stepped run and what it started from: ("fresh", Hyperparams) or ("active", RunResult)."""

    run: InsideRun
    origin: tuple


def chosen_origin() -> tuple | None:
    """What the source choice asks to start from now; None: the active model, but there is none."""
    if st.session_state.get(INSIDE_SOURCE, "fresh") == "active":
        active = lab().active_run
        return None if active is None else ("active", active)
    return ("fresh", train_settings())


def start(origin: tuple) -> Inside:
    kind, what = origin
    hparams, initial = (what.hparams, what.model) if kind == "active" else (what, None)
    return Inside(InsideRun.start(server.mnist(), hparams, initial=initial, train_sample=TRAIN_SAMPLE), origin)


def reset() -> None:
    """Start over from the current choice (Reset's and the source choice's callback)."""
    origin = chosen_origin()
    if origin is None:
        st.session_state.pop(INSIDE_RUN, None)
    else:
        st.session_state[INSIDE_RUN] = start(origin)


def advance(steps: int) -> None:
    inside = st.session_state.get(INSIDE_RUN)
    if inside is not None:
        inside.run.advance(steps)


def current() -> Inside | None:
    """The session's run; made anew from the current choice while it has taken no step."""
    origin, inside = chosen_origin(), st.session_state.get(INSIDE_RUN)
    if origin is not None and (inside is None or (inside.run.steps == 0 and inside.origin != origin)):
        reset()
    return st.session_state.get(INSIDE_RUN) if origin is not None else None


def source_choice() -> None:
    st.radio("Start from", list(SOURCES), format_func=SOURCES.__getitem__, key=INSIDE_SOURCE, horizontal=True,
             on_change=reset, help="Changing this starts over.")


def describe(inside: Inside) -> None:
    hp = inside.run.hparams
    kind, what = inside.origin
    if kind == "active":
        where = "the active model's weights (velocity zero; batches in its seed's order)"
    else:
        where = f"the seed's fresh weights (seed {hp.seed}), as a Train run with these settings starts"
    st.caption(f"{hp.hidden_units} {hp.activation} hidden units · learning rate α = {hp.learning_rate:g} · "
               f"β = {hp.momentum:g} · batch m = {hp.batch_size} · from {where}.")
    if inside.origin != chosen_origin():
        st.info("Train's settings or the active model changed since this run started: **Reset** to start from them.")


def controls(inside: Inside) -> None:
    columns = st.columns(len(STEP_BUTTONS) + 1)
    for column, (label, key, steps) in zip(columns, STEP_BUTTONS):
        column.button(label, key=key, on_click=advance, args=(steps,), disabled=inside.run.finished,
                      type="primary" if steps == 1 else "secondary", width="stretch")
    columns[-1].button("Reset", key=INSIDE_RESET, on_click=reset, width="stretch", help="Start over.")


def headline(inside: Inside) -> None:
    run, step = inside.run, inside.run.last
    per_epoch = run.trainer.batches_per_epoch
    cost_column, step_column, epoch_column = st.columns(3)
    cost_column.metric("Batch cost", "—" if step is None else f"{step.cost:.4f}",
                       help="Cross-entropy of the batch just stepped, measured before its update, as a Train "
                            "run's batch costs are.")
    step_column.metric("Step", f"{run.steps:,}")
    epoch, batch = (1, 0) if step is None else (step.epoch, step.batch)
    epoch_column.metric("Epoch position", f"{epoch}/{run.hparams.epochs} · {batch}/{per_epoch}",
                        help="Epoch of the last step, and its batch in that epoch's shuffle.")
    if run.diverged is not None:
        st.error(f"{run.diverged.message} Press Reset to start over.")
    elif run.finished:
        st.success(f"All {run.hparams.epochs} epochs are trained. Press Reset to start over.")
    if run.last_epoch is not None:
        e = run.last_epoch
        st.caption(f"Epoch {e.epoch} ended: train cost {e.train_cost:.4f}, test cost {e.test_cost:.4f}, "
                   f"test accuracy {e.test_accuracy:.2%} (evaluated as a Train run is, at the epoch's end).")


# --- the step's stages ----------------------------------------------------------------------------

ACTIVATION_TEX = {  # (name, its definition, its derivative from A1)
    "sigmoid": (r"\sigma", r"\frac{1}{1 + e^{-Z_1}}", r"A_1 \odot (1 - A_1)"),
    "tanh": (r"\tanh", r"\frac{e^{Z_1} - e^{-Z_1}}{e^{Z_1} + e^{-Z_1}}", r"1 - A_1 \odot A_1"),
    "relu": (r"\mathrm{relu}", r"\max(Z_1, 0)", r"[Z_1 > 0]"),
}


def latex(template: str, step: Step) -> None:
    """``st.latex`` of ``template`` with MM and HH replaced by this step's batch size m and width H."""
    m, H = step.stages.X.shape[0], step.before.hidden_units
    st.latex(template.replace("MM", str(m)).replace("HH", str(H)))


def show_matrix(column, name: str, values: np.ndarray, title: str, rows: str = "image",
                columns: str = "unit", labels=None, height: int = 300) -> None:
    column.plotly_chart(matrix_figure(values, title, rows, columns, labels, height), config=PLOT_CONFIG,
                        key=f"inside_chart_{name}")


def shown_rows(step: Step) -> str:
    m = step.stages.X.shape[0]
    return "" if m <= MAX_ROWS else f" (first {MAX_ROWS} of {m} images)"


def batch_section(step: Step) -> int:
    """The batch's images, and the image of it the page follows (returned)."""
    latex(r"X \in [0, 1]^{MM \times 784}, \quad Y \in \{0, 1\}^{MM \times 10} \ \text{(one-hot labels)}", step)
    X, m = step.stages.X, step.stages.X.shape[0]
    pixels = (X[:MAX_ROWS] * 255).round().astype(np.uint8).reshape(-1, 28, 28)
    st.image(png(tile(enlarge(pixels, BATCH_ZOOM), BATCH_COLUMNS)), output_format="PNG",
             caption=f"Step {step.number}'s batch, row by row{shown_rows(step)}: epoch {step.epoch}, batch "
                     f"{step.batch} of its shuffle.")
    if st.session_state.get(INSIDE_IMAGE, 0) > m - 1:  # a smaller batch than the one chosen from
        st.session_state[INSIDE_IMAGE] = m - 1
    return int(st.number_input(f"Image of the batch to follow (0–{m - 1})", 0, m - 1, 0, key=INSIDE_IMAGE))


def forward_section(step: Step, units: range, image: int) -> None:
    s, rows = step.stages, slice(0, MAX_ROWS)
    cols = slice(units.start, units.stop)
    f, definition, _ = ACTIVATION_TEX[step.before.activation]
    latex(r"Z_1 = X W_1 + b_1 \quad (MM \times 784)(784 \times HH) + (HH) \to (MM \times HH)", step)
    latex(rf"A_1 = {f}(Z_1) = {definition} \quad (MM \times HH)", step)
    left, right = st.columns(2)
    show_matrix(left, "Z1", s.Z1[rows, cols], f"Z1{shown_rows(step)}", labels=units)
    show_matrix(right, "A1", s.A1[rows, cols], f"A1 = {step.before.activation}(Z1)", labels=units)
    latex(r"Z_2 = A_1 W_2 + b_2 \quad (MM \times HH)(HH \times 10) + (10) \to (MM \times 10)", step)
    latex(r"A_2 = \operatorname{softmax}(Z_2), \quad A_{2,ij} = \frac{e^{Z_{2,ij}}}{\sum_k e^{Z_{2,ik}}}"
          r" \quad (MM \times 10)", step)
    left, middle, right = st.columns([2, 2, 3])
    show_matrix(left, "Z2", s.Z2[rows], "Z2", columns="digit", height=360)
    show_matrix(middle, "A2", s.A2[rows], "A2 = softmax(Z2)", columns="digit", height=360)
    with right:
        predicted = int(np.argmax(s.A2[image]))
        st.plotly_chart(probability_figure(s.A2[image], predicted), config=PLOT_CONFIG, key="inside_chart_softmax")
        pixels = (s.X[image] * 255).round().astype(np.uint8).reshape(28, 28)
        st.image(png(enlarge(pixels, 3)), output_format="PNG",
                 caption=f"image {image}: a {s.y[image]}, read as {predicted}")
    latex(rf"L = -\frac{{1}}{{m}} \sum_{{i=1}}^{{m}} \sum_{{j=0}}^{{9}} Y_{{ij}} \log A_{{2,ij}} = {step.cost:.6f}"
          rf"\qquad -\log A_{{2,{image},{s.y[image]}}} = {-np.log(max(float(s.A2[image, s.y[image]]), 1e-45)):.4f}",
          step)
    st.caption("Each heatmap's numbers are in its hover. The post writes the same equations column-major "
               "(W1 X with X 784 × m); here every matrix is the transpose of the post's, so products read "
               "left to right and the shapes are the code's.")


def unit_tiles(matrix: np.ndarray, units: range, limit: float, columns: int) -> np.ndarray:
    """The page's units of a (784, H) matrix as one picture of 28x28 images, blue-white-red."""
    images = diverging_rgb(column_images(matrix[:, units.start : units.stop]), limit)
    return tile(enlarge(images, UNIT_ZOOM, rgb=True), columns)


def units_caption(units: range, hidden_units: int) -> str:
    return f"units {units.start}–{units.stop - 1} of {hidden_units}, row by row"


def backward_section(step: Step, units: range) -> None:
    s, rows, cols = step.stages, slice(0, MAX_ROWS), slice(units.start, units.stop)
    f, _, derivative = ACTIVATION_TEX[step.before.activation]
    latex(r"dZ_2 = A_2 - Y \quad (MM \times 10)", step)
    latex(r"dW_2 = \frac{1}{m} A_1^{\top} dZ_2 \quad (HH \times MM)(MM \times 10) \to (HH \times 10), \qquad "
          r"db_2 = \frac{1}{m} \sum_i dZ_{2,i\cdot} \quad (10)", step)
    left, middle, right = st.columns([2, 2, 3])
    show_matrix(left, "dZ2", s.dZ2[rows], "dZ2 = A2 − Y", columns="digit", height=360)
    show_matrix(middle, "dW2", s.dW2[cols], "dW2", rows="unit", columns="digit", height=360)
    right.plotly_chart(vector_figure(s.db2, "db2", x_title="digit"), config=PLOT_CONFIG, key="inside_chart_db2")
    latex(r"dA_1 = dZ_2 W_2^{\top} \quad (MM \times 10)(10 \times HH) \to (MM \times HH)", step)
    latex(rf"dZ_1 = dA_1 \odot {f}'(Z_1), \quad {f}'(Z_1) = {derivative} \quad (MM \times HH)", step)
    dA1_column, derivative_column, dZ1_column = st.columns(3)
    show_matrix(dA1_column, "dA1", s.dA1[rows, cols], "dA1", labels=units)
    show_matrix(derivative_column, "derivative", s.derivative[rows, cols], f"{step.before.activation}′(Z1)",
                labels=units)
    show_matrix(dZ1_column, "dZ1", s.dZ1[rows, cols], "dZ1", labels=units)
    latex(r"dW_1 = \frac{1}{m} X^{\top} dZ_1 \quad (784 \times MM)(MM \times HH) \to (784 \times HH), \qquad "
          r"db_1 = \frac{1}{m} \sum_i dZ_{1,i\cdot} \quad (HH)", step)
    limit = symmetric_limit(s.dW1, UNIT_COLOUR_PERCENTILE)
    st.image(png(unit_tiles(s.dW1, units, limit, columns=16)), output_format="PNG",
             caption=f"dW1, one 28x28 image per hidden unit ({units_caption(units, step.before.hidden_units)}): "
                     f"red where the gradient is positive, so the step lowers those weights (W1 −= α V). "
                     f"Colour limit ±{limit:.3g}.")
    st.plotly_chart(vector_figure(s.db1[cols], "db1", labels=units, x_title="unit"), config=PLOT_CONFIG,
                    key="inside_chart_db1")


def momentum_section(inside: Inside) -> None:
    hp, step = inside.run.hparams, inside.run.last
    latex(rf"V_{{dW}} = \beta V_{{dW}} + (1 - \beta)\, dW, \qquad W = W - \alpha V_{{dW}} \qquad "
          rf"(\beta = {hp.momentum:g},\ \alpha = {hp.learning_rate:g}; \text{{the same for }} b_1, W_2, b_2)", step)
    steps, norms, values = inside.run.history_arrays()
    left, right = st.columns(2)
    left.plotly_chart(momentum_norms_figure(steps, norms, kinds=KINDS), config=PLOT_CONFIG, key="inside_chart_norms")
    labels = [f"{name}[{row},{column}]" for name, row, column in chosen_weights(hp.hidden_units)]
    right.plotly_chart(chosen_weights_figure(steps, values, labels, kinds=KINDS), config=PLOT_CONFIG,
                       key="inside_chart_weights")
    st.caption(f"The last {len(steps)} steps (at most {inside.run.history.maxlen}). Layer 1 is W1 and b1, layer 2 "
               "W2 and b2; the weights are W1[pixel, unit] and W2[unit, digit]. Dotted: the batch's gradient; "
               "solid: the velocity V, an average of recent gradients that jumps far less from batch to batch; "
               "dashed: the update α V actually subtracted.")


def weights_section(step: Step, units: range) -> None:
    latex(r"W_1 \leftarrow W_1 - \alpha V_{dW_1} \quad (784 \times HH)", step)
    before, after = step.before.W1, step.after.W1
    limit = symmetric_limit(np.concatenate([before, after]), UNIT_COLOUR_PERCENTILE)
    change = after - before
    change_limit = symmetric_limit(change, UNIT_COLOUR_PERCENTILE)
    caption = units_caption(units, step.before.hidden_units)
    for column, matrix, name, scale in zip(st.columns(3), (before, after, change), ("before", "after", "change"),
                                           (limit, limit, change_limit)):
        column.image(png(unit_tiles(matrix, units, scale, columns=8)), width="stretch", output_format="PNG",
                     caption=f"W1 {name} the step ({caption}; colour limit ±{scale:.3g})")
    st.caption("Each unit's 784 incoming weights where their pixels are: red excites the unit, blue inhibits it. "
               "The change is −α V for each weight: the step's gradient, smoothed by momentum.")
