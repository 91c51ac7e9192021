"""Gradient descent with momentum, exactly as the seed post writes it.

    V = beta * V + (1 - beta) * grad
    W = W - learning_rate * V

The optimizer owns its velocity and sees only flat vectors of parameters and gradients (every
parameter at once, so one step is a few NumPy calls whatever the number of layers). The training
loop asks ``forward_backward`` for the gradient already multiplied by ``grad_scale`` (1 - beta,
folded into the (m, 10) output gradient for free) and calls ``step_prescaled``: four calls.
"""

from __future__ import annotations

import numpy as np


class Momentum:
    def __init__(self, size: int, learning_rate: float, beta: float, dtype=np.float32):
        self.learning_rate = learning_rate
        self.beta = beta
        self.velocity = np.zeros(size, dtype)  # V, zero at the start as in the post

    def step(self, params: np.ndarray, grad: np.ndarray) -> None:
        """Update ``params`` in place. ``grad`` is used as scratch space and left overwritten."""
        grad *= 1.0 - self.beta  # (1 - beta) * grad
        self.velocity *= self.beta  # beta * V
        self.velocity += grad  # V = beta * V + (1 - beta) * grad
        np.multiply(self.velocity, self.learning_rate, out=grad)  # learning_rate * V
        params -= grad  # W = W - learning_rate * V

    @property
    def grad_scale(self) -> float:
        """The factor ``step_prescaled`` expects its gradient to carry."""
        return 1.0 - self.beta

    def step_prescaled(self, params: np.ndarray, scaled_grad: np.ndarray) -> None:
        """``step`` for a gradient already multiplied by ``grad_scale``; same update, one call fewer."""
        self.velocity *= self.beta  # beta * V
        self.velocity += scaled_grad  # V = beta * V + (1 - beta) * grad
        np.multiply(self.velocity, self.learning_rate, out=scaled_grad)  # learning_rate * V
        params -= scaled_grad  # W = W - learning_rate * V
