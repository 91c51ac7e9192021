"""One training step seen from inside: every matrix of the seed post's forward and backward pass,
and momentum's velocity and update, for the batches a real ``Trainer`` steps.

``InsideRun`` steps an ordinary ``Trainer`` with its own ``next_batch`` and ``step`` (so its batch
costs, weights and shuffles are a Train run's, bit for bit) and, before each step, recomputes the
batch's stages from the same parameters with the post's formulas (``stages``): the trainer's own
pass writes its matrices over each other in place and folds momentum's (1 - beta) into dZ2, so its
buffers never hold the true gradient. Row-major throughout, as in ``nn_core.model``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .data import Mnist
from .evaluation import blas_threads
from .model import ACTIVATIONS, CLASSES, Model, cross_entropy_from_logits, flat_views, softmax
from .settings import Hyperparams
from .training import Diverged, EpochStats, RunStatus, Trainer

HISTORY_STEPS = 100  # steps of momentum history kept (norms and chosen weights)
LAYERS = (("W1", "b1"), ("W2", "b2"))  # the parameters of layer 1 and layer 2
KINDS = ("gradient", "velocity", "update")
# A few fixed weights whose gradient, velocity and update the page follows: (parameter, row, column).
# W1 rows are pixels near the centre (row 14 * 28 + column 14 = 406 ...), lit in most digits;
# columns are units 0, 1, 2 (taken modulo H for narrower networks).
CHOSEN_WEIGHTS = (("W1", 406, 0), ("W1", 375, 1), ("W1", 487, 2), ("W2", 0, 0), ("W2", 1, 1), ("W2", 2, 7))


@dataclass(eq=False)
class Stages:
    """One batch through the network, in the post's names (row-major). m images, H hidden units."""

    X: np.ndarray  # (m, 784) inputs in [0, 1]
    y: np.ndarray  # (m,) labels
    Y: np.ndarray  # (m, 10) one-hot labels
    Z1: np.ndarray  # (m, H) = X W1 + b1
    A1: np.ndarray  # (m, H) = f(Z1)
    Z2: np.ndarray  # (m, 10) = A1 W2 + b2
    A2: np.ndarray  # (m, 10) = softmax(Z2)
    cost: float  # -1/m sum Y log A2
    dZ2: np.ndarray  # (m, 10) = A2 - Y
    dW2: np.ndarray  # (H, 10) = A1^T dZ2 / m
    db2: np.ndarray  # (10,) = column sums of dZ2 / m
    dA1: np.ndarray  # (m, H) = dZ2 W2^T
    derivative: np.ndarray  # (m, H) f'(Z1), from A1
    dZ1: np.ndarray  # (m, H) = dA1 * f'(Z1)
    dW1: np.ndarray  # (784, H) = X^T dZ1 / m
    db1: np.ndarray  # (H,) = column sums of dZ1 / m

    def gradient(self) -> np.ndarray:
        """The four gradients in one flat vector laid out like ``Model.flat``."""
        return np.concatenate([self.dW1.ravel(), self.db1, self.dW2.ravel(), self.db2])


def stages(model: Model, X: np.ndarray, y: np.ndarray, input_scale: float = 1.0) -> Stages:
    """The batch's forward and backward pass with every intermediate kept (the mean cost's gradient).

    X (m, 784) as the trainer gathers it (0-255 with ``input_scale`` 1/255), y (m,) int labels.
    """
    activation, activation_backward = ACTIVATIONS[model.activation]
    m = len(X)
    X = X * np.asarray(input_scale, X.dtype)  # (m, 784)
    Z1 = X @ model.W1 + model.b1  # (m, 784)(784, H) + (H,)
    A1 = activation(Z1, np.empty_like(Z1))  # (m, H)
    Z2 = A1 @ model.W2 + model.b2  # (m, H)(H, 10) + (10,)
    A2 = softmax(Z2)  # (m, 10)
    Y = np.eye(CLASSES, dtype=X.dtype)[y]  # (m, 10)
    cost = float(np.mean(cross_entropy_from_logits(Z2.astype(np.float64), y)))
    dZ2 = A2 - Y  # (m, 10)
    dW2 = A1.T @ dZ2 / m  # (H, m)(m, 10)
    db2 = dZ2.sum(axis=0) / m  # (10,)
    dA1 = dZ2 @ model.W2.T  # (m, 10)(10, H)
    derivative = np.ones_like(A1)
    activation_backward(A1, derivative, np.empty_like(A1))  # f'(Z1) (m, H), from the activation
    dZ1 = dA1 * derivative  # (m, H)
    dW1 = X.T @ dZ1 / m  # (784, m)(m, H)
    db1 = dZ1.sum(axis=0) / m  # (H,)
    return Stages(X=X, y=np.array(y), Y=Y, Z1=Z1, A1=A1, Z2=Z2, A2=A2, cost=cost, dZ2=dZ2, dW2=dW2, db2=db2,
                  dA1=dA1, derivative=derivative, dZ1=dZ1, dW1=dW1, db1=db1)


@dataclass(eq=False)
class Step:
    """One step of the run: its batch's stages, the cost the trainer measured, and momentum's work."""

    number: int  # 1-based step of the run
    epoch: int  # 1-based epoch it belonged to
    batch: int  # 1-based batch within that epoch
    cost: float  # the trainer's batch cost (before its update), as in the run's batch_costs
    stages: Stages
    before: Model  # parameters before the step
    after: Model  # and after it
    velocity: np.ndarray  # V after the step, flat like Model.flat
    update: np.ndarray  # learning_rate * V, what was subtracted from the parameters

    def views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        return flat_views(flat, self.before.hidden_units)

    def kinds(self) -> dict[str, np.ndarray]:
        """Gradient, velocity and update, each a flat vector."""
        return {"gradient": self.stages.gradient(), "velocity": self.velocity, "update": self.update}


def chosen_weights(hidden_units: int) -> list[tuple[str, int, int]]:
    """``CHOSEN_WEIGHTS`` with the unit (W1's column, W2's row) taken modulo the width."""
    return [(name, row % hidden_units, column) if name == "W2" else (name, row, column % hidden_units)
            for name, row, column in CHOSEN_WEIGHTS]


@dataclass(frozen=True)
class Record:
    """What the momentum history keeps of one step."""

    number: int
    norms: np.ndarray  # (2 layers, 3 kinds): Frobenius norms of gradient, velocity and update
    values: np.ndarray  # (len(CHOSEN_WEIGHTS), 3 kinds)


def record(step: Step) -> Record:
    chosen = chosen_weights(step.before.hidden_units)
    norms, values = np.empty((len(LAYERS), len(KINDS))), np.empty((len(chosen), len(KINDS)))
    for k, flat in enumerate(step.kinds().values()):
        views = step.views(flat)
        for layer, names in enumerate(LAYERS):
            norms[layer, k] = np.sqrt(sum(float(np.vdot(views[n], views[n])) for n in names))
        for i, (name, row, column) in enumerate(chosen):
            values[i, k] = views[name][row, column]
    return Record(step.number, norms, values)


@dataclass(eq=False)
class InsideRun:
    """A session's run stepped a batch at a time: the trainer, its last step seen from inside, and
    the last ``HISTORY_STEPS`` steps' momentum figures."""

    trainer: Trainer
    history: deque  # of Record, at most HISTORY_STEPS
    last: Step | None = None
    last_epoch: EpochStats | None = None  # the evaluation of the last epoch ended, if any

    @classmethod
    def start(cls, data: Mnist, hparams: Hyperparams, initial: Model | None = None,
              train_sample: int | None = None) -> "InsideRun":
        """A fresh run of ``hparams`` (the seed's weights and shuffles), or from ``initial``'s weights."""
        trainer = Trainer(data, hparams, initial=initial, train_sample=train_sample)
        return cls(trainer, deque(maxlen=HISTORY_STEPS))

    @property
    def hparams(self) -> Hyperparams:
        return self.trainer.hparams

    @property
    def steps(self) -> int:
        return self.trainer.total_batches_done

    @property
    def diverged(self) -> Diverged | None:
        return self.trainer.diverged

    @property
    def finished(self) -> bool:
        """Every epoch trained, or diverged: no further step."""
        return self.trainer.finished

    def advance(self, steps: int = 1) -> None:
        """Train up to ``steps`` batches (fewer if the run ends), keeping the last one's stages."""
        # Overflow at a diverging learning rate shows in the cost (the trainer ends the run).
        with np.errstate(all="ignore"), blas_threads(self.trainer.threads):
            for _ in range(steps):
                if self.finished:
                    return
                self._step()

    def _step(self) -> None:
        trainer = self.trainer
        trainer.status = RunStatus.RUNNING
        X, y = trainer.next_batch()
        before = trainer.model.copy()
        captured = stages(before, X, y, trainer.input_scale)
        cost = trainer.step(X, y)
        if trainer.status is RunStatus.DIVERGED:
            return  # the trainer restored the last good parameters; the last good step stays shown
        self.last = Step(number=trainer.total_batches_done, epoch=trainer.epoch + 1, batch=trainer.batch,
                         cost=cost, stages=captured, before=before, after=trainer.model.copy(),
                         velocity=trainer.optimizer.velocity.copy(), update=trainer.workspace.grad.copy())
        self.history.append(record(self.last))
        if trainer.epoch_complete:
            ended = trainer.end_epoch()  # evaluates, as a Train run does, and starts the next shuffle
            if isinstance(ended, EpochStats):
                self.last_epoch = ended

    def history_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Steps (n,), norms (n, 2 layers, 3 kinds) and chosen weights' values (n, k, 3 kinds)."""
        records = list(self.history)
        if not records:
            return (np.empty(0, int), np.empty((0, len(LAYERS), len(KINDS))),
                    np.empty((0, len(CHOSEN_WEIGHTS), len(KINDS))))
        return (np.array([r.number for r in records]), np.stack([r.norms for r in records]),
                np.stack([r.values for r in records]))
