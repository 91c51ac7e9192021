"""One training step seen from inside: every matrix of the forward and backward pass, layer by layer in
the seed post's notation, and the chosen optimizer's own state and update, for the batches a real
``Trainer`` steps.

``InsideRun`` steps an ordinary ``Trainer`` with its own ``next_batch`` and ``step`` (so its batch
costs, weights and shuffles are a Train run's, bit for bit) and, before each step, recomputes the
batch's stages from the same parameters with the post's formulas (``stages``): the trainer's own
pass writes its matrices over each other in place and folds a constant of the optimizer (momentum's
1 - beta, SGD's learning rate) into the output gradient, so its buffers never hold the true gradient.
Row-major throughout, as in ``nn_core.model``: for hidden layers l = 1..L and the output layer L+1,

    Z[l] = A[l-1] W[l] + b[l]   (A[0] = X),   A[l] = f(Z[l]),   A[L+1] = softmax(Z[L+1])
    dZ[L+1] = A[L+1] - Y,   dA[l] = dZ[l+1] W[l+1]^T,   dZ[l] = dA[l] * f'(Z[l])
    dW[l] = A[l-1]^T dZ[l] / m,   db[l] = column sums of dZ[l] / m

Memory stays bounded for any batch (up to the full 60,000): the stages are computed in passes of
``PASS_ROWS`` rows; the cost, dW and db are the whole batch's, while the per-image matrices (X, Z, A,
dZ, dA, f') are kept for the batch's first ``ROWS_KEPT`` images only (all of a batch of 128 or fewer).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .data import Mnist
from .evaluation import blas_threads
from .model import ACTIVATIONS, CLASSES, Model, cross_entropy_from_logits, flat_views, layout, softmax
from .optim import EPSILON, REGISTRY
from .settings import Hyperparams
from .run_events import Diverged, EpochStats, RunStatus
from .training import Trainer

HISTORY_STEPS = 100  # steps of history kept (norms and chosen weights)
ROWS_KEPT = 128  # images of a batch whose per-image matrices are kept (the page shows these)
PASS_ROWS = 512  # images per pass of the stages' recomputation: a pass's matrices stay a few MB

# Each optimizer's state arrays, as the page names them: (key in ``Optimizer.state``, symbol, meaning).
STATE = {name: tuple((a.key, a.symbol, a.meaning) for a in info.state) for name, info in REGISTRY.items()}


def kinds(optimizer: str) -> tuple[str, ...]:
    """What the history follows for an optimizer: the gradient, each state array, the update."""
    return ("gradient", *(key for key, _, _ in STATE[optimizer]), "update")


def kind_symbols(optimizer: str) -> dict[str, str]:
    """Each kind's symbol: dW, the state's letters (V, S, M ...), Δ for the update."""
    return {"gradient": "dW", **{key: symbol for key, symbol, _ in STATE[optimizer]}, "update": "Δ"}


# A few fixed weights whose gradient, state and update the page follows: (parameter, row, column).
# W1 rows are pixels near the centre (row 14 * 28 + column 14 = 406 ...), lit in most digits, columns
# units 0, 1, 2; one weight of each deeper hidden layer; three of the output layer (unit, digit).
# Units are taken modulo the width.
FIRST_LAYER_WEIGHTS = ((406, 0), (375, 1), (487, 2))
OUTPUT_WEIGHTS = ((0, 0), (1, 1), (2, 7))


def chosen_weights(hidden_units: int, layers: int = 1, classes: int = CLASSES) -> list[tuple[str, int, int]]:
    """The weights followed, for a network of this width, depth and output classes (the post's network:
    3 of W1, 3 of W2). Output classes are taken modulo the class count."""
    H, out = hidden_units, f"W{layers + 1}"
    return ([("W1", pixel, unit % H) for pixel, unit in FIRST_LAYER_WEIGHTS]
            + [(f"W{k}", (k - 1) % H, k % H) for k in range(2, layers + 1)]
            + [(out, unit % H, digit % classes) for unit, digit in OUTPUT_WEIGHTS])


def flat_index(hidden_units: int, layers: int, name: str, row: int, column: int, classes: int = CLASSES) -> int:
    """Where parameter ``name``'s entry (row, column) sits in ``Model.flat``."""
    start = 0
    for parameter, shape in layout(hidden_units, layers, classes):
        if parameter == name:
            return start + row * shape[1] + column
        start += int(np.prod(shape))
    raise KeyError(name)


@dataclass(eq=False)
class Stages:
    """One batch through the network, in the post's names (row-major); lists hold layer 1 first.

    m images in the batch, k = min(m, ROWS_KEPT) of them kept per image, H hidden units, L hidden
    layers; n_l is layer l's width (H, or C, the classes, for the output layer L+1: MNIST's 10).
    """

    m: int  # images in the batch
    X: np.ndarray  # (k, 784) inputs in [0, 1]
    y: np.ndarray  # (k,) labels
    Y: np.ndarray  # (k, C) one-hot labels
    Z: list  # L+1 of (k, n_l): Z[l] = A[l-1] W[l] + b[l]
    A: list  # L+1 of (k, n_l): f(Z[l]), the last softmax(Z[L+1])
    cost: float  # -1/m sum Y log A[L+1], over the whole batch
    dZ: list  # L+1 of (k, n_l): A[L+1] - Y for the output, dA[l] * f'(Z[l]) below
    dA: list  # L of (k, H): dZ[l+1] W[l+1]^T
    derivative: list  # L of (k, H): f'(Z[l]), from A[l]
    dW: list  # L+1 of (n_{l-1}, n_l): A[l-1]^T dZ[l] / m over the whole batch
    db: list  # L+1 of (n_l,): column sums of dZ[l] / m over the whole batch

    @property
    def layers(self) -> int:
        """Hidden layers L."""
        return len(self.dA)

    @property
    def rows(self) -> int:
        """Images kept per image matrix (k)."""
        return len(self.X)

    def array(self, name: str) -> np.ndarray:
        """An array by its name in the post's notation: "X", "Y", "Z2", "A1", "dW3", "db1", "dA2" or
        "derivative1" (f'(Z1))."""
        if name in ("X", "Y"):
            return getattr(self, name)
        for prefix in ("derivative", "dZ", "dA", "dW", "db", "Z", "A"):
            if name.startswith(prefix) and name[len(prefix):].isdigit():
                return getattr(self, prefix)[int(name[len(prefix):]) - 1]
        raise KeyError(name)

    def gradient(self) -> np.ndarray:
        """The gradients in one flat vector laid out like ``Model.flat`` (dW1 db1 dW2 db2 ...)."""
        return np.concatenate([part for dW, db in zip(self.dW, self.db) for part in (dW.ravel(), db)])


def stages(model: Model, X: np.ndarray, y: np.ndarray, input_scale: float = 1.0) -> Stages:
    """The batch's forward and backward pass with every intermediate kept (the mean cost's gradient).

    X (m, 784) as the trainer gathers it (0-255 with ``input_scale`` 1/255, float32 or, for a batch
    larger than the trainer's pass, uint8), y (m,) int labels. Computed in passes of ``PASS_ROWS``
    rows; the per-image matrices of the first ``ROWS_KEPT`` images are kept.
    """
    m, kept = len(X), min(len(X), ROWS_KEPT)
    dtype = model.flat.dtype
    dW = [np.zeros_like(W) for W in model.weights]
    db = [np.zeros_like(b) for b in model.biases]
    cost_sum, first = 0.0, None
    for begin in range(0, m, PASS_ROWS):
        rows = slice(begin, begin + PASS_ROWS)
        part = X[rows].astype(dtype) * np.asarray(input_scale, dtype)  # (p, 784) in [0, 1]
        # only the batch's first pass keeps its first images' matrices
        cost, dW_sum, db_sum, matrices = _one_pass(model, part, np.asarray(y[rows]), kept if first is None else 0)
        cost_sum += cost
        for k in range(len(dW)):
            dW[k] += dW_sum[k]
            db[k] += db_sum[k]
        if first is None:
            first = matrices
            X_kept, y_kept = part[:kept].copy(), np.array(y[:kept])
    return Stages(m=m, X=X_kept, y=y_kept, Y=np.eye(model.classes, dtype=dtype)[y_kept], cost=cost_sum / m,
                  dW=[d / m for d in dW], db=[d / m for d in db], **first)


def _one_pass(model: Model, X: np.ndarray, y: np.ndarray, kept: int) -> tuple:
    """Forward and backward through the rows X (p, 784), float in [0, 1]: the summed (not yet averaged)
    cost and parameter gradients, and every layer's matrices for the first ``kept`` rows (copies, so
    the pass's own (p, H) matrices are freed: only the L activations the backward pass needs, and a
    few more, live at once)."""
    activation = ACTIVATIONS[model.activation][0]
    L = model.layers

    def keep(matrix: np.ndarray) -> np.ndarray:
        return matrix[:kept].copy()

    Z, A, whole = [], [], []  # kept rows of Z[l] and A[l]; the pass's activations, for backward
    inputs = X  # A[0]
    for l in range(L):  # hidden layers
        z = inputs @ model.weights[l] + model.biases[l]  # Z (p, n_in)(n_in, H) + (H,)
        Z.append(keep(z))
        inputs = activation(z, z)  # A = f(Z) (p, H), in place
        A.append(keep(inputs))
        whole.append(inputs)
    logits = inputs @ model.weights[L] + model.biases[L]  # Z[L+1] (p, H)(H, C) + (C,)
    Z.append(keep(logits))
    cost_sum = float(np.sum(cross_entropy_from_logits(logits.astype(np.float64), y)))
    dz = softmax(logits)  # A[L+1] (p, C)
    A.append(keep(dz))
    dz -= np.eye(model.classes, dtype=X.dtype)[y]  # dZ[L+1] = A[L+1] - Y
    dW_sum, db_sum, dZ, dA, derivative = _backward(model, X, dz, whole, keep)
    return cost_sum, dW_sum, db_sum, {"Z": Z, "A": A, "dZ": dZ, "dA": dA, "derivative": derivative}


def _backward(model: Model, X: np.ndarray, dz: np.ndarray, whole: list, keep) -> tuple:
    """``_one_pass``'s backward pass from the output's dZ: summed dW and db per layer, and the kept rows
    of dZ, dA and f'(Z) per layer."""
    activation_backward = ACTIVATIONS[model.activation][1]
    L = model.layers
    dZ, dA, derivative = [None] * (L + 1), [None] * L, [None] * L
    dZ[L] = keep(dz)
    dW_sum, db_sum = [None] * (L + 1), [None] * (L + 1)
    below = [X] + whole  # each layer's input A[l-1]
    for l in reversed(range(L + 1)):
        dW_sum[l] = below[l].T @ dz  # (n_in, p)(p, n_out)
        db_sum[l] = dz.sum(axis=0)
        if l == 0:
            break
        da = dz @ model.weights[l].T  # dA[l-1 here, the post's l] (p, n_out)(n_out, H)
        slope = np.ones_like(da)
        activation_backward(whole[l - 1], slope, np.empty_like(da))  # f'(Z) (p, H), from A
        dA[l - 1], derivative[l - 1] = keep(da), keep(slope)
        da *= slope  # dZ = dA * f'(Z)
        dZ[l - 1] = keep(da)
        dz = da
    return dW_sum, db_sum, dZ, dA, derivative


@dataclass(eq=False)
class Step:
    """One step of the run: its batch's stages, the cost the trainer measured, and the optimizer's work."""

    number: int  # 1-based step of the run
    epoch: int  # 1-based epoch it belonged to
    batch: int  # 1-based batch within that epoch
    cost: float  # the trainer's batch cost (before its update), as in the run's batch_costs
    stages: Stages
    before: Model  # parameters before the step
    after: Model  # and after it
    optimizer: str  # its name in ``OPTIMIZERS``
    state: dict  # the optimizer's state arrays after the step (flat like Model.flat), copied
    previous: dict  # the same state before the step, at the chosen weights only
    update: np.ndarray  # what was subtracted from the parameters, flat like Model.flat
    adam_steps: int | None = None  # Adam's t (this step's), else None
    learning_rate: float | None = None  # the rate this step used (a schedule's, or as changed mid-run)

    @property
    def chosen(self) -> list[tuple[str, int, int]]:
        return chosen_weights(self.before.hidden_units, self.before.layers, self.before.classes)

    def views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        return flat_views(flat, self.before.hidden_units, self.before.layers, self.before.classes)

    def kinds(self) -> dict[str, np.ndarray]:
        """Gradient, each state array and update, each a flat vector (``kinds(optimizer)``'s order)."""
        return {"gradient": self.stages.gradient(), **{key: self.state[key] for key, _, _ in STATE[self.optimizer]},
                "update": self.update}


def chosen_indices(model: Model) -> np.ndarray:
    return np.array([flat_index(model.hidden_units, model.layers, *weight, classes=model.classes)
                     for weight in chosen_weights(model.hidden_units, model.layers, model.classes)])


def numbers(step: Step, hparams: Hyperparams) -> dict[str, np.ndarray]:
    """The optimizer's formula with the real numbers, one entry per chosen weight, in the order it
    computes them: the weight and its gradient, each state before and after, what the optimizer
    derives from them (Nesterov's look-ahead, RMSProp's and Adam's divisor, Adam's M_hat and V_hat),
    the update subtracted and the weight after. The state, update and weights are the trainer's own
    values; the derived ones are recomputed here in float64 from them."""
    index = chosen_indices(step.before)
    values = {"W": step.before.flat[index].astype(np.float64), "dW": step.stages.gradient()[index].astype(np.float64)}
    for key, symbol, _ in STATE[step.optimizer]:
        values[f"{symbol} before"] = step.previous[key].astype(np.float64)
        values[symbol] = step.state[key][index].astype(np.float64)
    beta = hparams.momentum
    if step.optimizer == "nesterov":
        values["look-ahead"] = beta * values["V"] + (1 - beta) * values["dW"]
    elif step.optimizer == "rmsprop":
        values["√S + ε"] = np.sqrt(values["S"]) + EPSILON
    elif step.optimizer == "adam":
        first_fix, second_fix = corrections(hparams, step.adam_steps)
        values["M̂"] = values["M"] / first_fix
        values["V̂"] = values["V"] / second_fix
        values["√V̂ + ε"] = np.sqrt(values["V̂"]) + EPSILON
    values["Δ"] = step.update[index].astype(np.float64)
    values["W after"] = step.after.flat[index].astype(np.float64)
    return values


def corrections(hparams: Hyperparams, t: int) -> tuple[float, float]:
    """The optimizer's bias corrections at step t (Adam's 1 - beta1^t and 1 - beta2^t)."""
    return REGISTRY[hparams.optimizer].corrections(hparams.momentum, t)


@dataclass(frozen=True)
class Record:
    """What the history keeps of one step."""

    number: int
    norms: np.ndarray  # (L+1 layers, kinds): Frobenius norms of each layer's gradient, state, update
    values: np.ndarray  # (len(chosen weights), kinds)


def record(step: Step) -> Record:
    L, chosen = step.before.layers, step.chosen
    kinds_now = step.kinds()
    norms, values = np.empty((L + 1, len(kinds_now))), np.empty((len(chosen), len(kinds_now)))
    for k, flat in enumerate(kinds_now.values()):
        views = step.views(flat)
        for layer in range(L + 1):
            W, b = views[f"W{layer + 1}"], views[f"b{layer + 1}"]
            norms[layer, k] = np.sqrt(float(np.vdot(W, W)) + float(np.vdot(b, b)))
        for i, (name, row, column) in enumerate(chosen):
            values[i, k] = views[name][row, column]
    return Record(step.number, norms, values)


@dataclass(eq=False)
class InsideRun:
    """A session's run stepped a batch at a time: the trainer, its last step seen from inside, and
    the last ``HISTORY_STEPS`` steps' optimizer figures."""

    trainer: Trainer
    history: deque  # of Record, at most HISTORY_STEPS
    last: Step | None = None
    last_epoch: EpochStats | None = None  # the evaluation of the last epoch ended, if any

    @classmethod
    def start(cls, data: Mnist, hparams: Hyperparams, initial: Model | None = None,
              train_sample: int | None = None) -> "InsideRun":
        """A fresh run of ``hparams`` (the seed's weights and shuffles), or from ``initial``'s weights."""
        trainer = Trainer(data, hparams, initial=initial, train_sample=train_sample)
        return cls(trainer, deque(maxlen=HISTORY_STEPS))

    @property
    def hparams(self) -> Hyperparams:
        return self.trainer.hparams

    @property
    def steps(self) -> int:
        return self.trainer.total_batches_done

    @property
    def diverged(self) -> Diverged | None:
        return self.trainer.diverged

    @property
    def finished(self) -> bool:
        """Every epoch trained, or diverged: no further step."""
        return self.trainer.finished

    def advance(self, steps: int = 1) -> None:
        """Train up to ``steps`` batches (fewer if the run ends), keeping the last one's stages."""
        # Overflow at a diverging learning rate shows in the cost (the trainer ends the run).
        with np.errstate(all="ignore"), blas_threads(self.trainer.threads):
            for _ in range(steps):
                if self.finished:
                    return
                self._step()

    def _step(self) -> None:
        trainer = self.trainer
        trainer.status = RunStatus.RUNNING
        X, y = trainer.next_batch()
        before = trainer.model.copy()
        captured = stages(before, X, y, trainer.input_scale)
        index = chosen_indices(before)
        previous = {key: array[index].copy() for key, array in trainer.optimizer.state.items() if key != "steps"}
        cost = trainer.step(X, y)
        if trainer.status is RunStatus.DIVERGED:
            return  # the trainer restored the last good parameters; the last good step stays shown
        state = trainer.optimizer.state
        self.last = Step(number=trainer.total_batches_done, epoch=trainer.epoch + 1, batch=trainer.batch,
                         cost=cost, stages=captured, before=before, after=trainer.model.copy(),
                         optimizer=trainer.hparams.optimizer,
                         state={key: array.copy() for key, array in state.items() if key != "steps"},
                         previous=previous, update=trainer.update.copy(),
                         adam_steps=int(state["steps"][0]) if "steps" in state else None,
                         learning_rate=trainer.learning_rate)
        self.history.append(record(self.last))
        if trainer.epoch_complete:
            ended = trainer.end_epoch()  # evaluates, as a Train run does, and starts the next shuffle
            if isinstance(ended, EpochStats):
                self.last_epoch = ended

    def history_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Steps (n,), norms (n, L+1 layers, kinds) and chosen weights' values (n, chosen, kinds)."""
        records = list(self.history)
        if not records:
            hp = self.hparams
            count = len(kinds(hp.optimizer))
            return (np.empty(0, int), np.empty((0, hp.layers + 1, count)),
                    np.empty((0, len(chosen_weights(hp.hidden_units, hp.layers)), count)))
        return (np.array([r.number for r in records]), np.stack([r.norms for r in records]),
                np.stack([r.values for r in records]))
