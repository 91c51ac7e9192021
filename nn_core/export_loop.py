"""The exported run's training loop (``nn_core.export`` assembles it), and its learning-rate schedule:
the same batches, draws and steps, in the same order, as the loop of ``nn_core.training``.

Templates are indented 8 spaces, as parts of one text dedented as a whole (see ``nn_core.export_code``).
"""

from __future__ import annotations

import textwrap

from .export_code import FULL, PASS_ROWS
from .settings import Hyperparams

_INIT = {"lecun": "np.sqrt(1.0 / n_in)", "normal": "1.0", "he": "np.sqrt(2.0 / n_in)"}
_INIT_WORDS = {"lecun": "N(0, 1/n_in): the post's randn * sqrt(1/n)", "normal": "N(0, 1), plain randn",
               "he": "N(0, 2/n_in)"}
_STATE = {"momentum": '{"velocity": [np.zeros_like(p) for p in params]}',
          "nesterov": '{"velocity": [np.zeros_like(p) for p in params]}',
          "sgd": "{}",
          "rmsprop": '{"square": [np.zeros_like(p) for p in params]}',
          "adam": '{"first": [np.zeros_like(p) for p in params], "second": [np.zeros_like(p) for p in params], "t": 0}',
          }

# A schedule's factor of the rate at batch t (0-based over the run), as nn_core.schedules computes it (the
# same float operations: the same rates, to the bit). Its settings: export_code's _SCHEDULE_CONSTANTS.
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


def schedule_function(hp: Hyperparams) -> str:
    """The ``schedule`` function of a scheduled run (not a constant rate), dedented."""
    return textwrap.dedent(_SCHEDULE_FUNCTION[hp.schedule]).strip("\n") + "\n"


_TRAIN = '''
        def train(data, as_json=False):
            """Train the run's network on data (load's four arrays), printing one line per epoch.
            Returns the epochs' figures and the trained parameters."""'''
_DATA_SPLIT = '''
            train_images, train_labels, test_images, test_labels = data
            rows, labels, validation = split(train_labels)
            images = train_images[rows]'''
_DATA_ALL = '''
            images, labels, test_images, test_labels = data'''
_AUGMENT_RNG = '''
            augment_rng = np.random.default_rng([SEED, 4])  # augmentation's own stream of the run's seed'''
_DROPOUT_RNG = '''
            dropout_rng = np.random.default_rng([SEED, 3])  # dropout's own stream of the run's seed
            keep = np.float32(1 - DROPOUT)'''
_BEST = '''
            best = None  # (epoch, validation cost, parameters)'''
_EPOCH = '''
            history, train_seconds = [], 0.0
            for epoch in range(1, EPOCHS + 1):
                started = time.perf_counter()
                order = rng.permutation(len(images))
                for begin in range(0, len(images), BATCH):
                    rows = order[begin : begin + BATCH]'''
_CHANGES = '''
                    for at, name, value in CHANGES:  # a setting changed while the lab's run trained
                        if at == done:  # batches trained so far
                            learning_rate, beta = (value, beta) if name == "learning_rate" else (learning_rate, value)'''
_RATE = '''
                    rate = learning_rate * schedule(done, per_epoch, per_epoch * EPOCHS)  # this batch's rate'''
_STEP_AND_EVALUATE = '''
                    step(params, grads, state, learning_rate, beta)
                train_seconds += time.perf_counter() - started
                train_cost, _ = evaluate(params, images, labels)
                test_cost, test_accuracy = evaluate(params, test_images, test_labels)
                history.append({"epoch": epoch, "train_cost": train_cost, "test_cost": test_cost,
                                "test_accuracy": test_accuracy})'''
_VALIDATION_COST = '''
                history[-1]["validation_cost"] = evaluate(params, train_images[validation], train_labels[validation])[0]'''
_PRINT = '''
                print(json.dumps(history[-1]) if as_json else
                      f"Epoch {epoch}: training cost = {train_cost:.6f}, test cost = {test_cost:.6f}, "
                      f"test accuracy = {test_accuracy:.2%} ({train_seconds:.2f} s)", flush=True)'''
_EARLY_STOP = '''
                validation_cost = history[-1]["validation_cost"]
                if best is None or validation_cost < best[1]:
                    best = (epoch, validation_cost, [p.copy() for p in params])
                elif epoch - best[0] >= PATIENCE and epoch < EPOCHS:
                    print(f"Stopped early after epoch {epoch}: the validation cost was lowest at epoch {best[0]}, "
                          f"whose parameters the model keeps (test accuracy {history[best[0] - 1]['test_accuracy']:.2%}).",
                          file=sys.stderr if as_json else sys.stdout)
                    break
            if best[0] != history[-1]["epoch"]:  # the best epoch's parameters are the model
                params[:] = best[2]'''
_RETURN = '''
            return history, params
        '''


def _grad_scale(hp: Hyperparams) -> str:
    """What backward's gradients are multiplied by: momentum's 1 - beta, SGD's learning rate, else 1."""
    return {"momentum": "1.0 - beta", "nesterov": "1.0 - beta", "sgd": "learning_rate"}.get(hp.optimizer, "1.0")


def _setup(hp: Hyperparams) -> list[str]:
    """The data trained on, the initial weights, the optimizer's state and the run's random streams."""
    split = hp.train_size < FULL or hp.early_stop > 0 or hp.label_noise > 0
    init_draw = (f"rng.standard_normal((n_in, n_out)) * {_INIT[hp.init]}" if hp.init != "zeros"
                 else "np.zeros((n_in, n_out))")
    code = [_DATA_SPLIT if split else _DATA_ALL, f'''
            rng = np.random.default_rng(SEED)  # the initial weights, then every epoch's shuffle
            widths = [784] + [HIDDEN] * LAYERS + [10]
            params = []
            for n_in, n_out in zip(widths[:-1], widths[1:]):
                W = {init_draw}  # W ~ {_INIT_WORDS.get(hp.init, "all zero: no draw")}
                params += [W.astype(np.float32), np.zeros(n_out, np.float32)]  # b zero
            state = {_STATE[hp.optimizer]}
            learning_rate, beta = LEARNING_RATE, BETA''']
    code += [_AUGMENT_RNG] if hp.augment == "on" else []
    code += [_DROPOUT_RNG] if hp.dropout > 0 else []
    code += [_BEST] if hp.early_stop > 0 else []
    return code


def _batch_extras(hp: Hyperparams, indent: int) -> str:
    """A batch's augmentation and dropout masks, if the run has them, at ``indent``."""
    pad = " " * indent
    warp = f"\n{pad}augment(X, augment_rng)  # every batch warped anew" if hp.augment == "on" else ""
    if not hp.dropout > 0:
        return warp
    return warp + (f"\n{pad}masks = [(dropout_rng.random((len(X), HIDDEN), dtype=np.float32) < keep) / keep"
                   f"\n{pad}         for _ in range(LAYERS)]  # 0, or 1 / keep: inverted dropout")


def _gradients(hp: Hyperparams) -> list[str]:
    """A batch's gradients: in one pass, or summed over passes of PASS_ROWS rows; the L2 term."""
    grad_scale = _grad_scale(hp)
    scaled = f"({grad_scale})" if " " in grad_scale else grad_scale  # in a product
    forward_call = "forward(params, X, masks)" if hp.dropout > 0 else "forward(params, X)"
    backward_extra = ", masks" if hp.dropout > 0 else ""
    if hp.batch_size > PASS_ROWS:
        code = [f'''
                    grads = [np.zeros_like(p) for p in params]
                    for part in range(0, len(rows), PASS_ROWS):  # passes whose gradients are summed
                        X, y = images[rows[part : part + PASS_ROWS]].astype(np.float32), labels[rows[part : part + PASS_ROWS]]{_batch_extras(hp, 24)}
                        share = len(X) / len(rows)  # each pass's share of the batch's mean
                        part_grads = backward(params, X, y, *{forward_call}, {scaled} * share{backward_extra})
                        for total, g in zip(grads, part_grads):
                            total += g''']
    else:
        code = ['''
                    X, y = images[rows].astype(np.float32), labels[rows]  # (m, 784) pixels 0-255, (m,) digits''',
                _batch_extras(hp, 20), f'''
                    grads = backward(params, X, y, *{forward_call}, {grad_scale}{backward_extra})''']
    if hp.l2:
        code.append(f'''
                    for W, dW in zip(params[0::2], grads[0::2]):  # the weights, not the biases
                        dW += np.float32(L2 * {scaled}) * W  # dW += lambda * W''')
    return code


def _count_batches(hp: Hyperparams, changes, text: str) -> str:
    """The loop counting its batches (``done``) for the changes and the schedule, stepping at the schedule's rate."""
    scheduled = hp.schedule != "constant"
    if changes or scheduled:
        text = text.replace("history, train_seconds = [], 0.0", "history, done, train_seconds = [], 0, 0.0")
        text = text.replace("step(params, grads, state, learning_rate, beta)\n",
                            "step(params, grads, state, learning_rate, beta)\n" + " " * 12 + "done += 1\n")
    if scheduled:  # the schedule's rate where the settings' (or a changed) one was used
        text = text.replace("history, done, train_seconds = [], 0, 0.0",
                            "per_epoch = -(-len(images) // BATCH)  # batches per epoch, the last partial\n"
                            + " " * 4 + "history, done, train_seconds = [], 0, 0.0")
        text = text.replace("step(params, grads, state, learning_rate, beta)", "step(params, grads, state, rate, beta)")
        if hp.optimizer == "sgd":  # plain SGD folds the rate into its gradient
            text = text.replace(", learning_rate)", ", rate)").replace("(L2 * learning_rate)", "(L2 * rate)")
    return text


def train(hp: Hyperparams, changes) -> str:
    """The training loop: one line printed per epoch; early stopping keeps the best epoch's parameters."""
    early = hp.early_stop > 0
    loop = [_TRAIN] + _setup(hp) + [_EPOCH]
    loop += [_CHANGES] if changes else []
    loop += [_RATE] if hp.schedule != "constant" else []
    loop += _gradients(hp) + [_STEP_AND_EVALUATE]
    loop += [_VALIDATION_COST] if early else []
    loop += [_PRINT] + ([_EARLY_STOP] if early else []) + [_RETURN]
    return _count_batches(hp, changes, textwrap.dedent("".join(loop)))
