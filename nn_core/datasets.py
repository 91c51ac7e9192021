"""Data sets other than MNIST: made from arrays (a user's drawings, or what the readers of the
upload formats produce), checked, with a seeded test split held out when none is given."""

from __future__ import annotations

import hashlib

import numpy as np

from .data import PIXELS, DataError, DataSet
from .model import MAX_CLASSES, MIN_CLASSES

MAX_UPLOAD_BYTES = 50 * 2**20  # an upload, compressed
MAX_TRAIN_IMAGES = 60_000
MAX_TEST_IMAGES = 10_000
HELD_OUT = 0.2  # the share of a data set without a test split that is held out as its test set
MAX_NAME = 40  # characters of a class's or a data set's name


def digest(train_images, train_labels, test_images, test_labels, classes) -> str:
    """A short digest naming a data set by its contents: the same arrays and classes, the same key."""
    h = hashlib.sha256()
    for array in (train_images, train_labels, test_images, test_labels):
        h.update(str(array.shape).encode())
        h.update(np.ascontiguousarray(array).data)
    h.update("\x00".join(classes).encode())
    return h.hexdigest()[:16]


def _check_labels(labels: np.ndarray, images: np.ndarray, classes: tuple[str, ...], part: str) -> None:
    if images.ndim != 2 or images.shape[1] != PIXELS or images.dtype != np.uint8:
        raise DataError(f"{part}: images must be 28x28 uint8, got {images.dtype} {images.shape}")
    if labels.shape != (len(images),):
        raise DataError(f"{part}: {len(labels):,} labels for {len(images):,} images")
    if labels.size and int(labels.max()) >= len(classes):
        raise DataError(f"{part}: label {int(labels.max())} but only {len(classes)} classes (0-{len(classes) - 1})")


def _check_classes(classes) -> tuple[str, ...]:
    classes = tuple(str(name)[:MAX_NAME] for name in classes)
    if not MIN_CLASSES <= len(classes) <= MAX_CLASSES:
        raise DataError(f"a data set has {MIN_CLASSES} to {MAX_CLASSES} classes, this one has {len(classes)}")
    if len(set(classes)) != len(classes):
        raise DataError("two classes have the same name")
    return classes


def from_arrays(images, labels, classes, name: str, test_images=None, test_labels=None, seed: int = 0,
                note: str = "") -> DataSet:
    """A checked data set from uint8 images (n, 784) or (n, 28, 28) and labels 0..len(classes)-1.
    Without a test split, a seeded ``HELD_OUT`` share of every class is held out as one (said in ``note``)."""
    classes = _check_classes(classes)
    images = np.asarray(images, np.uint8).reshape(len(images), -1)
    labels = np.asarray(labels).astype(np.uint8)
    _check_labels(labels, images, classes, "training set")
    if test_images is None:
        train, test = _hold_out(labels, len(classes), seed)
        images, labels, test_images, test_labels = images[train], labels[train], images[test], labels[test]
        held = f"no test split given: {HELD_OUT:.0%} of each class held out as the test set (seed {seed})"
        note = f"{note}; {held}" if note else held
    else:
        test_images = np.asarray(test_images, np.uint8).reshape(len(test_images), -1)
        test_labels = np.asarray(test_labels).astype(np.uint8)
        _check_labels(test_labels, test_images, classes, "test set")
    if len(images) > MAX_TRAIN_IMAGES or len(test_images) > MAX_TEST_IMAGES:
        raise DataError(f"{len(images):,} training and {len(test_images):,} test images: at most "
                        f"{MAX_TRAIN_IMAGES:,} and {MAX_TEST_IMAGES:,}")
    missing = [c for k, c in enumerate(classes) if not np.any(labels == k)]
    if missing:
        raise DataError(f"class {missing[0]!r} has no training image")
    arrays = (images, labels, test_images, test_labels)
    return DataSet(*arrays, classes=classes, name=str(name)[:MAX_NAME] or "data set",
                   key=digest(*arrays, classes), note=note)


def _hold_out(labels: np.ndarray, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and test rows: of each class with two or more images, ``HELD_OUT`` (at least one) held out."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for k in range(n_classes):
        rows = rng.permutation(np.flatnonzero(labels == k))
        held = max(1, round(HELD_OUT * len(rows))) if len(rows) >= 2 else 0
        test.append(rows[:held])
        train.append(rows[held:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def read_dataset(source, filename: str | None = None, seed: int = 0) -> DataSet:
    """A data set from an upload or a path, in any supported format (IDX, a zip of class folders, .npz, CSV)."""
    raise DataError("reading uploaded data sets is not built yet")  # dsimport replaces this


def write_zip_of_folders(data: DataSet) -> bytes:
    """The data set as a zip of one folder of PNGs per class."""
    raise NotImplementedError  # dsimport replaces this
