"""A data set of four classes for tests: MNIST's digits 0-3 under other names (``from_arrays``)."""

from __future__ import annotations

import numpy as np

from nn_core.datasets import from_arrays

FOUR = ("nought", "one", "two", "three")


def four_digits(mnist, train_images: int, test_images: int):
    """MNIST's 0-3 named FOUR: the first ``train_images`` and ``test_images`` of them."""
    train = np.flatnonzero(mnist.train_labels < 4)[:train_images]
    test = np.flatnonzero(mnist.test_labels < 4)[:test_images]
    return from_arrays(mnist.train_images[train], mnist.train_labels[train], FOUR, "four digits",
                       mnist.test_images[test], mnist.test_labels[test])
