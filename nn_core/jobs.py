"""Runs as jobs: a run is a chain of chunk tasks, each a pure function from the run's state to its
next state, executed by worker processes (``ProcessBackend``, the default) or a Dask cluster
(``DaskBackend``). The process that starts a run only submits chunks, keeps the latest state and
answers polls; live progress and Stop happen between chunks, and a worker lost mid-run costs one
chunk, which is sent again from the state before it. The results are the same to the bit on every
backend, and the same as ``Trainer`` alone.

The data is never sent with a task. Local workers map the copy the server shared (one copy in
memory for the server and all its workers); a Dask worker loads MNIST once from its own copy of the
repository's files.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
import time
import weakref
from collections import deque
from dataclasses import replace
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from .cluster import CONNECT_SECONDS, ClusterUnusable, connect, data_folder, explain
from .data import Mnist, load_mnist, load_shared, share
from .handwriting import TrainingMix
from .model import Model
from .runs import TRAIN_SAMPLE, Progress
from .settings import Hyperparams
from .run_events import EpochStats, PendingEpoch, RunStatus
from .run_state import Change, RunResult, RunState
from .training import Trainer

# Training per task: the cadence of live progress and the longest wait for Stop. A lone run's chunks
# are short; when runs queue for the workers they grow, so the (fixed) cost per chunk of a round trip
# and a redraw of the run's page is paid less often.
CHUNK_SECONDS = 0.4
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
# Runs nobody watches any more (Streamlit says nothing when a session ends): a run whose owner (its
# session) is known to have gone is stopped after GONE_GRACE seconds (a tab that reconnects within it
# keeps its runs); one whose owner cannot be asked, after UNPOLLED_SECONDS without a poll. The
# dispatcher checks every WATCH_SECONDS, so such a run stops within about 10 s (GONE_GRACE + WATCH_SECONDS
# + a chunk) or UNPOLLED_SECONDS + 3 s.
GONE_GRACE = 5.0
UNPOLLED_SECONDS = 20.0
WATCH_SECONDS = 2.0

_worker_data: Mnist | None = None


def worker_data(shared: str | None = None) -> Mnist:
    """This process's MNIST: mapped from the ``shared`` folder, or loaded (and verified) once."""
    global _worker_data
    if _worker_data is None:
        _worker_data = load_shared(shared) if shared else load_mnist(data_folder()).read_only()
    return _worker_data


def warm_up(shared: str | None = None) -> int:
    """Load the data now rather than in a run's first chunk; returns the worker's pid."""
    worker_data(shared)
    return os.getpid()


def train_chunk(state: RunState, seconds: float = CHUNK_SECONDS, defer_evaluation: bool = False) -> RunState:
    """The run's next state after about ``seconds`` of training (at least one batch), on one BLAS
    thread (see _ExecutorBackend), with the app's sampled per-epoch train figures. With
    ``defer_evaluation`` an epoch's figures are left to ``evaluate_epoch`` on another worker."""
    trainer = Trainer.resume(worker_data(), state, threads=1, train_sample=TRAIN_SAMPLE,
                             defer_evaluation=defer_evaluation)
    trainer.run(max_seconds=seconds)
    return replace(trainer.state(), mix=None)  # the run's handle keeps its training mix (a fine-tuning's
    # ~31 MB): not sent back, so the server holds one copy, not one more per chunk


def evaluate_epoch(hparams: Hyperparams, pending: PendingEpoch, data: Mnist | None = None) -> EpochStats:
    """The figures of an epoch a chunk left unevaluated: the same numbers as evaluating it in the chunk
    (the same code on one BLAS thread), computed while the run's next epoch trains elsewhere."""
    trainer = Trainer(worker_data() if data is None else data, hparams, threads=1, train_sample=TRAIN_SAMPLE)
    return trainer.evaluate_pending(pending)


def available_cores() -> int:
    """The cores this process may use: its CPU affinity, bounded by a cgroup CPU quota (containers
    such as Streamlit Community Cloud's report the host's cores but grant a fraction of them)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


class JobRun:
    """A run handle whose chunks run on a backend's executor, chained by completion callbacks (so a
    run goes on whether or not anyone polls it). ``owner``: who started it (the app: a session's id),
    for the backend's fair queue and its watchdog; None: nobody to watch for (the command line)."""

    trains_in_background = True

    def __init__(self, backend: "_ExecutorBackend", state: RunState, owner: object = None):
        self.hparams = state.hparams
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
        future = self._backend.enqueue(self.owner, self._backend.submit_evaluation, self.hparams, pending)
        future.add_done_callback(lambda done: self._evaluation_done(pending, done))

    def _evaluation_done(self, pending: PendingEpoch, future) -> None:
        try:
            stats = future.result()
        except Exception:  # a lost worker or a broken pool: the same figures, computed here instead
            stats = evaluate_epoch(self.hparams, pending, self._backend.data)
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
                self._backend.run_ended()
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
                self._backend.run_ended()
                self._changed.notify_all()
                return
            self.retries += 1
            if self.retries > MAX_RETRIES:
                self._state = self._state.stopped(RunStatus.FAILED)
                self.error = f"its workers were lost {self.retries} times ({type(lost).__name__})"
                self._in_flight = False
                self._snapshot = self._progress()
                self._backend.run_ended()
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
                self._backend.run_ended()
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
        self._backend.run_ended()
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


class _ExecutorBackend:
    """What the process and Dask backends share: runs as chained chunk tasks. Every task trains on
    one BLAS thread: more threads would change the sums' order, and so the bits, of a run.

    Tasks reach the workers through a fair queue: they wait by owner (a session), and a dispatcher
    thread sends them a task per owner in turn, never more at once than there are workers (so the
    executor's own first-come queue stays empty). A session's sweep of many runs and another session's
    one run then share the workers half and half, not 40 to 1. The same thread is the watchdog that
    stops the runs of owners who have gone (see GONE_GRACE): ``owner_alive(owner)`` says whether an
    owner is still there (True, False, or None: cannot tell; then a run's last poll is the sign)."""

    lost_errors: tuple = ()
    address = "this machine"  # where the tasks run, for messages

    workers = 1

    def __init__(self, data: Mnist):
        self.data = data  # this process's copy: a new run's first state is made here
        self._active = 0  # runs started and not ended
        self._lock = threading.Lock()
        self.owner_alive = None  # owner -> bool | None; None: no way to ask (poll age only)
        self._queue = threading.Condition()  # guards the fields below
        self._waiting: dict[object, deque] = {}  # owner -> its tasks not yet sent: (send, args, future)
        self._served: dict[object, int] = {}  # owner -> the number of the last task sent for it
        self._sends = 0  # tasks sent so far (numbers them)
        self._sent = 0  # tasks on the workers now
        self._runs: weakref.WeakSet = weakref.WeakSet()  # the runs started, for the watchdog
        self._gone_since: dict[object, float] = {}  # owner -> when it was first seen gone
        self._dispatcher: threading.Thread | None = None
        self._closed = False

    def start(self, hparams: Hyperparams, initial: Model | None = None, mix: TrainingMix | None = None,
              owner: object = None) -> JobRun:
        state = Trainer(self.data, hparams, initial=initial, mix=mix).state()
        with self._lock:
            self._active += 1
        run = JobRun(self, state, owner)
        self._runs.add(run)
        return run

    # --- the fair queue ----------------------------------------------------------------------

    def slots(self) -> int:
        """Tasks sent to the workers at once: one per worker (at least one). Any more wait in the
        executor's first-come queue, where every run gets an equal share, not every owner: measured
        over 15 s with A's two runs and B's one on two workers (load 10-13), B trained 38 batches/s
        against A's 48 and 62 with the executor's queue alone, 80 against 82 and 79 with two slots per
        worker, 91 against 50 and 48 with one."""
        return max(1, self.workers)

    def enqueue(self, owner: object, send, *args) -> Future:
        """Queue ``send(*args)`` (a method that submits a task and returns its future) behind the
        owner's other tasks; returns a future of its result."""
        result = Future()
        with self._queue:
            self._closed = False
            if self._dispatcher is None or not self._dispatcher.is_alive():
                self._dispatcher = threading.Thread(target=self._dispatch, name="job dispatcher", daemon=True)
                self._dispatcher.start()
            self._waiting.setdefault(owner, deque()).append((send, args, result))
            self._queue.notify_all()
        return result

    def withdraw(self, task: Future | None) -> bool:
        """Take a task out of the queue if it has not been sent yet; whether it was."""
        with self._queue:
            for owner, tasks in self._waiting.items():
                for entry in tasks:
                    if entry[2] is task:
                        tasks.remove(entry)
                        if not tasks:
                            del self._waiting[owner]
                        return True
        return False

    def waiting(self) -> dict[object, int]:
        """Tasks waiting for a worker, by owner."""
        with self._queue:
            return {owner: len(tasks) for owner, tasks in self._waiting.items()}

    def _next_task(self):
        """The first task of the waiting owner served least recently (called with the queue's lock, when
        a task waits). Least recently, not next in a ring: a run's next chunk is queued only after its
        last one came back, when the worker may already have gone to another owner's task; the run's
        owner is then served right after that one, not after every owner who queued meanwhile."""
        owner = min(self._waiting, key=lambda owner: self._served.get(owner, -1))
        tasks = self._waiting[owner]
        task = tasks.popleft()
        if not tasks:
            del self._waiting[owner]
        self._sends += 1
        self._served[owner] = self._sends
        if len(self._served) > 4 * len(self._waiting) + 64:  # forget owners with nothing waiting
            self._served = {owner: self._served[owner] for owner in self._waiting if owner in self._served}
        self._sent += 1
        return task

    def _dispatch(self) -> None:
        """The dispatcher thread: send tasks while workers are free; every WATCH_SECONDS, the watchdog.
        It ends once nothing waits or trains (every run has then ended)."""
        watch = time.monotonic() + WATCH_SECONDS
        while True:
            task = None
            with self._queue:
                while not self._closed and not (self._waiting and self._sent < self.slots()) \
                        and time.monotonic() < watch:
                    self._queue.wait(max(0.0, watch - time.monotonic()))
                if self._closed or (not self._waiting and not self._sent and time.monotonic() >= watch):
                    self._dispatcher = None  # idle: nothing waits, nothing trains (the next task starts one)
                    return
                if self._waiting and self._sent < self.slots():
                    task = self._next_task()
            if task is not None:
                self._send(*task)
            if time.monotonic() >= watch:
                self.stop_abandoned()
                watch = time.monotonic() + WATCH_SECONDS

    def _send(self, send, args, result: Future) -> None:
        try:
            future = send(*args)
        except Exception as error:  # e.g. a broken pool: the run sees it as its chunk's outcome
            self._task_done(None, result, error)
            return
        future.add_done_callback(lambda done: self._task_done(done, result))

    def _task_done(self, done, result: Future, error: BaseException | None = None) -> None:
        """Relay a task's outcome to its run, then free its slot: the run queues its next chunk first,
        so an owner with one run keeps a worker of its own instead of waiting for the next to free."""
        if error is None:
            try:
                value = done.result()
            except BaseException as raised:  # noqa: BLE001 - relayed to the run, which sorts them
                error = raised
        if error is not None:
            result.set_exception(error)
        else:
            result.set_result(value)
        with self._queue:
            self._sent -= 1
            self._queue.notify_all()  # a worker is free: the waiting owner served least recently goes

    def close_queue(self) -> None:
        """Stop the dispatcher (tasks still waiting are not sent; a later task starts it again)."""
        with self._queue:
            self._closed = True
            self._queue.notify_all()

    # --- the watchdog ------------------------------------------------------------------------

    def stop_abandoned(self, now: float | None = None) -> list[JobRun]:
        """Stop the runs whose owner has gone (see GONE_GRACE); returns them."""
        now = time.monotonic() if now is None else now
        alive: dict[object, bool | None] = {}
        stopped = []
        for run in list(self._runs):
            if run.owner is None or run.ended:
                continue
            if run.owner not in alive:
                alive[run.owner] = self._owner_alive(run.owner)
            there = alive[run.owner]
            if there is True:
                gone = False
            elif there is False:
                gone = now - self._gone_since.setdefault(run.owner, now) >= GONE_GRACE
            else:
                gone = now - run.touched >= UNPOLLED_SECONDS
            if gone:
                run.abandon()
                stopped.append(run)
        for owner in [owner for owner in self._gone_since if alive.get(owner) is not False]:
            del self._gone_since[owner]  # back (a reconnected tab), or no run left to watch
        return stopped

    def _owner_alive(self, owner) -> bool | None:
        if self.owner_alive is None:
            return None
        try:
            there = self.owner_alive(owner)
        except Exception:  # whoever answers cannot tell now: the poll age decides
            return None
        return there if isinstance(there, bool) else None

    def run_ended(self) -> None:
        with self._lock:
            self._active -= 1

    def load(self) -> float:
        """Runs per worker, at least 1: how many runs share each worker's time."""
        return max(1.0, self._active / max(1, self.workers))

    def chunk_seconds(self) -> float:
        """A chunk's length: CHUNK_SECONDS while every run has a worker, longer as runs queue."""
        return min(MAX_CHUNK_SECONDS, CHUNK_SECONDS * self.load())

    def poll_interval(self) -> float:
        """How often a run's page redraws: POLL_INTERVAL while every run has a worker, less often as
        runs queue (each run then moves proportionally slower, so a redraw shows as much news)."""
        return min(MAX_POLL_INTERVAL, POLL_INTERVAL * self.load())

    def has_idle_worker(self) -> bool:
        """More workers than runs: a run's epoch evaluations can go to a worker of their own."""
        return self._active < self.workers

    def submit(self, state: RunState, defer_evaluation: bool = False):
        raise NotImplementedError

    def submit_evaluation(self, hparams: Hyperparams, pending: PendingEpoch):
        raise NotImplementedError

    def recover(self) -> None:
        """Called after a worker was lost, before its chunk is sent again."""

    def without_workers(self) -> float | None:
        """For how long the backend has had no worker to run a task (None: it has one)."""
        return None


class ProcessBackend(_ExecutorBackend):
    """Worker processes on this machine, one per core, started on first use, each loading MNIST once."""

    def __init__(self, data: Mnist, workers: int | None = None):
        super().__init__(data)
        self.workers = workers or available_cores()
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._shared: str | None = None  # the folder the workers map the data from

    def pool(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                if self._shared is None:
                    self._shared = str(shared_folder(self.data))
                # spawn: a fresh interpreter per worker, never a fork of a threaded server
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=warm_up, initargs=(self._shared,))
            return self._pool

    def warm_up(self) -> list[int]:
        """Start every worker and load its data now; returns their pids."""
        pool = self.pool()
        return sorted(set(pool.map(_pid_after_warm_up, range(self.workers * 4))))

    def submit(self, state: RunState, defer_evaluation: bool = False):
        return self.pool().submit(train_chunk, state, self.chunk_seconds(), defer_evaluation)

    def submit_evaluation(self, hparams: Hyperparams, pending: PendingEpoch):
        return self.pool().submit(evaluate_epoch, hparams, pending)

    def recover(self) -> None:
        with self._pool_lock:  # every run of a broken pool lands here; the first replaces it
            broken = self._pool if self._pool is not None and self._pool._broken else None
            if broken is not None:
                self._pool = None
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self.close_queue()
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def shared_folder(data: Mnist):
    """The folder ``data`` is mapped from, if it is a shared copy, else a new shared copy's."""
    filename = getattr(data.train_images, "filename", None)  # np.memmap keeps the file it maps
    return Path(filename).parent if filename else share(data)


def _pid_after_warm_up(_) -> int:
    time.sleep(0.05)  # long enough that every worker takes a share of the warm-up tasks
    return warm_up()


SchedulerUnreachable = ClusterUnusable  # the older name


class DaskBackend(_ExecutorBackend):
    """The tasks on a Dask cluster: ``dask scheduler`` and ``dask worker ADDRESS --nthreads 1``."""

    def __init__(self, data: Mnist, address: str, timeout: float = CONNECT_SECONDS):
        # A bad address raises cluster.SchedulerAddressError, a cluster that cannot be used (nothing or
        # not Dask answering, no worker, workers that cannot run nn_core) ClusterUnusable, each one line.
        self.address = address.strip()
        self.client = connect(self.address, timeout)
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        self.lost_errors = (KilledWorker, FutureCancelledError)
        self._no_worker_since: float | None = None  # when the scheduler was first seen without a worker
        self._workers, self._workers_asked = 1, 0.0
        super().__init__(data)

    def submit(self, state: RunState, defer_evaluation: bool = False):
        return self.client.submit(train_chunk, state, self.chunk_seconds(), defer_evaluation, pure=False)

    def submit_evaluation(self, hparams: Hyperparams, pending: PendingEpoch):
        return self.client.submit(evaluate_epoch, hparams, pending, pure=False)

    @property
    def workers(self) -> int:
        """The cluster's workers now (asked of the scheduler at most once a second)."""
        now = time.monotonic()
        if now - self._workers_asked >= 1.0 and self.client.status == "running":
            self._workers_asked = now
            try:
                self._workers = int(self.client.scheduler_info(n_workers=0).get("n_workers", self._workers))
            except (OSError, RuntimeError):  # the scheduler lost, or the client closing: the last count stands
                return self._workers
            self._no_worker_since = (self._no_worker_since or now) if self._workers == 0 else None
        return self._workers

    def without_workers(self) -> float | None:
        return None if self.workers else time.monotonic() - self._no_worker_since

    def shutdown(self) -> None:
        self.close_queue()
        self.client.close()
