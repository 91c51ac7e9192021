"""The one training loop, for the CLI, the app and the benchmarks.

``Trainer`` holds a run's whole state, so a caller can advance it a chunk at a time and stop it between
chunks, keeping the parameters trained so far. The loop itself only steps, ends epochs and keeps the
position; each concern is a component (``nn_core.components``) whose hooks it calls in order, and whose
part of ``RunState`` it asks for and gives back. Progress is reported as data, never printed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import optim
from .components.base import Component
from .components.batches import PASS_ROWS, Batches
from .components.changes import MidRunChanges
from .components.divergence import DivergenceGuard
from .components.early_stopping import EarlyStopping
from .components.evaluator import EpochEvaluator
from .components.gradient import Gradient
from .components.health_monitor import HealthMonitor
from .components.regularizers import L2, Dropout
from .components.schedule import LearningRateSchedule
from .components.snapshot_keeper import SnapshotKeeper
from .data import Mnist
from .evaluation import blas_threads
from .model import Model
from .run_events import (CHANCE_COST, DIVERGENCE_COST, ChunkStats, Diverged, EpochStats, Event, PendingEpoch,
                         RunStatus)
from .run_state import CHANGEABLE, Change, Position, RunResult, RunState, describe_changes
from .settings import Hyperparams
from .trainer_views import TrainerViews

if TYPE_CHECKING:
    from .handwriting import TrainingMix

__all__ = ["CHANCE_COST", "CHANGEABLE", "DIVERGENCE_COST", "PASS_ROWS", "Change", "ChunkStats", "Diverged",
           "EpochStats", "Event", "PendingEpoch", "RunResult", "RunState", "RunStatus", "Trainer",
           "describe_changes"]


@dataclass
class _Chunk:
    """One ``run`` call: its budget, its events, and the batches trained since the last ChunkStats."""

    max_batches: int | None
    deadline: float | None  # perf_counter time
    events: list = field(default_factory=list)
    done: int = 0  # batches trained in this call
    batches: int = 0
    cost: float = 0.0

    def add(self, cost: float) -> None:
        self.done += 1
        self.batches += 1
        self.cost += cost

    def spent(self) -> bool:
        return ((self.max_batches is not None and self.done >= self.max_batches)
                or (self.deadline is not None and time.perf_counter() >= self.deadline))

    def report(self, run: "Trainer") -> None:
        """A ChunkStats of the batches since the last one."""
        self.events.append(ChunkStats(
            epoch=run.epoch + 1, batches_done=run.batch, batches_per_epoch=run.batches_per_epoch,
            batch_cost=self.cost / self.batches, total_batches_done=run.total_batches_done,
            total_batches=run.total_batches, train_seconds=run.train_seconds))
        self.batches, self.cost = 0, 0.0


def _build(run: "Trainer", hp: Hyperparams) -> list[Component]:
    """The run's components, in the order their hooks run: the one place a new concern is added."""
    run.mid_run = MidRunChanges(hp, run.changes, run.optimizer)
    schedule = LearningRateSchedule(hp, run.mid_run, run.optimizer) if hp.schedule != "constant" else None
    run.batches = Batches(run.data, hp, run.rng, run.streams)
    dropout = Dropout(hp, run.batches.pass_rows, run.streams) if hp.dropout else None
    run.gradient = Gradient(run.batches, hp, lambda m: dropout and dropout.masks(m))
    if dropout:
        run.gradient.workspace.use_dropout()
    run.l2 = L2(hp) if hp.l2 else None
    run.guard = DivergenceGuard(run.model.flat)
    run.health = HealthMonitor(hp.hidden_units, hp.layers)
    run.evaluator = EpochEvaluator(hp, run.batches, run.threads, run.train_sample, run.defer_evaluation,
                                   run.l2 and run.l2.penalty)
    run.early_stopping = EarlyStopping(hp.early_stop, hp.epochs)
    run.keeper = SnapshotKeeper(hp, run.model.flat)
    parts = [run.mid_run, schedule, run.batches, dropout, run.l2, run.guard, run.health, run.evaluator,
             run.early_stopping, run.keeper]
    return [part for part in parts if part is not None]


@dataclass(eq=False)
class Trainer(TrainerViews, Position):
    """A training run that can be advanced in chunks, stopped, and inspected between chunks.

    ``data`` is shared and only read: each batch is gathered from it into this run's buffers.
    ``initial``, if given, is the model to start from (copied; same width, activation and depth as
    the settings), instead of the random initialisation the settings name. ``threads``: BLAS threads while it runs.
    ``train_sample``: after each epoch but the last, the training cost and accuracy are measured on
    this many training images (a fixed sample) instead of all of them; None: always all (the post's
    figures). The test set and the last epoch are always measured whole. ``mix``: a training set of
    the run's own (a fine-tuning's: an MNIST sample and your drawings), made from ``data``.
    ``changes``: new learning rates and momenta from given batches on (a replay). ``defer_evaluation``:
    epochs' figures computed elsewhere (see ``end_epoch``).
    """

    data: Mnist
    hparams: Hyperparams = field(default_factory=Hyperparams)
    initial: Model | None = None
    threads: int | None = 1
    train_sample: int | None = None
    mix: "TrainingMix | None" = None
    changes: tuple = ()
    defer_evaluation: bool = False

    def __post_init__(self):
        hp = self.hparams.validate()
        self.data_key = self.data.key  # the data set's, named in the run's state ("" MNIST)
        self.data = self.data if self.mix is None else self.mix.apply(self.data)
        self.rng = np.random.default_rng(hp.seed)  # the initial weights, then every epoch's shuffle
        self.model = Model.starting(hp, self.initial, self.rng, self.data.n_classes)
        self.optimizer = optim.for_settings(self.model.flat.size, hp.learning_rate, hp.momentum, hp.optimizer)
        self.streams = {}  # extra randomness, each its own generator: the main one draws as without them
        self.parts = _build(self, hp)
        self.update = self.gradient.workspace.grad  # what the last step subtracted from the parameters
        self.batches_per_epoch = -(-self.batches.samples // hp.batch_size)  # ceil: the last batch partial, none dropped
        self.total_batches = self.batches_per_epoch * hp.epochs
        self.batch_costs = np.full(self.total_batches, np.nan, np.float32)  # every batch, for charts
        self.epochs: list[EpochStats] = []
        self.diverged: Diverged | None = None
        self.status = RunStatus.READY
        self.epoch = 0  # epochs completed
        self.batch = 0  # batches completed in the current epoch
        self.train_seconds = 0.0

    def state(self) -> RunState:
        """The run's state, copied: the loop's own, and each component's part."""
        parts = {key: value for part in self.parts for key, value in part.state_dict().items()}
        return RunState.of(hparams=self.hparams, batches_per_epoch=self.batches_per_epoch,
                           params=self.model.flat.copy(),
                           optimizer_state={name: array.copy() for name, array in self.optimizer.state.items()},
                           streams={name: rng.bit_generator.state for name, rng in self.streams.items()},
                           rng=self.rng.bit_generator.state, epoch=self.epoch, batch=self.batch,
                           batch_costs=self.batch_costs.copy(), epochs=list(self.epochs), status=self.status,
                           diverged=self.diverged, train_seconds=self.train_seconds, mix=self.mix,
                           data_key=self.data_key, **parts)

    @classmethod
    def resume(cls, data: Mnist, state: RunState, threads: int | None = 1, train_sample: int | None = None,
               defer_evaluation: bool = False) -> "Trainer":
        """A trainer that goes on exactly where ``state`` left off (the same bits as never stopping), on
        the data set it trained on (``data.key`` is the state's ``data_key``)."""
        if data.key != state.data_key:
            raise ValueError(f"the run trains on data set {state.data_key or 'MNIST'!r}, not on "
                             f"{data.key or 'MNIST'!r}")
        trainer = cls(data, state.hparams, threads=threads, train_sample=train_sample, mix=state.mix,
                      defer_evaluation=defer_evaluation)
        np.copyto(trainer.model.flat, state.params)
        for name, array in trainer.optimizer.state.items():
            np.copyto(array, state.optimizer_state[name])
        for name, rng_state in (state.streams or {}).items():
            trainer.streams[name].bit_generator.state = rng_state
        trainer.rng.bit_generator.state = state.rng
        np.copyto(trainer.batch_costs, state.batch_costs)
        trainer.epoch, trainer.batch, trainer.epochs = state.epoch, state.batch, list(state.epochs)
        trainer.status, trainer.diverged, trainer.train_seconds = state.status, state.diverged, state.train_seconds
        for part in trainer.parts:
            part.load_state_dict(state)
        trainer.changes = trainer.mid_run.changes
        return trainer

    def result(self) -> RunResult:
        """A snapshot of the run without its buffers (the model is copied)."""
        return self.state().result()

    def stop(self) -> None:
        """End the run between chunks; the model keeps the parameters trained so far."""
        if not self.finished:
            self.status = RunStatus.STOPPED

    def run(self, max_batches: int | None = None, max_seconds: float | None = None) -> list[Event]:
        """Train up to ``max_batches`` batches or ``max_seconds`` (whichever comes first, at least
        one batch), evaluating at each epoch's end. Returns the stats of what it did."""
        if self.finished:
            return []
        self.status = RunStatus.RUNNING
        chunk = _Chunk(max_batches, None if max_seconds is None else time.perf_counter() + max_seconds)
        # Overflow in exp or matmul at a diverging learning rate is detected from the cost; NumPy's
        # warnings would only repeat it noisily.
        with np.errstate(all="ignore"), blas_threads(self.threads):
            while True:
                started = time.perf_counter()
                cost = self.step(*self.next_batch())
                self.train_seconds += time.perf_counter() - started
                if self.finished:  # diverged
                    return chunk.events + [self.diverged]
                chunk.add(cost)
                epoch_end = self.epoch_complete
                if epoch_end or chunk.spent():
                    chunk.report(self)
                    if epoch_end:
                        if (ended := self.end_epoch()) is not None:  # None: its evaluation is deferred
                            chunk.events.append(ended)
                        if self.finished:
                            return chunk.events
                    if chunk.spent():
                        return chunk.events

    def next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The next mini-batch of this epoch's shuffle, in the run's buffers: X (m, 784) float32 as
        the data stores it (0-255 for uint8 data), y (m,) labels. A new shuffle starts each epoch.
        A batch larger than ``PASS_ROWS`` comes as the data stores it (uint8), not cast."""
        return self.batches.next_batch(self.batch)

    def step(self, X: np.ndarray, y: np.ndarray) -> float:
        """One gradient step on a batch; returns its cost, measured before the step. A cost that
        shows divergence ends the run instead, with the last good parameters restored."""
        for part in self.parts:
            part.on_batch_start(self)
        grad_scale = self.optimizer.grad_scale
        cost, grad = self.gradient(self.model, X, y, grad_scale)
        for part in self.parts:
            cost = part.on_gradient(self, grad, grad_scale, cost)
            if self.status is RunStatus.DIVERGED:
                return cost
        self.optimizer.step(self.model.flat, grad)
        self.update = grad
        self.batch_costs[self.total_batches_done] = cost
        self.batch += 1
        return cost

    def end_epoch(self) -> EpochStats | Diverged | None:
        """Evaluate the finished epoch and move on to the next (a new shuffle), as ``run`` does when
        ``epoch_complete``; a caller stepping with ``next_batch``/``step`` itself calls it then.

        With ``defer_evaluation`` (and unless it is the last epoch, or early stopping needs the
        figures now) the epoch's parameters are kept in ``pending`` instead, for ``evaluate_pending``
        elsewhere, and None is returned: the same figures, computed beside the next epoch's training."""
        stats = self.evaluator.end_epoch(self, self.health.take(self.batch))
        if stats is not None:
            if self.guard.check(self, stats.train_cost):
                return self.diverged
            self.epochs.append(stats)
        self.epoch, self.batch = self.epoch + 1, 0
        if self.epoch == self.hparams.epochs:
            self.status = RunStatus.DONE
        for part in self.parts:
            part.on_epoch_end(self, stats)
        if self.status is RunStatus.DONE:
            for part in self.parts:
                part.on_train_end(self)
        return stats

    def change(self, name: str, value: float) -> Change:
        """Give ``name`` (learning rate or momentum) a new value from the next batch on; it is
        recorded in ``changes``, so that the run can be replayed."""
        change = self.mid_run.add(self, name, value)
        self.changes = self.mid_run.changes
        return change

    def evaluate_pending(self, pending: PendingEpoch) -> EpochStats:
        """The figures of an epoch whose evaluation was deferred (on any Trainer of the same run's
        settings and data): the same numbers ``end_epoch`` would have given."""
        return self.evaluator.evaluate(pending)
