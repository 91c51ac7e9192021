"""The Inside page's parts: a session-local run stepped a batch at a time (``nn_core.inside``), and
each stage of its last step in the seed post's equations, layer by layer, beside the numbers it
produced; then the chosen optimizer's formula, worked with the real numbers of a few weights.

The run is this session's alone (``st.session_state[INSIDE_RUN]``) and trains in the script itself:
a step is a millisecond or two (a full batch of 60,000 about a second), far less than a job round
trip, and Train's runs never see it. Figures stay cheap at 512 units and 4 layers: a per-image matrix
is shown for the first ``MAX_ROWS`` images and the units of the current page, an H x H matrix for the
page's units both ways, and the units' 28x28 images are composed into one picture per panel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from nn_core.diagnostics import column_images
from nn_core.inside import ROWS_KEPT, InsideRun, Step
from nn_core.runs import TRAIN_SAMPLE

from . import datasets
from .charts_common import PLOT_CONFIG, probability_figure
from .images import diverging_rgb, enlarge, png, symmetric_limit, tile
from .inside_charts import layer_matrix_figure, vector_figure
# The optimizer's section (the page calls it as ``inside.optimizer_section``; tests read tex_number here).
from .inside_optimizer import (STEP_TEX, STEP_WORDS, optimizer_section, optimizer_settings,  # noqa: F401
                               tex_number)
from .settings import train_settings
from .state import (INSIDE_IMAGE, INSIDE_RESET, INSIDE_RUN, INSIDE_SOURCE, INSIDE_STEP, INSIDE_STEP_10,
                    INSIDE_STEP_100, lab)

SOURCES = {"fresh": "A fresh model with Train's settings", "active": "The active model"}
STEP_BUTTONS = (("Step", INSIDE_STEP, 1), ("Step 10", INSIDE_STEP_10, 10), ("Step 100", INSIDE_STEP_100, 100))
MAX_ROWS = ROWS_KEPT  # images of the batch shown in an m x H or m x 10 heatmap (all that the step keeps)
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
    return Inside(InsideRun.start(datasets.current(), hparams, initial=initial, train_sample=TRAIN_SAMPLE), origin)


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
        where = "the active model's weights (the optimizer's state zero; batches in its seed's order)"
    else:
        where = (f"the seed's fresh weights (seed {hp.seed}, {hp.init} initialisation), as a Train run with "
                 "these settings starts")
    layers = f"{hp.hidden_units} {hp.activation} hidden units" + (
        "" if hp.layers == 1 else f" in each of {hp.layers} hidden layers")
    st.caption(f"{layers} · {optimizer_settings(hp)} · batch m = {hp.batch_size:,} · from {where}.")
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

# (name, its definition, its derivative from A); § stands for the layer's subscript
ACTIVATION_TEX = {
    "sigmoid": (r"\sigma", r"\frac{1}{1 + e^{-Z_§}}", r"A_§ \odot (1 - A_§)"),
    "tanh": (r"\tanh", r"\frac{e^{Z_§} - e^{-Z_§}}{e^{Z_§} + e^{-Z_§}}", r"1 - A_§ \odot A_§"),
    "relu": (r"\mathrm{relu}", r"\max(Z_§, 0)", r"[Z_§ > 0]"),
}


def layer_tex(template: str, layer: int) -> str:
    return template.replace("§", f"{{{layer}}}")


def dims(*sizes: int) -> str:
    """(128 \\times 784) for LaTeX."""
    return "(" + r" \times ".join(f"{n}" for n in sizes) + ")"


def show_matrix(column, name: str, values: np.ndarray, title: str, rows: str = "image", columns: str = "unit",
                row_labels=None, column_labels=None, height: int = 300) -> None:
    column.plotly_chart(layer_matrix_figure(values, title, rows, columns, row_labels, column_labels, height),
                        config=PLOT_CONFIG, key=f"inside_chart_{name}")


def outputs(model) -> tuple[int, str, list[str] | None]:
    """The output layer's width, what its units are ("digit" for MNIST, else "class") and their names for
    a chart (None: their numbers, MNIST's digits)."""
    if datasets.current().is_mnist and model.classes == 10:
        return 10, "digit", None
    return model.classes, "class", datasets.chart_names(datasets.class_names(model.classes))


def rows_title(step: Step) -> str:
    """The y axis of a per-image heatmap: which images it shows."""
    m, k = step.stages.m, step.stages.rows
    return "image" if k == m else f"image (first {k} of {m:,})"


def batch_section(step: Step) -> int:
    """The batch's images, and the image of it the page follows (returned)."""
    s = step.stages
    st.latex(rf"X \in [0, 1]^{{{s.m} \times 784}}, \quad Y \in \{{0, 1\}}^{{{s.m} \times {s.Y.shape[1]}}} \ \text{{(one-hot labels)}}")
    if s.rows < s.m:
        st.info(f"This batch has {s.m:,} images{' (the whole training set: full-batch descent)' if s.m == 60_000 else ''}. "
                f"Every image matrix below (X, Z, A, dZ, dA, f′) shows its first {s.rows}, the only ones the page "
                "keeps, so memory stays small; the cost, each dW and db and the update are the whole batch's "
                "(computed in passes, as the trainer does).")
    pixels = (s.X[:MAX_ROWS] * 255).round().astype(np.uint8).reshape(-1, 28, 28)
    shown = "" if s.rows == s.m else f" (first {s.rows} of {s.m:,} images)"
    st.image(png(tile(enlarge(pixels, BATCH_ZOOM), BATCH_COLUMNS)), output_format="PNG",
             caption=f"Step {step.number}'s batch, row by row{shown}: epoch {step.epoch}, batch "
                     f"{step.batch} of its shuffle.")
    last = s.rows - 1
    if st.session_state.get(INSIDE_IMAGE, 0) > last:  # a smaller batch than the one chosen from
        st.session_state[INSIDE_IMAGE] = last
    return int(st.number_input(f"Image of the batch to follow (0–{last})", 0, last, 0, key=INSIDE_IMAGE))


def forward_section(step: Step, units: range, image: int) -> None:
    s, model = step.stages, step.before
    m, H, L, out = s.m, model.hidden_units, model.layers, model.layers + 1
    cols = slice(units.start, units.stop)
    f, definition, _ = ACTIVATION_TEX[model.activation]
    for l in range(1, L + 1):
        below, fan_in = ("X", 784) if l == 1 else (f"A_{{{l - 1}}}", H)
        st.latex(rf"Z_{{{l}}} = {below} W_{{{l}}} + b_{{{l}}} \quad {dims(m, fan_in)}{dims(fan_in, H)} + ({H}) "
                 rf"\to {dims(m, H)}")
        st.latex(rf"A_{{{l}}} = {f}(Z_{{{l}}}) = {layer_tex(definition, l)} \quad {dims(m, H)}")
        left, right = st.columns(2)
        show_matrix(left, f"Z{l}", s.Z[l - 1][:MAX_ROWS, cols], f"Z{l}", rows_title(step), column_labels=units)
        show_matrix(right, f"A{l}", s.A[l - 1][:MAX_ROWS, cols], f"A{l} = {model.activation}(Z{l})",
                    rows_title(step), column_labels=units)
    C, what, names = outputs(model)
    st.latex(rf"Z_{{{out}}} = A_{{{L}}} W_{{{out}}} + b_{{{out}}} \quad {dims(m, H)}{dims(H, C)} + ({C}) \to {dims(m, C)}")
    st.latex(rf"A_{{{out}}} = \operatorname{{softmax}}(Z_{{{out}}}), \quad A_{{{out},ij}} = "
             rf"\frac{{e^{{Z_{{{out},ij}}}}}}{{\sum_k e^{{Z_{{{out},ik}}}}}} \quad {dims(m, C)}")
    left, middle, right = st.columns([2, 2, 3])
    show_matrix(left, f"Z{out}", s.Z[L][:MAX_ROWS], f"Z{out}", rows_title(step), columns=what, column_labels=names,
                height=360)
    show_matrix(middle, f"A{out}", s.A[L][:MAX_ROWS], f"A{out} = softmax(Z{out})", rows_title(step), columns=what,
                column_labels=names, height=360)
    with right:
        predicted = int(np.argmax(s.A[L][image]))
        st.plotly_chart(probability_figure(s.A[L][image], predicted, names), config=PLOT_CONFIG,
                        key="inside_chart_softmax")
        pixels = (s.X[image] * 255).round().astype(np.uint8).reshape(28, 28)
        text = datasets.escaped_names(C)
        st.image(png(enlarge(pixels, 3)), output_format="PNG",
                 caption=f"image {image}: a {text[s.y[image]]}, read as {text[predicted]}")
    loss = -np.log(max(float(s.A[L][image, s.y[image]]), 1e-45))
    st.latex(rf"L = -\frac{{1}}{{m}} \sum_{{i=1}}^{{m}} \sum_{{j=0}}^{{{C - 1}}} Y_{{ij}} \log A_{{{out},ij}} = {step.cost:.6f}"
             rf"\qquad -\log A_{{{out},{image},{s.y[image]}}} = {loss:.4f}")
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
    """The backward pass: the output layer's gradients, then each hidden layer's, last to first."""
    s, model = step.stages, step.before
    m, H, L, out = s.m, model.hidden_units, model.layers, model.layers + 1
    rows, cols = slice(0, MAX_ROWS), slice(units.start, units.stop)
    C, what, names = outputs(model)
    st.latex(rf"dZ_{{{out}}} = A_{{{out}}} - Y \quad {dims(m, C)}")
    st.latex(rf"dW_{{{out}}} = \frac{{1}}{{m}} A_{{{L}}}^{{\top}} dZ_{{{out}}} \quad {dims(H, m)}{dims(m, C)} \to "
             rf"{dims(H, C)}, \qquad db_{{{out}}} = \frac{{1}}{{m}} \sum_i dZ_{{{out},i\cdot}} \quad ({C})")
    left, middle, right = st.columns([2, 2, 3])
    show_matrix(left, f"dZ{out}", s.dZ[L][rows], f"dZ{out} = A{out} − Y", rows_title(step), columns=what,
                column_labels=names, height=360)
    show_matrix(middle, f"dW{out}", s.dW[L][cols], f"dW{out}", rows=f"unit of layer {L}", columns=what,
                row_labels=units, column_labels=names, height=360)
    right.plotly_chart(vector_figure(s.db[L], f"db{out}", names, x_title=what), config=PLOT_CONFIG,
                       key=f"inside_chart_db{out}")
    for l in range(L, 0, -1):  # hidden layers, last to first
        hidden_backward(step, l, units)
    if L > 1:
        st.caption("A deeper layer's dW is a matrix from the units of the layer below (rows) to its own units "
                   "(columns): the units of the page chosen above, both ways.")


def hidden_backward(step: Step, l: int, units: range) -> None:
    """Hidden layer ``l``'s gradients: dA, the activation's derivative, dZ, then dW and db."""
    s, model = step.stages, step.before
    m, H, L = s.m, model.hidden_units, model.layers
    rows, cols = slice(0, MAX_ROWS), slice(units.start, units.stop)
    f, _, derivative = ACTIVATION_TEX[model.activation]
    above = 10 if l == L else H
    st.latex(rf"dA_{{{l}}} = dZ_{{{l + 1}}} W_{{{l + 1}}}^{{\top}} \quad {dims(m, above)}{dims(above, H)} \to "
             rf"{dims(m, H)}")
    st.latex(rf"dZ_{{{l}}} = dA_{{{l}}} \odot {f}'(Z_{{{l}}}), \quad {f}'(Z_{{{l}}}) = {layer_tex(derivative, l)}"
             rf" \quad {dims(m, H)}")
    dA_column, derivative_column, dZ_column = st.columns(3)
    show_matrix(dA_column, f"dA{l}", s.dA[l - 1][rows, cols], f"dA{l}", rows_title(step), column_labels=units)
    show_matrix(derivative_column, f"derivative{l}", s.derivative[l - 1][rows, cols],
                f"{model.activation}′(Z{l})", rows_title(step), column_labels=units)
    show_matrix(dZ_column, f"dZ{l}", s.dZ[l - 1][rows, cols], f"dZ{l}", rows_title(step), column_labels=units)
    below, fan_in = ("X", 784) if l == 1 else (f"A_{{{l - 1}}}", H)
    st.latex(rf"dW_{{{l}}} = \frac{{1}}{{m}} {below}^{{\top}} dZ_{{{l}}} \quad {dims(fan_in, m)}{dims(m, H)} \to "
             rf"{dims(fan_in, H)}, \qquad db_{{{l}}} = \frac{{1}}{{m}} \sum_i dZ_{{{l},i\cdot}} \quad ({H})")
    if l == 1:
        limit = symmetric_limit(s.dW[0], UNIT_COLOUR_PERCENTILE)
        st.image(png(unit_tiles(s.dW[0], units, limit, columns=16)), output_format="PNG",
                 caption=f"dW1, one 28x28 image per hidden unit ({units_caption(units, H)}): red where the "
                         f"gradient is positive, so the step lowers those weights. Colour limit ±{limit:.3g}.")
        bars_column = st
    else:
        matrix_column, bars_column = st.columns([3, 2])
        show_matrix(matrix_column, f"dW{l}", s.dW[l - 1][cols, cols], f"dW{l}", rows=f"unit of layer {l - 1}",
                    columns=f"unit of layer {l}", row_labels=units, column_labels=units, height=360)
    bars_column.plotly_chart(vector_figure(s.db[l - 1][cols], f"db{l}", labels=units, x_title="unit"),
                             config=PLOT_CONFIG, key=f"inside_chart_db{l}")


def weights_section(step: Step, units: range) -> None:
    st.latex(rf"W_1 \leftarrow W_1 - {STEP_TEX[step.optimizer]} \quad (784 \times {step.before.hidden_units})")
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
               f"The change is −Δ for each weight: {STEP_WORDS[step.optimizer]}.")
