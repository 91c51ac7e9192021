"""A 2-D map of the last hidden layer: where a sample of test images lands, by PCA or t-SNE.

Each test image's last hidden layer activations (H numbers) are what the output layer reads; brought
down to two dimensions, images the network tells apart land apart. PCA is a linear projection: fitted
once (on the kept model) and applied to every epoch's activations, so the frames share their axes
and the classes can be watched separating. t-SNE keeps neighbours together and is far slower
(seconds for 2,000 images), so it is computed on request, one epoch at a time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from .evaluation import chunked_logits
from .model import Model
from .watchdog import GONE_GRACE, UNPOLLED_SECONDS  # the runs' watchdog's own limits

SAMPLE = 2_000  # test images on the map by default
MIN_SAMPLE, MAX_SAMPLE = 500, 5_000  # t-SNE's time grows faster than linearly in the images
SAMPLE_SEED = 0
TSNE_DIMENSIONS = 50  # t-SNE reads the activations' first principal components (when H is larger)
TSNE_PERPLEXITY = 30.0


def sample_rows(n: int, size: int = SAMPLE, seed: int = SAMPLE_SEED) -> np.ndarray:
    """``size`` of ``n`` test image indices (sorted): the same images for every model and epoch. A data
    set's test set smaller than ``size`` (a user's drawings) is shown whole."""
    if not MIN_SAMPLE <= size <= MAX_SAMPLE:
        raise ValueError(f"the map shows {MIN_SAMPLE:,} to {MAX_SAMPLE:,} test images, not {size:,}")
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


@dataclass(frozen=True, eq=False)
class Layer:
    """The last hidden layer's activations for some images, and what the network read from them."""

    activations: np.ndarray  # (m, H) float32
    predicted: np.ndarray  # (m,) int: the digit (class) the network reads

    @classmethod
    def of(cls, model: Model, images: np.ndarray) -> "Layer":
        """``model`` over ``images`` (uint8 or float (m, 784)), by the code ``evaluate`` uses."""
        activations = np.empty((len(images), model.hidden_units), np.float32)
        predicted = np.empty(len(images), np.int64)
        for rows, logits, ws in chunked_logits(model, images):
            activations[rows] = ws.A[-1][: rows.stop - rows.start]
            predicted[rows] = np.argmax(logits, axis=1)
        return cls(activations, predicted)


class PcaMap:
    """Principal components of one layer's activations (the kept model's), applied to any epoch's."""

    def __init__(self, reference: Layer):
        from sklearn.decomposition import PCA

        X = reference.activations.astype(np.float64)
        self.components = min(2, X.shape[1])
        self.pca = PCA(n_components=self.components, svd_solver="full").fit(X)
        # The share of the reference's variance the two axes hold, for the caption.
        self.explained = float(np.sum(self.pca.explained_variance_ratio_))

    def points(self, layer: Layer) -> np.ndarray:
        """(m, 2) float32: ``layer``'s activations on the reference's two axes (a second axis of 0 for H = 1)."""
        projected = self.pca.transform(layer.activations.astype(np.float64))
        if self.components < 2:
            projected = np.column_stack([projected, np.zeros(len(projected))])
        return projected.astype(np.float32)


def tsne_points(layer: Layer, seed: int = 0) -> np.ndarray:
    """(m, 2) float32: t-SNE of ``layer``'s activations (on their first ``TSNE_DIMENSIONS`` principal
    components when H is larger), PCA-initialised, the same result for the same input and seed."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    X = layer.activations.astype(np.float64)
    if X.shape[1] > TSNE_DIMENSIONS and len(X) > TSNE_DIMENSIONS:  # (a tiny test set: its activations as they are)
        X = PCA(n_components=TSNE_DIMENSIONS, svd_solver="full", random_state=seed).fit_transform(X)
    perplexity = min(TSNE_PERPLEXITY, (len(X) - 1) / 3)
    # One OpenMP thread: on cores shared with training (and other work), its threads spin waiting for
    # each other: 500 images took 85 s with them and 11 s without, measured at a load of 14 on 2 cores.
    with threadpool_limits(limits=1, user_api="openmp"):
        embedding = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
                         random_state=seed).fit_transform(X)
    return embedding.astype(np.float32)


# --- t-SNE maps queued for a whole server ------------------------------------------------------

TSNE_SECONDS_PER_POINT = 12.0 / SAMPLE  # a first guess (12 s for 2,000 images) until one was measured


def _tsne_child(connection, activations: np.ndarray) -> None:
    """In a child process: t-SNE of the activations, sent back (or the error's text)."""
    try:
        connection.send(("points", tsne_points(Layer(activations, np.empty(0, np.int64)))))
    except Exception as error:  # noqa: BLE001  (any failure goes back as text)
        connection.send(("error", f"{type(error).__name__}: {str(error)[:200]}"))
    finally:
        connection.close()


class MapJob:
    """One t-SNE map asked for: queued, then computed in a child process of its own, so that it can
    be ended at once when the session that asked for it has gone (t-SNE has no way to stop it)."""

    def __init__(self, layer: Layer, owner: object):
        self.activations = layer.activations
        self.points = len(layer.activations)
        self.owner = owner
        self.submitted = time.monotonic()
        self.touched = self.submitted  # the owner's last look at it: a session polls while it waits
        self.started: float | None = None
        self.result: np.ndarray | None = None
        self.error: str | None = None
        self.cancelled = False  # its owner went before it ended
        self.done = threading.Event()
        self._process = None

    def touch(self) -> None:
        self.touched = time.monotonic()

    def cancel(self) -> None:
        """End it: dropped from the queue, or its child process killed."""
        self.cancelled = True
        process = self._process
        if process is not None and process.is_alive():
            process.kill()


class MapQueue:
    """The server's t-SNE maps, one at a time (several would share the cores with the training): a
    map's wait counts the maps before it, and a map whose session has gone is dropped or ended, as
    nn_core.watchdog stops runs (``owner_alive(owner)``: True, False or None for "cannot tell",
    then a map not looked at for ``unpolled`` seconds counts as abandoned)."""

    def __init__(self, owner_alive=None, grace: float | None = None, unpolled: float | None = None,
                 watch: float = 1.0):
        self.owner_alive = owner_alive
        self.grace = GONE_GRACE if grace is None else grace
        self.unpolled = UNPOLLED_SECONDS if unpolled is None else unpolled
        self.watch = watch
        self.seconds_per_point = TSNE_SECONDS_PER_POINT
        self._jobs: list[MapJob] = []  # queued and running, in order
        self._gone_since: dict[object, float] = {}
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="t-SNE maps", daemon=True)
        self._thread.start()

    def submit(self, layer: Layer, owner: object = None) -> MapJob:
        job = MapJob(layer, owner)
        with self._changed:
            self._jobs.append(job)
            self._changed.notify_all()
        return job

    def expected(self, job: MapJob) -> float:
        return self.seconds_per_point * job.points

    def seconds_ahead(self, job: MapJob | None = None) -> float:
        """About how long the maps before ``job`` still take (0 once it runs); without a job, all
        the maps queued (what a map asked for now would wait)."""
        now, ahead = time.monotonic(), 0.0
        with self._changed:
            jobs = list(self._jobs)
        for other in jobs:
            if other is job:
                return ahead
            started = other.started
            ahead += max(0.0, self.expected(other) - (now - started)) if started is not None else self.expected(other)
        return 0.0 if job is not None else ahead

    def waiting(self) -> int:
        with self._changed:
            return len(self._jobs)

    def _gone(self, job: MapJob, now: float) -> bool:
        there = None
        if self.owner_alive is not None and job.owner is not None:
            try:
                there = self.owner_alive(job.owner)
            except Exception:  # noqa: BLE001  (cannot tell now: the poll age decides)
                there = None
        if there is True:
            self._gone_since.pop(job.owner, None)
            return False
        if there is False:
            return now - self._gone_since.setdefault(job.owner, now) >= self.grace
        return now - job.touched >= self.unpolled

    def _drop_abandoned(self) -> None:
        now = time.monotonic()
        with self._changed:
            for job in [job for job in self._jobs if job.cancelled or self._gone(job, now)]:
                job.cancel()
                if job.started is None:  # never started: off the queue now; a running one ends in _work
                    self._jobs.remove(job)
                    job.done.set()

    def _work(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("forkserver")  # not a fork of the server's threads
        while True:
            with self._changed:
                while not self._jobs:
                    self._changed.wait()
                job = self._jobs[0]
                job.started = time.monotonic()
            receiver, sender = context.Pipe(duplex=False)
            job._process = context.Process(target=_tsne_child, args=(sender, job.activations), daemon=True,
                                           name="t-SNE map")
            job.activations = None  # the child has its copy
            if not job.cancelled:
                job._process.start()
            sender.close()
            while not job.cancelled and job._process.is_alive() and not receiver.poll(self.watch):
                self._drop_abandoned()
            if not job.cancelled:
                try:
                    kind, value = receiver.recv()
                    if kind == "points":
                        job.result = value
                        self.seconds_per_point = (time.monotonic() - job.started) / job.points
                    else:
                        job.error = value
                except (EOFError, OSError):
                    job.error = "the t-SNE process ended without a map"
            if job._process.is_alive():
                job._process.kill()
            if job._process.pid is not None:
                job._process.join()
            receiver.close()
            job._process = None
            with self._changed:
                self._jobs.remove(job)
            job.done.set()
            self._drop_abandoned()
