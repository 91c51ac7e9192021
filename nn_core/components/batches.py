"""The run's batches: its training set (all of the data's, or a subset with noisy labels and held-out
validation rows), each epoch's shuffle, the gathering of a batch into the run's buffers, augmentation,
and the passes a batch larger than ``PASS_ROWS`` is computed in."""

from __future__ import annotations

import numpy as np

from .. import trainset
from ..data import Mnist
from ..settings import FULL_BATCH, Hyperparams
from .base import Component

# Rows of one forward/backward pass. A larger batch (up to the full 60,000 of the post's Part 1) is
# computed in passes of this many rows whose gradients are summed, so memory stays bounded.
PASS_ROWS = 4096


def fixed_sample(n: int, size: int) -> np.ndarray:
    """``size`` of ``n`` row indices, sorted: the same for every run and epoch (its own seed)."""
    return np.sort(np.random.default_rng(0).choice(n, size, replace=False))


class Batches(Component):
    def __init__(self, data: Mnist, hp: Hyperparams, rng: np.random.Generator, streams: dict):
        self.data, self.batch_size, self.rng = data, hp.batch_size, rng
        n, pixels = data.train_images.shape
        # The run's own training rows, labels and validation rows, when not the whole set as published.
        self.split = trainset.split(data.train_labels, hp.train_size if hp.train_size < FULL_BATCH else n,
                                    hp.label_noise, hp.early_stop, hp.seed, data.n_classes)
        self.samples = n if self.split is None else len(self.split.train_rows)
        self.augment = None
        if hp.augment == "on":
            self.augment = streams["augment"] = trainset.stream(hp.seed, trainset.AUGMENT_STREAM)
        # The batch as the network reads it, (B, 784) float32. uint8 pixels are gathered into their own
        # buffer and only cast (0-255); the 1/255 is applied to X W1 (input_scale). A batch larger than a
        # pass stays gathered as stored, and each pass is cast into the pass-sized float buffer.
        self.pass_rows = min(hp.batch_size, PASS_ROWS)
        images = data.train_images
        self.inputs = np.empty((self.pass_rows, pixels), np.float32)
        same = images.dtype == np.float32 and hp.batch_size == self.pass_rows
        self.gathered = self.inputs if same else np.empty((hp.batch_size, pixels), images.dtype)
        self.input_scale = 1 / 255 if images.dtype == np.uint8 else 1.0
        self.labels = np.empty(hp.batch_size, data.train_labels.dtype)
        self.permutation = None  # this epoch's shuffle, drawn at its first batch

    def next_batch(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``batch`` of this epoch's shuffle (see ``Trainer.next_batch``)."""
        if batch == 0 and self.permutation is None:
            self.permutation = self.rng.permutation(self.samples)
        begin = batch * self.batch_size
        index = self.permutation[begin : begin + self.batch_size]  # positions in the run's training set
        labels = self.data.train_labels
        if self.split is not None:  # positions to rows of the data, and the run's own labels
            labels = self.split.train_labels
            np.take(labels, index, out=self.labels[: len(index)], mode="clip")
            index = self.split.train_rows[index]
        m = len(index)
        X, gathered = self.inputs[:m], self.gathered[:m]
        np.take(self.data.train_images, index, axis=0, out=gathered, mode="clip")
        if m > self.pass_rows:
            X = gathered  # cast pass by pass in ``passes``
        elif self.gathered is not self.inputs:
            np.copyto(X, gathered, casting="unsafe")  # uint8 -> float32, a cast only
        y = self.labels[:m]
        if self.split is None:
            np.take(labels, index, out=y, mode="clip")
        if self.augment is not None and m <= self.pass_rows:
            trainset.augment(X, self.augment)
        return X, y

    def passes(self, X: np.ndarray):
        """A batch too large for one pass, as (its rows, those rows cast into the float buffer and augmented)."""
        for begin in range(0, len(X), self.pass_rows):
            rows = slice(begin, begin + self.pass_rows)
            part = self.inputs[: len(X[rows])]
            np.copyto(part, X[rows], casting="unsafe")
            if self.augment is not None:
                trainset.augment(part, self.augment)
            yield rows, part

    def training_set(self, positions) -> tuple[np.ndarray, np.ndarray]:
        """Images and labels (the run's own, noisy ones included) at ``positions`` of its training set."""
        if self.split is None:
            return self.data.train_images[positions], self.data.train_labels[positions]
        return self.data.train_images[self.split.train_rows[positions]], self.split.train_labels[positions]

    def on_epoch_end(self, run, stats) -> None:
        self.permutation = None  # a new shuffle each epoch

    def state_dict(self) -> dict:
        return {"permutation": self.permutation}

    def load_state_dict(self, state) -> None:
        self.permutation = state.permutation
