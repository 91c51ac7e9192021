"""Regularizers: dropout (masks drawn from a stream of their own) and the L2 penalty."""

from __future__ import annotations

import numpy as np

from .. import trainset
from ..settings import Hyperparams
from .base import Component, weight_slices


class Dropout(Component):
    """Inverted dropout: each batch, each hidden unit kept with probability 1 - ``hp.dropout``."""

    def __init__(self, hp: Hyperparams, pass_rows: int, streams: dict):
        self.keep = np.float32(1 - hp.dropout)
        self.stream = streams["dropout"] = trainset.stream(hp.seed, trainset.DROPOUT_STREAM)
        # (pass rows, H) per hidden layer: 0, or 1 / keep
        self.buffers = [np.empty((pass_rows, hp.hidden_units), np.float32) for _ in range(hp.layers)]

    def masks(self, m: int) -> list[np.ndarray]:
        """This batch's masks (m, H) per hidden layer."""
        masks = [mask[:m] for mask in self.buffers]
        for mask in masks:
            self.stream.random(out=mask, dtype=np.float32)
            np.less(mask, self.keep, out=mask)  # 1.0 where kept
            mask /= self.keep  # inverted dropout: evaluation needs no rescaling
        return masks


class L2(Component):
    """lambda/2 times the sum of every squared weight (biases excluded), added to each batch's cost."""

    def __init__(self, hp: Hyperparams):
        self.l2 = hp.l2
        self.weights = weight_slices(hp.hidden_units, hp.layers)

    def penalty(self, flat: np.ndarray) -> float:
        return 0.5 * self.l2 * sum(float(np.vdot(flat[w], flat[w])) for w in self.weights)

    def on_gradient(self, run, grad: np.ndarray, grad_scale: float, cost: float) -> float:
        """Add the penalty's gradient, lambda W (times ``grad_scale``), to ``grad``, and the penalty to the cost."""
        flat, factor = run.model.flat, np.float32(self.l2 * grad_scale)
        for weights in self.weights:
            grad[weights] += factor * flat[weights]
        return cost + self.penalty(flat)
