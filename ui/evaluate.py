"""The Evaluate page's sections: the active model's diagnostics (computed once per model), the
confusion matrix with the images behind a cell, the per-class report and the hidden units, each class by
its name (a user's names: shown as text)."""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from nn_core.data import IMAGE_SIDE
from nn_core.diagnostics import (TOP_IMAGES, Diagnostics, Favourites, diagnose, favourite_images, top_probabilities,
                                  unit_weight_images)

from . import datasets
from .charts_common import selected_points
from .charts_evaluate import cell_from_selection, confusion_figure, epoch_curves_figure
from .images import diverging_rgb, enlarge, symmetric_limit
from .units import unit_page
from .state import (EVALUATE_CACHE, EVALUATE_CELL_FOR, EVALUATE_CHART, EVALUATE_PREDICTED, EVALUATE_RATES,
                    EVALUATE_TRUE, EVALUATE_UNITS_LAYER, EVALUATE_UNITS_PAGE, EVALUATE_UNITS_PER_PAGE)

MAX_EXAMPLES = 40  # images shown per confusion cell; the caption gives the full count
EXAMPLE_ZOOM = 4  # 28 px -> 112 px
UNIT_ZOOM = 3
# The colour scale's limit is this percentile of |weight| over all units: a few large weights
# would otherwise wash every unit out to near-white. Weights beyond it saturate.
UNIT_COLOUR_PERCENTILE = 99.0


def model_diagnostics(run) -> dict:
    """This session's evaluation of ``run``'s model, computed once per model.

    Kept in ``st.session_state`` (one entry: the active model's), keyed by the run object and a
    fingerprint of its parameters, so an edited or replaced model is never served stale results.
    """
    fingerprint = hashlib.blake2b(run.model.flat.tobytes(), digest_size=16).digest()
    entry = st.session_state.get(EVALUATE_CACHE)
    if entry is None or entry["run"] is not run or entry["fingerprint"] != fingerprint:
        data = datasets.current()
        with st.spinner(f"Evaluating the model on the {len(data.test_images):,} test images…"):
            weights = unit_weight_images(run.model)  # (H, 28, 28)
            entry = {"run": run, "fingerprint": fingerprint,
                     "diagnostics": diagnose(run.model, data.test_images, data.test_labels),
                     "unit_weights": weights, "unit_limit": symmetric_limit(weights, UNIT_COLOUR_PERCENTILE),
                     "favourites": {}}  # by hidden layer, made when the page first shows that layer
        st.session_state[EVALUATE_CACHE] = entry
    return entry


def percent(p: float) -> str:
    """Whole percent, but never rounding a near-certainty to 100% or a sliver to 0%."""
    if 0.995 <= p < 1:
        return ">99%"
    return "<1%" if 0 < p < 0.005 else f"{p:.0%}"


def use_clicked_cell() -> None:
    """Callback of the heatmap: a clicked cell becomes the chosen (true, predicted) pair."""
    entry = st.session_state.get(EVALUATE_CACHE)
    classes = entry["diagnostics"].confusion.shape[0] if entry else 10
    cell = cell_from_selection(selected_points(st.session_state.get(EVALUATE_CHART)), classes)
    if cell is not None:
        st.session_state[EVALUATE_TRUE], st.session_state[EVALUATE_PREDICTED] = cell


def choose_default_cell(diagnostics: Diagnostics) -> None:
    """Start each new model on its most frequent mistake."""
    if (st.session_state.get(EVALUATE_CELL_FOR) is not diagnostics
            or EVALUATE_TRUE not in st.session_state or EVALUATE_PREDICTED not in st.session_state):
        st.session_state[EVALUATE_TRUE], st.session_state[EVALUATE_PREDICTED] = diagnostics.worst_confusion()
        st.session_state[EVALUATE_CELL_FOR] = diagnostics


def names_of(diagnostics: Diagnostics) -> list[str]:
    """The model's classes by name (the data set's), one per output."""
    return datasets.class_names(diagnostics.confusion.shape[0])


def show_cell_examples(diagnostics: Diagnostics, true_class: int, predicted_class: int) -> None:
    indices = diagnostics.cell(true_class, predicted_class)  # sorted as the page shows them
    correct = true_class == predicted_class
    names = datasets.escaped_names(diagnostics.confusion.shape[0])
    true_name, predicted_name = names[true_class], names[predicted_class]
    mnist = datasets.current().is_mnist
    if len(indices) == 0:
        st.success(f"No test image of {'a' if mnist else 'class'} {true_name} was read as {predicted_name}.")
        return
    shown = indices[:MAX_EXAMPLES]
    order = "least confident first" if correct else "most confident mistakes first"
    images_of = f"{true_name}s" if mnist else f"images of {true_name}"  # MNIST's "7s"
    what = f"{images_of} read correctly" if correct else f"{images_of} read as {predicted_name}"
    headline = f"**{len(indices):,} {what}**"
    if len(shown) < len(indices):
        headline += f" — showing the first {len(shown)}"
    st.markdown(f"{headline}, {order}.")
    images = enlarge(datasets.current().test_images[shown].reshape(-1, IMAGE_SIDE, IMAGE_SIDE), EXAMPLE_ZOOM)
    # no-break spaces keep "class percent" pairs together when a caption wraps
    captions = [f"#{i}: " + ", ".join(f"{names[k]}\u00a0{percent(p)}" for k, p in
                                      top_probabilities(diagnostics.probabilities[i])) for i in shown]
    st.image(list(images), caption=captions, width=IMAGE_SIDE * EXAMPLE_ZOOM, output_format="PNG")  # JPEG smears pixels
    st.caption("Under each image: its index in the test set, then the network's three most probable "
               f"{datasets.nouns()}.")


@st.fragment  # the toggle, a click or a cell choice reruns only this section
def where_it_goes_wrong(diagnostics: Diagnostics) -> None:
    choose_default_cell(diagnostics)
    matrix_column, examples_column = st.columns([5, 6])
    with matrix_column:
        show_rates = st.toggle(f"Row-normalised rates (share of each true {datasets.noun()})", key=EVALUATE_RATES)
        selected = (st.session_state[EVALUATE_TRUE], st.session_state[EVALUATE_PREDICTED])
        names = names_of(diagnostics)
        st.plotly_chart(confusion_figure(diagnostics.confusion, show_rates, selected, datasets.chart_names(names),
                                         datasets.noun()),
                        key=EVALUATE_CHART, on_select=use_clicked_cell, selection_mode="points",
                        width="stretch")
        st.caption("Click a cell, or pick it on the right, to see its test images. The colour tops out at the "
                   "largest mistake, so the diagonal (correct answers) is saturated.")
    with examples_column:
        true_column, predicted_column = st.columns(2)
        classes = list(range(len(names)))
        noun = datasets.noun()
        true_class = true_column.selectbox(f"True {noun}", classes, key=EVALUATE_TRUE, format_func=names.__getitem__)
        predicted_class = predicted_column.selectbox(f"Predicted {noun}", classes, key=EVALUATE_PREDICTED,
                                                     format_func=names.__getitem__)
        show_cell_examples(diagnostics, true_class, predicted_class)


def favourites(cache: dict, layer: int) -> Favourites:
    """Hidden layer ``layer``'s favourite test images (computed once per model and layer)."""
    if layer not in cache["favourites"]:
        data = datasets.current()
        with st.spinner(f"Finding the test images that excite each unit of layer {layer} most…"):
            cache["favourites"][layer] = favourite_images(cache["run"].model, data.test_images, data.test_labels, layer)
    return cache["favourites"][layer]


def unit_captions(run, layer: int, units: range, favourite: Favourites | None) -> list[str]:
    """One caption per unit: for the last hidden layer, the class it votes for most (↑, its largest
    weight into the output layer) and against most (↓); in a deeper network, the class most of its
    favourite test images show (or that it is never active)."""
    model = run.model
    names = datasets.escaped_names(model.classes)
    captions = []
    for u in units:
        parts = [f"unit {u}"]
        if favourite is not None:
            if model.activation == "relu" and not favourite.active[u]:
                parts.append("· dead")
            else:
                plural = "s" if datasets.current().is_mnist else ""  # MNIST's read as before: "8/20 0s"
                parts.append(f"· {favourite.count[u]}/{len(favourite.top)} {names[favourite.digit[u]]}{plural}")
        if layer == model.layers:
            out = model.weights[-1]  # (H, classes): what each unit of the last hidden layer says to each class
            parts.append(f"↑{names[int(np.argmax(out[u]))]} ↓{names[int(np.argmin(out[u]))]}")
        captions.append(" ".join(parts))
    return captions


def pick_layer(layers: int) -> int:
    """The hidden layer whose units are shown (1 for a one-layer network, else chosen here)."""
    if layers == 1:
        return 1
    if st.session_state.get(EVALUATE_UNITS_LAYER) not in range(1, layers + 1):
        st.session_state[EVALUATE_UNITS_LAYER] = 1  # a new, shallower model
    return st.segmented_control("Hidden layer", list(range(1, layers + 1)), format_func=lambda k: f"layer {k}",
                                key=EVALUATE_UNITS_LAYER, required=True)


@st.fragment  # choosing a layer or paging through units reruns only this section
def show_hidden_units(run, cache: dict) -> None:
    layers = run.model.layers
    layer = pick_layer(layers)
    favourite = favourites(cache, layer) if layers > 1 else None
    units = unit_page(run.model.hidden_units, EVALUATE_UNITS_PER_PAGE, EVALUATE_UNITS_PAGE)
    captions = unit_captions(run, layer, units, favourite)
    if layer == 1:
        weights, limit = cache["unit_weights"], cache["unit_limit"]
        images = enlarge(diverging_rgb(weights[units.start : units.stop], limit), UNIT_ZOOM, rgb=True)
        st.image(list(images), caption=captions, width=IMAGE_SIDE * UNIT_ZOOM, output_format="PNG")
        scale = diverging_rgb(np.linspace(-limit, limit, 200)[None, :], limit).repeat(12, axis=0)  # (12, 200, 3)
        saturated = 100 - UNIT_COLOUR_PERCENTILE
        st.image(scale, width=200, caption=f"colour scale shared by all units: −{limit:.2f} (blue) … 0 (white) … "
                                           f"+{limit:.2f} (red); the largest {saturated:g}% of weights saturate")
        explained = ("Each image is one hidden unit's 784 incoming weights, placed where their pixels are: red "
                     "pixels excite the unit, blue ones inhibit it.")
    else:
        mean = favourite.images[units.start : units.stop]  # (units, 28, 28) in [0, 1]
        images = enlarge(np.round(mean * 255).astype(np.uint8), UNIT_ZOOM)
        st.image(list(images), caption=captions, width=IMAGE_SIDE * UNIT_ZOOM, output_format="PNG")
        explained = (f"A unit of layer {layer} reads the {run.model.hidden_units} units of layer {layer - 1}, not "
                     f"pixels, so its weights make no picture. Each image is instead the average of the {TOP_IMAGES} "
                     "test images that excite the unit most: what it has come to detect.")
    if favourite is not None:
        explained += (f" Under each image, \"15/{TOP_IMAGES} 7\" would mean that 15 of the {TOP_IMAGES} test "
                      "images exciting the unit most are of class 7"
                      + (", and \"dead\" a unit that no test image activates." if run.model.activation == "relu"
                         else "."))
    if layer == layers:
        explained += (" ↑ is the class the unit votes for most (its largest outgoing weight), ↓ the class it votes "
                      "against most.")
    else:
        explained += f" Its outgoing weights feed layer {layer + 1}, not the classes."
    st.caption(explained)


REPORT_COLUMNS = {  # the first column is named "digit" for MNIST (see named_report)
    "class": st.column_config.TextColumn("class"),
    "digit": st.column_config.TextColumn("digit"),
    "precision": st.column_config.NumberColumn("precision", format="%.4f",
                                               help="Of the images read as this class, the share that are it"),
    "recall": st.column_config.NumberColumn("recall", format="%.4f",
                                            help="Of the images of this class, the share read as it"),
    "f1-score": st.column_config.NumberColumn("F1", format="%.4f", help="Harmonic mean of precision and recall"),
    "support": st.column_config.NumberColumn("support", format="%d", help="Test images of this class")}


def named_report(diagnostics: Diagnostics) -> list[dict]:
    """The per-class report's rows, each class by its name ("macro avg" and "weighted avg" as they are)."""
    names, noun = names_of(diagnostics), datasets.noun()
    rows = []
    for row in diagnostics.report:
        row = dict(row)
        key = str(row.pop("digit", row.pop("class", "")))
        name = names[int(key)] if key.isdigit() and int(key) < len(names) else key
        rows.append({noun: name, **row})
    return rows


def headline(diagnostics: Diagnostics) -> None:
    total = len(diagnostics.labels)
    accuracy_column, cost_column, mistakes_column = st.columns(3)
    accuracy_column.metric("Test accuracy", f"{diagnostics.accuracy:.2%}")
    cost_column.metric("Test cost", f"{diagnostics.cost:.4f}", help="Mean cross-entropy on the test images")
    mistakes_column.metric("Mistakes", f"{total - int(np.trace(diagnostics.confusion)):,} of {total:,}")


def report_and_curves(run, diagnostics: Diagnostics) -> None:
    report_column, curves_column = st.columns(2)
    with report_column:
        st.subheader(f"Per-{datasets.noun()} report")
        st.dataframe(named_report(diagnostics), hide_index=True, width="stretch", height="content",
                     column_config=REPORT_COLUMNS)
    with curves_column:
        st.subheader("Training curves")
        if run.epochs:
            st.plotly_chart(epoch_curves_figure(run), width="stretch")
        elif run.status == "uploaded":
            st.info("An uploaded model carries no training history, so there are no per-epoch figures.")
        else:
            st.info("This model stopped before its first epoch ended, so it has no per-epoch figures.")
