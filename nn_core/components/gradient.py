"""A batch's cost and gradient: one forward/backward pass, or passes of ``PASS_ROWS`` rows summed."""

from __future__ import annotations

import numpy as np

from ..model import Model, Workspace, forward_backward
from .batches import Batches


class Gradient:
    def __init__(self, batches: Batches, hp, masks):
        self.batches, self.masks = batches, masks  # masks(m): a batch's dropout masks, or None
        self.workspace = Workspace(hp.hidden_units, batches.pass_rows, layers=hp.layers,
                                   classes=batches.data.n_classes)
        # A batch larger than one pass sums its passes' gradients here.
        self.grad_sum = np.empty_like(self.workspace.grad) if hp.batch_size > batches.pass_rows else None

    def __call__(self, model: Model, X: np.ndarray, y: np.ndarray, grad_scale: float) -> tuple[float, np.ndarray]:
        """The batch's mean cost, and its gradient times ``grad_scale``."""
        scale = self.batches.input_scale
        if len(X) <= self.batches.pass_rows:
            cost = forward_backward(model, X, y, self.workspace, scale, grad_scale, self.masks(len(X)))
            return cost, self.workspace.grad
        m, cost = len(X), 0.0
        self.grad_sum.fill(0)
        for rows, part in self.batches.passes(X):
            share = len(part) / m  # each pass's mean, weighted by its share of the batch
            cost += share * forward_backward(model, part, y[rows], self.workspace, scale, grad_scale * share,
                                             self.masks(len(part)))
            self.grad_sum += self.workspace.grad
        return cost, self.grad_sum
