"""Optimizers. The training loop knows only this interface:

- ``grad_scale``: the factor the loop folds into the gradient it computes (the model multiplies it
  into the (m, 10) output gradient for free, instead of scaling the whole gradient vector);
- ``step(params, scaled_grad)``: update the flat parameter vector in place, given the gradient
  of the batch's mean cost times ``grad_scale`` (left overwritten with the update subtracted);
- ``state``: the arrays that carry the optimizer from one step to the next (velocities, moments,
  a step count), named, so a run can be copied, sent to another process and resumed to the bit;
- ``configure(learning_rate, beta)``: new values for the next step (a learner may change them while a
  run trains); the state is kept.

A new optimizer is a new class here and an entry in ``REGISTRY`` (what it is: its formula, its state
arrays, its bias corrections), which the core, Inside and the pages read. Each sees only the flat
parameter and gradient vectors: no layer, no model, no loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

EPSILON = 1e-8  # RMSProp's and Adam's guard against dividing by a zero second moment
ADAM_BETA2 = 0.999  # Adam's decay of its second moment (fixed, as in the Adam paper)


class Optimizer(Protocol):
    grad_scale: float
    state: dict[str, np.ndarray]

    def step(self, params: np.ndarray, scaled_grad: np.ndarray) -> None: ...


class SGD:
    """Plain gradient descent, the post's Part 1: ``W = W - learning_rate * grad`` (beta unused).

    ``grad_scale`` is the learning rate, so ``step`` receives the update itself."""

    def __init__(self, size: int, learning_rate: float, beta: float, dtype=np.float32):
        self.configure(learning_rate, beta)
        self.state: dict[str, np.ndarray] = {}

    def configure(self, learning_rate: float, beta: float) -> None:
        self.learning_rate = learning_rate
        self.grad_scale = learning_rate

    def step(self, params: np.ndarray, scaled_grad: np.ndarray) -> None:
        params -= scaled_grad  # W = W - learning_rate * grad


class Momentum:
    """Gradient descent with momentum, exactly as the seed post writes it:

        V = beta * V + (1 - beta) * grad
        W = W - learning_rate * V

    ``grad_scale`` is 1 - beta, so ``step`` receives (1 - beta) * grad and needs four calls.
    """

    def __init__(self, size: int, learning_rate: float, beta: float, dtype=np.float32):
        self.configure(learning_rate, beta)
        self.velocity = np.zeros(size, dtype)  # V, zero at the start as in the post
        self.state = {"velocity": self.velocity}

    def configure(self, learning_rate: float, beta: float) -> None:
        self.learning_rate = learning_rate
        self.beta = beta
        self.grad_scale = 1.0 - beta

    def step(self, params: np.ndarray, scaled_grad: np.ndarray) -> None:
        self.velocity *= self.beta  # beta * V
        self.velocity += scaled_grad  # V = beta * V + (1 - beta) * grad
        np.multiply(self.velocity, self.learning_rate, out=scaled_grad)  # learning_rate * V
        params -= scaled_grad  # W = W - learning_rate * V


class Nesterov(Momentum):
    """Nesterov's momentum in the post's form: the same velocity, but the step looks ahead, taking
    the velocity the next step would have if the gradient stayed the same:

        V = beta * V + (1 - beta) * grad
        W = W - learning_rate * (beta * V + (1 - beta) * grad)
    """

    def step(self, params: np.ndarray, scaled_grad: np.ndarray) -> None:
        self.velocity *= self.beta
        self.velocity += scaled_grad  # V = beta * V + (1 - beta) * grad
        scaled_grad += self.beta * self.velocity  # look-ahead: beta * V + (1 - beta) * grad
        scaled_grad *= self.learning_rate
        params -= scaled_grad


class RMSProp:
    """RMSProp: each parameter's step divided by the root of a running mean of its squared gradient
    (beta is that mean's decay):

        S = beta * S + (1 - beta) * grad^2
        W = W - learning_rate * grad / (sqrt(S) + epsilon)
    """

    def __init__(self, size: int, learning_rate: float, beta: float, dtype=np.float32):
        self.configure(learning_rate, beta)
        self.grad_scale = 1.0
        self.square = np.zeros(size, dtype)  # S
        self._tmp = np.empty(size, dtype)
        self.state = {"square": self.square}

    def configure(self, learning_rate: float, beta: float) -> None:
        self.learning_rate = learning_rate
        self.beta = beta

    def step(self, params: np.ndarray, scaled_grad: np.ndarray) -> None:
        tmp = self._tmp
        np.multiply(scaled_grad, scaled_grad, out=tmp)
        tmp *= 1.0 - self.beta
        self.square *= self.beta
        self.square += tmp  # S = beta * S + (1 - beta) * grad^2
        np.sqrt(self.square, out=tmp)
        tmp += EPSILON
        np.divide(scaled_grad, tmp, out=scaled_grad)
        scaled_grad *= self.learning_rate
        params -= scaled_grad


class Adam:
    """Adam: momentum's velocity (beta = beta1) divided by RMSProp's root mean square (beta2 = 0.999),
    both corrected for starting at zero (t is the step count, from 1):

        M = beta1 * M + (1 - beta1) * grad           V = beta2 * V + (1 - beta2) * grad^2
        W = W - learning_rate * (M / (1 - beta1^t)) / (sqrt(V / (1 - beta2^t)) + epsilon)
    """

    def __init__(self, size: int, learning_rate: float, beta: float, dtype=np.float32):
        self.configure(learning_rate, beta)
        self.beta2 = ADAM_BETA2
        self.grad_scale = 1.0
        self.first = np.zeros(size, dtype)  # M
        self.second = np.zeros(size, dtype)  # V
        self.steps = np.zeros(1, np.int64)  # t, an array so that it travels with the state
        self._tmp = np.empty(size, dtype)
        self.state = {"first": self.first, "second": self.second, "steps": self.steps}

    def configure(self, learning_rate: float, beta: float) -> None:
        self.learning_rate = learning_rate
        self.beta1 = beta

    def corrections(self) -> tuple[float, float]:
        """The bias corrections 1 - beta1^t and 1 - beta2^t of the step last taken."""
        return adam_corrections(self.beta1, int(self.steps[0]))

    def step(self, params: np.ndarray, scaled_grad: np.ndarray) -> None:
        self.steps += 1
        first_fix, second_fix = self.corrections()
        tmp = self._tmp
        self.first *= self.beta1
        np.multiply(scaled_grad, 1.0 - self.beta1, out=tmp)
        self.first += tmp  # M = beta1 * M + (1 - beta1) * grad
        np.multiply(scaled_grad, scaled_grad, out=tmp)
        tmp *= 1.0 - self.beta2
        self.second *= self.beta2
        self.second += tmp  # V = beta2 * V + (1 - beta2) * grad^2
        np.multiply(self.second, 1.0 / second_fix, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += EPSILON  # sqrt(V_hat) + epsilon
        np.divide(self.first, tmp, out=scaled_grad)
        scaled_grad *= self.learning_rate / first_fix  # learning_rate * M_hat / (sqrt(V_hat) + epsilon)
        params -= scaled_grad


def adam_corrections(beta1: float, t: int) -> tuple[float, float]:
    """Adam's bias corrections 1 - beta1^t and 1 - beta2^t at step t (from 1)."""
    return 1.0 - beta1**t, 1.0 - ADAM_BETA2**t


@dataclass(frozen=True)
class StateArray:
    key: str  # in the optimizer's ``state``
    symbol: str  # the formula's letter
    meaning: str


@dataclass(frozen=True)
class OptimizerInfo:
    """What an optimizer is, for every reader: the class that runs it, its formula and its state."""

    name: str
    make: type
    title: str  # in words
    formula: tuple[str, ...]  # plain text, one line per assignment
    state: tuple[StateArray, ...] = ()
    beta: str | None = "β"  # what its beta (the momentum setting) is called; None: unused
    epsilon: bool = False  # it divides by sqrt(...) + EPSILON
    corrections: Callable[[float, int], tuple[float, float]] | None = None  # (beta, t) -> bias corrections


VELOCITY = StateArray("velocity", "V", "velocity: a running mean of the gradients")
REGISTRY = {info.name: info for info in (
    OptimizerInfo("momentum", Momentum, "gradient descent with momentum",
                  ("V = beta * V + (1 - beta) * grad", "W = W - learning_rate * V"), (VELOCITY,)),
    OptimizerInfo("sgd", SGD, "plain gradient descent", ("W = W - learning_rate * grad",), beta=None),
    OptimizerInfo("nesterov", Nesterov, "Nesterov's momentum",
                  ("V = beta * V + (1 - beta) * grad", "W = W - learning_rate * (beta * V + (1 - beta) * grad)"),
                  (VELOCITY,)),
    OptimizerInfo("rmsprop", RMSProp, "RMSProp",
                  ("S = beta * S + (1 - beta) * grad^2", "W = W - learning_rate * grad / (sqrt(S) + epsilon)"),
                  (StateArray("square", "S", "running mean of the squared gradients"),), beta="decay β", epsilon=True),
    OptimizerInfo("adam", Adam, "Adam",
                  ("M = beta1 * M + (1 - beta1) * grad", "V = beta2 * V + (1 - beta2) * grad^2",
                   "W = W - learning_rate * (M / (1 - beta1^t)) / (sqrt(V / (1 - beta2^t)) + epsilon)"),
                  (StateArray("first", "M", "first moment: a running mean of the gradients"),
                   StateArray("second", "V", "second moment: a running mean of the squared gradients")),
                  beta="β1", epsilon=True, corrections=adam_corrections),
)}
OPTIMIZERS = {name: info.make for name, info in REGISTRY.items()}


def for_settings(size: int, learning_rate: float, momentum: float, optimizer: str = "momentum") -> Optimizer:
    """The optimizer of a run with these settings, over ``size`` parameters."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[optimizer](size, learning_rate, momentum)
