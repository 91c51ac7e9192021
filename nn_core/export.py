"""A run as code to take home: one short, self-contained NumPy script (``script``) or a Jupyter notebook
(``notebook``) that trains the run's network again and prints the lab's figures.

The code is generated for the run it exports: only the branches the run uses (a momentum run has no Adam
code), the seed post's equations as comments at the lines that compute them. Its arithmetic is the lab's
(float32, the same operations in the same order as ``nn_core.model``, ``nn_core.optim`` and the loop
of ``nn_core.training``, on one BLAS thread), so the same NumPy gives the same numbers, bit for bit:
the post's run prints 97.62% and test cost 0.080080. A setting the script cannot reproduce exactly
is refused with ``ExportError`` naming it, never exported approximately.
"""

from __future__ import annotations

import re
import textwrap

from .settings import SETTINGS, Hyperparams

PASS_ROWS = 4096  # nn_core.training.PASS_ROWS: a larger batch's gradient is summed over passes this size
EVAL_ROWS = 2048  # nn_core.evaluation.EVAL_CHUNK: rows per evaluation pass
VALIDATION = 5_000  # nn_core.trainset.VALIDATION
FULL = 60_000


class ExportError(ValueError):
    """A run the export cannot express exactly; the message names the setting."""


def refusal(hparams: Hyperparams, changes=(), origin: str | None = None, mix=None) -> str | None:
    """Why this run cannot be exported, in one sentence naming the setting; None if it can."""
    if origin is not None or mix is not None:
        return ("This run started from another model (a fine-tuning) and trained on a set of its own, which a "
                "script cannot rebuild: only runs trained from scratch on MNIST can be exported.")
    for change in changes:
        if change.name not in ("learning_rate", "momentum"):
            return f"A change of {change.name} while the run trained cannot be exported."
    return None


def _check(hparams: Hyperparams, changes, origin, mix) -> None:
    hparams.validate()
    reason = refusal(hparams, changes, origin, mix)
    if reason:
        raise ExportError(reason)


def settings_lines(hparams: Hyperparams) -> list[str]:
    """``name=value`` for every setting (a schedule's only when the rate is scheduled), a few per line."""
    unused = set() if hparams.schedule != "constant" else {"schedule", "lr_decay", "step_epochs", "warmup"}
    words = [f"{s.name}={s.format(getattr(hparams, s.name))}" for s in SETTINGS if s.name not in unused]
    return textwrap.wrap(" ".join(words), 108)


def _title(hp: Hyperparams) -> str:
    widths = "-".join(["784"] + [str(hp.hidden_units)] * hp.layers + ["10"])
    post = " (the seed post's run)" if hp == Hyperparams() else ""
    return f"MNIST, a {widths} {hp.activation} network trained with {hp.optimizer}{post}"


def _header(hp: Hyperparams, changes, batches_per_epoch: int, notebook: bool) -> str:
    lines = [_title(hp) + ": a run of the NN lab, exported.", "", "Settings: " + settings_lines(hp)[0]]
    lines += ["  " + line for line in settings_lines(hp)[1:]]
    for change in changes:
        lines.append(f"Changed while it trained: {change.name} = {change.value:g} from batch {change.batch} "
                     f"(epoch {change.batch / batches_per_epoch:.1f})")
    if not notebook:
        lines.append("Run: python run.py --data DIR [--json]   (DIR: MNIST's four IDX files, .gz or not)")
    lines += ["Arithmetic: the lab's (float32, same order of operations, one BLAS thread): its numbers to the bit."]
    if hp.batch_size > PASS_ROWS:
        lines.append(f"A batch of more than {PASS_ROWS} images is computed in passes of {PASS_ROWS} rows whose "
                     "gradients are summed, as in the lab.")
    lines.append("Row-major: X (m, 784) @ W1 (784, H); the post's (column-major) W1 is this W1.T.")
    return "\n".join(lines)


def _batches_per_epoch(hp: Hyperparams) -> int:
    samples = min(hp.train_size, FULL)
    if hp.early_stop:
        samples -= min(VALIDATION, samples // 5)
    return -(-samples // hp.batch_size)


_ACTIVATION = {
    "sigmoid": ("np.tanh(Z * 0.5) * 0.5 + 0.5", "1 / (1 + e^-Z), as tanh: no overflow (the lab's formula)",
                "(1 - A) * A", "sigmoid'(Z) = A (1 - A)"),
    "tanh": ("np.tanh(Z)", "tanh(Z)", "1 - A * A", "tanh'(Z) = 1 - A^2"),
    "relu": ("np.maximum(Z, 0)", "max(Z, 0)", "A > 0", "relu'(Z) = 1 where A > 0"),
}
_INIT = {"lecun": "np.sqrt(1.0 / n_in)", "normal": "1.0", "he": "np.sqrt(2.0 / n_in)"}
_INIT_WORDS = {"lecun": "N(0, 1/n_in): the post's randn * sqrt(1/n)", "normal": "N(0, 1), plain randn",
               "he": "N(0, 2/n_in)"}


def _sections(hp: Hyperparams, changes) -> dict[str, str]:
    """The code, in named parts: constants, data, network (forward, backward, step, evaluate), train."""
    dropout, early, noise = hp.dropout > 0, hp.early_stop > 0, hp.label_noise > 0
    subset = hp.train_size < FULL
    split = subset or early or noise
    passes = hp.batch_size > PASS_ROWS
    opt = hp.optimizer
    f, f_words, df, df_words = _ACTIVATION[hp.activation]
    s = {}

    constants = [f"HIDDEN, LAYERS = {hp.hidden_units}, {hp.layers}  # hidden layers of HIDDEN {hp.activation} units",
                 f"EPOCHS, BATCH, SEED = {hp.epochs}, {hp.batch_size}, {hp.seed}",
                 f"LEARNING_RATE, BETA = {hp.learning_rate!r}, {hp.momentum!r}"
                 + ("  # beta unused by plain SGD" if opt == "sgd" else "")]
    if opt == "adam":
        constants.append("BETA2, EPSILON = 0.999, 1e-8  # Adam's second-moment decay and its guard against / 0")
    elif opt == "rmsprop":
        constants.append("EPSILON = 1e-8  # guard against dividing by a zero mean square")
    if hp.l2:
        constants.append(f"L2 = {hp.l2!r}  # lambda: the cost trained on adds lambda/2 * sum(W^2)")
    if dropout:
        constants.append(f"DROPOUT = {hp.dropout!r}  # share of hidden units dropped in each training batch")
    if subset:
        constants.append(f"TRAIN_SIZE = {hp.train_size}  # a class-balanced subset of the 60,000 training images")
    if noise:
        constants.append(f"LABEL_NOISE = {hp.label_noise!r}  # share of training labels replaced by random digits")
    if early:
        constants.append(f"PATIENCE = {hp.early_stop}  # early stopping: epochs without a better validation cost")
    if hp.schedule != "constant":
        constants.append(_SCHEDULE_CONSTANTS[hp.schedule].format(hp=hp))
    if changes:
        listed = ", ".join(f"({c.batch}, {c.name!r}, {c.value!r})" for c in changes)
        constants.append(f"CHANGES = [{listed}]  # (batches trained before it, setting, new value)")
    constants.append("SCALE = 1 / 255  # pixels 0-255 to [0, 1], applied to X W1 (m, H): 12x fewer numbers than X")
    if passes:
        constants.append(f"PASS_ROWS = {PASS_ROWS}  # a larger batch is computed in passes of this many rows")
    constants.append(f"EVAL_ROWS = {EVAL_ROWS}  # rows per evaluation pass (the lab's: the same sums)")
    constants.append("ONE_HOT = np.eye(10, dtype=np.float32)  # ONE_HOT[y]: the post's Y, row-major")
    s["constants"] = "\n".join(constants) + "\n"

    s["data"] = textwrap.dedent('''
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
        ''')
    if split:
        code = ['''
        def split(labels):
            """The run's training rows and labels, and its validation rows (None without early stopping)."""''']
        if subset:
            code.append('''
            rng = np.random.default_rng([SEED, 1])  # the subset's own stream of the run's seed
            exact = np.bincount(labels, minlength=10) * TRAIN_SIZE / len(labels)  # each digit's share
            take = np.floor(exact).astype(int)
            take[np.argsort(take - exact)[: TRAIN_SIZE - take.sum()]] += 1  # largest remainders: one more
            rows = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == digit), k, replace=False)
                                           for digit, k in enumerate(take) if k]))''')
        else:
            code.append('''
            rows = np.arange(len(labels))''')
        if not early:
            code.append('''
            validation = None''')
        else:
            code.append(f'''
            held = min({VALIDATION}, len(rows) // 5)  # the last rows are held out, never trained on
            rows, validation = rows[:-held], rows[-held:]''')
        code.append('''
            run_labels = labels[rows].copy()''')
        if noise:
            code.append('''
            noisy = int(round(LABEL_NOISE * len(rows)))
            if noisy:
                rng = np.random.default_rng([SEED, 2])  # the noise's own stream
                replaced = rng.choice(len(rows), noisy, replace=False)
                run_labels[replaced] = rng.integers(0, 10, noisy)  # a random digit (the true one a tenth of the time)''')
        code.append('''
            return rows, run_labels, validation
        ''')
        s["data"] += "\n\n" + textwrap.dedent("".join(code))

    if hp.augment == "on":
        s["data"] += "\n\n" + textwrap.dedent('''
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
        ''')

    # --- the network
    net = []
    if dropout:
        net.append('''
        def forward(params, X, masks=None):
            """Hidden activations [A1, ...] (m, H), what each next layer read (times the dropout mask), and
            the logits (m, 10), for pixels X (m, 784) 0-255. params: [W1, b1, W2, b2, ...]."""
            hidden, inputs, A = [], [], X''')
    else:
        net.append('''
        def forward(params, X):
            """Hidden activations [A1, ...] (m, H), logits (m, 10); X (m, 784) pixels 0-255, params [W1, b1, ...]."""
            hidden, A = [], X''')
    net.append(f'''
            for k in range(LAYERS):
                Z = A @ params[2 * k] * (SCALE if k == 0 else 1.0) + params[2 * k + 1]  # Z1 = W1 X + b1
                A = {f}  # A1 = {f_words}
                hidden.append(A)''')
    if dropout:
        net.append('''
                if masks is not None:
                    A = A * masks[k]  # dropped units read as 0, the kept scaled by 1 / (1 - DROPOUT)
                inputs.append(A)
            return hidden, inputs, A @ params[-2] + params[-1]  # Z2 = W2 A1 + b2
        ''')
    else:
        net.append('''
            return hidden, A @ params[-2] + params[-1]  # Z2 = W2 A1 + b2
        ''')
    scale_words = {"momentum": "momentum's 1 - beta", "nesterov": "Nesterov's 1 - beta",
                   "sgd": "SGD's learning rate"}.get(opt)
    times = (f"times grad_scale ({scale_words}, folded into dZ)" if scale_words
             else "times grad_scale (1 here)")
    inputs_name = "inputs" if dropout else "hidden"
    net.append(f'''

        def backward(params, X, y, hidden, {"inputs, " if dropout else ""}logits, grad_scale{", masks=None" if dropout else ""}):
            """Gradients [dW1, db1, ...] of the batch's mean cost, {times}."""
            scale = grad_scale / len(X)
            exp = np.exp(logits - logits.max(axis=1, keepdims=True))  # softmax's numerator, shifted: no overflow
            dZ = exp * (scale / exp.sum(axis=1))[:, None] - scale * ONE_HOT[y]  # dZ2 = (A2 - Y) / m
            grads = [None] * len(params)
            for k in reversed(range(LAYERS + 1)):  # the output layer first
                if k < LAYERS:  # a hidden layer
                    dA = dZ @ params[2 * k + 2].T  # dA1 = W2^T dZ2''')
    if dropout:
        net.append('''
                    if masks is not None:
                        dA *= masks[k]  # a dropped unit passed nothing on, so gets no gradient''')
    net.append(f'''
                    dZ = dA * ({df.replace("A", "hidden[k]")})  # dZ1 = dA1 * {df_words}
                grads[2 * k + 1] = dZ.sum(axis=0)  # db = sum(dZ) / m (the 1/m is in dZ)
                grads[2 * k] = X.T @ (dZ * SCALE) if k == 0 else {inputs_name}[k - 1].T @ dZ  # dW1 = dZ1 X^T / m
            return grads
        ''')
    if opt == "momentum":
        net.append('''

        def step(params, grads, state, learning_rate, beta):
            """Momentum, in place; the grads arrive times 1 - beta."""
            for W, dW, V in zip(params, grads, state["velocity"]):
                V *= beta
                V += dW  # V = beta * V + (1 - beta) * dW
                W -= learning_rate * V  # W = W - learning_rate * V
        ''')
    elif opt == "nesterov":
        net.append('''

        def step(params, grads, state, learning_rate, beta):
            """Nesterov's momentum, in place; the grads arrive times 1 - beta."""
            for W, dW, V in zip(params, grads, state["velocity"]):
                V *= beta
                V += dW  # V = beta * V + (1 - beta) * dW
                W -= learning_rate * (dW + beta * V)  # W = W - lr * (beta * V + (1 - beta) * dW): a look-ahead
        ''')
    elif opt == "sgd":
        net.append('''

        def step(params, grads, state, learning_rate, beta):
            """Plain gradient descent, in place; the grads arrive times the learning rate."""
            for W, dW in zip(params, grads):
                W -= dW  # W = W - learning_rate * dW
        ''')
    elif opt == "rmsprop":
        net.append('''

        def step(params, grads, state, learning_rate, beta):
            """RMSProp, in place: each step divided by the root of a running mean of the squared gradient."""
            for W, dW, S in zip(params, grads, state["square"]):
                S *= beta
                S += (dW * dW) * (1.0 - beta)  # S = beta * S + (1 - beta) * dW^2
                W -= learning_rate * (dW / (np.sqrt(S) + EPSILON))  # W = W - lr * dW / (sqrt(S) + eps)
        ''')
    else:  # adam
        net.append('''

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
        ''')
    net.append('''

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
        ''')
    s["network"] = textwrap.dedent("".join(net))

    # --- the training loop
    state = {"momentum": '{"velocity": [np.zeros_like(p) for p in params]}',
             "nesterov": '{"velocity": [np.zeros_like(p) for p in params]}',
             "sgd": "{}",
             "rmsprop": '{"square": [np.zeros_like(p) for p in params]}',
             "adam": '{"first": [np.zeros_like(p) for p in params], "second": [np.zeros_like(p) for p in params], "t": 0}',
             }[opt]
    grad_scale = {"momentum": "1.0 - beta", "nesterov": "1.0 - beta", "sgd": "learning_rate"}.get(opt, "1.0")
    scaled = f"({grad_scale})" if " " in grad_scale else grad_scale  # in a product
    loop = [f'''
        def train(data, as_json=False):
            """Train the run's network on data (load's four arrays), printing one line per epoch.
            Returns the epochs' figures and the trained parameters."""''']
    if split:
        loop.append('''
            train_images, train_labels, test_images, test_labels = data
            rows, labels, validation = split(train_labels)
            images = train_images[rows]''')
    else:
        loop.append('''
            images, labels, test_images, test_labels = data''')
    init_draw = (f"rng.standard_normal((n_in, n_out)) * {_INIT[hp.init]}" if hp.init != "zeros"
                 else "np.zeros((n_in, n_out))")
    loop.append(f'''
            rng = np.random.default_rng(SEED)  # the initial weights, then every epoch's shuffle
            widths = [784] + [HIDDEN] * LAYERS + [10]
            params = []
            for n_in, n_out in zip(widths[:-1], widths[1:]):
                W = {init_draw}  # W ~ {_INIT_WORDS.get(hp.init, "all zero: no draw")}
                params += [W.astype(np.float32), np.zeros(n_out, np.float32)]  # b zero
            state = {state}
            learning_rate, beta = LEARNING_RATE, BETA''')
    if hp.augment == "on":
        loop.append('''
            augment_rng = np.random.default_rng([SEED, 4])  # augmentation's own stream of the run's seed''')
    if dropout:
        loop.append('''
            dropout_rng = np.random.default_rng([SEED, 3])  # dropout's own stream of the run's seed
            keep = np.float32(1 - DROPOUT)''')
    if early:
        loop.append('''
            best = None  # (epoch, validation cost, parameters)''')
    loop.append('''
            history, train_seconds = [], 0.0
            for epoch in range(1, EPOCHS + 1):
                started = time.perf_counter()
                order = rng.permutation(len(images))
                for begin in range(0, len(images), BATCH):
                    rows = order[begin : begin + BATCH]''')
    if changes:
        loop.append('''
                    for at, name, value in CHANGES:  # a setting changed while the lab's run trained
                        if at == done:  # batches trained so far
                            learning_rate, beta = (value, beta) if name == "learning_rate" else (learning_rate, value)''')
    if hp.schedule != "constant":
        loop.append('''
                    rate = learning_rate * schedule(done, per_epoch, per_epoch * EPOCHS)  # this batch's rate''')
    forward_call = "forward(params, X, masks)" if dropout else "forward(params, X)"
    backward_extra = ", masks" if dropout else ""
    def batch_extras(indent: int) -> str:
        pad = " " * indent
        warp = f"\n{pad}augment(X, augment_rng)  # every batch warped anew" if hp.augment == "on" else ""
        if not dropout:
            return warp
        return warp + (f"\n{pad}masks = [(dropout_rng.random((len(X), HIDDEN), dtype=np.float32) < keep) / keep"
                f"\n{pad}         for _ in range(LAYERS)]  # 0, or 1 / keep: inverted dropout")

    if passes:
        loop.append(f'''
                    grads = [np.zeros_like(p) for p in params]
                    for part in range(0, len(rows), PASS_ROWS):  # passes whose gradients are summed
                        X, y = images[rows[part : part + PASS_ROWS]].astype(np.float32), labels[rows[part : part + PASS_ROWS]]{batch_extras(24)}
                        share = len(X) / len(rows)  # each pass's share of the batch's mean
                        part_grads = backward(params, X, y, *{forward_call}, {scaled} * share{backward_extra})
                        for total, g in zip(grads, part_grads):
                            total += g''')
    else:
        loop.append(f'''
                    X, y = images[rows].astype(np.float32), labels[rows]  # (m, 784) pixels 0-255, (m,) digits''')
        loop.append(batch_extras(20))
        loop.append(f'''
                    grads = backward(params, X, y, *{forward_call}, {grad_scale}{backward_extra})''')
    if hp.l2:
        loop.append(f'''
                    for W, dW in zip(params[0::2], grads[0::2]):  # the weights, not the biases
                        dW += np.float32(L2 * {scaled}) * W  # dW += lambda * W''')
    loop.append('''
                    step(params, grads, state, learning_rate, beta)
                train_seconds += time.perf_counter() - started
                train_cost, _ = evaluate(params, images, labels)
                test_cost, test_accuracy = evaluate(params, test_images, test_labels)
                history.append({"epoch": epoch, "train_cost": train_cost, "test_cost": test_cost,
                                "test_accuracy": test_accuracy})''')
    if early:
        loop.append('''
                history[-1]["validation_cost"] = evaluate(params, train_images[validation], train_labels[validation])[0]''')
    loop.append('''
                print(json.dumps(history[-1]) if as_json else
                      f"Epoch {epoch}: training cost = {train_cost:.6f}, test cost = {test_cost:.6f}, "
                      f"test accuracy = {test_accuracy:.2%} ({train_seconds:.2f} s)", flush=True)''')
    if early:
        loop.append('''
                validation_cost = history[-1]["validation_cost"]
                if best is None or validation_cost < best[1]:
                    best = (epoch, validation_cost, [p.copy() for p in params])
                elif epoch - best[0] >= PATIENCE and epoch < EPOCHS:
                    print(f"Stopped early after epoch {epoch}: the validation cost was lowest at epoch {best[0]}, "
                          f"whose parameters the model keeps (test accuracy {history[best[0] - 1]['test_accuracy']:.2%}).",
                          file=sys.stderr if as_json else sys.stdout)
                    break
            if best[0] != history[-1]["epoch"]:  # the best epoch's parameters are the model
                params[:] = best[2]''')
    loop.append('''
            return history, params
        ''')
    s["train"] = textwrap.dedent("".join(loop))
    scheduled = hp.schedule != "constant"
    if changes or scheduled:  # count the batches trained, for the changes and the schedule
        s["train"] = s["train"].replace("history, train_seconds = [], 0.0", "history, done, train_seconds = [], 0, 0.0")
        s["train"] = s["train"].replace("step(params, grads, state, learning_rate, beta)\n",
                                        "step(params, grads, state, learning_rate, beta)\n" + " " * 12 + "done += 1\n")
    if scheduled:  # the schedule's rate where the settings' (or a changed) one was used
        s["train"] = s["train"].replace("history, done, train_seconds = [], 0, 0.0",
                                        "per_epoch = -(-len(images) // BATCH)  # batches per epoch, the last partial\n"
                                        + " " * 4 + "history, done, train_seconds = [], 0, 0.0")
        s["train"] = s["train"].replace("step(params, grads, state, learning_rate, beta)", "step(params, grads, state, rate, beta)")
        if opt == "sgd":  # plain SGD folds the rate into its gradient
            s["train"] = s["train"].replace(", learning_rate)", ", rate)").replace("(L2 * learning_rate)", "(L2 * rate)")
        s["network"] = s["network"] + "\n\n" + textwrap.dedent(_SCHEDULE_FUNCTION[hp.schedule]).strip("\n") + "\n"
    return s


# A schedule's settings and its factor of the rate at batch t (0-based over the run), as nn_core.schedules
# computes them (the same float operations: the same rates, to the bit).
_SCHEDULE_CONSTANTS = {
    "step": "DECAY, STEP_EPOCHS = {hp.lr_decay!r}, {hp.step_epochs}  # the rate times DECAY every STEP_EPOCHS epochs",
    "exponential": "DECAY = {hp.lr_decay!r}  # the rate times DECAY per epoch, batch by batch",
    "cosine": "# the rate annealed along a half cosine over the run",
    "one-cycle": "WARMUP = {hp.warmup!r}  # one cycle: warm-up over this share of the run, then a half cosine down",
}
_SCHEDULE_FUNCTION = {
    "step": '''
        def schedule(t, per_epoch, total):
            """The learning rate's factor at batch t: DECAY ^ floor(epoch / STEP_EPOCHS)."""
            return DECAY ** (int(t // per_epoch) // STEP_EPOCHS)
        ''',
    "exponential": '''
        def schedule(t, per_epoch, total):
            """The learning rate's factor at batch t: DECAY ^ (epochs trained, fractional)."""
            return DECAY ** (t / per_epoch)
        ''',
    "cosine": '''
        def schedule(t, per_epoch, total):
            """The learning rate's factor at batch t of total: (1 + cos(pi t / total)) / 2."""
            return 0.5 * (1 + math.cos(math.pi * (t / total)))
        ''',
    "one-cycle": '''
        def schedule(t, per_epoch, total):
            """The learning rate's factor at batch t of total: from 1/25 up to 1 over the first WARMUP of the
            run, then a half cosine down to 1/2500."""
            progress, low, end = t / total, 1 / 25.0, 1 / 2500.0
            if progress < WARMUP:
                return low + (1 - low) * progress / WARMUP
            down = (progress - WARMUP) / (1 - WARMUP)
            return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * down))
        ''',
}


def _imports(hp: Hyperparams, script: bool) -> str:
    modules = ["gzip", "json", "os", "time"] + (["argparse"] if script else [])
    if hp.schedule in ("cosine", "one-cycle"):
        modules.append("math")
    if hp.early_stop:
        modules.append("sys")
    lines = [f"import {m}" for m in sorted(modules)] + ["from pathlib import Path", ""]
    lines += ['# One BLAS thread, set before NumPy loads: the lab trains on one, and the bits of a run depend on it.',
              'for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):',
              '    os.environ.setdefault(_name, "1")',
              "import numpy as np  # noqa: E402"]
    return "\n".join(lines) + "\n"


_MAIN = '''
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder of MNIST's four IDX files (.gz or not)")
    parser.add_argument("--json", action="store_true", help="one JSON object per epoch")
    args = parser.parse_args()
    train(load(args.data), args.json)
    if not args.json:
        print("Done.")
'''


def script(hparams: Hyperparams = Hyperparams(), changes=(), origin: str | None = None, mix=None) -> str:
    """The run as one self-contained Python file (NumPy and the standard library), run as
    ``python run.py --data DIR [--json]``. ExportError if a setting cannot be exported exactly."""
    _check(hparams, changes, origin, mix)
    s = _sections(hparams, tuple(changes))
    header = _header(hparams, changes, _batches_per_epoch(hparams), notebook=False)
    parts = ['"""' + header + '\n"""\n' + _imports(hparams, True), s["constants"], s["data"], s["network"], s["train"],
             _MAIN]
    text = "\n\n".join(part.strip("\n") + "\n" for part in parts)
    return re.sub(r"\n{3,}", "\n\n", text)  # one blank line between functions: short enough to read at once


def notebook(hparams: Hyperparams = Hyperparams(), changes=(), origin: str | None = None, mix=None,
             data_dir: str = "data/mnist"):
    """The same code as a Jupyter notebook (an ``nbformat`` v4 node): cells for the data, the network,
    the training loop and a cost plot. ``data_dir``: where its first code cell looks for MNIST."""
    import nbformat.v4 as v4

    _check(hparams, changes, origin, mix)
    s = _sections(hparams, tuple(changes))
    header = _header(hparams, changes, _batches_per_epoch(hparams), notebook=True)
    title, _, rest = header.partition("\n")
    cells = [
        v4.new_markdown_cell(f"# {title}\n\n" + "\n".join(f"    {line}" if line else "" for line in rest.splitlines())),
        v4.new_markdown_cell("## Data\nMNIST's four IDX files (`.gz` or not) from `DATA`."),
        v4.new_code_cell(_imports(hparams, False) + "\n" + s["constants"] + "\n" + s["data"].strip("\n")
                         + f"\n\n\nDATA = {data_dir!r}\ndata = load(DATA)"),
        v4.new_markdown_cell("## Network\nForward, backward, the optimizer's step, and the evaluation."),
        v4.new_code_cell(s["network"].strip("\n")),
        v4.new_markdown_cell("## Training loop\nOne line per epoch, as the lab's command line prints."),
        v4.new_code_cell(s["train"].strip("\n") + "\n\n\nhistory, params = train(data)"),
        v4.new_markdown_cell("## Cost\nThe training and test cost after each epoch."),
        v4.new_code_cell(_PLOT.strip("\n")),
    ]
    nb = v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"},
                                                "language_info": {"name": "python"}})
    return nb


_PLOT = '''
try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("matplotlib is not installed: no plot")
if plt is not None:
    epochs = [row["epoch"] for row in history]
    plt.plot(epochs, [row["train_cost"] for row in history], marker="o", label="training cost")
    plt.plot(epochs, [row["test_cost"] for row in history], marker="o", label="test cost")
    plt.xlabel("epoch")
    plt.ylabel("cross-entropy")
    plt.legend()
    plt.show()
'''


def notebook_text(hparams: Hyperparams = Hyperparams(), changes=(), origin: str | None = None, mix=None,
                  data_dir: str = "data/mnist") -> str:
    """The notebook as ``.ipynb`` text."""
    import nbformat

    return nbformat.writes(notebook(hparams, changes, origin, mix, data_dir))
