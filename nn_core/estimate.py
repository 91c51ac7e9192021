"""How long runs take, from their settings: the one estimator the Sweep page and both CLIs use.

A run's CPU seconds on one worker (one BLAS thread), fitted to 16 runs measured here in CPU time (from 16
to 512 units, 1-4 layers, batches of 1 to 60,000, Adam, augmentation, dropout, early stopping, 1,000
images; each within 30%), then to real sweeps on the worker processes (benchmarks/sweep_estimate.py).
"""

from __future__ import annotations

from .runs import TRAIN_SAMPLE
from .settings import Hyperparams
from .trainset import FULL, batches_per_epoch, trained_images, validation_size

MAC_SECONDS = 3.9e-11  # per multiply-add of one image's forward pass (training one costs ~3: forward and back)
BATCH_SECONDS = 3.6e-4  # per step, whatever its size: the update and the loop's own work
AUGMENT_SECONDS = 3.1e-5  # per image rotated, sheared, scaled and shifted
DROPOUT_SECONDS = 6.4e-8  # per hidden unit and image trained
EPOCH_SECONDS = 0.07  # per epoch: the network's health and the bookkeeping
JOB_OVERHEAD = 1.15  # the chunks' round trips between the server and its worker processes
TEST_IMAGES = 10_000


def run_seconds(hp: Hyperparams, data=None) -> float:
    """A run's CPU seconds on one worker, from its settings and its data set's sizes and classes (``data``:
    a DataSet; None: MNIST's) (a diverging run ends sooner)."""
    available, test_images, classes = (FULL, TEST_IMAGES, 10) if data is None else \
        (len(data.train_labels), len(data.test_labels), data.n_classes)
    macs = 784 * hp.hidden_units + (hp.layers - 1) * hp.hidden_units ** 2 + classes * hp.hidden_units  # per image
    held_out = validation_size(min(hp.train_size, available)) if hp.early_stop else 0
    trained = trained_images(hp, available)
    batches = hp.epochs * batches_per_epoch(hp, available)
    # After each epoch: a sample of the training images (all of them after the last), the test set and
    # the held-out images are read once each
    evaluated = (hp.epochs - 1) * min(TRAIN_SAMPLE, trained) + trained + hp.epochs * (test_images + held_out)
    seconds = (3 * hp.epochs * trained + evaluated) * macs * MAC_SECONDS + batches * BATCH_SECONDS \
        + hp.epochs * trained * (AUGMENT_SECONDS * (hp.augment == "on")
                                 + DROPOUT_SECONDS * hp.hidden_units * hp.layers * (hp.dropout > 0)) \
        + hp.epochs * EPOCH_SECONDS
    return seconds * JOB_OVERHEAD


def estimated_seconds(runs_: list[Hyperparams], workers: int, data=None) -> float:
    """The wall time of a sweep whose ``workers`` have their cores to themselves: its runs' CPU time
    shared out, or its longest run (on ``data``, a DataSet; None: MNIST)."""
    seconds = [run_seconds(hp, data) for hp in runs_]
    return max(sum(seconds) / max(1, workers), max(seconds, default=0.0))


def duration(seconds: float) -> str:
    """A duration as people say it: "40 s", "12 min", "2.2 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
