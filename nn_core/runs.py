"""A run handle between the pages and training, and its backends.

A page starts a run from settings (optionally from given starting parameters), polls it for a
``Progress`` snapshot, may stop it, and takes its ``RunResult`` once it has ended. It never touches
a ``Trainer``: where and how the batches are trained is the backend's business.

``LocalBackend`` trains in the process that polls, in the polling thread: each ``poll`` trains for
a slice of that thread's CPU time. A run has one owner at a time: a poll that finds another thread
training the same run (a fragment rerun and a full-page rerun of one session) returns the latest
snapshot at once instead of stepping the run from a second thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .data import Mnist
from .handwriting import TrainingMix
from .model import Model
from .settings import Hyperparams
from .snapshots import unit_images
from .run_events import Diverged, EpochStats, RunStatus
from .run_state import Position, RunResult, RunState
from .training import Trainer

# A poll's wall-clock limit, as a multiple of its CPU budget: when sessions share the cores a slice
# of CPU time takes longer, and Stop should still answer within a couple of seconds.
WALL_PER_CPU = 3.75
SUB_CHUNK_SECONDS = 0.05  # the trainer is called in slices this short, so the budget is kept closely
# The app's runs measure the per-epoch training figures on this many training images (a fixed
# sample; the last epoch on all of them): the whole 70,000-image evaluation costs half an epoch.
TRAIN_SAMPLE = 10_000


@dataclass(frozen=True)
class Progress(Position):
    """A run as it stands: everything a page draws while it trains."""

    hparams: Hyperparams
    status: RunStatus
    epoch: int  # epochs completed
    batch: int  # batches completed in the current epoch
    batches_per_epoch: int
    batch_costs: np.ndarray  # (total_batches_done,) each batch's cost before its step
    epochs: list[EpochStats]  # one per completed epoch
    train_seconds: float
    diverged: Diverged | None = None
    changes: tuple = ()  # run_state.Change: learning rate or momentum changed while it trains
    # The run's parameters as they stand (the state's own array, not copied: a state is never changed
    # in place once made), for ``units`` alone: read only by a page that draws them.
    params: np.ndarray | None = field(default=None, repr=False, compare=False)

    @cached_property
    def _unit_images(self) -> tuple[np.ndarray | None, float]:
        if self.params is None:
            return None, 1.0
        return unit_images(self.params, self.hparams.hidden_units)

    @property
    def units(self) -> np.ndarray | None:
        """The first hidden layer's units as they stand, (H, 28, 28) uint8 (128 + 127 w / units_limit,
        see nn_core.snapshots.unit_images): made on first use, so a run whose page does not draw them
        (Compare, Sweep) never pays for them; never the float parameters."""
        return self._unit_images[0]

    @property
    def units_limit(self) -> float:
        return self._unit_images[1]

    @property
    def total_batches(self) -> int:
        return self.batches_per_epoch * self.hparams.epochs

    @classmethod
    def of(cls, state: RunState) -> "Progress":
        return cls(epoch=state.epoch, batch=state.batch, params=state.params, **state.outline())


class LocalRun:
    """A run trained in the polling thread, a CPU-time slice per ``poll`` (paused while unpolled)."""

    trains_in_background = False

    def __init__(self, trainer: Trainer):
        self.hparams = trainer.hparams
        self._trainer = trainer
        self._owner = threading.Lock()  # held while a thread trains or changes the run
        self._stop_requested = False
        self._claimed = False
        self._snapshot = Progress.of(trainer.state())

    def poll(self, seconds: float = 0.4, every: float = 0.0) -> Progress:
        """Train for about ``seconds`` of this thread's CPU time, then return the progress. If another
        thread is training this run, return the latest snapshot without waiting. (``every`` is for
        the job backends' polls, which wait; this one trains, so it always has news.)

        CPU time, not wall time: the rerun between polls costs a roughly fixed amount of CPU, so slices
        of wall time would shrink when sessions share the cores and the reruns would eat most of it."""
        if not self._owner.acquire(blocking=False):
            time.sleep(min(seconds, SUB_CHUNK_SECONDS))  # don't spin while the owner trains
            return self._snapshot
        try:
            trainer = self._trainer
            cpu_start, wall_start = time.thread_time(), time.perf_counter()
            while (not trainer.finished and not self._stop_requested
                   and time.thread_time() - cpu_start < seconds
                   and time.perf_counter() - wall_start < seconds * WALL_PER_CPU):
                trainer.run(max_seconds=min(seconds, SUB_CHUNK_SECONDS))
            if self._stop_requested:
                trainer.stop()
            self._snapshot = Progress.of(trainer.state())
            return self._snapshot
        finally:
            self._owner.release()

    def progress(self) -> Progress:
        """The latest snapshot, without training."""
        return self._snapshot

    def stop(self) -> None:
        """Ask the run to end; it keeps the parameters trained so far (applied by the next poll if
        another thread is training it now)."""
        self._stop_requested = True
        if self._owner.acquire(blocking=False):
            try:
                self._trainer.stop()
                self._snapshot = Progress.of(self._trainer.state())
            finally:
                self._owner.release()

    def change(self, name: str, value: float) -> None:
        """A new learning rate or momentum from the run's next batch on (recorded in its changes)."""
        with self._owner:
            if not self._trainer.finished:
                self._trainer.change(name, value)
                self._snapshot = Progress.of(self._trainer.state())

    def claim(self) -> RunResult | None:
        """The ended run's result, to the first caller only (so it is recorded once); else None."""
        with self._owner:
            if self._claimed or not self._trainer.finished:
                return None
            self._claimed = True
            return self._trainer.result()


class LocalBackend:
    """Runs trained in this process on ``data`` (shared, read-only)."""

    def __init__(self, data: Mnist):
        self.data = data

    def start(self, hparams: Hyperparams, initial: Model | None = None, mix: TrainingMix | None = None,
              owner: object = None, data: Mnist | None = None) -> LocalRun:
        """A run of ``hparams`` from ``initial`` (else a fresh model), on ``data`` (a session's own data
        set; None: this backend's MNIST) or on ``mix``. (``owner``: for the job backends' fair queue; a run
        here trains only while its own session polls it.)"""
        return LocalRun(Trainer(self.data if data is None else data, hparams, initial=initial,
                                train_sample=TRAIN_SAMPLE, mix=mix))
