"""The network of the seed post: 784-H-10, one hidden layer, softmax output, cross-entropy.

The post is column-major (Andrew Ng's notation: ``W1 (H, 784) @ X (784, m)``). Here everything is
row-major, translated once: ``X (m, 784) @ W1 (784, H)``, so ``W1_here = W1_post.T``.

All four parameter arrays are views into one flat vector (``Model.flat``), and the gradients are
views into another, so the optimizer updates every parameter with a handful of NumPy calls.
The forward and backward pass is written once, into preallocated buffers (``Workspace``); the
training loop reuses one workspace for a whole run, and tests call the same code in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INPUTS = 784
CLASSES = 10


# Each activation: forward f(z) written into out, and its derivative from the cached activation
# a = f(z) (multiplied into the upstream gradient in place), so z need not be kept.
def _sigmoid(z, out):
    # 1 / (1 + e^-z) written as (1 + tanh(z / 2)) / 2: NumPy's tanh is SIMD-vectorised (about 10x
    # faster than scipy's expit on a 128 x 64 batch) and cannot overflow for any z.
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _sigmoid_backward(a, grad, tmp):  # sigma' = a (1 - a)
    np.subtract(1, a, out=tmp)
    tmp *= a
    grad *= tmp


def _tanh(z, out):
    return np.tanh(z, out=out)


def _tanh_backward(a, grad, tmp):  # tanh' = 1 - a^2
    np.multiply(a, a, out=tmp)
    np.subtract(1, tmp, out=tmp)
    grad *= tmp


def _relu(z, out):
    return np.maximum(z, 0, out=out)


def _relu_backward(a, grad, tmp):  # relu' = 1 where a > 0
    np.greater(a, 0, out=tmp)  # 1.0 / 0.0 in tmp's dtype
    grad *= tmp


ACTIVATIONS = {
    "sigmoid": (_sigmoid, _sigmoid_backward),
    "tanh": (_tanh, _tanh_backward),
    "relu": (_relu, _relu_backward),
}


def layout(hidden_units: int) -> list[tuple[str, tuple[int, ...]]]:
    """Names and shapes of the parameters, in the order they sit in the flat vector."""
    return [
        ("W1", (INPUTS, hidden_units)),
        ("b1", (hidden_units,)),
        ("W2", (hidden_units, CLASSES)),
        ("b2", (CLASSES,)),
    ]


def flat_views(flat: np.ndarray, hidden_units: int) -> dict[str, np.ndarray]:
    """Reshaped views of a flat vector, one per parameter (writing a view writes the vector)."""
    views, start = {}, 0
    for name, shape in layout(hidden_units):
        size = int(np.prod(shape))
        views[name] = flat[start : start + size].reshape(shape)
        start += size
    return views


def parameter_count(hidden_units: int) -> int:
    return sum(int(np.prod(shape)) for _, shape in layout(hidden_units))


@dataclass(eq=False)
class Model:
    """Parameters of a 784-H-10 network. ``W1 (784, H)``, ``b1 (H,)``, ``W2 (H, 10)``, ``b2 (10,)``."""

    flat: np.ndarray  # (parameter_count(H),) float32, or float64 in gradient checks
    hidden_units: int
    activation: str = "sigmoid"

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose from {', '.join(ACTIVATIONS)}")
        if self.flat.shape != (parameter_count(self.hidden_units),):
            raise ValueError(f"flat parameters have shape {self.flat.shape}, expected ({parameter_count(self.hidden_units)},)")
        views = flat_views(self.flat, self.hidden_units)
        self.W1, self.b1, self.W2, self.b2 = views["W1"], views["b1"], views["W2"], views["b2"]

    @classmethod
    def initialize(cls, hidden_units: int, rng: np.random.Generator, activation: str = "sigmoid",
                   dtype=np.float32) -> "Model":
        """The post's initialisation: ``randn * sqrt(1 / n_in)`` for weights, zero biases."""
        model = cls(np.zeros(parameter_count(hidden_units), dtype=dtype), hidden_units, activation)
        model.W1[...] = rng.standard_normal((INPUTS, hidden_units)) * np.sqrt(1.0 / INPUTS)
        model.W2[...] = rng.standard_normal((hidden_units, CLASSES)) * np.sqrt(1.0 / hidden_units)
        return model

    @classmethod
    def from_arrays(cls, W1, b1, W2, b2, activation: str = "sigmoid") -> "Model":
        hidden_units = W1.shape[1]
        model = cls(np.empty(parameter_count(hidden_units), dtype=W1.dtype), hidden_units, activation)
        model.W1[...], model.b1[...], model.W2[...], model.b2[...] = W1, b1, W2, b2
        return model

    def copy(self) -> "Model":
        return Model(self.flat.copy(), self.hidden_units, self.activation)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2}

    def hidden(self, X: np.ndarray) -> np.ndarray:
        """Hidden activations (m, H) for float inputs X (m, 784)."""
        Z1 = X @ self.W1
        Z1 += self.b1
        return ACTIVATIONS[self.activation][0](Z1, Z1)

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Output pre-activations (m, 10)."""
        Z2 = self.hidden(X) @ self.W2
        Z2 += self.b2
        return Z2

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Softmax probabilities (m, 10); X is float (m, 784) in [0, 1] or one image (784,)."""
        single = X.ndim == 1
        P = softmax(self.logits(np.atleast_2d(X)))
        return P[0] if single else P

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.argmax(self.logits(np.atleast_2d(X)), axis=1)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so exp never overflows."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def cross_entropy_from_logits(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample cross-entropy -log softmax(z)[y], via log-sum-exp (finite even when p underflows)."""
    rowmax = logits.max(axis=1)
    logsumexp = np.log(np.exp(logits - rowmax[:, None]).sum(axis=1)) + rowmax
    return logsumexp - logits[np.arange(len(labels)), labels]


class Workspace:
    """Every buffer one forward + backward pass needs, for batches of up to ``batch_size`` rows.

    Allocated once per run; ``forward`` and ``forward_backward`` only write into it. ``grad`` is a
    flat vector laid out like ``Model.flat`` with per-parameter views ``gW1 gb1 gW2 gb2``.
    """

    def __init__(self, hidden_units: int, batch_size: int, dtype=np.float32):
        m, H = batch_size, hidden_units
        self.hidden_units = hidden_units
        self.Z1 = np.empty((m, H), dtype)  # hidden pre-activation, then activation A1 in place
        self.dA1 = np.empty((m, H), dtype)  # gradient wrt A1, then wrt Z1 in place
        self.tmp = np.empty((m, H), dtype)  # activation derivative
        self.Z2 = np.empty((m, CLASSES), dtype)  # logits, then exp(shifted), then dZ2 in place
        self.targets = np.empty((m, CLASSES), dtype)  # one-hot labels times the gradient's scale
        self.rowmax = np.empty(m, dtype)
        self.rowsum = np.empty(m, dtype)
        self.logsum = np.empty(m, dtype)
        self.grad = np.empty(parameter_count(H), dtype)
        views = flat_views(self.grad, H)
        self.gW1, self.gb1, self.gW2, self.gb2 = views["W1"], views["b1"], views["W2"], views["b2"]
        self._eye = np.eye(CLASSES, dtype=dtype)
        self._eye_scale = 1.0

    def scaled_one_hot(self, y: np.ndarray, scale: float) -> np.ndarray:
        """``scale * onehot(y)`` (m, 10) in ``targets``: one ``np.take`` from a scaled identity."""
        if scale != self._eye_scale:  # changes only for the last, partial batch of an epoch
            np.multiply(np.eye(CLASSES), scale, out=self._eye)
            self._eye_scale = scale
        return np.take(self._eye, y, axis=0, out=self.targets[: len(y)], mode="clip")


def forward(model: Model, X: np.ndarray, ws: Workspace, input_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Hidden activations A1 (m, H) and logits Z2 (m, 10), written into ``ws`` (views returned).

    The network's input is ``input_scale * X``: the loop passes raw 0-255 pixels cast to float with
    ``input_scale = 1/255`` and the scale is applied to X W1 (m, H), 12x fewer numbers than X.
    """
    m = len(X)
    A1, Z2 = ws.Z1[:m], ws.Z2[:m]
    np.matmul(X, model.W1, out=A1)
    if input_scale != 1.0:
        A1 *= input_scale
    A1 += model.b1
    ACTIVATIONS[model.activation][0](A1, A1)
    np.matmul(A1, model.W2, out=Z2)
    Z2 += model.b2
    return A1, Z2


def summed_cross_entropy(Z2: np.ndarray, targets: np.ndarray, scale: float, ws: Workspace) -> float:
    """Sum over the rows of -log softmax(Z2)[y], stably: log sum exp(z - max) - (z_true - max).

    ``targets`` (m, 10) is ``scale * onehot(y)`` (from ``ws.scaled_one_hot``). Z2 (m, 10) is left
    holding exp(Z2 - row max) and ``ws.rowsum[:m]`` its row sums, for the softmax's gradient or
    probabilities.
    """
    m = len(Z2)
    rowmax, rowsum, logsum = ws.rowmax[:m], ws.rowsum[:m], ws.logsum[:m]
    np.maximum.reduce(Z2, axis=1, out=rowmax)
    Z2 -= rowmax[:, None]
    true_logits = float(np.vdot(targets, Z2)) / scale  # sum of the shifted true-class logits
    np.exp(Z2, out=Z2)
    np.add.reduce(Z2, axis=1, out=rowsum)
    np.log(rowsum, out=logsum)
    return float(np.add.reduce(logsum, dtype=np.float64)) - true_logits


def forward_backward(model: Model, X: np.ndarray, y: np.ndarray, ws: Workspace,
                     input_scale: float = 1.0, grad_scale: float = 1.0) -> float:
    """Mean cross-entropy of the batch; gradients of that mean, times ``grad_scale``, in ``ws.grad``.

    X (m, 784) float, y (m,) int labels, m <= the workspace's batch size. The network reads
    ``input_scale * X`` (see ``forward``). ``grad_scale`` lets the optimizer fold a constant factor
    of its update (momentum's 1 - beta) into dZ2 (m, 10) instead of the whole gradient vector.
    """
    m = len(X)
    A1, Z2 = forward(model, X, ws, input_scale)
    dA1, tmp, rowsum = ws.dA1[:m], ws.tmp[:m], ws.rowsum[:m]

    scale = grad_scale / m  # dZ2 = grad_scale * (softmax - onehot) / m
    targets = ws.scaled_one_hot(y, scale)  # (m, 10)
    cost = summed_cross_entropy(Z2, targets, scale, ws) / m  # leaves exp(shifted) in Z2, sums in rowsum

    # backward: dZ2 (m, 10) = exp(shifted) * scale / rowsum - scale * onehot
    np.divide(scale, rowsum, out=rowsum)
    Z2 *= rowsum[:, None]
    Z2 -= targets
    np.matmul(A1.T, Z2, out=ws.gW2)  # (H, 10)
    np.add.reduce(Z2, axis=0, out=ws.gb2)
    np.matmul(Z2, model.W2.T, out=dA1)  # (m, H)
    ACTIVATIONS[model.activation][1](A1, dA1, tmp)  # dZ1 = dA1 * f'(Z1), from the cached activation
    np.add.reduce(dA1, axis=0, out=ws.gb1)
    if input_scale != 1.0:
        dA1 *= input_scale  # gW1 = (input_scale X).T dZ1
    np.matmul(X.T, dA1, out=ws.gW1)  # (784, H)
    return cost
