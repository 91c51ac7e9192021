"""The exported run's code before its training loop (``nn_core.export`` assembles it): the constants, the
data (reading MNIST, the run's split, augmentation) and the network (forward, backward, the optimizer's
step, evaluation), each generated with only the branches the run uses.

The templates are written as they sat inside one function, indented 8 spaces: a section is the join of
its templates, dedented as a whole, so the exported text does not depend on where a template lives.
"""

from __future__ import annotations

import textwrap

from .components.batches import PASS_ROWS  # a larger batch's gradient is summed over passes this size
from .evaluation import EVAL_CHUNK as EVAL_ROWS  # rows per evaluation pass (the same sums as the lab's)
from .settings import FULL_BATCH as FULL
from .settings import Hyperparams
from .trainset import VALIDATION  # the lab's constants, written into the code: the same numbers by construction

_ACTIVATION = {
    "sigmoid": ("np.tanh(Z * 0.5) * 0.5 + 0.5", "1 / (1 + e^-Z), as tanh: no overflow (the lab's formula)",
                "(1 - A) * A", "sigmoid'(Z) = A (1 - A)"),
    "tanh": ("np.tanh(Z)", "tanh(Z)", "1 - A * A", "tanh'(Z) = 1 - A^2"),
    "relu": ("np.maximum(Z, 0)", "max(Z, 0)", "A > 0", "relu'(Z) = 1 where A > 0"),
}

# A schedule's settings (its factor of the rate is nn_core.export_loop's _SCHEDULE_FUNCTION).
_SCHEDULE_CONSTANTS = {
    "step": "DECAY, STEP_EPOCHS = {hp.lr_decay!r}, {hp.step_epochs}  # the rate times DECAY every STEP_EPOCHS epochs",
    "exponential": "DECAY = {hp.lr_decay!r}  # the rate times DECAY per epoch, batch by batch",
    "cosine": "# the rate annealed along a half cosine over the run",
    "one-cycle": "WARMUP = {hp.warmup!r}  # one cycle: warm-up over this share of the run, then a half cosine down",
}


def constants(hp: Hyperparams, changes) -> str:
    """The script's constants: the run's settings, and only those its code uses."""
    opt = hp.optimizer
    lines = [f"HIDDEN, LAYERS = {hp.hidden_units}, {hp.layers}  # hidden layers of HIDDEN {hp.activation} units",
             f"EPOCHS, BATCH, SEED = {hp.epochs}, {hp.batch_size}, {hp.seed}",
             f"LEARNING_RATE, BETA = {hp.learning_rate!r}, {hp.momentum!r}"
             + ("  # beta unused by plain SGD" if opt == "sgd" else "")]
    if opt == "adam":
        lines.append("BETA2, EPSILON = 0.999, 1e-8  # Adam's second-moment decay and its guard against / 0")
    elif opt == "rmsprop":
        lines.append("EPSILON = 1e-8  # guard against dividing by a zero mean square")
    if hp.l2:
        lines.append(f"L2 = {hp.l2!r}  # lambda: the cost trained on adds lambda/2 * sum(W^2)")
    if hp.dropout > 0:
        lines.append(f"DROPOUT = {hp.dropout!r}  # share of hidden units dropped in each training batch")
    if hp.train_size < FULL:
        lines.append(f"TRAIN_SIZE = {hp.train_size}  # a class-balanced subset of the 60,000 training images")
    if hp.label_noise > 0:
        lines.append(f"LABEL_NOISE = {hp.label_noise!r}  # share of training labels replaced by random digits")
    if hp.early_stop > 0:
        lines.append(f"PATIENCE = {hp.early_stop}  # early stopping: epochs without a better validation cost")
    if hp.schedule != "constant":
        lines.append(_SCHEDULE_CONSTANTS[hp.schedule].format(hp=hp))
    if changes:
        listed = ", ".join(f"({c.batch}, {c.name!r}, {c.value!r})" for c in changes)
        lines.append(f"CHANGES = [{listed}]  # (batches trained before it, setting, new value)")
    lines.append("SCALE = 1 / 255  # pixels 0-255 to [0, 1], applied to X W1 (m, H): 12x fewer numbers than X")
    if hp.batch_size > PASS_ROWS:
        lines.append(f"PASS_ROWS = {PASS_ROWS}  # a larger batch is computed in passes of this many rows")
    lines.append(f"EVAL_ROWS = {EVAL_ROWS}  # rows per evaluation pass (the lab's: the same sums)")
    lines.append("ONE_HOT = np.eye(10, dtype=np.float32)  # ONE_HOT[y]: the post's Y, row-major")
    return "\n".join(lines) + "\n"


# --- the data

_READ_IDX = '''
        def read_idx(folder, name):
            """One IDX file of unsigned bytes (name.gz, or name unpacked) as an array of its stated shape."""
            path = Path(folder) / name
            packed = path.with_name(name + ".gz")
            raw = gzip.decompress(packed.read_bytes()) if packed.exists() else path.read_bytes()
            if raw[:3] != b"\\0\\0\\x08":
                raise SystemExit(f"{path}: not an IDX file of unsigned bytes")
            dims = raw[3]
            shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


        def load(folder):
            """MNIST's training images (60000, 784) and labels (60000,), then the test set's: uint8."""
            return [read_idx(folder, f"{name}-{kind}").reshape((-1, 784) if kind[0] == "i" else -1)
                    for name in ("train", "t10k") for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")]
        '''

_SPLIT = '''
        def split(labels):
            """The run's training rows and labels, and its validation rows (None without early stopping)."""'''
_SUBSET_ROWS = '''
            rng = np.random.default_rng([SEED, 1])  # the subset's own stream of the run's seed
            exact = np.bincount(labels, minlength=10) * TRAIN_SIZE / len(labels)  # each digit's share
            take = np.floor(exact).astype(int)
            take[np.argsort(take - exact)[: TRAIN_SIZE - take.sum()]] += 1  # largest remainders: one more
            rows = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == digit), k, replace=False)
                                           for digit, k in enumerate(take) if k]))'''
_ALL_ROWS = '''
            rows = np.arange(len(labels))'''
_NO_VALIDATION = '''
            validation = None'''
_HOLD_OUT = f'''
            held = min({VALIDATION}, len(rows) // 5)  # the last rows are held out, never trained on
            rows, validation = rows[:-held], rows[-held:]'''
_RUN_LABELS = '''
            run_labels = labels[rows].copy()'''
_NOISE = '''
            noisy = int(round(LABEL_NOISE * len(rows)))
            if noisy:
                rng = np.random.default_rng([SEED, 2])  # the noise's own stream
                replaced = rng.choice(len(rows), noisy, replace=False)
                run_labels[replaced] = rng.integers(0, 10, noisy)  # a random digit (the true one a tenth of the time)'''
_SPLIT_RETURN = '''
            return rows, run_labels, validation
        '''

_AUGMENT = '''
        def augment(X, rng):
            """Each image of X (m, 784) warped in place by a random affine map: rotated up to 12 degrees, sheared up
            to 0.25, scaled 0.85-1.1, shifted up to 1.5 px; bilinear, empty (0) pixels from beyond the border."""
            m, side, centre = len(X), 28, 13.5
            angle = np.radians(rng.uniform(-12.0, 12.0, m))
            shear, scale = rng.uniform(-0.25, 0.25, m), rng.uniform(0.85, 1.1, m)
            shift = rng.uniform(-1.5, 1.5, (m, 2))  # (row, column)
            cos, sin = np.cos(angle), np.sin(angle)
            # scale * rotation @ [[1, 0], [shear, 1]], (m, 2, 2): an input pixel at q lands at forward (q - c) + c + shift
            forward = scale[:, None, None] * np.stack([np.stack([cos - sin * shear, -sin], -1),
                                                       np.stack([sin + cos * shear, cos], -1)], 1)
            inverse = np.linalg.inv(forward).astype(np.float32)
            offset = (centre - np.einsum("mij,mj->mi", inverse, centre + shift)).astype(np.float32)  # (m, 2)
            rows = np.repeat(np.arange(side), side).astype(np.float32)  # each pixel's row and column, (784,)
            columns = np.tile(np.arange(side), side).astype(np.float32)
            # where each output pixel reads from, (m, 784) each; clipped into a zero border one pixel wide
            r = np.clip(inverse[:, 0, :1] * rows + inverse[:, 0, 1:] * columns + offset[:, :1], -1, side)
            c = np.clip(inverse[:, 1, :1] * rows + inverse[:, 1, 1:] * columns + offset[:, 1:], -1, side)
            r0, c0 = np.floor(r), np.floor(c)
            fr, fc = r - r0, c - c0
            width = side + 3
            padded = np.zeros((m, width, width), X.dtype)  # a zero border: 1 before, 2 after each side
            padded[:, 1 : side + 1, 1 : side + 1] = X.reshape(m, side, side)
            corner = ((r0.astype(np.int64) + 1) * width + c0.astype(np.int64) + 1
                      + (np.arange(m) * width * width)[:, None])  # (m, 784): each top-left neighbour, flat
            flat = padded.ravel()
            top = np.take(flat, corner) * (1 - fc) + np.take(flat, corner + 1) * fc
            bottom = np.take(flat, corner + width) * (1 - fc) + np.take(flat, corner + width + 1) * fc
            X[...] = top * (1 - fr) + bottom * fr
            return X
        '''


def data(hp: Hyperparams) -> str:
    """Reading MNIST; the run's training rows if it trains on fewer, or noisy, labels; augmentation."""
    early, noise = hp.early_stop > 0, hp.label_noise > 0
    subset = hp.train_size < FULL
    text = textwrap.dedent(_READ_IDX)
    if subset or early or noise:
        code = [_SPLIT, _SUBSET_ROWS if subset else _ALL_ROWS, _HOLD_OUT if early else _NO_VALIDATION, _RUN_LABELS]
        code += [_NOISE] if noise else []
        text += "\n\n" + textwrap.dedent("".join(code + [_SPLIT_RETURN]))
    if hp.augment == "on":
        text += "\n\n" + textwrap.dedent(_AUGMENT)
    return text


# --- the network

_FORWARD_DROPOUT = '''
        def forward(params, X, masks=None):
            """Hidden activations [A1, ...] (m, H), what each next layer read (times the dropout mask), and
            the logits (m, 10), for pixels X (m, 784) 0-255. params: [W1, b1, W2, b2, ...]."""
            hidden, inputs, A = [], [], X'''
_FORWARD = '''
        def forward(params, X):
            """Hidden activations [A1, ...] (m, H), logits (m, 10); X (m, 784) pixels 0-255, params [W1, b1, ...]."""
            hidden, A = [], X'''
_FORWARD_END_DROPOUT = '''
                if masks is not None:
                    A = A * masks[k]  # dropped units read as 0, the kept scaled by 1 / (1 - DROPOUT)
                inputs.append(A)
            return hidden, inputs, A @ params[-2] + params[-1]  # Z2 = W2 A1 + b2
        '''
_FORWARD_END = '''
            return hidden, A @ params[-2] + params[-1]  # Z2 = W2 A1 + b2
        '''
_BACKWARD_DROPOUT = '''
                    if masks is not None:
                        dA *= masks[k]  # a dropped unit passed nothing on, so gets no gradient'''

_STEP = {
    "momentum": '''

        def step(params, grads, state, learning_rate, beta):
            """Momentum, in place; the grads arrive times 1 - beta."""
            for W, dW, V in zip(params, grads, state["velocity"]):
                V *= beta
                V += dW  # V = beta * V + (1 - beta) * dW
                W -= learning_rate * V  # W = W - learning_rate * V
        ''',
    "nesterov": '''

        def step(params, grads, state, learning_rate, beta):
            """Nesterov's momentum, in place; the grads arrive times 1 - beta."""
            for W, dW, V in zip(params, grads, state["velocity"]):
                V *= beta
                V += dW  # V = beta * V + (1 - beta) * dW
                W -= learning_rate * (dW + beta * V)  # W = W - lr * (beta * V + (1 - beta) * dW): a look-ahead
        ''',
    "sgd": '''

        def step(params, grads, state, learning_rate, beta):
            """Plain gradient descent, in place; the grads arrive times the learning rate."""
            for W, dW in zip(params, grads):
                W -= dW  # W = W - learning_rate * dW
        ''',
    "rmsprop": '''

        def step(params, grads, state, learning_rate, beta):
            """RMSProp, in place: each step divided by the root of a running mean of the squared gradient."""
            for W, dW, S in zip(params, grads, state["square"]):
                S *= beta
                S += (dW * dW) * (1.0 - beta)  # S = beta * S + (1 - beta) * dW^2
                W -= learning_rate * (dW / (np.sqrt(S) + EPSILON))  # W = W - lr * dW / (sqrt(S) + eps)
        ''',
    "adam": '''

        def step(params, grads, state, learning_rate, beta):
            """Adam, in place: momentum (beta1 = beta) over RMSProp's root mean square, both bias-corrected."""
            state["t"] += 1
            first_fix, second_fix = 1.0 - beta ** state["t"], 1.0 - BETA2 ** state["t"]
            for W, dW, M, V in zip(params, grads, state["first"], state["second"]):
                M *= beta
                M += dW * (1.0 - beta)  # M = beta1 * M + (1 - beta1) * dW
                V *= BETA2
                V += (dW * dW) * (1.0 - BETA2)  # V = beta2 * V + (1 - beta2) * dW^2
                # W = W - lr * M_hat / (sqrt(V_hat) + eps), M_hat = M / (1 - beta1^t), V_hat = V / (1 - beta2^t)
                W -= (M / (np.sqrt(V * (1.0 / second_fix)) + EPSILON)) * (learning_rate / first_fix)
        ''',
}

_EVALUATE = '''

        def evaluate(params, images, labels):
            """Mean cross-entropy and accuracy over a whole set, EVAL_ROWS rows at a time."""
            cost, correct = 0.0, 0
            for begin in range(0, len(images), EVAL_ROWS):
                X, y = images[begin : begin + EVAL_ROWS].astype(np.float32), labels[begin : begin + EVAL_ROWS]
                logits = forward(params, X)[-1]
                correct += int(np.count_nonzero(logits.argmax(axis=1) == y))
                shifted = logits - logits.max(axis=1, keepdims=True)
                true = float(np.vdot(ONE_HOT[y], shifted))  # the true digits' shifted logits, summed
                # L = -sum(Y log A2) = sum(log sum(exp(Z2)) - Z2[y]), shifted by each row's max
                cost += float(np.log(np.exp(shifted).sum(axis=1)).sum(dtype=np.float64)) - true
            return cost / len(images), correct / len(images)
        '''


def _forward(hp: Hyperparams) -> list[str]:
    dropout = hp.dropout > 0
    f, f_words, _, _ = _ACTIVATION[hp.activation]
    return [_FORWARD_DROPOUT if dropout else _FORWARD, f'''
            for k in range(LAYERS):
                Z = A @ params[2 * k] * (SCALE if k == 0 else 1.0) + params[2 * k + 1]  # Z1 = W1 X + b1
                A = {f}  # A1 = {f_words}
                hidden.append(A)''', _FORWARD_END_DROPOUT if dropout else _FORWARD_END]


def _backward(hp: Hyperparams) -> list[str]:
    dropout = hp.dropout > 0
    _, _, df, df_words = _ACTIVATION[hp.activation]
    scale_words = {"momentum": "momentum's 1 - beta", "nesterov": "Nesterov's 1 - beta",
                   "sgd": "SGD's learning rate"}.get(hp.optimizer)
    times = (f"times grad_scale ({scale_words}, folded into dZ)" if scale_words
             else "times grad_scale (1 here)")
    inputs_name = "inputs" if dropout else "hidden"
    return [f'''

        def backward(params, X, y, hidden, {"inputs, " if dropout else ""}logits, grad_scale{", masks=None" if dropout else ""}):
            """Gradients [dW1, db1, ...] of the batch's mean cost, {times}."""
            scale = grad_scale / len(X)
            exp = np.exp(logits - logits.max(axis=1, keepdims=True))  # softmax's numerator, shifted: no overflow
            dZ = exp * (scale / exp.sum(axis=1))[:, None] - scale * ONE_HOT[y]  # dZ2 = (A2 - Y) / m
            grads = [None] * len(params)
            for k in reversed(range(LAYERS + 1)):  # the output layer first
                if k < LAYERS:  # a hidden layer
                    dA = dZ @ params[2 * k + 2].T  # dA1 = W2^T dZ2''', _BACKWARD_DROPOUT if dropout else "", f'''
                    dZ = dA * ({df.replace("A", "hidden[k]")})  # dZ1 = dA1 * {df_words}
                grads[2 * k + 1] = dZ.sum(axis=0)  # db = sum(dZ) / m (the 1/m is in dZ)
                grads[2 * k] = X.T @ (dZ * SCALE) if k == 0 else {inputs_name}[k - 1].T @ dZ  # dW1 = dZ1 X^T / m
            return grads
        ''']


def network(hp: Hyperparams) -> str:
    """The network: forward, backward (the gradients), the optimizer's step, and the evaluation."""
    return textwrap.dedent("".join(_forward(hp) + _backward(hp) + [_STEP[hp.optimizer], _EVALUATE]))
