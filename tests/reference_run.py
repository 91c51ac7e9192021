"""The post's default run written out plainly, with no ``nn_core`` code: the bit-for-bit reference of
``tests/test_core_recipe.py``, made in the test's own process with the BLAS that process loaded.

A reference file trained on one CPU is not the reference on another: OpenBLAS picks its kernels by
CPU (Haswell, SkylakeX, Zen...) and they round differently, so a run's parameters differ in their last
bits from one CPU to the next. This module makes the reference where the test runs instead. It keeps
the float32 arithmetic in the order the lab's loop does (the order decides the bits), but shares none
of its code: it is the post's algorithm, row-major (``X (m, 784) @ W1 (784, H)``, the post's ``W1.T``).
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), computed as (1 + tanh(z / 2)) / 2, in place."""
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


def default_run(images: np.ndarray, labels: np.ndarray, hidden: int = 64, lr: float = 4.0, beta: float = 0.9,
                batch: int = 128, epochs: int = 9, seed: int = 138) -> dict[str, np.ndarray]:
    """W1 b1 W2 b2 after the post's run: momentum ``V = beta V + (1 - beta) dW; W -= lr V``.

    images (n, 784) uint8, labels (n,) int. The 1/255 of the pixels is applied to X W1 (as the lab does),
    and (1 - beta) / m is folded into the output gradient dZ2 (the lab's grad_scale).
    """
    rng = np.random.default_rng(seed)
    W1 = (rng.standard_normal((784, hidden)) * np.sqrt(1 / 784)).astype(np.float32)  # randn * sqrt(1/n_in)
    W2 = (rng.standard_normal((hidden, 10)) * np.sqrt(1 / hidden)).astype(np.float32)
    b1, b2 = np.zeros(hidden, np.float32), np.zeros(10, np.float32)
    params = [W1, b1, W2, b2]
    velocity = [np.zeros_like(p) for p in params]
    n = len(labels)
    with threadpool_limits(1, user_api="blas"):  # the lab trains on one BLAS thread
        for _ in range(epochs):
            order = rng.permutation(n)
            for begin in range(0, n, batch):  # the last batch is partial: no sample dropped
                rows = order[begin : begin + batch]
                X = images[rows].astype(np.float32)  # (m, 784), 0-255
                m = len(rows)
                scale = (1.0 - beta) / m
                # forward
                Z1 = X @ W1  # (m, H)
                Z1 *= 1 / 255
                Z1 += b1
                A1 = sigmoid(Z1)
                Z2 = A1 @ W2  # (m, 10)
                Z2 += b2
                # softmax, stably: exp(Z2 - row max) / row sum
                Z2 -= Z2.max(axis=1)[:, None]
                np.exp(Z2, out=Z2)
                # backward: dZ2 = (softmax - onehot) * (1 - beta) / m
                targets = (np.eye(10) * scale).astype(np.float32)[labels[rows]]
                Z2 *= np.divide(scale, Z2.sum(axis=1))[:, None]
                dZ2 = Z2 - targets
                dW2 = A1.T @ dZ2  # (H, 10)
                db2 = dZ2.sum(axis=0)
                dZ1 = dZ2 @ W2.T  # (m, H)
                dZ1 *= (1 - A1) * A1  # sigma'(Z1) = A1 (1 - A1)
                db1 = dZ1.sum(axis=0)
                dZ1 *= 1 / 255
                dW1 = X.T @ dZ1  # (784, H)
                # momentum, as the post writes it
                for p, v, g in zip(params, velocity, (dW1, db1, dW2, db2)):
                    v *= beta
                    v += g  # V = beta V + (1 - beta) dW: (1 - beta) is already in g
                    p -= v * lr  # W = W - lr V
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
