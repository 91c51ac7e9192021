"""A model over a whole labelled set, in chunks: the cost and accuracy the loop reports after each
epoch and the Evaluate page's diagnostics both come from ``chunked_logits``."""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

from .model import Model, Workspace, forward, summed_cross_entropy

EVAL_CHUNK = 2048  # rows per evaluation matmul: big enough for BLAS, small enough for memory
_blas_controller = None


def blas_threads(threads: int | None):
    """Context manager limiting BLAS to ``threads`` threads (None: leave it alone), restored on exit.

    Our matrices are small (128 x 784 x 64): when another process holds the other core, OpenBLAS's
    threads wait on each other for whole scheduler slices, so shared machines train on one thread.
    """
    global _blas_controller
    if threads is None:
        return contextlib.nullcontext()
    if _blas_controller is None:  # finding the loaded BLAS libraries takes ~10 ms: once per process
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=threads, user_api="blas")


def chunked_logits(model: Model, images: np.ndarray, chunk: int = EVAL_CHUNK, threads: int | None = 1
                   ) -> Iterator[tuple[slice, np.ndarray, Workspace]]:
    """The model over a whole set (uint8 or float (n, 784)), a chunk at a time, in reused buffers.

    Yields (rows, logits (m, C), workspace), C the model's classes; the logits are a view into the workspace,
    valid until the next chunk. uint8 pixels are only cast (0-255): forward applies the 1/255 to X W1.
    """
    n = len(images)
    rows = min(chunk, n)
    dtype = model.flat.dtype
    ws = Workspace(model.hidden_units, rows, dtype, layers=model.layers, classes=model.classes)
    input_scale = 1 / 255 if images.dtype == np.uint8 else 1.0
    cast = np.empty((rows, images.shape[1]), dtype) if images.dtype != dtype else None
    with blas_threads(threads):
        for start in range(0, n, chunk):
            X = images[start : start + chunk]
            if cast is not None:
                X = cast[: len(X)]
                np.copyto(X, images[start : start + chunk], casting="unsafe")
            _, logits = forward(model, X, ws, input_scale)
            yield slice(start, start + len(X)), logits, ws


def evaluate(model: Model, images: np.ndarray, labels: np.ndarray, chunk: int = EVAL_CHUNK,
             threads: int | None = 1) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) over a whole set, in chunks; images uint8 or float (n, 784)."""
    total_cost, correct = 0.0, 0
    for rows, logits, ws in chunked_logits(model, images, chunk, threads):
        y = labels[rows]
        correct += int(np.count_nonzero(np.argmax(logits, axis=1) == y))
        total_cost += summed_cross_entropy(logits, ws.scaled_one_hot(y, 1.0), 1.0, ws)
    return total_cost / len(images), correct / len(images)
