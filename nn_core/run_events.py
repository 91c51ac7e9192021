"""What a training run reports, as data (never printed): its status, the progress of a chunk of
batches (``ChunkStats``), an epoch's figures (``EpochStats``), an epoch waiting for its figures
(``PendingEpoch``) and divergence (``Diverged``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from .health import Health

CHANCE_COST = math.log(10)  # cross-entropy of a uniform guess over 10 digits
# A batch cost this far above chance means the run has left the basin for good. With a stable
# softmax the cost rarely becomes NaN (lr 1000 sits at a finite ~62), so a finite but huge cost
# is divergence too. Runs that still learn (sigmoid at lr 50) peak below 6; lr 1000 passes 90.
DIVERGENCE_COST = 4 * CHANCE_COST


class RunStatus(StrEnum):
    READY = "ready"  # created, no batch trained yet
    RUNNING = "running"
    DONE = "done"  # every epoch trained
    STOPPED = "stopped"  # ended early on request
    DIVERGED = "diverged"  # the cost blew up; the last good parameters are kept
    UPLOADED = "uploaded"  # a model file, not trained in this session
    FAILED = "failed"  # ended early because its workers failed; what it trained is kept

    @property
    def finished(self) -> bool:
        return self is not RunStatus.READY and self is not RunStatus.RUNNING


@dataclass(frozen=True)
class ChunkStats:
    """Progress within an epoch, after a chunk of batches."""

    epoch: int  # 1-based epoch in progress
    batches_done: int  # batches finished in this epoch
    batches_per_epoch: int
    batch_cost: float  # mean cost of the chunk's batches (each measured before its step)
    total_batches_done: int  # over the whole run
    total_batches: int
    train_seconds: float  # cumulative training time, evaluation excluded


@dataclass(frozen=True)
class EpochStats:
    epoch: int  # 1-based
    train_cost: float  # on the training set after the epoch (all of it, or ``train_sample`` images)
    test_cost: float
    train_accuracy: float  # fraction correct
    test_accuracy: float
    train_seconds: float  # cumulative training time, evaluation excluded
    epoch_seconds: float  # this epoch's training time alone
    eval_seconds: float  # time spent evaluating after this epoch
    train_sample: int | None = None  # training images the train figures were measured on; None: all
    health: Health | None = None  # saturation, gradient norms, distinct units, weight quantiles
    validation_cost: float | None = None  # on the held-out validation images (early stopping only)
    validation_accuracy: float | None = None
    l2_penalty: float = 0.0  # lambda/2 * sum of squared weights after the epoch (in the batch costs, not here)
    # With label noise the train figures are on the noisy labels trained on; this is on the true ones.
    train_accuracy_true: float | None = None


@dataclass(frozen=True)
class Diverged:
    epoch: int  # 1-based
    batch: int  # 1-based batch within the epoch
    cost: float  # the cost that gave it away (may be inf or nan)
    learning_rate: float

    @property
    def message(self) -> str:
        cost = "not a number" if math.isnan(self.cost) else f"{self.cost:.3g}"
        return (
            f"Training diverged at epoch {self.epoch}, batch {self.batch} (cost {cost}, far above chance"
            f" level {CHANCE_COST:.2f}). Lower the learning rate (it was {self.learning_rate:g}); the"
            " model keeps its last good parameters."
        )


Event = ChunkStats | EpochStats | Diverged

@dataclass(frozen=True, eq=False)
class PendingEpoch:
    """An epoch trained whose evaluation runs elsewhere, beside the next epoch's training."""

    epoch: int  # 1-based
    params: np.ndarray  # the parameters at the epoch's end, copied
    grad_norm: np.ndarray  # the epoch's mean gradient norms, per weight matrix
    train_seconds: float
    epoch_seconds: float


def diverges(cost: float, first_cost: float) -> bool:
    """A cost that shows divergence: not finite, or above ``DIVERGENCE_COST`` and twice the run's first
    batch cost. A run can start far above chance (N(0, 1) weights give confident wrong guesses, cost
    about 10) and still learn; it diverges when it climbs well above where it began."""
    return not math.isfinite(cost) or cost > max(DIVERGENCE_COST, 2 * first_cost)
