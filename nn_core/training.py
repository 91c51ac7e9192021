"""The one training loop, for the CLI, the app and the benchmarks.

``Trainer`` holds a run's whole state (model, optimizer, shuffle, position, buffers), so a caller
can advance it a chunk at a time and stop it between chunks, keeping the parameters trained so far.
Progress is reported as data (``ChunkStats``, ``EpochStats``, ``Diverged``), never printed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from . import health, optim, schedules, snapshots, trainset
from .data import Mnist
from .evaluation import blas_threads, evaluate
from .model import Model, Workspace, forward_backward, layout
from .settings import BY_NAME, FULL_BATCH, Hyperparams
from .snapshots import Snapshot

if TYPE_CHECKING:
    from .handwriting import TrainingMix

CHANCE_COST = math.log(10)  # cross-entropy of a uniform guess over 10 digits
# A batch cost this far above chance means the run has left the basin for good. With a stable
# softmax the cost rarely becomes NaN (lr 1000 sits at a finite ~62), so a finite but huge cost
# is divergence too. Runs that still learn (sigmoid at lr 50) peak below 6; lr 1000 passes 90.
DIVERGENCE_COST = 4 * CHANCE_COST
# Rows of one forward/backward pass. A larger batch (up to the full 60,000 of the post's Part 1) is
# computed in passes of this many rows whose gradients are summed, so memory stays bounded.
PASS_ROWS = 4096


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
    health: health.Health | None = None  # saturation, gradient norms, distinct units, weight quantiles
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


CHANGEABLE = ("learning_rate", "momentum")  # the settings a run takes new values of while it trains


@dataclass(frozen=True)
class Change:
    """A setting given a new value while the run trained, from batch ``batch`` on (the number of
    batches trained before it applied). A run given the changes a live run recorded replays it to the bit."""

    batch: int
    name: str  # one of CHANGEABLE
    value: float

    def check(self) -> "Change":
        if self.name not in CHANGEABLE:
            raise ValueError(f"only {' and '.join(CHANGEABLE)} can change during a run, not {self.name!r}")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 0:
            raise ValueError(f"a change applies from a batch number >= 0, got {self.batch!r}")
        BY_NAME[self.name].check(self.value)
        return self

    def describe(self, before: float, batches_per_epoch: int) -> str:
        """E.g. "learning rate 4 → 0.5 at epoch 2.4" (epochs trained, to a tenth)."""
        label = {"learning_rate": "learning rate", "momentum": "momentum"}[self.name]
        return f"{label} {before:g} → {self.value:g} at epoch {self.batch / batches_per_epoch:.1f}"


def describe_changes(hparams: Hyperparams, changes, batches_per_epoch: int) -> list[str]:
    """Each change of a run in words, from the value it replaced."""
    current = {name: getattr(hparams, name) for name in CHANGEABLE}
    words = []
    for change in changes:
        words.append(change.describe(current[change.name], batches_per_epoch))
        current[change.name] = change.value
    return words


@dataclass(eq=False)
class RunResult:
    """What is kept of a run once it ends: small enough to keep many per session."""

    hparams: Hyperparams
    model: Model
    epochs: list[EpochStats]  # one entry per completed epoch
    batch_costs: np.ndarray  # (batches done,) float32, each batch's cost before its step
    batches_per_epoch: int
    status: RunStatus
    diverged: Diverged | None = None
    train_seconds: float = 0.0
    note: str | None = None  # why a failed run ended
    origin: str | None = None  # what the run started from, if not a fresh model (a fine-tuning's base)
    best_epoch: int | None = None  # early stopping: the epoch whose parameters the model holds
    stopped_early: bool = False  # early stopping ended the run before its last epoch
    changes: tuple = ()  # Change: learning rate or momentum changed while it trained
    # Snapshot: the parameters before training and at each kept epoch's end (float16, bounded: see
    # nn_core.snapshots); a session keeps them only for its latest runs, () once dropped.
    snapshots: tuple = ()

    def describe_changes(self) -> list[str]:
        return describe_changes(self.hparams, self.changes, self.batches_per_epoch)

    @property
    def final(self) -> EpochStats | None:
        """The figures of the model kept: the last epoch's, or with early stopping the best epoch's."""
        if not self.epochs:
            return None
        return self.epochs[self.best_epoch - 1] if self.best_epoch else self.epochs[-1]

    def metrics(self) -> dict:
        """Final figures as plain numbers (saved with the model)."""
        last = self.final
        if last is None:
            return {"train_seconds": self.train_seconds, "epochs_trained": 0}
        return {"test_accuracy": last.test_accuracy, "test_cost": last.test_cost,
                "train_accuracy": last.train_accuracy, "train_cost": last.train_cost,
                "train_seconds": self.train_seconds, "epochs_trained": last.epoch}


def _fixed_sample(n: int, size: int) -> np.ndarray:
    """``size`` of ``n`` row indices, sorted: the same for every run and epoch (its own seed)."""
    return np.sort(np.random.default_rng(0).choice(n, size, replace=False))


class Position:
    """Where a run stands, from its ``epoch``, ``batch``, ``batches_per_epoch`` and ``status``."""

    @property
    def total_batches_done(self) -> int:
        return self.epoch * self.batches_per_epoch + self.batch

    @property
    def finished(self) -> bool:
        return self.status.finished


@dataclass(eq=False)
class RunState(Position):
    """Everything a run needs to go on, and nothing more: plain arrays and numbers, so it can be sent
    to another process or machine and back (``Trainer.state`` / ``Trainer.resume``)."""

    hparams: Hyperparams
    batches_per_epoch: int
    params: np.ndarray  # Model.flat
    optimizer_state: dict  # the optimizer's arrays (momentum's V, Adam's M, V and t ...), copied
    last_good: np.ndarray  # parameters that last gave a sane batch cost
    rng: dict  # the bit generator's state
    permutation: np.ndarray | None  # this epoch's shuffle, None between epochs
    epoch: int
    batch: int
    batch_costs: np.ndarray  # (total_batches,) NaN where not trained yet
    epochs: list
    status: "RunStatus"
    diverged: "Diverged | None"
    train_seconds: float
    grad_norm_sum: np.ndarray | None = None  # this epoch's summed gradient norms, per weight matrix
    mix: "TrainingMix | None" = None  # the run's own training set, if not MNIST's
    streams: dict | None = None  # the extra generators' states (dropout, augmentation), by name
    best: tuple | None = None  # early stopping: (best epoch, its validation cost, its parameters)
    stopped_early: bool = False
    changes: tuple = ()  # Change, in order: the learning rate and momentum changed while it trained
    pending: tuple = ()  # PendingEpoch: epochs trained, not yet evaluated (see Trainer.end_epoch)
    # Snapshot: the parameters at the kept epochs' ends. A job's chunk is sent without them and returns
    # only the ones it made, which the run adds to its own (so they never travel twice).
    snapshots: tuple = ()

    def with_changes(self, requested: list[tuple[str, float]]) -> "RunState":
        """This state with new values of changeable settings that apply from its next batch."""
        added = tuple(Change(self.total_batches_done, name, value).check() for name, value in requested)
        return replace(self, changes=self.changes + added)

    def outline(self) -> dict:
        """The run so far, copied, as the fields ``RunResult`` and a progress snapshot share."""
        return {"hparams": self.hparams, "epochs": list(self.epochs), "status": self.status,
                "batch_costs": self.batch_costs[: self.total_batches_done].copy(),
                "batches_per_epoch": self.batches_per_epoch, "diverged": self.diverged,
                "train_seconds": self.train_seconds, "changes": self.changes}

    def result(self) -> RunResult:
        """What is kept of the run (its model a copy of the parameters)."""
        hp = self.hparams
        return RunResult(model=Model(self.params.copy(), hp.hidden_units, hp.activation, hp.layers),
                         best_epoch=self.best[0] if self.best else None, stopped_early=self.stopped_early,
                         snapshots=self.snapshots, **self.outline())

    def stopped(self, status: RunStatus = RunStatus.STOPPED) -> "RunState":
        """This state, ended on request or by a failure (unless it had ended already)."""
        return self if self.finished else replace(self, status=status)


def _bad(cost: float, first_cost: float) -> bool:
    """A cost that shows divergence: not finite, or above ``DIVERGENCE_COST`` and twice the run's first
    batch cost. A run can start far above chance (N(0, 1) weights give confident wrong guesses, cost
    about 10) and still learn; it diverges when it climbs well above where it began."""
    return not math.isfinite(cost) or cost > max(DIVERGENCE_COST, 2 * first_cost)


@dataclass
class _Chunk:
    """Batches trained since the last ChunkStats, and the call's budget."""

    max_batches: int | None
    deadline: float | None  # perf_counter time
    batches: int = 0
    cost: float = 0.0

    def add(self, cost: float) -> None:
        self.batches += 1
        self.cost += cost

    def spent(self, batches_this_call: int) -> bool:
        return ((self.max_batches is not None and batches_this_call >= self.max_batches)
                or (self.deadline is not None and time.perf_counter() >= self.deadline))


@dataclass(eq=False)
class Trainer(Position):
    """A training run that can be advanced in chunks, stopped, and inspected between chunks.

    ``data`` is shared and only read: each batch is gathered from it into this run's buffers.
    ``initial``, if given, is the model to start from (copied; same width, activation and depth as
    the settings), instead of the random initialisation the settings name. ``threads``: BLAS threads while it runs.
    ``train_sample``: after each epoch but the last, the training cost and accuracy are measured on
    this many training images (a fixed sample) instead of all of them; None: always all (the post's
    figures). The test set and the last epoch are always measured whole. ``mix``: a training set of
    the run's own (a fine-tuning's: an MNIST sample and your drawings), made from ``data``.
    """

    data: Mnist
    hparams: Hyperparams = field(default_factory=Hyperparams)
    initial: Model | None = None
    threads: int | None = 1
    train_sample: int | None = None
    mix: "TrainingMix | None" = None
    changes: tuple = ()  # Change: new learning rates and momenta from given batches on (a replay)
    defer_evaluation: bool = False  # epochs' figures computed elsewhere (see end_epoch)

    def __post_init__(self):
        hp = self.hparams.validate()
        self.changes = tuple(change.check() for change in self.changes)
        if any(a.batch > b.batch for a, b in zip(self.changes, self.changes[1:])):
            raise ValueError("a run's changes must come in the order of their batches")
        self._changes_applied = 0  # how many of self.changes are in effect
        self._in_effect = {name: getattr(hp, name) for name in CHANGEABLE}  # the settings', or as changed
        self.pending: list[PendingEpoch] = []  # epochs trained whose evaluation is deferred
        if self.mix is not None:
            self.data = self.mix.apply(self.data)
        self.rng = np.random.default_rng(hp.seed)
        self.model = self._starting_model()
        self.optimizer = optim.for_settings(self.model.flat.size, hp.learning_rate, hp.momentum, hp.optimizer)
        self._pass_rows = min(hp.batch_size, PASS_ROWS)
        self.workspace = Workspace(hp.hidden_units, self._pass_rows, layers=hp.layers)
        # Where each weight matrix sits in the flat vectors, for its gradient's norm.
        offsets = np.cumsum([0] + [int(np.prod(shape)) for _, shape in layout(hp.hidden_units, hp.layers)])
        self._weight_slices = [slice(offsets[k], offsets[k + 1]) for k in range(0, 2 * (hp.layers + 1), 2)]
        self._grad_norm_sum = np.zeros(hp.layers + 1)
        self._health_sample = None  # float images the health is measured on, made at the first epoch's end
        # A batch larger than one pass sums its passes' gradients here.
        self._grad_sum = np.empty_like(self.workspace.grad) if hp.batch_size > self._pass_rows else None
        self.update = self.workspace.grad  # what the last step subtracted from the parameters
        self._masks = None
        if hp.dropout:  # dropout's masks, (pass rows, H) per hidden layer: 0, or 1 / keep
            self.workspace.use_dropout()
            self._masks = [np.empty((self._pass_rows, hp.hidden_units), np.float32) for _ in range(hp.layers)]
        self.last_good = self.model.flat.copy()  # parameters that last gave a sane batch cost
        n, pixels = self.data.train_images.shape
        # The run's own training rows, labels and validation rows, when not the whole set as published.
        self.split = trainset.split(self.data.train_labels, hp.train_size if hp.train_size < FULL_BATCH else n,
                                    hp.label_noise, hp.early_stop, hp.seed)
        self.samples = n if self.split is None else len(self.split.train_rows)
        self.streams = {}  # extra randomness, each its own generator: the main one draws as without them
        if hp.dropout:
            self.streams["dropout"] = trainset.stream(hp.seed, trainset.DROPOUT_STREAM)
        if hp.augment == "on":
            self.streams["augment"] = trainset.stream(hp.seed, trainset.AUGMENT_STREAM)
        self.best: tuple | None = None  # early stopping: (epoch, validation cost, parameters)
        self.stopped_early = False
        self.batches_per_epoch = -(-self.samples // hp.batch_size)  # ceil: the last batch is partial, none dropped
        self.total_batches = self.batches_per_epoch * hp.epochs
        # The batch as the network reads it, (B, 784) float32. uint8 pixels are gathered into their own
        # buffer and only cast (0-255); the 1/255 is applied to X W1 (input_scale). A batch larger than a
        # pass stays gathered as stored, and each pass is cast into the pass-sized float buffer.
        images = self.data.train_images
        self._inputs = np.empty((self._pass_rows, pixels), np.float32)
        same = images.dtype == np.float32 and hp.batch_size == self._pass_rows
        self._gathered = self._inputs if same else np.empty((hp.batch_size, pixels), images.dtype)
        self._input_scale = 1 / 255 if images.dtype == np.uint8 else 1.0
        self._labels = np.empty(hp.batch_size, self.data.train_labels.dtype)
        self.batch_costs = np.full(self.total_batches, np.nan, np.float32)  # every batch, for charts
        self.epochs: list[EpochStats] = []
        self.diverged: Diverged | None = None
        self.status = RunStatus.READY
        self.epoch = 0  # epochs completed
        self.batch = 0  # batches completed in the current epoch
        self.train_seconds = 0.0
        self._permutation = None
        self._snapshot_stride = snapshots.stride(hp.hidden_units, hp.layers, hp.epochs)
        self.snapshots: list[Snapshot] = [Snapshot.of(0, self.model.flat)]  # before training; see end_epoch

    def _starting_model(self) -> Model:
        hp = self.hparams
        if self.initial is None:
            return Model.initialize(hp.hidden_units, self.rng, hp.activation, layers=hp.layers, init=hp.init)
        if self.initial.shape_key != (hp.hidden_units, hp.activation, hp.layers):
            raise ValueError(f"the starting model has {self.initial.describe()}, the settings ask for "
                             f"{hp.hidden_units} {hp.activation} units in {hp.layers} layer(s)")
        return Model(self.initial.flat.astype(np.float32, copy=True), hp.hidden_units, hp.activation, hp.layers)

    def state(self) -> RunState:
        """The run's state, copied."""
        return RunState(hparams=self.hparams, batches_per_epoch=self.batches_per_epoch, params=self.model.flat.copy(),
                        optimizer_state={name: array.copy() for name, array in self.optimizer.state.items()},
                        grad_norm_sum=self._grad_norm_sum.copy(),
                        streams={name: rng.bit_generator.state for name, rng in self.streams.items()},
                        best=None if self.best is None else (self.best[0], self.best[1], self.best[2].copy()),
                        stopped_early=self.stopped_early, changes=self.changes, pending=tuple(self.pending),
                        snapshots=tuple(self.snapshots),
                        last_good=self.last_good.copy(), rng=self.rng.bit_generator.state,
                        permutation=self._permutation, epoch=self.epoch, batch=self.batch,
                        batch_costs=self.batch_costs.copy(), epochs=list(self.epochs), status=self.status,
                        diverged=self.diverged, train_seconds=self.train_seconds, mix=self.mix)

    @classmethod
    def resume(cls, data: Mnist, state: RunState, threads: int | None = 1, train_sample: int | None = None,
               defer_evaluation: bool = False) -> "Trainer":
        """A trainer that goes on exactly where ``state`` left off (the same bits as never stopping)."""
        trainer = cls(data, state.hparams, threads=threads, train_sample=train_sample, mix=state.mix,
                      defer_evaluation=defer_evaluation)
        np.copyto(trainer.model.flat, state.params)
        for name, array in trainer.optimizer.state.items():
            np.copyto(array, state.optimizer_state[name])
        if state.grad_norm_sum is not None:
            np.copyto(trainer._grad_norm_sum, state.grad_norm_sum)
        for name, rng_state in (state.streams or {}).items():
            trainer.streams[name].bit_generator.state = rng_state
        trainer.best, trainer.stopped_early = state.best, state.stopped_early
        trainer.changes = state.changes
        trainer._apply_changes()
        trainer.pending = list(state.pending)
        trainer.snapshots = list(state.snapshots)
        np.copyto(trainer.last_good, state.last_good)
        np.copyto(trainer.batch_costs, state.batch_costs)
        trainer.rng.bit_generator.state = state.rng
        trainer._permutation = state.permutation
        trainer.epoch, trainer.batch, trainer.epochs = state.epoch, state.batch, list(state.epochs)
        trainer.status, trainer.diverged, trainer.train_seconds = state.status, state.diverged, state.train_seconds
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
        events: list[Event] = []
        chunk = _Chunk(max_batches, None if max_seconds is None else time.perf_counter() + max_seconds)
        done = 0
        # Overflow in exp or matmul at a diverging learning rate is detected from the cost; NumPy's
        # warnings would only repeat it noisily.
        with np.errstate(all="ignore"), blas_threads(self.threads):
            while True:
                started = time.perf_counter()
                cost = self.step(*self.next_batch())
                self.train_seconds += time.perf_counter() - started
                if self.finished:  # diverged
                    return events + [self.diverged]
                chunk.add(cost)
                done += 1
                epoch_end = self.epoch_complete
                if epoch_end or chunk.spent(done):
                    events.append(self._chunk_stats(chunk))
                    chunk.batches, chunk.cost = 0, 0.0
                    if epoch_end:
                        if (ended := self.end_epoch()) is not None:  # None: its evaluation is deferred
                            events.append(ended)
                        if self.finished:
                            return events
                    if chunk.spent(done):
                        return events

    @property
    def epoch_complete(self) -> bool:
        """Every batch of this epoch is trained: ``end_epoch`` is due before the next batch."""
        return self.batch == self.batches_per_epoch

    @property
    def input_scale(self) -> float:
        """What ``next_batch``'s X is multiplied by before the network reads it (1/255 for uint8 data)."""
        return self._input_scale

    def next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The next mini-batch of this epoch's shuffle, in the run's buffers: X (m, 784) float32 as
        the data stores it (0-255 for uint8 data), y (m,) labels. A new shuffle starts each epoch.
        A batch larger than ``PASS_ROWS`` comes as the data stores it (uint8), not cast."""
        hp = self.hparams
        if self.batch == 0 and self._permutation is None:
            self._permutation = self.rng.permutation(self.samples)
        begin = self.batch * hp.batch_size
        index = self._permutation[begin : begin + hp.batch_size]  # positions in the run's training set
        labels = self.data.train_labels
        if self.split is not None:  # positions to rows of the data, and the run's own labels
            labels = self.split.train_labels
            np.take(labels, index, out=self._labels[: len(index)], mode="clip")
            index = self.split.train_rows[index]
        m = len(index)
        X, gathered = self._inputs[:m], self._gathered[:m]
        np.take(self.data.train_images, index, axis=0, out=gathered, mode="clip")
        if m > self._pass_rows:
            X = gathered  # cast pass by pass in step
        elif self._gathered is not self._inputs:
            np.copyto(X, gathered, casting="unsafe")  # uint8 -> float32, a cast only
        y = self._labels[:m]
        if self.split is None:
            np.take(labels, index, out=y, mode="clip")
        if "augment" in self.streams and m <= self._pass_rows:
            trainset.augment(X, self.streams["augment"])
        return X, y

    def change(self, name: str, value: float) -> Change:
        """Give ``name`` (learning rate or momentum) a new value from the next batch on; it is
        recorded in ``changes``, so that the run can be replayed."""
        change = Change(self.total_batches_done, name, value).check()
        self.changes += (change,)
        self._apply_changes()
        return change

    def _apply_changes(self) -> None:
        """Configure the optimizer with every change due by now (from the settings' values on)."""
        due = sum(1 for change in self.changes if change.batch <= self.total_batches_done)
        if due == self._changes_applied:
            return
        values = {name: getattr(self.hparams, name) for name in CHANGEABLE}
        for change in self.changes[:due]:
            values[change.name] = change.value
        self.optimizer.configure(values["learning_rate"], values["momentum"])
        self._in_effect = values  # the rate a schedule multiplies
        self._changes_applied = due

    def _apply_schedule(self) -> None:
        """The schedule's rate for the next batch: its factor times the rate in effect."""
        hp = self.hparams
        scale = schedules.factor(hp.schedule, self.total_batches_done, self.batches_per_epoch, self.total_batches,
                                 hp.lr_decay, hp.step_epochs, hp.warmup)
        self.optimizer.configure(self._in_effect["learning_rate"] * scale, self._in_effect["momentum"])

    @property
    def learning_rate(self) -> float:
        """The learning rate in effect (the settings', unless changed during the run)."""
        return self.optimizer.learning_rate

    def step(self, X: np.ndarray, y: np.ndarray) -> float:
        """One gradient step on a batch; returns its cost, measured before the step. A cost that
        shows divergence ends the run instead, with the last good parameters restored."""
        if len(self.changes) > self._changes_applied:
            self._apply_changes()
        if self.hparams.schedule != "constant":
            self._apply_schedule()
        grad_scale = self.optimizer.grad_scale
        if len(X) <= self._pass_rows:
            cost = forward_backward(self.model, X, y, self.workspace, self._input_scale, grad_scale,
                                    self._dropout_masks(len(X)))
            grad = self.workspace.grad
        else:
            cost, grad = self._passes(X, y, grad_scale), self._grad_sum
        if self.hparams.l2:
            cost += self._add_l2(grad, grad_scale)
        if _bad(cost, self.first_cost(cost)):
            self._diverge(cost)
            return cost
        for k, weights in enumerate(self._weight_slices):  # the health's gradient norms
            self._grad_norm_sum[k] += math.sqrt(float(np.vdot(grad[weights], grad[weights]))) / grad_scale
        np.copyto(self.last_good, self.model.flat)
        self.optimizer.step(self.model.flat, grad)
        self.update = grad
        self.batch_costs[self.total_batches_done] = cost
        self.batch += 1
        return cost

    def first_cost(self, cost: float) -> float:
        """The run's first batch cost (``cost`` itself before any batch): what divergence is judged from."""
        return float(self.batch_costs[0]) if self.total_batches_done else cost

    def _passes(self, X: np.ndarray, y: np.ndarray, grad_scale: float) -> float:
        """A batch too large for one pass: its mean cost, and its gradient (times ``grad_scale``) summed
        over passes of ``PASS_ROWS`` rows into ``_grad_sum``."""
        m, cost = len(X), 0.0
        self._grad_sum.fill(0)
        for begin in range(0, m, self._pass_rows):
            rows = slice(begin, begin + self._pass_rows)
            part = self._inputs[: len(X[rows])]
            np.copyto(part, X[rows], casting="unsafe")
            if "augment" in self.streams:
                trainset.augment(part, self.streams["augment"])
            share = len(part) / m  # each pass's mean, weighted by its share of the batch
            cost += share * forward_backward(self.model, part, y[rows], self.workspace, self._input_scale,
                                             grad_scale * share, self._dropout_masks(len(part)))
            self._grad_sum += self.workspace.grad
        return cost

    def _dropout_masks(self, m: int) -> list[np.ndarray] | None:
        """This batch's dropout masks (m, H) per hidden layer, 0 or 1 / keep; None without dropout."""
        if self._masks is None:
            return None
        keep = np.float32(1 - self.hparams.dropout)
        masks = [mask[:m] for mask in self._masks]
        for mask in masks:
            self.streams["dropout"].random(out=mask, dtype=np.float32)
            np.less(mask, keep, out=mask)  # 1.0 where kept
            mask /= keep  # inverted dropout: evaluation needs no rescaling
        return masks

    def l2_penalty(self, flat: np.ndarray | None = None) -> float:
        """lambda/2 times the sum of every squared weight (biases excluded), of the model or ``flat``."""
        flat = self.model.flat if flat is None else flat
        return 0.5 * self.hparams.l2 * sum(float(np.vdot(flat[w], flat[w])) for w in self._weight_slices)

    def _add_l2(self, grad: np.ndarray, grad_scale: float) -> float:
        """Add the penalty's gradient, lambda W (times ``grad_scale``), to ``grad``; return the penalty."""
        flat, factor = self.model.flat, np.float32(self.hparams.l2 * grad_scale)
        for weights in self._weight_slices:
            grad[weights] += factor * flat[weights]
        return self.l2_penalty()

    def _chunk_stats(self, chunk: _Chunk) -> ChunkStats:
        return ChunkStats(epoch=self.epoch + 1, batches_done=self.batch, batches_per_epoch=self.batches_per_epoch,
                          batch_cost=chunk.cost / chunk.batches, total_batches_done=self.total_batches_done,
                          total_batches=self.total_batches, train_seconds=self.train_seconds)

    def end_epoch(self) -> EpochStats | Diverged | None:
        """Evaluate the finished epoch and move on to the next (a new shuffle), as ``run`` does when
        ``epoch_complete``; a caller stepping with ``next_batch``/``step`` itself calls it then.

        With ``defer_evaluation`` (and unless it is the last epoch, or early stopping needs the
        figures now) the epoch's parameters are kept in ``pending`` instead, for ``evaluate_pending``
        elsewhere, and None is returned: the same figures, computed beside the next epoch's training."""
        before = [e.train_seconds for e in self.epochs[-1:]] + [p.train_seconds for p in self.pending[-1:]]
        epoch_seconds = self.train_seconds - max(before, default=0.0)
        grad_norm = self._grad_norm_sum / max(self.batch, 1)
        self._grad_norm_sum[:] = 0
        last = self.epoch + 1 == self.hparams.epochs
        validating = self.split is not None and self.split.validation_rows is not None
        if self.defer_evaluation and not last and not validating:
            self.pending.append(PendingEpoch(self.epoch + 1, self.model.flat.copy(), grad_norm, self.train_seconds,
                                             epoch_seconds))
            self._keep_snapshot(Snapshot.of(self.epoch + 1, self.model.flat))
            self._next_epoch()
            return None
        stats = self._measure(self.model, self.epoch + 1, grad_norm, self.train_seconds, epoch_seconds)
        if _bad(stats.train_cost, self.first_cost(stats.train_cost)):
            return self._diverge(stats.train_cost)
        self.epochs.append(stats)
        snapshot = Snapshot.of(self.epoch + 1, self.model.flat)  # before early stopping may restore the best
        self._next_epoch()
        if stats.validation_cost is not None:
            self._early_stopping(stats.validation_cost)
        self._keep_snapshot(snapshot)
        if self.epoch == self.hparams.epochs:
            self.status = RunStatus.DONE
            if self.best is not None and self.best[0] != self.epoch:
                np.copyto(self.model.flat, self.best[2])  # the best epoch's parameters are the model
        return stats

    def _keep_snapshot(self, snapshot: Snapshot) -> None:
        """Keep an epoch's parameters if the run keeps that epoch, or it was the run's last (early stopping)."""
        if snapshots.keeps(snapshot.epoch, self.hparams.epochs, self._snapshot_stride) or self.finished:
            self.snapshots.append(snapshot)

    def _next_epoch(self) -> None:
        self.epoch += 1
        self.batch = 0
        self._permutation = None

    def evaluate_pending(self, pending: "PendingEpoch") -> EpochStats:
        """The figures of an epoch whose evaluation was deferred (on any Trainer of the same run's
        settings and data): the same numbers ``end_epoch`` would have given."""
        hp = self.hparams
        model = Model(pending.params, hp.hidden_units, hp.activation, hp.layers)
        with np.errstate(all="ignore"):
            return self._measure(model, pending.epoch, pending.grad_norm, pending.train_seconds, pending.epoch_seconds)

    def _measure(self, model: Model, epoch: int, grad_norm: np.ndarray, train_seconds: float,
                 epoch_seconds: float) -> EpochStats:
        """An epoch's figures for ``model``: train (on the sample, or all after the last epoch), test,
        validation, the labels' truth under noise, and the network's health."""
        eval_start = time.perf_counter()
        data = self.data
        last = epoch == self.hparams.epochs
        sample = None if last or self.train_sample is None or self.train_sample >= self.samples else self.train_sample
        positions = slice(None) if sample is None else _fixed_sample(self.samples, sample)
        train_images, train_labels = self._training_set(positions)
        train_cost, train_accuracy = evaluate(model, train_images, train_labels, threads=self.threads)
        test_cost, test_accuracy = evaluate(model, data.test_images, data.test_labels, threads=self.threads)
        train_accuracy_true = None
        if self.split is not None and self.split.noisy:  # the same images, against their true labels
            true_labels = data.train_labels[self.split.train_rows[positions]]
            train_accuracy_true = evaluate(model, train_images, true_labels, threads=self.threads)[1]
        validation_cost = validation_accuracy = None
        if self.split is not None and self.split.validation_rows is not None:
            rows = self.split.validation_rows
            validation_cost, validation_accuracy = evaluate(model, data.train_images[rows], data.train_labels[rows],
                                                            threads=self.threads)
        state = health.measure(model, self.health_sample(), grad_norm)
        return EpochStats(
            epoch=epoch, train_cost=train_cost, test_cost=test_cost, train_accuracy=train_accuracy,
            test_accuracy=test_accuracy, train_seconds=train_seconds, epoch_seconds=epoch_seconds,
            eval_seconds=time.perf_counter() - eval_start, train_sample=sample, health=state,
            validation_cost=validation_cost, validation_accuracy=validation_accuracy,
            train_accuracy_true=train_accuracy_true, l2_penalty=self.l2_penalty(model.flat) if self.hparams.l2 else 0.0)

    def _early_stopping(self, validation_cost: float) -> None:
        """Keep the best epoch's parameters; end the run once ``early_stop`` epochs have not improved."""
        if self.best is None or validation_cost < self.best[1]:
            self.best = (self.epoch, validation_cost, self.model.flat.copy())
        elif self.epoch - self.best[0] >= self.hparams.early_stop and self.epoch < self.hparams.epochs:
            np.copyto(self.model.flat, self.best[2])
            self.stopped_early = True
            self.status = RunStatus.DONE

    def _training_set(self, positions) -> tuple[np.ndarray, np.ndarray]:
        """Images and labels (the run's own, noisy ones included) at ``positions`` of its training set."""
        if self.split is None:
            return self.data.train_images[positions], self.data.train_labels[positions]
        return (self.data.train_images[self.split.train_rows[positions]], self.split.train_labels[positions])

    def health_sample(self) -> np.ndarray:
        """The fixed training images (float, in [0, 1]) the health's saturation is measured on."""
        if self._health_sample is None:
            images, _ = self._training_set(_fixed_sample(self.samples, min(health.SAMPLE, self.samples)))
            self._health_sample = images.astype(np.float32) * np.float32(self._input_scale)
        return self._health_sample

    def _diverge(self, cost: float) -> Diverged:
        np.copyto(self.model.flat, self.last_good)
        batch = self.batch + 1 if self.batch < self.batches_per_epoch else self.batch
        self.diverged = Diverged(epoch=self.epoch + 1, batch=batch, cost=float(cost),
                                 learning_rate=self.learning_rate)
        self.status = RunStatus.DIVERGED
        return self.diverged
