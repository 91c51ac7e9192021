"""Optimizers. The training loop knows only this interface:

- ``grad_scale``: the factor the loop folds into the gradient it computes (the model multiplies it
  into the (m, 10) output gradient for free, instead of scaling the whole gradient vector);
- ``step(params, scaled_grad)``: update the flat parameter vector in place, given the gradient
  of the batch's mean cost times ``grad_scale`` (left overwritten as scratch space).

A new optimizer is a new class here and a line in ``for_settings``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Optimizer(Protocol):
    grad_scale: float

    def step(self, params: np.ndarray, scaled_grad: np.ndarray) -> None: ...


class Momentum:
    """Gradient descent with momentum, exactly as the seed post writes it:

        V = beta * V + (1 - beta) * grad
        W = W - learning_rate * V

    ``grad_scale`` is 1 - beta, so ``step`` receives (1 - beta) * grad and needs four calls.
    """

    def __init__(self, size: int, learning_rate: float, beta: float, dtype=np.float32):
        self.learning_rate = learning_rate
        self.beta = beta
        self.grad_scale = 1.0 - beta
        self.velocity = np.zeros(size, dtype)  # V, zero at the start as in the post

    def step(self, params: np.ndarray, scaled_grad: np.ndarray) -> None:
        self.velocity *= self.beta  # beta * V
        self.velocity += scaled_grad  # V = beta * V + (1 - beta) * grad
        np.multiply(self.velocity, self.learning_rate, out=scaled_grad)  # learning_rate * V
        params -= scaled_grad  # W = W - learning_rate * V


def for_settings(size: int, learning_rate: float, momentum: float) -> Optimizer:
    """The optimizer of a run with these settings, over ``size`` parameters."""
    return Momentum(size, learning_rate, momentum)
