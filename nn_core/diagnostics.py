"""What the Evaluate page shows about one model, computed without Streamlit.

``diagnose`` runs the model once over the test set and keeps everything the page's toggles need
(probabilities, predictions, confusion counts, the per-digit report), so a toggle only reads it.
Every figure has one row or column per class of the model (MNIST's 10 digits, or a data set's 2-62 classes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import metrics
from .data import IMAGE_SIDE
from .evaluation import EVAL_CHUNK, chunked_logits
from .model import Model, summed_cross_entropy


@dataclass(eq=False)
class Diagnostics:
    """One model on one labelled set (the 10,000 test images on the page)."""

    labels: np.ndarray  # (n,) int64 true digits (classes)
    probabilities: np.ndarray  # (n, C) float32 softmax outputs, C the model's classes (MNIST's 10)
    predictions: np.ndarray  # (n,) int64 most probable digit
    cost: float  # mean cross-entropy
    confusion: np.ndarray  # (C, C) int64 counts: row = true digit, column = predicted digit
    report: list[dict]  # metrics.report_rows: each class (digits 0-9), then macro and weighted averages
    _cells: dict = field(default_factory=dict, repr=False)  # (true, predicted) -> sorted indices

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / self.confusion.sum())

    def cell(self, true_digit: int, predicted_digit: int) -> np.ndarray:
        """Indices of the examples in one confusion cell, in the order the page shows them.

        Off the diagonal (mistakes): most confident mistake first. On the diagonal (correct):
        least confident first, since the shakiest correct answers are the instructive ones.
        Ties keep index order. Cached per cell, so switching cells back and forth is free.
        """
        key = (int(true_digit), int(predicted_digit))
        if key not in self._cells:
            index = np.flatnonzero((self.labels == key[0]) & (self.predictions == key[1]))
            confidence = self.probabilities[index, key[1]]
            order = np.argsort(confidence if key[0] == key[1] else -confidence, kind="stable")
            self._cells[key] = index[order]
        return self._cells[key]

    def worst_confusion(self) -> tuple[int, int]:
        """The (true, predicted) off-diagonal cell with the most examples (first one on ties)."""
        off_diagonal = self.confusion.copy()
        np.fill_diagonal(off_diagonal, -1)
        true_digit, predicted_digit = np.unravel_index(np.argmax(off_diagonal), off_diagonal.shape)
        return int(true_digit), int(predicted_digit)


def diagnose(model: Model, images: np.ndarray, labels: np.ndarray, chunk: int = EVAL_CHUNK,
             names: tuple[str, ...] | None = None) -> Diagnostics:
    """Run ``model`` over uint8 (n, 784) ``images`` once, in chunks, and derive everything else.
    ``names``: the classes' names for the report's rows (the data set's; None: their numbers).

    The logits and the cost come from the same ``chunked_logits`` and cost as ``evaluation.evaluate`` (raw pixels,
    1/255 applied to X W1), so the accuracy here is exactly the one the Train page reports.
    """
    n = len(images)
    labels = np.asarray(labels, dtype=np.int64)
    if names is not None and len(names) != model.classes:
        raise ValueError(f"{len(names)} class names for a model of {model.classes} classes")
    probabilities = np.empty((n, model.classes), np.float32)
    predictions = np.empty(n, np.int64)  # argmax of the logits, as evaluate takes it (softmax may tie)
    total_cost = 0.0
    # a diverged model's overflow shows in its cost, not as warnings
    with np.errstate(all="ignore"):
        for rows, logits, ws in chunked_logits(model, images, chunk):
            y = labels[rows]
            predictions[rows] = np.argmax(logits, axis=1)
            total_cost += summed_cross_entropy(logits, ws.scaled_one_hot(y, 1.0), 1.0, ws)
            # summed_cross_entropy leaves exp(z - max) in logits and the row sums in ws.rowsum
            np.divide(logits, ws.rowsum[: len(y), None], out=probabilities[rows])
    return Diagnostics(labels=labels, probabilities=probabilities, predictions=predictions, cost=total_cost / n,
                       confusion=metrics.confusion(labels, predictions, model.classes).astype(np.int64),
                       report=metrics.report_rows(labels, predictions, model.classes, names))


def top_probabilities(probabilities: np.ndarray, k: int = 3) -> list[tuple[int, float]]:
    """The k most probable digits (classes) of one (C,) row, most probable first, as (digit, probability)."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(int(d), float(probabilities[d])) for d in order]


def unit_weight_images(model: Model) -> np.ndarray:
    """(H, 28, 28): each hidden unit's 784 incoming weights laid out as the image it looks at."""
    return column_images(model.W1)


def column_images(matrix: np.ndarray) -> np.ndarray:
    """(H, 28, 28) from a (784, H) matrix shaped like W1 (weights, their gradient or change): one
    image per hidden unit, each pixel's entry where the pixel is."""
    return np.ascontiguousarray(matrix.T).reshape(matrix.shape[1], IMAGE_SIDE, IMAGE_SIDE)


TOP_IMAGES = 20  # a deeper unit is shown as the mean of the test images that activate it most


@dataclass(frozen=True)
class Favourites:
    """What the units of one hidden layer respond to most, over a set of images."""

    images: np.ndarray  # (H, 28, 28) float32 in [0, 1]: the mean of each unit's top images
    top: np.ndarray  # (k, H) int64: each unit's top image indices, most active first
    digit: np.ndarray  # (H,) int64: the digit most frequent among a unit's top images
    count: np.ndarray  # (H,) int64: how many of its top images are that digit
    active: np.ndarray  # (H,) bool: the unit is ever active (a dead ReLU unit is not)


def favourite_images(model: Model, images: np.ndarray, labels: np.ndarray, layer: int, k: int = TOP_IMAGES,
                     chunk: int = EVAL_CHUNK) -> Favourites:
    """For each unit of hidden layer ``layer`` (1-based), the ``k`` of the uint8 (n, 784) ``images``
    that activate it most, their mean image and their most frequent label. A deeper unit's incoming
    weights are over other units, not pixels; its favourite inputs show what it has come to detect."""
    n = len(images)
    activations = np.empty((n, model.hidden_units), np.float32)  # (n, H) of the chosen layer
    with np.errstate(all="ignore"):
        for start in range(0, n, chunk):
            rows = slice(start, min(start + chunk, n))
            X = images[rows].astype(np.float32) / np.float32(255)
            activations[rows] = model.hidden_layers(X)[layer - 1]
    k = min(k, n)
    top = np.argpartition(-activations, k - 1, axis=0)[:k]  # (k, H), unordered
    order = np.argsort(-np.take_along_axis(activations, top, axis=0), axis=0, kind="stable")
    top = np.take_along_axis(top, order, axis=0)
    mean = np.stack([images[top[:, unit]].mean(axis=0, dtype=np.float32) for unit in range(top.shape[1])]) / 255
    votes = np.stack([np.bincount(labels[top[:, unit]], minlength=model.classes)
                      for unit in range(top.shape[1])])  # (H, C)
    digit = np.argmax(votes, axis=1)
    return Favourites(images=mean.reshape(-1, IMAGE_SIDE, IMAGE_SIDE).astype(np.float32), top=top.astype(np.int64),
                      digit=digit.astype(np.int64), count=votes[np.arange(len(digit)), digit].astype(np.int64),
                      active=np.any(activations > 0, axis=0))
