"""A run as a job: a chain of chunk tasks (``worker_tasks.train_chunk``), each from the run's state to
its next, on a backend's workers (``nn_core.backends``). The process that starts a run only submits
chunks, keeps the latest state and answers polls; live progress and Stop happen between chunks, and a
worker lost mid-run costs one chunk, which is sent again from the state before it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from .cluster import explain
from .run_events import EpochStats, PendingEpoch, RunStatus
from .run_state import Change, RunResult, RunState
from .runs import Progress
from .worker_tasks import evaluate_epoch

# Training per task: the cadence of live progress and the longest wait for Stop. A lone run's chunks
# are short; when runs queue for the workers they grow, so the (fixed) cost per chunk of a round trip
# and a redraw of the run's page is paid less often.
MAX_CHUNK_SECONDS = 1.2
# Polls return at most this often while a run goes on, and less often as runs queue for the workers
# (as chunks grow): each return redraws its page's live charts, which costs the visitor's browser far
# more than the server (a redraw of the Train page's two Plotly charts takes a few hundred ms of a core
# in Chromium), and the server's thread its figures.
POLL_INTERVAL = 1.0
MAX_POLL_INTERVAL = 2.0  # below a poll's default wait (2 * MAX_CHUNK_SECONDS)
MAX_RETRIES = 3  # chunks sent again after their worker was lost, per run
NO_WORKER_SECONDS = 60.0  # a run whose chunk waits this long at a Dask scheduler with no worker fails, saying so
# (long enough for nannies to restart killed workers on a busy machine: they register, then import nn_core)


class JobRun:
    """A run handle whose chunks run on a backend's executor, chained by completion callbacks (so a
    run goes on whether or not anyone polls it). ``owner``: who started it (the app: a session's id),
    for the backend's fair queue and its watchdog; None: nobody to watch for (the command line)."""

    trains_in_background = True

    def __init__(self, backend, state: RunState, owner: object = None, data=None):
        self.hparams = state.hparams
        self.data_key = state.data_key  # the data set it trains on ("" MNIST)
        self._data = backend.data if data is None else data  # for an epoch evaluated here (see _evaluation_done)
        self.owner = owner
        self.touched = time.monotonic()  # the last poll or look at its progress: the owner still watches
        self.abandoned = False  # stopped by the backend's watchdog: its owner had gone
        self._task: Future | None = None  # the chunk in flight, while it may still wait in the fair queue
        self._backend = backend
        self._state = state
        self._snapshot = Progress.of(state)
        self._changed = threading.Condition()
        self._in_flight = False
        self._stop_requested = False
        self._requested: list[tuple[str, float]] = []  # changes for the next chunk
        self._evaluating = 0  # epochs being evaluated beside the training (see _evaluate)
        self._evaluated: dict[int, EpochStats] = {}  # their figures, by epoch, merged into each state
        self._claimed = False
        self.retries = 0  # chunks sent again after their worker was lost
        self._polled = 0.0  # when the last poll returned (time.monotonic)
        self.error: str | None = None  # why the run ended early, if a backend failed
        self._submit()

    def _submit(self) -> None:
        self._in_flight = True
        # An idle worker evaluates each epoch beside the next one's training (not a fine-tuning's own
        # training set, which would travel to it again).
        defer = self._state.mix is None and self._backend.has_idle_worker()
        # Without the epochs' snapshots kept so far: the chunk returns only the ones it makes.
        future = self._backend.enqueue(self.owner, self._backend.submit, replace(self._state, snapshots=()), defer)
        self._task = future
        future.add_done_callback(self._chunk_done)

    def _busy(self) -> bool:
        """A chunk or an epoch's evaluation is still running."""
        return self._in_flight or self._evaluating > 0

    def _evaluate(self, pending: PendingEpoch) -> None:
        """Have an epoch a chunk left unevaluated evaluated by another task (called with the lock)."""
        self._evaluating += 1
        future = self._backend.enqueue(self.owner, self._backend.submit_evaluation, self.hparams, pending,
                                       self.data_key)
        future.add_done_callback(lambda done: self._evaluation_done(pending, done))

    def _evaluation_done(self, pending: PendingEpoch, future) -> None:
        try:
            stats = future.result()
        except Exception:  # a lost worker or a broken pool: the same figures, computed here instead
            stats = evaluate_epoch(self.hparams, pending, self._data)
        with self._changed:
            self._evaluating -= 1
            self._evaluated[stats.epoch] = stats
            self._state = self._merged(self._state)
            self._snapshot = self._progress()
            self._changed.notify_all()

    def _progress(self) -> Progress:
        """The snapshot pages see: an ended run shows as ended once its last evaluation is in too."""
        progress = Progress.of(self._state)
        if progress.finished and self._evaluating:
            progress = replace(progress, status=RunStatus.RUNNING)
        return progress

    def _merged(self, state: RunState) -> RunState:
        """``state`` with the epochs evaluated beside the training, in order."""
        if not self._evaluated:
            return state
        epochs = {e.epoch: e for e in state.epochs} | self._evaluated
        return replace(state, epochs=[epochs[k] for k in sorted(epochs)])

    def _chunk_done(self, future) -> None:
        if not self._in_flight:  # a chunk given up while it waited for a worker (stop, _check_workers)
            return
        try:
            state = future.result()
            state = replace(state, snapshots=self._state.snapshots + state.snapshots, mix=self._state.mix)
        except (BrokenProcessPool, CancelledError, OSError) + self._backend.lost_errors as lost:
            return self._retry(lost)
        except Exception as error:  # a bug or a broken cluster: end the run, keep what it trained
            state, self.error = self._state.stopped(RunStatus.FAILED), explain(error, self._backend.address)
        with self._changed:
            if not self._in_flight:
                return
            self._state = state if not self._stop_requested else state.stopped()
            if self._requested and not self._state.finished:
                self._state, self._requested = self._state.with_changes(self._requested), []
            for pending in self._state.pending:
                self._evaluate(pending)
            self._state = self._merged(replace(self._state, pending=()))
            self._snapshot = self._progress()
            if self._state.finished:
                self._in_flight = False
                self._backend.run_ended(self.data_key)
            else:
                self._submit()
            self._changed.notify_all()

    def _retry(self, lost: BaseException) -> None:
        with self._changed:
            if not self._in_flight:
                return
            if self._stop_requested:  # stopped (or the backend shut down): the chunk lost is not needed
                self._in_flight = False
                self._state = self._state.stopped()
                self._snapshot = self._progress()
                self._backend.run_ended(self.data_key)
                self._changed.notify_all()
                return
            self.retries += 1
            if self.retries > MAX_RETRIES:
                self._state = self._state.stopped(RunStatus.FAILED)
                self.error = f"its workers were lost {self.retries} times ({type(lost).__name__})"
                self._in_flight = False
                self._snapshot = self._progress()
                self._backend.run_ended(self.data_key)
                self._changed.notify_all()
                return
            self._backend.recover()
            self._submit()  # the same chunk again, from the state before it

    def poll(self, seconds: float = 2 * MAX_CHUNK_SECONDS, every: float | None = None) -> Progress:
        """The latest progress, once it has changed and at least ``every`` seconds (default: the
        backend's ``poll_interval``) after the previous poll returned (or the run has ended, or
        ``seconds`` have passed): a caller that redraws after each poll redraws at most that often, and
        only when there is something new."""
        every = self._backend.poll_interval() if every is None else every
        self.touched = time.monotonic()
        deadline = time.monotonic() + seconds
        earliest = self._polled + every
        with self._changed:
            seen = self._snapshot
            while self._busy():
                now = time.monotonic()
                if now >= deadline or (self._snapshot is not seen and now >= earliest):
                    break
                wake = deadline if self._snapshot is seen else min(deadline, earliest)
                self._changed.wait(timeout=wake - now)
            self._check_workers()
            self._polled = time.monotonic()
            return self._snapshot

    def progress(self) -> Progress:
        self.touched = time.monotonic()
        return self._snapshot

    def stop(self) -> None:
        """End the run after the chunk in flight (at once if that chunk still waits for a worker); it
        keeps the parameters trained so far."""
        with self._changed:
            self._stop_requested = True
            if self._in_flight and self._backend.withdraw(self._task):
                self._in_flight = False  # its chunk never reached a worker: the state before it stands
            if self._in_flight and self._backend.without_workers() is not None:
                self._in_flight = False  # its chunk waits at a scheduler with no worker: likewise
            if not self._in_flight and not self._state.finished:
                self._state = self._state.stopped()
                self._snapshot = self._progress()
                self._backend.run_ended(self.data_key)
            self._changed.notify_all()

    def waiting_for(self) -> str | None:
        """What the run waits for, when it cannot go on: a worker, at a Dask scheduler that has none."""
        waited = self._backend.without_workers() if self._in_flight else None
        if waited is None:
            return None
        return (f"No Dask worker is connected to the scheduler at {self._backend.address}: the run waits for one "
                f"({waited:.0f} s so far; it fails after {NO_WORKER_SECONDS:.0f} s). Stop ends it now.")

    def _check_workers(self) -> None:
        """Fail the run if its chunk has waited NO_WORKER_SECONDS at a scheduler that has no worker
        (called with the lock): it would sit at its last batch, saying nothing, until one comes."""
        waited = self._backend.without_workers() if self._in_flight else None
        if waited is None or waited < NO_WORKER_SECONDS:
            return
        self._backend.withdraw(self._task)
        self._in_flight = False
        self._state = self._state.stopped(RunStatus.FAILED)
        self.error = (f"no Dask worker has been connected to the scheduler at {self._backend.address} for "
                      f"{waited:.0f} s: start one with: dask worker {self._backend.address} --nthreads 1")
        self._snapshot = self._progress()
        self._backend.run_ended(self.data_key)
        self._changed.notify_all()

    def abandon(self) -> None:
        """Stop the run because its owner has gone (the watchdog's call)."""
        self.abandoned = True
        self.error = self.error or "stopped: its session had gone (no page watched the run any more)"
        self.stop()

    @property
    def ended(self) -> bool:
        """The run has ended or is ending (stopped, waiting for its last chunk)."""
        return self._stop_requested or self._state.finished

    def change(self, name: str, value: float) -> None:
        """A new learning rate or momentum from the run's next chunk on (recorded in its changes)."""
        Change(0, name, value).check()  # refused here, in the caller, not later in a callback
        with self._changed:
            if self._in_flight:
                self._requested.append((name, value))
            elif not self._state.finished:
                self._state = self._state.with_changes([(name, value)])
                self._snapshot = self._progress()

    def claim(self) -> RunResult | None:
        """The ended run's result, to the first caller only; else None."""
        with self._changed:
            if self._claimed or self._busy() or not self._state.finished:
                return None
            self._claimed = True
            result = self._state.result()
            result.note = self.error
            return result
