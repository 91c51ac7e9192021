"""What a run trains on when it is not all of MNIST's training set as published, and the augmentation
of its batches: the overfitting lab's data side.

- ``Split``: the run's training images (a fixed, seeded, class-balanced subset of ``train_size``),
  the validation images held out of them for early stopping (the subset's last ones), and the
  training labels with ``label_noise`` of them replaced by random digits. The test set is never
  touched. Each draw has its own generator, seeded from the run's seed and a constant of its own, so
  the run's main generator (initial weights, shuffles) draws exactly what it draws without them.
- ``augment``: each batch's images rotated, sheared, scaled and shifted a little, with the ranges of
  the variations that teach the lab a handwriting (``nn_core.handwriting.vary``), all at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .settings import FULL_BATCH

SIDE = 28
VALIDATION = 5_000  # images held out for early stopping (a fifth of the subset when it is small)
# The ranges of nn_core.handwriting.vary, which teaching your handwriting uses.
ROTATION_DEGREES, SHEAR, SCALE, SHIFT = 12.0, 0.25, (0.85, 1.1), 1.5
# Streams of the run's seed: each extra source of randomness draws from its own generator.
SUBSET_STREAM, NOISE_STREAM, DROPOUT_STREAM, AUGMENT_STREAM = 1, 2, 3, 4


def stream(seed: int, number: int) -> np.random.Generator:
    """The generator of one of a run's extra random streams (independent of ``default_rng(seed)``)."""
    return np.random.default_rng([seed, number])


@dataclass(frozen=True, eq=False)
class Split:
    """Rows of the data's training set a run trains and validates on, and its training labels."""

    train_rows: np.ndarray  # (n,) indices into the data's training set, sorted
    train_labels: np.ndarray  # (n,) uint8: the labels trained on (noisy if label_noise > 0)
    validation_rows: np.ndarray | None  # (v,) indices, held out; None without early stopping
    noisy: int  # labels replaced


def balanced_subset(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` row indices, sorted, each digit in its share of ``labels`` (largest remainders)."""
    n = len(labels)
    if size >= n:
        return np.arange(n)
    counts = np.bincount(labels)
    exact = counts * size / n
    take = np.floor(exact).astype(int)
    take[np.argsort(take - exact)[: size - take.sum()]] += 1  # the largest remainders get one more
    rows = [rng.choice(np.flatnonzero(labels == digit), k, replace=False) for digit, k in enumerate(take) if k]
    return np.sort(np.concatenate(rows))


def validation_size(train_size: int) -> int:
    return min(VALIDATION, train_size // 5)


FULL = FULL_BATCH  # MNIST's training images: the default data set's size


def trained_images(hp, available: int = FULL) -> int:
    """The images a run of these settings trains on each epoch (all ``available`` training images of its
    data set, MNIST's 60,000 by default, or its subset of ``train_size``), less those early stopping
    holds out: what ``split`` will give, from the settings and the data set's size alone."""
    size = min(hp.train_size, available)
    return size - (validation_size(size) if hp.early_stop else 0)


def batches_per_epoch(hp, available: int = FULL) -> int:
    """An epoch's batches for these settings on a data set of ``available`` training images: the last
    one partial, none dropped."""
    return -(-trained_images(hp, available) // hp.batch_size)


def split(labels: np.ndarray, train_size: int, label_noise: float, early_stop: int, seed: int,
          classes: int = 10) -> Split | None:
    """The run's split of a training set with ``labels``; None when it is the whole set, unchanged."""
    n = len(labels)
    if train_size >= n and label_noise == 0 and early_stop == 0:
        return None
    rows = balanced_subset(labels, min(train_size, n), stream(seed, SUBSET_STREAM))
    validation = None
    if early_stop:
        held = validation_size(len(rows))
        rows, validation = rows[:-held], rows[-held:]
    train_labels = labels[rows].copy()
    noisy = int(round(label_noise * len(rows)))
    if noisy:
        rng = stream(seed, NOISE_STREAM)
        replaced = rng.choice(len(rows), noisy, replace=False)
        train_labels[replaced] = rng.integers(0, classes, noisy)  # a random class (for MNIST the true one a tenth of the time)
    return Split(rows, train_labels, validation, noisy)


_GRID = np.stack(np.meshgrid(np.arange(SIDE), np.arange(SIDE), indexing="ij"), axis=-1).reshape(-1, 2)  # (784, 2)


def augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image of ``images`` (m, 784) float (any scale) warped by a random affine map, in place:
    rotated up to 12 degrees, sheared up to 0.25, scaled 0.85-1.1, shifted up to 1.5 px."""
    m = len(images)
    angle = np.radians(rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES, m))
    shear, scale = rng.uniform(-SHEAR, SHEAR, m), rng.uniform(*SCALE, m)
    shift = rng.uniform(-SHIFT, SHIFT, (m, 2))
    cos, sin = np.cos(angle), np.sin(angle)
    # scale * rotation @ [[1, 0], [shear, 1]], as vary builds it
    forward = scale[:, None, None] * np.stack([np.stack([cos - sin * shear, -sin], -1),
                                               np.stack([sin + cos * shear, cos], -1)], 1)  # (m, 2, 2)
    return warp(images, forward, shift)


def warp(images: np.ndarray, forward: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``images`` (m, 784) moved in place: an input pixel at q lands at forward (q - c) + c + shift
    (c the centre; ``forward`` (m, 2, 2), ``shift`` (m, 2), in (row, column)); bilinear, with empty (0)
    pixels from beyond the border."""
    m, dtype = len(images), images.dtype
    centre = (SIDE - 1) / 2
    inverse = np.linalg.inv(forward).astype(dtype)  # (m, 2, 2)
    offset = (centre - np.einsum("mij,mj->mi", inverse, centre + shift)).astype(dtype)  # (m, 2)
    rows, columns = _GRID[:, 0].astype(dtype), _GRID[:, 1].astype(dtype)  # (784,)
    # where each output pixel reads from, (m, 784) each; clipped into a zero border one pixel wide
    r = np.clip(inverse[:, 0, :1] * rows + inverse[:, 0, 1:] * columns + offset[:, :1], -1, SIDE)
    c = np.clip(inverse[:, 1, :1] * rows + inverse[:, 1, 1:] * columns + offset[:, 1:], -1, SIDE)
    r0, c0 = np.floor(r), np.floor(c)
    fr, fc = r - r0, c - c0
    padded = np.zeros((m, SIDE + 3, SIDE + 3), dtype)  # a zero border: 1 before, 2 after each side
    padded[:, 1 : SIDE + 1, 1 : SIDE + 1] = images.reshape(m, SIDE, SIDE)
    width = SIDE + 3
    corner = ((r0.astype(np.int64) + 1) * width + c0.astype(np.int64) + 1
              + (np.arange(m) * width * width)[:, None])  # (m, 784) flat index of the top-left neighbour
    flat = padded.ravel()
    top = np.take(flat, corner) * (1 - fc) + np.take(flat, corner + 1) * fc
    bottom = np.take(flat, corner + width) * (1 - fc) + np.take(flat, corner + width + 1) * fc
    images[...] = top * (1 - fr) + bottom * fr
    return images
