"""The one training loop, for the CLI, the app and the benchmarks.

``Trainer`` holds a run's whole state (model, optimizer, shuffle, position, buffers), so a caller
can advance it a chunk at a time (the app does, between Streamlit reruns) and stop it between
chunks, keeping the parameters trained so far. ``train`` wraps it as a generator of stats.
Progress is reported as data (``ChunkStats``, ``EpochStats``, ``Diverged``), never printed.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

import numpy as np

from .data import Mnist, scale_pixels
from .model import ACTIVATIONS, Model, Workspace, forward, forward_backward, summed_cross_entropy
from .optim import Momentum

CHANCE_COST = math.log(10)  # cross-entropy of a uniform guess over 10 digits
# A batch cost this far above chance means the run has left the basin for good. With a stable
# softmax the cost rarely becomes NaN (lr 1000 sits at a finite ~62), so a finite but huge cost
# is divergence too. Runs that still learn (sigmoid at lr 50) peak below 6; lr 1000 passes 90.
DIVERGENCE_COST = 4 * CHANCE_COST
EVAL_CHUNK = 2048  # rows per evaluation matmul: big enough for BLAS, small enough for memory
# BLAS threads while training or evaluating (None: leave the process's setting alone). Our matrices
# are small (128 x 784 x 64), so a second thread saves ~40% of a matmul on an idle machine, but when
# another process holds the other core (a shared server, several sessions), OpenBLAS's threads wait
# on each other for whole scheduler slices: measured 4-15x slower per batch. One thread is steady.
BLAS_THREADS: int | None = 1
_blas_controller = None


def blas_threads(limit: int | None = None):
    """Context manager limiting BLAS to ``limit`` (default ``BLAS_THREADS``) threads, restored on exit."""
    global _blas_controller
    limit = BLAS_THREADS if limit is None else limit
    if limit is None:
        return contextlib.nullcontext()
    if _blas_controller is None:  # finding the loaded BLAS libraries takes ~10 ms: once per process
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=limit, user_api="blas")


@dataclass(frozen=True)
class Hyperparams:
    """A run's settings; the defaults are the seed post's run."""

    hidden_units: int = 64  # H, width of the hidden layer
    learning_rate: float = 4.0  # step size applied to the velocity
    momentum: float = 0.9  # beta, weight of the previous velocity
    batch_size: int = 128  # samples per gradient step (the last batch of an epoch is smaller)
    epochs: int = 9  # passes over the training set
    seed: int = 138  # seeds initial weights and every epoch's shuffle
    activation: str = "sigmoid"  # hidden-layer nonlinearity: sigmoid, tanh or relu

    def validate(self) -> "Hyperparams":
        """Return self, or raise ValueError with a one-line message naming the bad setting."""
        def is_int(value):
            return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

        if not is_int(self.hidden_units) or self.hidden_units < 1:
            raise ValueError(f"hidden units must be a positive integer, got {self.hidden_units!r}")
        if not (isinstance(self.learning_rate, (int, float)) and math.isfinite(self.learning_rate)
                and self.learning_rate > 0):
            raise ValueError(f"learning rate must be a positive number, got {self.learning_rate!r}")
        if not (isinstance(self.momentum, (int, float)) and 0 <= self.momentum < 1):
            raise ValueError(f"momentum (beta) must be in [0, 1), got {self.momentum!r}")
        if not is_int(self.batch_size) or self.batch_size < 1:
            raise ValueError(f"batch size must be a positive integer, got {self.batch_size!r}")
        if not is_int(self.epochs) or self.epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not is_int(self.seed) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        return self

    def as_dict(self) -> dict:
        return asdict(self)


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
    train_cost: float  # on the full training set, after the epoch
    test_cost: float
    train_accuracy: float  # fraction correct
    test_accuracy: float
    train_seconds: float  # cumulative training time, evaluation excluded
    epoch_seconds: float  # this epoch's training time alone
    eval_seconds: float  # time spent evaluating after this epoch


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


@dataclass(eq=False)
class RunResult:
    """What is kept of a run once it ends: small enough to keep many per session."""

    hparams: Hyperparams
    model: Model
    history: list[EpochStats]  # one entry per completed epoch
    batch_costs: np.ndarray  # (batches done,) float32, each batch's cost before its step
    batches_per_epoch: int
    status: str  # done | stopped | diverged | uploaded
    diverged: Diverged | None = None
    train_seconds: float = 0.0

    @property
    def final(self) -> EpochStats | None:
        return self.history[-1] if self.history else None

    def metrics(self) -> dict:
        """Final figures as plain numbers (saved with the model)."""
        last = self.final
        if last is None:
            return {"train_seconds": self.train_seconds, "epochs_trained": 0}
        return {"test_accuracy": last.test_accuracy, "test_cost": last.test_cost,
                "train_accuracy": last.train_accuracy, "train_cost": last.train_cost,
                "train_seconds": self.train_seconds, "epochs_trained": last.epoch}


def chunked_logits(model: Model, images: np.ndarray, chunk: int = EVAL_CHUNK
                   ) -> Iterator[tuple[slice, np.ndarray, Workspace]]:
    """The model over a whole set (uint8 or float (n, 784)), a chunk at a time, in reused buffers.

    Yields (rows, logits (m, 10), workspace); the logits are a view into the workspace, valid until
    the next chunk. uint8 pixels are only cast (0-255): forward applies the 1/255 to X W1.
    """
    n = len(images)
    rows = min(chunk, n)
    dtype = model.flat.dtype
    ws = Workspace(model.hidden_units, rows, dtype)
    input_scale = 1 / 255 if images.dtype == np.uint8 else 1.0
    cast = np.empty((rows, images.shape[1]), dtype) if images.dtype != dtype else None
    with blas_threads():
        for start in range(0, n, chunk):
            X = images[start : start + chunk]
            if cast is not None:
                X = cast[: len(X)]
                np.copyto(X, images[start : start + chunk], casting="unsafe")
            _, logits = forward(model, X, ws, input_scale)
            yield slice(start, start + len(X)), logits, ws


def evaluate(model: Model, images: np.ndarray, labels: np.ndarray, chunk: int = EVAL_CHUNK) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) over a whole set, in chunks; images uint8 or float (n, 784)."""
    total_cost, correct = 0.0, 0
    for rows, logits, ws in chunked_logits(model, images, chunk):
        y = labels[rows]
        correct += int(np.count_nonzero(np.argmax(logits, axis=1) == y))
        total_cost += summed_cross_entropy(logits, ws.scaled_one_hot(y, 1.0), 1.0, ws)
    return total_cost / len(images), correct / len(images)


def _bad(cost: float) -> bool:
    return not math.isfinite(cost) or cost > DIVERGENCE_COST


@dataclass(eq=False)
class Trainer:
    """A training run that can be advanced in chunks, stopped, and inspected between chunks.

    ``data`` is shared and only read: each batch is gathered from it into this run's buffers.
    ``augment``, if given, transforms each float batch (m, 784) in place, with this run's rng.
    """

    data: Mnist
    hparams: Hyperparams = field(default_factory=Hyperparams)
    augment: Callable[[np.ndarray, np.random.Generator], None] | None = None

    def __post_init__(self):
        hp = self.hparams.validate()
        self.rng = np.random.default_rng(hp.seed)
        self.model = Model.initialize(hp.hidden_units, self.rng, hp.activation)
        self.optimizer = Momentum(self.model.flat.size, hp.learning_rate, hp.momentum)
        self.workspace = Workspace(hp.hidden_units, hp.batch_size)
        self.last_good = self.model.flat.copy()  # parameters that last gave a sane batch cost
        n, pixels = self.data.train_images.shape
        self.samples = n
        self.batches_per_epoch = -(-n // hp.batch_size)  # ceil: the last batch is partial, none dropped
        self.total_batches = self.batches_per_epoch * hp.epochs
        # The batch as the network reads it (B, 784) float32. uint8 pixels are gathered into their own
        # buffer and only cast (0-255); the 1/255 is applied to X W1 (input_scale). With an augment
        # hook the batch is scaled to [0, 1] first, since the hook expects the network's input.
        images = self.data.train_images
        self._inputs = np.empty((hp.batch_size, pixels), np.float32)
        self._gathered = self._inputs if images.dtype == np.float32 else np.empty((hp.batch_size, pixels), images.dtype)
        self._input_scale = 1 / 255 if images.dtype == np.uint8 and self.augment is None else 1.0
        self._labels = np.empty(hp.batch_size, self.data.train_labels.dtype)
        self.batch_costs = np.full(self.total_batches, np.nan, np.float32)  # every batch, for charts
        self.history: list[EpochStats] = []
        self.diverged: Diverged | None = None
        self.status = "ready"  # ready -> running -> done | stopped | diverged
        self.epoch = 0  # epochs completed
        self.batch = 0  # batches completed in the current epoch
        self.train_seconds = 0.0
        self._permutation = None

    @property
    def total_batches_done(self) -> int:
        return self.epoch * self.batches_per_epoch + self.batch

    @property
    def finished(self) -> bool:
        return self.status in ("done", "stopped", "diverged")

    def result(self) -> RunResult:
        """A snapshot of the run without its buffers (the model is copied)."""
        return RunResult(hparams=self.hparams, model=self.model.copy(), history=list(self.history),
                         batch_costs=self.batch_costs[: self.total_batches_done].copy(),
                         batches_per_epoch=self.batches_per_epoch, status=self.status,
                         diverged=self.diverged, train_seconds=self.train_seconds)

    def stop(self) -> None:
        """End the run between chunks; the model keeps the parameters trained so far."""
        if not self.finished:
            self.status = "stopped"

    def run(self, max_batches: int | None = None, max_seconds: float | None = None) -> list[Event]:
        """Train up to ``max_batches`` batches or ``max_seconds`` (whichever comes first, at least
        one batch), evaluating at each epoch's end. Returns the stats of what it did."""
        if self.finished:
            return []
        self.status = "running"
        events: list[Event] = []
        hp, model, ws, optimizer = self.hparams, self.model, self.workspace, self.optimizer
        images, labels, augment = self.data.train_images, self.data.train_labels, self.augment
        input_scale, grad_scale = self._input_scale, optimizer.grad_scale
        separate_gather = self._gathered is not self._inputs
        start = call_start = time.perf_counter()  # start: of the current timed stretch; call_start: of the budget
        chunk_cost, chunk_batches = 0.0, 0
        done = 0
        # Overflow in exp or matmul at a diverging learning rate is detected from the cost below;
        # NumPy's warnings would only repeat it noisily.
        with np.errstate(all="ignore"), blas_threads():
            while True:
                if self.batch == 0 and self._permutation is None:
                    self._permutation = self.rng.permutation(self.samples)
                begin = self.batch * hp.batch_size
                index = self._permutation[begin : begin + hp.batch_size]
                m = len(index)
                X = self._inputs[:m]
                if separate_gather:
                    gathered = self._gathered[:m]
                    np.take(images, index, axis=0, out=gathered, mode="clip")
                    if input_scale != 1.0 or gathered.dtype != np.uint8:
                        np.copyto(X, gathered, casting="unsafe")  # uint8 -> float32 cast only
                    else:
                        scale_pixels(gathered, out=X)
                else:
                    np.take(images, index, axis=0, out=X, mode="clip")
                y = self._labels[:m]
                np.take(labels, index, out=y, mode="clip")
                if augment is not None:
                    augment(X, self.rng)
                cost = forward_backward(model, X, y, ws, input_scale, grad_scale)
                if _bad(cost):
                    self.train_seconds += time.perf_counter() - start
                    return events + [self._diverge(cost)]
                np.copyto(self.last_good, model.flat)
                optimizer.step_prescaled(model.flat, ws.grad)
                self.batch_costs[self.total_batches_done] = cost
                self.batch += 1
                done += 1
                chunk_cost += cost
                chunk_batches += 1

                epoch_end = self.batch == self.batches_per_epoch
                out_of_budget = (max_batches is not None and done >= max_batches) or (
                    max_seconds is not None and time.perf_counter() - call_start >= max_seconds)
                if epoch_end or out_of_budget:
                    now = time.perf_counter()
                    self.train_seconds += now - start
                    events.append(ChunkStats(
                        epoch=self.epoch + 1, batches_done=self.batch, batches_per_epoch=self.batches_per_epoch,
                        batch_cost=chunk_cost / chunk_batches, total_batches_done=self.total_batches_done,
                        total_batches=self.total_batches, train_seconds=self.train_seconds))
                    chunk_cost, chunk_batches = 0.0, 0
                    if epoch_end:
                        stats = self._end_epoch()
                        events.append(stats)
                        if isinstance(stats, Diverged) or self.finished:
                            return events
                    if out_of_budget:
                        return events
                    start = time.perf_counter()

    def _end_epoch(self) -> EpochStats | Diverged:
        epoch_seconds = self.train_seconds - (self.history[-1].train_seconds if self.history else 0.0)
        eval_start = time.perf_counter()
        with np.errstate(all="ignore"):
            train_cost, train_accuracy = evaluate(self.model, self.data.train_images, self.data.train_labels)
            test_cost, test_accuracy = evaluate(self.model, self.data.test_images, self.data.test_labels)
        eval_seconds = time.perf_counter() - eval_start
        if _bad(train_cost):
            return self._diverge(train_cost)
        stats = EpochStats(
            epoch=self.epoch + 1, train_cost=train_cost, test_cost=test_cost,
            train_accuracy=train_accuracy, test_accuracy=test_accuracy,
            train_seconds=self.train_seconds, epoch_seconds=epoch_seconds, eval_seconds=eval_seconds)
        self.history.append(stats)
        self.epoch += 1
        self.batch = 0
        self._permutation = None
        if self.epoch == self.hparams.epochs:
            self.status = "done"
        return stats

    def _diverge(self, cost: float) -> Diverged:
        np.copyto(self.model.flat, self.last_good)
        self.diverged = Diverged(epoch=self.epoch + 1, batch=self.batch + 1 if self.batch < self.batches_per_epoch
                                 else self.batch, cost=float(cost), learning_rate=self.hparams.learning_rate)
        self.status = "diverged"
        return self.diverged


def train(data: Mnist, hparams: Hyperparams = Hyperparams(), chunk_batches: int = 50,
          should_stop: Callable[[], bool] | None = None, trainer: Trainer | None = None) -> Iterator[Event]:
    """Run a whole training, yielding ChunkStats every ``chunk_batches`` batches, EpochStats after
    each epoch, and Diverged if it diverges. ``should_stop`` is asked between chunks."""
    trainer = trainer or Trainer(data, hparams)
    while not trainer.finished:
        if should_stop is not None and should_stop():
            trainer.stop()
            break
        yield from trainer.run(max_batches=chunk_batches)
