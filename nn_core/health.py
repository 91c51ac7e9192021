"""The network's health after an epoch: what makes a run learn or not, per layer.

- ``saturated``: per hidden layer, the share of units that have stopped passing gradient on a fixed
  sample of training images. Sigmoid and tanh: the share of (image, unit) activations whose
  derivative is under 1% of its peak. ReLU: the share of units never active on the sample ("dead").
- ``grad_norm``: per weight matrix W1 ... W(L+1), the mean over the epoch's batches of the norm of
  the batch cost's gradient (the optimizer's update is another matter).
- ``distinct_units``: per hidden layer, how many groups of units with the same incoming weights (and
  bias) it holds. All of its units normally. Units that start equal (``zeros``) get equal gradients
  and stay equal in exact arithmetic; in float32 the matrix library's kernels round some columns
  differently (a few 1e-9 after one step), the symmetric state is unstable and amplifies that, so
  zeros ends with a handful of groups (3 of 64 units, measured), never the layer's width.
- ``weight_quantiles``: per weight matrix, its weights' quantiles at ``QUANTILES`` (TensorBoard's
  distribution bands: min, -2, -1.5, -1, -0.5 sigma ... max), to draw the distribution per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import Model

SAMPLE = 1000  # training images the saturation is measured on (a fixed sample)
SATURATION = 0.01  # a derivative under 1% of its peak counts as saturated
QUANTILES = (0.0, 0.0668, 0.1587, 0.3085, 0.5, 0.6915, 0.8413, 0.9332, 1.0)

HELP = {
    "saturated": "Share of hidden units that pass almost no gradient (sigmoid/tanh: derivative under 1% of its "
                 "peak; ReLU: never active, dead). High means those units have stopped learning: weights too "
                 "large (N(0, 1) initialisation) or a learning rate too high.",
    "grad_norm": "Size of each layer's gradient, averaged over the epoch. Near zero in a layer means it hardly "
                 "learns (vanishing gradients: saturated units, or deep sigmoid stacks); huge means steps that "
                 "may overshoot.",
    "distinct_units": "Groups of hidden units with the same incoming weights (all units differ: the layer's "
                      "width). Fewer means copies that compute the same thing: zeros initialisation starts every "
                      "unit equal, and equal units get equal updates, so they stay copies; only the rounding of "
                      "the matrix library splits them into a few groups.",
    "weights": "Each layer's weights over the epochs: the median, and bands holding 38%, 68%, 87% and all of "
               "them. Bands that explode mean a learning rate too high; bands stuck at 0 mean nothing learns.",
}


@dataclass(frozen=True)
class Health:
    saturated: tuple[float, ...]  # per hidden layer, a fraction
    grad_norm: tuple[float, ...]  # per weight matrix, mean over the epoch's batches
    distinct_units: tuple[int, ...]  # per hidden layer
    weight_quantiles: tuple[tuple[float, ...], ...]  # per weight matrix, at QUANTILES

    def as_json(self) -> dict:
        return {"saturated": list(self.saturated), "grad_norm": list(self.grad_norm),
                "distinct_units": list(self.distinct_units)}


def saturated_share(activations: np.ndarray, activation: str) -> float:
    """The share of ``activations`` (m, H) that pass no gradient (see the module's docstring)."""
    a = activations.astype(np.float64)
    if activation == "relu":
        return float(np.mean(~np.any(a > 0, axis=0)))  # units never active on the sample
    derivative = a * (1 - a) / 0.25 if activation == "sigmoid" else 1 - a * a  # relative to the peak
    return float(np.mean(derivative < SATURATION))


def distinct_units(W: np.ndarray, b: np.ndarray, rtol: float = 1e-4) -> int:
    """How many different units ``W (n, H)``, ``b (H,)`` holds: columns (a unit's incoming weights and
    its bias) closer than ``rtol`` of the largest column's length count as one. Exact equality would
    not do: BLAS rounds columns computed by different kernels differently, so copies differ in the
    last bits."""
    C = np.vstack([W, b[None, :]]).T.astype(np.float64)  # (H, n + 1), one row per unit
    lengths = np.einsum("ij,ij->i", C, C)  # squared
    tolerance = (rtol**2) * lengths.max() + 1e-24
    close = lengths[:, None] + lengths[None, :] - 2 * (C @ C.T) <= tolerance  # (H, H) squared distances
    counted, groups = np.zeros(len(C), bool), 0
    for unit in range(len(C)):
        if not counted[unit]:
            groups += 1
            counted |= close[unit]
    return groups


def measure(model: Model, sample: np.ndarray, grad_norm: np.ndarray) -> Health:
    """Health of ``model`` on ``sample`` (float (m, 784) in [0, 1]); ``grad_norm`` per weight matrix."""
    with np.errstate(all="ignore"):
        hidden = model.hidden_layers(sample)
    return Health(
        saturated=tuple(saturated_share(A, model.activation) for A in hidden),
        grad_norm=tuple(float(g) for g in grad_norm),
        distinct_units=tuple(distinct_units(W, b) for W, b in zip(model.weights[:-1], model.biases[:-1])),
        weight_quantiles=tuple(tuple(float(q) for q in np.quantile(W, QUANTILES)) for W in model.weights),
    )
