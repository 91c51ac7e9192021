"""What runs on a worker (a local process or a Dask worker): a run's next chunk, an epoch's figures,
the worker's copy of MNIST, loaded once, and the few other data sets (a session's own) it trains on,
each mapped once from the copy its server shared (or, on Dask, handed over once by the scheduler).
Imported by the cluster code and the backends; imports neither, so imports run one way."""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from .data import CHECKSUM_FILE, DATA_DIR, Mnist, load_mnist, load_shared
from .run_events import EpochStats, PendingEpoch
from .run_state import RunState
from .runs import TRAIN_SAMPLE
from .settings import Hyperparams
from .training import Trainer

DATA_ARCHIVE = "nn_lab_mnist.zip"  # the name of MNIST's files as sent to a Dask worker (nn_core.cluster)
CHUNK_SECONDS = 0.4  # a chunk's training when every run has a worker (see nn_core.job_run)

_worker_data: Mnist | None = None
# A session's data sets this worker mapped, by key, the latest used last: a few at most (each is up to
# 55 MB of the page cache, shared with the server), and one whose shared copy its server has deleted
# (no run uses it any more) is dropped at the worker's next task.
CACHED_DATA_SETS = 3
_cached: "OrderedDict[str, tuple[str, Mnist]]" = OrderedDict()


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


def run_data(source: "str | Mnist | None" = None) -> Mnist:
    """The data set a task trains on: this worker's MNIST (``source`` None), a data set handed over
    whole (a Dask worker's copy of a scattered one), or the one its server shared in the folder
    ``source``, mapped once and cached by its key (at most CACHED_DATA_SETS)."""
    if source is None:
        return worker_data()
    if not isinstance(source, str):
        return source
    for key, (folder, _) in list(_cached.items()):
        if folder != source and not os.path.isdir(folder):  # its server freed it: no run uses it any more
            del _cached[key]
    for key, (folder, data) in _cached.items():
        if folder == source:
            _cached.move_to_end(key)
            return data
    data = load_shared(source)
    _cached[data.key] = (source, data)
    while len(_cached) > CACHED_DATA_SETS:
        _cached.popitem(last=False)
    return data


def cached_keys() -> list[str]:
    """The keys of the data sets this worker holds mapped now, the latest used last (for tests)."""
    return list(_cached)


def train_chunk(state: RunState, seconds: float = CHUNK_SECONDS, defer_evaluation: bool = False,
                source: "str | Mnist | None" = None) -> RunState:
    """The run's next state after about ``seconds`` of training (at least one batch), on one BLAS
    thread (see _ExecutorBackend), with the app's sampled per-epoch train figures. With
    ``defer_evaluation`` an epoch's figures are left to ``evaluate_epoch`` on another worker.
    ``source``: the run's data set if not MNIST (see ``run_data``), whose key the state names."""
    trainer = Trainer.resume(run_data(source), state, threads=1, train_sample=TRAIN_SAMPLE,
                             defer_evaluation=defer_evaluation)
    trainer.run(max_seconds=seconds)
    return replace(trainer.state(), mix=None)  # the run's handle keeps its training mix (a fine-tuning's
    # ~31 MB): not sent back, so the server holds one copy, not one more per chunk


def evaluate_epoch(hparams: Hyperparams, pending: PendingEpoch, data: "str | Mnist | None" = None) -> EpochStats:
    """The figures of an epoch a chunk left unevaluated: the same numbers as evaluating it in the chunk
    (the same code on one BLAS thread), computed while the run's next epoch trains elsewhere. ``data``:
    the run's data set if not MNIST (a data set, or the folder of its shared copy: see ``run_data``)."""
    trainer = Trainer(run_data(data), hparams, threads=1, train_sample=TRAIN_SAMPLE)
    return trainer.evaluate_pending(pending)


def data_folder() -> Path:
    """Where this process finds MNIST: the repository's ``data/mnist``, or on a Dask worker that has no
    copy, the files sent to it (see ``connect``), unpacked once beside the archive."""
    if (DATA_DIR / CHECKSUM_FILE).is_file():
        return DATA_DIR
    for entry in map(Path, sys.path):  # a Dask worker's own folder is on its path; uploads land there
        archive = entry / DATA_ARCHIVE
        if archive.is_file():
            folder = entry / "nn_lab_mnist"
            if not (folder / CHECKSUM_FILE).is_file():
                unpacking = Path(tempfile.mkdtemp(prefix="nn_lab_mnist-", dir=entry))
                with zipfile.ZipFile(archive) as files:
                    files.extractall(unpacking)
                try:
                    unpacking.replace(folder)  # whole or not at all: a concurrent task may unpack it too
                except OSError:
                    pass
            return folder
    return DATA_DIR  # load_mnist then says which file is missing
