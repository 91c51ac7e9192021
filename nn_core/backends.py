"""Where a run's chunks train: worker processes on this machine (``ProcessBackend``, the default) or a
Dask cluster (``DaskBackend``). The results are the same to the bit on every backend, and the same as
``Trainer`` alone. The data is never sent with a task: local workers map the copy the server shared (one
copy in memory for the server and all its workers); a Dask worker loads MNIST once from its own copy.

A run may train on a session's own data set (``start(..., data=)``): it is shared with the workers once
per data set (its key), while runs use it: local workers map a copy written into this process's
temporary folder, a Dask cluster gets it once (``Client.scatter``, to every worker) and each task names
it. When the last run on it ends, the copy is deleted (the scattered one released)."""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .cluster import CONNECT_SECONDS, ClusterUnusable, connect
from .data import DataError, Mnist, share
from .fair_queue import FairQueue
from .handwriting import TrainingMix
from .job_run import MAX_CHUNK_SECONDS, MAX_POLL_INTERVAL, POLL_INTERVAL, JobRun
from .model import Model
from .run_events import PendingEpoch
from .run_state import RunState
from .settings import Hyperparams
from .training import Trainer
from .watchdog import Watchdog
from .worker_tasks import CHUNK_SECONDS, evaluate_epoch, train_chunk, warm_up


MAX_DATA_SETS = 16  # sessions' data sets shared with the workers at once (each up to 55 MB)


def _too_many() -> DataError:
    return DataError(f"the workers hold {MAX_DATA_SETS} data sets for runs now, the most they hold: start the run "
                     "once another has ended")


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


class ExecutorBackend(FairQueue, Watchdog):
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
        # Sessions' data sets the workers can reach now, by key: [what a task is given to reach it, runs on it].
        self._data_sets: dict[str, list] = {}
        self.data_sets_shared = 0  # copies made for the workers so far (one per data set while runs use it)
        self._init_queue()
        self._init_watchdog()

    def start(self, hparams: Hyperparams, initial: Model | None = None, mix: TrainingMix | None = None,
              owner: object = None, data: Mnist | None = None) -> JobRun:
        """A run of ``hparams`` from ``initial`` (else a fresh model) on ``data``: a session's own data set,
        or (None, or a data set without a key) this backend's MNIST; or on ``mix``."""
        data = self.data if data is None or not data.key else data
        state = Trainer(data, hparams, initial=initial, mix=mix).state()
        if data.key:
            self._hold(data)
        with self._lock:
            self._active += 1
        run = JobRun(self, state, owner, data)
        self._runs.add(run)
        return run

    def run_ended(self, data_key: str = "") -> None:
        with self._lock:
            self._active -= 1
            if data_key:
                self._release(data_key)

    def _hold(self, data: Mnist) -> None:
        """One more run on ``data``: shared with the workers if it is not yet. The sharing (a second or
        more for a full-size data set) happens outside the lock, so other runs' ends are not held up."""
        with self._lock:
            if self._one_more(data.key):
                return
            if len(self._data_sets) >= MAX_DATA_SETS:
                raise _too_many()
        source = self._share(data)
        with self._lock:
            full = len(self._data_sets) >= MAX_DATA_SETS
            if not self._one_more(data.key) and not full:
                self._data_sets[data.key] = [source, 1]
                self.data_sets_shared += 1
                return
        self._unshare(source)  # another run shared it meanwhile, or others filled the room
        if full and data.key not in self.shared_data_sets():
            raise _too_many()

    def _one_more(self, key: str) -> bool:
        """Count one more run on the data set ``key`` if it is shared (called with the lock)."""
        entry = self._data_sets.get(key)
        if entry is not None:
            entry[1] += 1
        return entry is not None

    def _release(self, key: str) -> None:
        """One run fewer on the data set ``key``; its shared copy is freed with the last (with the lock)."""
        entry = self._data_sets.get(key)
        if entry is not None:
            entry[1] -= 1
            if entry[1] <= 0:
                del self._data_sets[key]
                self._unshare(entry[0])

    def data_source(self, key: str) -> tuple:
        """The extra argument a task of a run on the data set ``key`` is given to reach it: none for MNIST."""
        if not key:
            return ()
        with self._lock:
            entry = self._data_sets.get(key)
            if entry is None:
                raise DataError("the run's data set is no longer shared with the workers (its runs have ended)")
            return (self._reachable(entry),)

    def _share(self, data: Mnist):
        """Make ``data`` reachable by the workers; returns what a task is given to reach it."""
        raise NotImplementedError

    def _reachable(self, entry: list):
        return entry[0]

    def _unshare(self, source) -> None:
        """Free what ``_share`` made."""

    def shared_data_sets(self) -> list[str]:
        """The keys of the sessions' data sets shared with the workers now."""
        with self._lock:
            return list(self._data_sets)

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

    def submit_evaluation(self, hparams: Hyperparams, pending: PendingEpoch, data_key: str = ""):
        raise NotImplementedError

    def recover(self) -> None:
        """Called after a worker was lost, before its chunk is sent again."""

    def without_workers(self) -> float | None:
        """For how long the backend has had no worker to run a task (None: it has one)."""
        return None


class ProcessBackend(ExecutorBackend):
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
        return self.pool().submit(train_chunk, state, self.chunk_seconds(), defer_evaluation,
                                  *self.data_source(state.data_key))

    def submit_evaluation(self, hparams: Hyperparams, pending: PendingEpoch, data_key: str = ""):
        return self.pool().submit(evaluate_epoch, hparams, pending, *self.data_source(data_key))

    def _share(self, data: Mnist) -> str:
        """A copy the workers map, written into this process's temporary folder (deleted at exit at the latest)."""
        folder = Path(tempfile.mkdtemp(prefix="nn-lab-data-"))
        try:
            share(data, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return str(folder)

    def _unshare(self, source: str) -> None:
        shutil.rmtree(source, ignore_errors=True)  # a worker's mapping stays valid; it drops it at its next task

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
        with self._lock:
            shared, self._data_sets = list(self._data_sets.values()), {}
        for source, _ in shared:
            self._unshare(source)


def shared_folder(data: Mnist):
    """The folder ``data`` is mapped from, if it is a shared copy, else a new shared copy's."""
    filename = getattr(data.train_images, "filename", None)  # np.memmap keeps the file it maps
    return Path(filename).parent if filename else share(data)


def _pid_after_warm_up(_) -> int:
    time.sleep(0.05)  # long enough that every worker takes a share of the warm-up tasks
    return warm_up()


SchedulerUnreachable = ClusterUnusable  # the older name


class DaskBackend(ExecutorBackend):
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
        return self.client.submit(train_chunk, state, self.chunk_seconds(), defer_evaluation,
                                  *self.data_source(state.data_key), pure=False)

    def submit_evaluation(self, hparams: Hyperparams, pending: PendingEpoch, data_key: str = ""):
        return self.client.submit(evaluate_epoch, hparams, pending, *self.data_source(data_key), pure=False)

    def _share(self, data: Mnist) -> list:
        """The data set sent to every worker once (a task given its future gets the worker's copy);
        kept with the data set, to send again should every worker holding it be lost."""
        return [self.client.scatter(data, broadcast=True, hash=False), data]

    def _reachable(self, entry: list):
        source = entry[0]
        if source[0].status != "finished":  # every worker holding it was lost: sent again
            source[0] = self.client.scatter(source[1], broadcast=True, hash=False)
            self.data_sets_shared += 1
        return source[0]

    def _unshare(self, source: list) -> None:
        source[0].release()  # the workers drop their copies

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
        with self._lock:
            self._data_sets = {}
        self.client.close()
