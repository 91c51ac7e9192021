"""The health monitor's share of training: each weight matrix's gradient norm, summed over the epoch's
batches (the rest of the health is measured with the epoch's figures, ``nn_core.health``)."""

from __future__ import annotations

import math

import numpy as np

from .base import Component, weight_slices


class HealthMonitor(Component):
    def __init__(self, hidden_units: int, layers: int):
        self.weights = weight_slices(hidden_units, layers)
        self.grad_norm_sum = np.zeros(layers + 1)

    def on_gradient(self, run, grad: np.ndarray, grad_scale: float, cost: float) -> float:
        for k, weights in enumerate(self.weights):
            self.grad_norm_sum[k] += math.sqrt(float(np.vdot(grad[weights], grad[weights]))) / grad_scale
        return cost

    def take(self, batches: int) -> np.ndarray:
        """The epoch's mean gradient norms over its ``batches``; the sums start again from zero."""
        grad_norm = self.grad_norm_sum / max(batches, 1)
        self.grad_norm_sum[:] = 0
        return grad_norm

    def state_dict(self) -> dict:
        return {"grad_norm_sum": self.grad_norm_sum.copy()}

    def load_state_dict(self, state) -> None:
        if state.grad_norm_sum is not None:
            np.copyto(self.grad_norm_sum, state.grad_norm_sum)
