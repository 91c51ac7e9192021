"""The network of the seed post, 784-H-10, and its deeper siblings 784-H-...-H-10: hidden layers of
one width and activation, softmax output, cross-entropy. One hidden layer is the post's network.

The post is column-major (Andrew Ng's notation: ``W1 (H, 784) @ X (784, m)``). Here everything is
row-major, translated once: ``X (m, 784) @ W1 (784, H)``, so ``W1_here = W1_post.T``.

Every parameter array (W1 b1 W2 b2 ... W(L+1) b(L+1) for L hidden layers) is a view into one flat
vector (``Model.flat``), and the gradients are views into another, so the optimizer updates every
parameter with a handful of NumPy calls. The forward and backward pass is written once, for every
depth, into preallocated buffers (``Workspace``); the training loop reuses one workspace for a whole
run, and tests call the same code in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INPUTS = 784
CLASSES = 10  # MNIST's digits: the default output layer
MIN_CLASSES, MAX_CLASSES = 2, 62  # a data set's classes: two, up to EMNIST byclass's 62


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


MAX_LAYERS = 4  # hidden layers

# Initialisations of the weights: the standard deviation of N(0, sd^2) for a layer of fan-in n.
# Biases always start at zero.
INITS = {
    "lecun": lambda n: np.sqrt(1.0 / n),  # the post's randn * sqrt(1 / n_in)
    "normal": lambda n: 1.0,  # the post's Part 1: plain randn, which saturates sigmoid units
    "he": lambda n: np.sqrt(2.0 / n),  # suits ReLU
    "zeros": None,  # every unit the same: the symmetry that initialisation must break
}


def layout(hidden_units: int, layers: int = 1, classes: int = CLASSES) -> list[tuple[str, tuple[int, ...]]]:
    """Names and shapes of the parameters, in the order they sit in the flat vector:
    W1 (784, H), b1 (H,), then W2 (H, H), b2 (H,) ... for deeper layers, and W(L+1) (H, C), b(L+1) (C,)
    for C classes (MNIST's 10 by default)."""
    widths = [INPUTS] + [hidden_units] * layers + [classes]
    shapes = []
    for k, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        shapes += [(f"W{k}", (fan_in, fan_out)), (f"b{k}", (fan_out,))]
    return shapes


def flat_views(flat: np.ndarray, hidden_units: int, layers: int = 1, classes: int = CLASSES) -> dict[str, np.ndarray]:
    """Reshaped views of a flat vector, one per parameter (writing a view writes the vector)."""
    views, start = {}, 0
    for name, shape in layout(hidden_units, layers, classes):
        size = int(np.prod(shape))
        views[name] = flat[start : start + size].reshape(shape)
        start += size
    return views


def parameter_count(hidden_units: int, layers: int = 1, classes: int = CLASSES) -> int:
    return sum(int(np.prod(shape)) for _, shape in layout(hidden_units, layers, classes))


def weight_names(layers: int) -> list[str]:
    """W1 ... W(L+1): the weight matrices, first layer to output layer."""
    return [f"W{k}" for k in range(1, layers + 2)]


@dataclass(eq=False)
class Model:
    """Parameters of a 784-H-...-H-10 network with ``layers`` hidden layers of ``hidden_units``.

    ``weights[k]`` (fan_in, fan_out) and ``biases[k]`` (fan_out,) are layer k+1's, the last the output
    layer's; they are also attributes W1 b1 W2 b2 ... (for one hidden layer: W1 (784, H), b1 (H,),
    W2 (H, 10), b2 (10,), the post's four arrays).
    """

    flat: np.ndarray  # (parameter_count(H, L, C),) float32, or float64 in gradient checks
    hidden_units: int
    activation: str = "sigmoid"
    layers: int = 1  # hidden layers
    classes: int = CLASSES  # output units: MNIST's 10, or a data set's 2-62 classes

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose from {', '.join(ACTIVATIONS)}")
        if not 1 <= self.layers <= MAX_LAYERS:
            raise ValueError(f"a model has 1 to {MAX_LAYERS} hidden layers, not {self.layers}")
        if not MIN_CLASSES <= self.classes <= MAX_CLASSES:
            raise ValueError(f"a model has {MIN_CLASSES} to {MAX_CLASSES} output units, not {self.classes}")
        expected = parameter_count(self.hidden_units, self.layers, self.classes)
        if self.flat.shape != (expected,):
            raise ValueError(f"flat parameters have shape {self.flat.shape}, expected ({expected},)")
        views = flat_views(self.flat, self.hidden_units, self.layers, self.classes)
        for name, view in views.items():
            setattr(self, name, view)
        self.weights = [views[f"W{k}"] for k in range(1, self.layers + 2)]
        self.biases = [views[f"b{k}"] for k in range(1, self.layers + 2)]

    @classmethod
    def initialize(cls, hidden_units: int, rng: np.random.Generator, activation: str = "sigmoid",
                   dtype=np.float32, layers: int = 1, init: str = "lecun", classes: int = CLASSES) -> "Model":
        """Weights drawn layer by layer from N(0, sd^2) of ``INITS[init]`` (the post's ``randn *
        sqrt(1 / n_in)`` by default), zero biases; ``zeros`` draws nothing."""
        if init not in INITS:
            raise ValueError(f"unknown initialisation {init!r}; choose from {', '.join(INITS)}")
        model = cls(np.zeros(parameter_count(hidden_units, layers, classes), dtype=dtype), hidden_units, activation,
                    layers, classes)
        if INITS[init] is not None:
            for W in model.weights:
                W[...] = rng.standard_normal(W.shape) * INITS[init](W.shape[0])
        return model

    @classmethod
    def starting(cls, hp, initial: "Model | None", rng: np.random.Generator, classes: int = CLASSES) -> "Model":
        """A run's first model: ``initial`` copied (it must have the settings' shape and ``classes``
        outputs), else drawn as ``hp`` says."""
        if initial is None:
            return cls.initialize(hp.hidden_units, rng, hp.activation, layers=hp.layers, init=hp.init, classes=classes)
        if initial.shape_key != (hp.hidden_units, hp.activation, hp.layers):
            raise ValueError(f"the starting model has {initial.describe()}, the settings ask for "
                             f"{hp.hidden_units} {hp.activation} units in {hp.layers} layer(s)")
        if initial.classes != classes:
            raise ValueError(f"the starting model reads {initial.classes} classes, the data set has {classes}")
        return cls(initial.flat.astype(np.float32, copy=True), hp.hidden_units, hp.activation, hp.layers, classes)

    @classmethod
    def from_arrays(cls, activation: str = "sigmoid", **arrays: np.ndarray) -> "Model":
        """A model from its named arrays W1 b1 ... W(L+1) b(L+1) (copied)."""
        layers = sum(1 for name in arrays if name.startswith("W")) - 1
        hidden_units, classes = arrays["W1"].shape[1], arrays[f"b{layers + 1}"].shape[0]
        model = cls(np.empty(parameter_count(hidden_units, layers, classes), dtype=arrays["W1"].dtype),
                    hidden_units, activation, layers, classes)
        for name, view in model.arrays().items():
            view[...] = arrays[name]
        return model

    @classmethod
    def of(cls, flat: np.ndarray, hidden_units: int, activation: str, layers: int) -> "Model":
        """A model over ``flat`` (not copied), its class count read from the vector's length (every
        class adds an output unit of H weights and a bias)."""
        hidden_part = parameter_count(hidden_units, layers, 0)
        classes, rest = divmod(flat.size - hidden_part, hidden_units + 1)
        if rest:
            raise ValueError(f"{flat.size} parameters fit no {hidden_units}-unit, {layers}-layer network")
        return cls(flat, hidden_units, activation, layers, classes)

    def copy(self) -> "Model":
        return Model(self.flat.copy(), self.hidden_units, self.activation, self.layers, self.classes)

    @property
    def shape_key(self) -> tuple[int, str, int]:
        """(width, activation, depth): models with the same key have the same parameter layout."""
        return self.hidden_units, self.activation, self.layers

    def describe(self) -> str:
        """"64 sigmoid units" or "2 layers of 64 sigmoid units"."""
        units = f"{self.hidden_units} {self.activation} units"
        return units if self.layers == 1 else f"{self.layers} layers of {units}"

    def arrays(self) -> dict[str, np.ndarray]:
        return flat_views(self.flat, self.hidden_units, self.layers, self.classes)

    def hidden_layers(self, X: np.ndarray) -> list[np.ndarray]:
        """Every hidden layer's activations, each (m, H), for float inputs X (m, 784)."""
        f = ACTIVATIONS[self.activation][0]
        activations, A = [], X
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            Z = A @ W
            Z += b
            A = f(Z, Z)
            activations.append(A)
        return activations

    def hidden(self, X: np.ndarray) -> np.ndarray:
        """The last hidden layer's activations (m, H) for float inputs X (m, 784)."""
        return self.hidden_layers(X)[-1]

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Output pre-activations (m, 10)."""
        Z = self.hidden(X) @ self.weights[-1]
        Z += self.biases[-1]
        return Z

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
    flat vector laid out like ``Model.flat``, with per-parameter views ``gW[k]``, ``gb[k]`` (and the
    attributes gW1 gb1 gW2 gb2 ...).
    """

    def __init__(self, hidden_units: int, batch_size: int, dtype=np.float32, layers: int = 1,
                 classes: int = CLASSES):
        m, H = batch_size, hidden_units
        self.hidden_units, self.layers = hidden_units, layers
        # Each hidden layer's pre-activation, then its activation A in place (kept for backward).
        self.A = [np.empty((m, H), dtype) for _ in range(layers)]
        self.dropped = None  # each hidden layer's activation after dropout, made by ``use_dropout``
        # Gradient wrt a hidden layer's A, then wrt its Z in place; two, used in turn by deeper nets.
        self.dA = [np.empty((m, H), dtype) for _ in range(min(layers, 2))]
        self.tmp = np.empty((m, H), dtype)  # activation derivative
        self.Z2 = np.empty((m, classes), dtype)  # logits, then exp(shifted), then dZ (output) in place
        self.targets = np.empty((m, classes), dtype)  # one-hot labels times the gradient's scale
        self.rowmax = np.empty(m, dtype)
        self.rowsum = np.empty(m, dtype)
        self.logsum = np.empty(m, dtype)
        self.grad = np.empty(parameter_count(H, layers, classes), dtype)
        views = flat_views(self.grad, H, layers, classes)
        for name, view in views.items():
            setattr(self, "g" + name, view)
        self.gW = [views[f"W{k}"] for k in range(1, layers + 2)]
        self.gb = [views[f"b{k}"] for k in range(1, layers + 2)]
        self._eye = np.eye(classes, dtype=dtype)
        self._eye_scale = 1.0

    def use_dropout(self) -> None:
        """Buffers for training with dropout: each hidden layer's activation times its mask."""
        if self.dropped is None:
            self.dropped = [np.empty_like(A) for A in self.A]

    @property
    def Z1(self) -> np.ndarray:
        """The first hidden layer's buffer (its activation after ``forward``)."""
        return self.A[0]

    def scaled_one_hot(self, y: np.ndarray, scale: float) -> np.ndarray:
        """``scale * onehot(y)`` (m, 10) in ``targets``: one ``np.take`` from a scaled identity."""
        if scale != self._eye_scale:  # changes only for the last, partial batch of an epoch
            np.multiply(np.eye(len(self._eye)), scale, out=self._eye)
            self._eye_scale = scale
        return np.take(self._eye, y, axis=0, out=self.targets[: len(y)], mode="clip")


def forward(model: Model, X: np.ndarray, ws: Workspace, input_scale: float = 1.0,
            masks: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The last hidden layer's activations (m, H) and the logits (m, 10), written into ``ws`` (views
    returned; every hidden layer's activations stay in ``ws.A[l][:m]``).

    ``masks`` (training with inverted dropout): per hidden layer, (m, H) of 0 or 1 / keep; the next
    layer reads the activation times its mask, kept in ``ws.dropped[l]`` (``ws.A`` keeps f(Z) for
    the derivative).

    The network's input is ``input_scale * X``: the loop passes raw 0-255 pixels cast to float with
    ``input_scale = 1/255`` and the scale is applied to X W1 (m, H), 12x fewer numbers than X.
    """
    m = len(X)
    f = ACTIVATIONS[model.activation][0]
    A = X
    for layer, (W, b) in enumerate(zip(model.weights[:-1], model.biases[:-1])):
        Z = ws.A[layer][:m]
        np.matmul(A, W, out=Z)  # (m, n_in)(n_in, H)
        if layer == 0 and input_scale != 1.0:
            Z *= input_scale
        Z += b
        A = f(Z, Z)  # (m, H), in place
        if masks is not None:
            A = np.multiply(A, masks[layer], out=ws.dropped[layer][:m])  # dropped units read as 0
    Z2 = ws.Z2[:m]
    np.matmul(A, model.weights[-1], out=Z2)  # (m, H)(H, 10)
    Z2 += model.biases[-1]
    return A, Z2


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
                     input_scale: float = 1.0, grad_scale: float = 1.0, masks: list[np.ndarray] | None = None
                     ) -> float:
    """Mean cross-entropy of the batch; gradients of that mean, times ``grad_scale``, in ``ws.grad``.

    X (m, 784) float, y (m,) int labels, m <= the workspace's batch size. The network reads
    ``input_scale * X`` (see ``forward``). ``grad_scale`` lets the optimizer fold a constant factor
    of its update (momentum's 1 - beta) into dZ (m, 10) instead of the whole gradient vector.
    ``masks``: dropout's, as in ``forward``.
    """
    m = len(X)
    A, Z2 = forward(model, X, ws, input_scale, masks)
    rowsum = ws.rowsum[:m]

    scale = grad_scale / m  # dZ = grad_scale * (softmax - onehot) / m
    targets = ws.scaled_one_hot(y, scale)  # (m, 10)
    cost = summed_cross_entropy(Z2, targets, scale, ws) / m  # leaves exp(shifted) in Z2, sums in rowsum

    # backward, output layer: dZ (m, 10) = exp(shifted) * scale / rowsum - scale * onehot
    np.divide(scale, rowsum, out=rowsum)
    Z2 *= rowsum[:, None]
    Z2 -= targets
    out = model.layers  # the output layer's index in weights
    np.matmul(A.T, Z2, out=ws.gW[out])  # (H, 10)
    np.add.reduce(Z2, axis=0, out=ws.gb[out])
    _backward_hidden(model, X, Z2, ws, input_scale, masks)
    return cost


def _backward_hidden(model: Model, X: np.ndarray, dZ: np.ndarray, ws: Workspace, input_scale: float,
                     masks: list[np.ndarray] | None) -> None:
    """The hidden layers' gradients into ``ws``, last to first, from the output layer's dZ (m, 10)."""
    m = len(X)
    inputs = ws.A if masks is None else ws.dropped  # what each next layer read
    tmp = ws.tmp[:m]
    backward = ACTIVATIONS[model.activation][1]
    for layer in reversed(range(model.layers)):  # dZ: the gradient wrt the pre-activation of the layer above
        dA = ws.dA[layer % 2][:m]
        np.matmul(dZ, model.weights[layer + 1].T, out=dA)  # (m, fan_out)(fan_out, H)
        if masks is not None:
            dA *= masks[layer]  # a dropped unit passed nothing on, so gets no gradient
        backward(ws.A[layer][:m], dA, tmp)  # dZ = dA * f'(Z), from the cached activation
        np.add.reduce(dA, axis=0, out=ws.gb[layer])
        if layer == 0:
            if input_scale != 1.0:
                dA *= input_scale  # gW1 = (input_scale X).T dZ1
            np.matmul(X.T, dA, out=ws.gW[0])  # (784, H)
        else:
            np.matmul(inputs[layer - 1][:m].T, dA, out=ws.gW[layer])  # (H, H)
        dZ = dA
