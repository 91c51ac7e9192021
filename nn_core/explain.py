"""Why the network reads a digit (a class: MNIST's digits, or a data set's own classes, 0..model.classes-1),
and how little change to the input makes it read another.

Both work on one input ``x`` (784,) in [0, 1]: the vector the Draw page hands to
``Model.predict_proba`` (``nn_core.preprocess.to_mnist`` of the canvas), or an MNIST image / 255.

- ``saliency``: the gradient of one digit's probability with respect to the 784 inputs, by backprop
  in float64: which pixels, made brighter, would raise that probability (positive) or lower it.
- ``perturb``: a small change to the input, pixels kept in [0, 1], that makes the network read a
  chosen digit. Each step linearises the margin ``z_target - z_rival`` (logits; the rival is the
  strongest other digit) at the current image and takes the smallest L2 step inside the [0, 1] box
  that the linear model says crosses it (DeepFool's step, Moosavi-Dezfooli et al. 2016, with the box
  solved exactly); once the network reads the target, the change is scaled back to the smallest
  fraction of it that still does. Whether it reads the target is decided by ``Model.predict_proba``
  on the float32 image returned, the app's own forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import ACTIVATIONS, INPUTS, Model

MAX_STEPS = 50  # linearised steps before perturb gives up
MARGIN = 0.5  # logits: each step aims this far past the linearised boundary (fewer steps; the shrink
# after takes the overshoot back: on the default model, median L2 1.78 against 1.80 at 0.05)
SHRINK_ROUNDS = 20  # bisection rounds scaling the change back (2^-20 of it: finer than float32 pixels)


class Network64:
    """A model's parameters in float64, and the forward and backward pass of one input."""

    def __init__(self, model: Model):
        self.activation = model.activation
        self.weights = [W.astype(np.float64) for W in model.weights]  # (fan_in, fan_out) each
        self.biases = [b.astype(np.float64) for b in model.biases]

    def forward(self, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Every hidden layer's activations (H,) and the logits (C,) of one input x (784,)."""
        f = ACTIVATIONS[self.activation][0]
        hidden, a = [], np.asarray(x, np.float64)
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            z = a @ W + b  # (H,)
            a = f(z, z)
            hidden.append(a)
        return hidden, a @ self.weights[-1] + self.biases[-1]

    def input_gradient(self, hidden: list[np.ndarray], output_gradient: np.ndarray) -> np.ndarray:
        """d(output_gradient . logits) / dx (784,), from a forward pass's hidden activations."""
        backward = ACTIVATIONS[self.activation][1]
        grad = output_gradient @ self.weights[-1].T  # wrt the last hidden layer's activations (H,)
        for layer in reversed(range(len(hidden))):
            backward(hidden[layer], grad, np.empty_like(grad))  # wrt its pre-activation, in place
            grad = grad @ self.weights[layer].T  # wrt its input: (fan_in,)
        return grad


def probabilities64(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def saliency(model: Model, x: np.ndarray, digit: int | None = None) -> tuple[int, np.ndarray]:
    """(digit, d p_digit / dx (784,) float64) for one input x (784,); ``digit`` None: the predicted one.

    Through the softmax, d p_c / d z_j = p_c (1[j = c] - p_j); backprop carries that to the input.
    """
    x = _checked_input(x)
    network = Network64(model)
    hidden, logits = network.forward(x)
    p = probabilities64(logits)  # (C,)
    digit = int(np.argmax(p)) if digit is None else _checked_digit(digit, model.classes)
    output_gradient = -p[digit] * p
    output_gradient[digit] += p[digit]
    return digit, network.input_gradient(hidden, output_gradient)


@dataclass(frozen=True)
class Perturbation:
    """What ``perturb`` found: the changed input, the change, and the network's reading of it."""

    target: int
    image: np.ndarray  # (784,) float32 in [0, 1]: the input the network read as ``read_as``
    change: np.ndarray  # (784,) float32: image - the original input
    read_as: int  # argmax of model.predict_proba(image)
    probabilities: np.ndarray  # (C,) model.predict_proba(image)
    steps: int  # linearised steps taken
    success: bool  # read_as == target

    @property
    def l2(self) -> float:
        return float(np.linalg.norm(self.change.astype(np.float64)))

    @property
    def max_change(self) -> float:
        """The largest change of any one pixel (0-1: a pixel from black to white is 1)."""
        return float(np.abs(self.change).max(initial=0.0))


def box_step(gradient: np.ndarray, need: float, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The smallest-L2 step s, low <= s <= high (low <= 0 <= high), with gradient . s >= need.

    The minimiser is s = clip(lam * gradient, low, high) for the smallest lam >= 0 that reaches
    ``need`` (gradient . s grows with lam); found by bisection. If no step in the box reaches it,
    the box's corner that goes furthest.
    """
    if need <= 0:
        return np.zeros_like(gradient)
    furthest = np.where(gradient > 0, high, low)
    if gradient @ furthest <= need:
        return furthest
    moving = gradient != 0
    # every component is at its bound once lam * |g| >= its bound's distance
    upper = float(np.max(np.abs(furthest[moving] / gradient[moving])))
    lower = 0.0
    for _ in range(60):  # to float64 resolution of lam
        lam = (lower + upper) / 2
        if gradient @ np.clip(lam * gradient, low, high) >= need:
            upper = lam
        else:
            lower = lam
    return np.clip(upper * gradient, low, high)


def perturb(model: Model, x: np.ndarray, target: int, max_steps: int | None = None) -> Perturbation:
    """A small change to x (784,) in [0, 1] that makes ``model`` read ``target``, within ``max_steps``
    linearised steps (``MAX_STEPS`` if None; see the module's docstring); ``success`` False if it did
    not get there."""
    x = _checked_input(x)
    target = _checked_digit(target, model.classes)
    max_steps = MAX_STEPS if max_steps is None else max_steps
    if not 0 <= max_steps <= 10_000:
        raise ValueError(f"max_steps must be 0-10,000, not {max_steps}")
    network = Network64(model)
    original = x.astype(np.float64)
    change = np.zeros(INPUTS)  # float64, original + change stays in [0, 1]

    def read(change: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The float32 image the app would feed, and the model's own probabilities for it."""
        image = np.clip(original + change, 0, 1).astype(np.float32)
        return image, model.predict_proba(image)

    image, p = read(change)
    steps = 0
    while np.argmax(p) != target and steps < max_steps:
        steps += 1
        change += _step_toward(network, original, change, target)
        image, p = read(change)
    if np.argmax(p) == target and steps:
        # the steps overshoot; the smallest fraction of the change that the network still reads as target
        low, high = 0.0, 1.0
        for _ in range(SHRINK_ROUNDS):
            middle = (low + high) / 2
            if np.argmax(read(middle * change)[1]) == target:
                high = middle
            else:
                low = middle
        image, p = read(high * change)
    read_as = int(np.argmax(p))
    return Perturbation(target, image, image - x.astype(np.float32), read_as, p, steps, read_as == target)


def _step_toward(network: "Network64", original: np.ndarray, change: np.ndarray, target: int) -> np.ndarray:
    """One linearised step from ``original + change``: the smallest that lifts the target's logit MARGIN
    above its strongest rival's, within [0, 1]."""
    hidden, logits = network.forward(original + change)
    rival = int(np.argmax(np.where(np.arange(len(logits)) == target, -np.inf, logits)))
    direction = np.zeros(len(logits))
    direction[target], direction[rival] = 1.0, -1.0  # d(z_target - z_rival)
    gradient = network.input_gradient(hidden, direction)  # (784,)
    margin = logits[target] - logits[rival]
    return box_step(gradient, MARGIN - margin, -original - change, 1 - original - change)


def _checked_input(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.shape != (INPUTS,):
        raise ValueError(f"an input is {INPUTS} pixels, not shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating) or not np.all((x >= 0) & (x <= 1)):
        raise ValueError("an input's pixels are floats in [0, 1]")
    return x


def _checked_digit(digit, classes: int) -> int:
    """A class of a model of ``classes`` outputs (MNIST's: a digit 0-9)."""
    if not (isinstance(digit, (int, np.integer)) and 0 <= digit < classes):
        raise ValueError(f"a {'digit' if classes == 10 else 'class'} is 0-{classes - 1}, not {digit!r}")
    return int(digit)
