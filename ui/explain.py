"""The Draw page's "Why this digit?" and "Make it read as": which pixels of the drawing push the network
towards a class (``nn_core.explain.saliency``; MNIST's digits, or a data set's classes by name) and the
small change that makes it read another
(``nn_core.explain.perturb``), both on the 784 inputs the network has just read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from nn_core import Model
from nn_core.explain import Perturbation, perturb, saliency
from nn_core.preprocess import SIDE

from . import datasets
from .images import diverging_rgb, enlarge, png, symmetric_limit
from .state import DRAW_FOOL_TARGET, DRAW_PERTURB, DRAW_PERTURBATION, DRAW_WHY_DIGIT

SALIENCY_ZOOM = 7  # 28 px -> 196 px, the size of the input image above
CHANGE_ZOOM = 5  # 28 px -> 140 px: two side by side fit a phone's width
INK_SHADE = 0.55  # how much the drawing's ink darkens the saliency colours under it


@dataclass(frozen=True)
class Fooled:
    """A perturbation kept in the session, with the input and the model it was made for."""

    field: np.ndarray  # (784,) the input that was changed
    model: Model
    result: Perturbation


def saliency_image(field: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """(28, 28, 3) uint8: the gradient red (positive) / white (0) / blue (negative) on a scale
    symmetric about 0, with the input's ink shaded over it so the drawing shows through."""
    rgb = diverging_rgb(gradient.reshape(SIDE, SIDE), symmetric_limit(gradient)).astype(np.float32)
    rgb *= 1 - INK_SHADE * field.reshape(SIDE, SIDE, 1)
    return rgb.round().astype(np.uint8)


def change_image(change: np.ndarray) -> np.ndarray:
    """(28, 28, 3) uint8: pixels made brighter red, darker blue, unchanged white."""
    return diverging_rgb(change.reshape(SIDE, SIDE), symmetric_limit(change))


def digit_picker(label: str, key: str, help: str, classes: int = 10) -> int | None:
    """One of the model's ``classes`` outputs, each by its class's name (Markdown-escaped: pills render it)."""
    names = datasets.escaped_names(classes)
    return st.pills(label, list(range(classes)), key=key, help=help, format_func=names.__getitem__)


def why_this_digit(model: Model, field: np.ndarray | None) -> None:
    """The saliency of one digit's probability over the input, and Perturb; on an empty canvas, a note."""
    what = "digit" if datasets.current().is_mnist else "class"
    st.subheader(f"Why this {what}?")
    if field is None:
        st.info(f"Nothing to explain yet: draw a {what}, and its pixels are coloured by how they push the "
                "network towards it or away.")
        return
    why, fool = st.columns(2, gap="large")  # stacked on a phone
    with why:
        picked = digit_picker("Pixels that push for or against", DRAW_WHY_DIGIT,
                              "The network's own reading unless you pick another class (pick it again to go back).",
                              model.classes)
        reading = int(np.argmax(model.predict_proba(field)))  # the float32 reading the page shows
        k, gradient = saliency(model, field, reading if picked is None else picked)
        digit = datasets.escaped_names(model.classes)[k]
        st.image(png(enlarge(saliency_image(field, gradient), SALIENCY_ZOOM, rgb=True)), output_format="PNG",
                 width=SIDE * SALIENCY_ZOOM,
                 caption=f"Why {digit}{' (its reading)' if picked is None else ''}: red pixels, made brighter, "
                         f"would raise the probability of {digit}; blue ones would lower it.")
        st.caption("The gradient of that probability with respect to each of the 784 inputs, on a colour scale "
                   f"centred on 0 whose strongest colour is ±{np.abs(gradient).max():.2g} per unit of brightness, "
                   "the drawing shaded over it.")
    with fool:
        make_it_read_as(model, field)


def make_it_read_as(model: Model, field: np.ndarray) -> None:
    target = digit_picker("Make it read as", DRAW_FOOL_TARGET,
                          "The class the changed image should be read as.", model.classes)
    names = datasets.escaped_names(model.classes)
    if st.button("Perturb", key=DRAW_PERTURB, disabled=target is None, icon=":material/auto_fix_high:",
                 help="Change the 28x28 input as little as it can (pixels kept in 0-1) until the network reads "
                      "the chosen class."):
        with st.spinner(f"Changing the input until it reads as {names[target]}…"):
            st.session_state[DRAW_PERTURBATION] = Fooled(field.copy(), model, perturb(model, field, target))
    fooled = st.session_state.get(DRAW_PERTURBATION)
    if fooled is None or fooled.model is not model or not np.array_equal(fooled.field, field):
        st.caption("Choose a class and press Perturb: the smallest change found to the network's input that "
                   "makes it read that class instead.")
        return
    show_perturbation(fooled.result)


def show_perturbation(result: Perturbation) -> None:
    names = datasets.escaped_names(len(result.probabilities))
    target, read_as = names[result.target], names[result.read_as]
    if not result.success:
        st.warning(f"It could not be made to read as {target} within {result.steps} steps: the image "
                   f"below, the furthest it got, still reads as {read_as}.")
    elif not result.steps:
        st.info(f"It already reads as {target}: nothing to change.")
    pictures = st.container(horizontal=True, gap="small")
    pictures.image(png(enlarge((result.image.reshape(SIDE, SIDE) * 255).round().astype(np.uint8), CHANGE_ZOOM)),
                   output_format="PNG", width=SIDE * CHANGE_ZOOM, caption="The changed input")
    pictures.image(png(enlarge(change_image(result.change), CHANGE_ZOOM, rgb=True)), output_format="PNG",
                   width=SIDE * CHANGE_ZOOM, caption="The change: red brighter, blue darker")
    figures = st.container(horizontal=True, gap="medium")
    figures.metric("Now read as", datasets.class_names(len(result.probabilities))[result.read_as],
                   help="What the network reads in the changed input above, exactly as shown.")
    figures.metric("Change (L2)", f"{result.l2:.2f}",
                   help="The length of the change over the 784 pixels (each 0-1): √(Σ change²).")
    figures.metric("Largest pixel change", f"{result.max_change:.2f}", help="0-1: black to white is 1.")
    st.caption(f"{result.probabilities[result.read_as]:.0%} sure of {read_as}, after "
               f"{result.steps} step{'s' * (result.steps != 1)}.")
