"""The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks", 2015, as
fast.ai made it the usual way to choose a rate): train a fresh network from a tiny rate, multiplying the
rate at every batch, until the cost explodes; the cost against the rate shows where learning starts,
where it is fastest and where it breaks down.

It trains its own copy of the settings' network (same width, depth, activation, initialisation, seed,
optimizer, momentum and batch size; regularisation, augmentation and schedules are left out: they only
blur the curve) and never touches a run's model. Progress is data: ``steps`` yields one ``Step`` per batch.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, replace

import numpy as np

from . import optim
from .data import Mnist
from .evaluation import blas_threads
from .model import Model, Workspace, forward_backward
from .settings import MIN_LEARNING_RATE, SETTINGS, Hyperparams, Setting
from .trainset import batches_per_epoch

START_LR = 1e-5  # the first batch's rate
END_LR = 1000.0  # the last one's, if the cost has not exploded before (the slider's top)
STEPS = 160  # batches from START_LR to END_LR: 23 per decade; a third of an epoch of the post's run
SMOOTHING = 0.95  # the cost's exponential moving average (bias-corrected), as fast.ai smooths it
EXPLODED = 4.0  # the test stops once the smoothed cost is this many times its lowest
SLOPE_SPAN = 5  # batches either side of a point its slope is measured over (a fifth of a decade)
# The test's own settings, declared as the run's are (so their flags parse and check the same way).
TEST_SETTINGS = (
    Setting("steps", int, STEPS, "Steps", "Batches from the start rate to the end rate (at most).", "steps",
            "--steps", low=20, high=1000),
    Setting("start_lr", float, START_LR, "Start rate", "The first batch's learning rate.", "start", "--start-lr",
            low=MIN_LEARNING_RATE, high=1.0),
    Setting("end_lr", float, END_LR, "End rate", "The last batch's learning rate, if the cost has not exploded "
            "before.", "end", "--end-lr", low=1e-3, high=1000.0),
)


@dataclass(frozen=True)
class Step:
    step: int  # 1-based batch
    learning_rate: float  # the rate this batch stepped with
    cost: float  # the batch's cost, measured before its step
    smoothed: float  # the bias-corrected moving average of the costs so far


@dataclass(frozen=True)
class Suggestion:
    learning_rate: float
    rule: str  # one sentence: how it was chosen
    minimum_lr: float  # the rate at the smoothed cost's minimum
    steepest_lr: float  # the rate where the smoothed cost falls fastest against log(rate)

    def as_json(self) -> dict:
        return {"suggested_lr": self.learning_rate, "rule": self.rule, "minimum_lr": self.minimum_lr,
                "steepest_lr": self.steepest_lr}


def check_range(steps: int, start_lr: float, end_lr: float) -> None:
    """ValueError in one line if the test's own settings are out of their bounds."""
    for setting, value in zip(TEST_SETTINGS, (steps, start_lr, end_lr)):
        setting.check(value)
    if end_lr <= start_lr * 10:
        raise ValueError(f"the end rate ({end_lr:g}) must be more than ten times the start rate ({start_lr:g})")


def rates(steps: int = STEPS, start_lr: float = START_LR, end_lr: float = END_LR) -> np.ndarray:
    """The rate of each batch: ``start_lr`` multiplied by the same factor at every batch up to ``end_lr``."""
    return start_lr * (end_lr / start_lr) ** (np.arange(steps) / (steps - 1))


def steps(data: Mnist, hparams: Hyperparams, n_steps: int = STEPS, start_lr: float = START_LR,
          end_lr: float = END_LR, threads: int | None = 1):
    """Train on batches of ``data`` at a rising rate, yielding a ``Step`` each; it ends at ``end_lr``,
    or once the cost explodes (not finite, or the smoothed cost ``EXPLODED`` times its lowest)."""
    check_range(n_steps, start_lr, end_lr)
    hp = replace(hparams, learning_rate=start_lr).validate()
    rng = np.random.default_rng(hp.seed)
    model = Model.initialize(hp.hidden_units, rng, hp.activation, layers=hp.layers, init=hp.init,
                             classes=data.n_classes)
    optimizer = optim.for_settings(model.flat.size, start_lr, hp.momentum, hp.optimizer)
    n = len(data.train_labels)
    batch = min(hp.batch_size, n, 4096)  # one pass: a full-batch setting tests on 4096-image batches
    workspace = Workspace(hp.hidden_units, batch, layers=hp.layers, classes=data.n_classes)
    order = rng.permutation(n)
    average, lowest = 0.0, math.inf
    with np.errstate(all="ignore"), blas_threads(threads):
        for k, lr in enumerate(rates(n_steps, start_lr, end_lr)):
            begin = (k * batch) % n
            if begin + batch > n:  # a new pass over the data, reshuffled
                order, begin = rng.permutation(n), 0
            rows = order[begin : begin + batch]
            X = data.train_images[rows].astype(np.float32)  # (m, 784), 0-255
            optimizer.configure(float(lr), hp.momentum)
            cost = forward_backward(model, X, data.train_labels[rows], workspace, 1 / 255, optimizer.grad_scale)
            average = SMOOTHING * average + (1 - SMOOTHING) * cost
            smoothed = average / (1 - SMOOTHING ** (k + 1))
            yield Step(k + 1, float(lr), float(cost), float(smoothed))
            if not math.isfinite(cost) or smoothed > EXPLODED * lowest:
                return
            lowest = min(lowest, smoothed)
            optimizer.step(model.flat, workspace.grad)


def suggest(history: list[Step]) -> Suggestion | None:
    """The rate where the smoothed cost falls fastest against log(rate), before its minimum: there each
    step gains most, and the cost is still far from where it turns up. (A tenth of the rate at the
    minimum, fast.ai's other rule, is given beside it.) None until the curve has fallen and turned."""
    finite = [s for s in history if math.isfinite(s.smoothed)]
    if len(finite) < 2 * SLOPE_SPAN + 2:
        return None
    # centred smoothing of the raw costs: the moving average drawn live lags its batches by about
    # 1 / (1 - SMOOTHING) = 20 of them, nearly a decade of rate, which would move the answer up
    raw = np.array([s.cost for s in finite])
    window = np.ones(2 * SLOPE_SPAN + 1) / (2 * SLOPE_SPAN + 1)
    costs = np.convolve(np.pad(raw, SLOPE_SPAN, mode="edge"), window, mode="valid")
    log_lrs = np.log(np.array([s.learning_rate for s in finite]))
    lowest = int(np.argmin(costs))
    if lowest < 2 * SLOPE_SPAN:
        return None
    # slope over SLOPE_SPAN batches either side: a per-batch difference of a noisy curve picks a spike
    k = np.arange(SLOPE_SPAN, lowest - SLOPE_SPAN + 1)
    slopes = (costs[k + SLOPE_SPAN] - costs[k - SLOPE_SPAN]) / (log_lrs[k + SLOPE_SPAN] - log_lrs[k - SLOPE_SPAN])
    steepest = float(np.exp(log_lrs[k[int(np.argmin(slopes))]]))
    minimum = float(np.exp(log_lrs[lowest]))
    suggested = max(float(f"{steepest:.2g}"), MIN_LEARNING_RATE)
    rule = (f"The rate where the smoothed cost fell fastest ({suggested:g}), before its lowest point at "
            f"{minimum:.3g}: learning is quickest there and still well short of breaking down.")
    return Suggestion(suggested, rule, minimum, steepest)


def epochs_fraction(history_steps: int, hparams: Hyperparams, data=None) -> float:
    """What the test cost as a share of one epoch of the run (batches over batches per epoch) on ``data``
    (a DataSet; None: MNIST's 60,000 training images)."""
    if data is None:
        return history_steps / batches_per_epoch(hparams)
    return history_steps / batches_per_epoch(hparams, len(data.train_labels))


def _parser():
    """Train's setting flags, the range test's own, and --json."""
    from .cli import _flag_type, add_setting_flags, flag_error_parser

    parser = flag_error_parser("python -m nn_core.lr_find", __doc__.splitlines()[0])
    add_setting_flags(parser)
    for setting in TEST_SETTINGS:
        parser.add_argument(setting.flag, dest=setting.name, type=_flag_type(setting), default=setting.default,
                            metavar=setting.name.upper(), help=f"{setting.help} {setting.requirement().capitalize()}"
                            f"; default {setting.format(setting.default)}.")
    parser.add_argument("--json", action="store_true", help="one JSON object per batch, then the suggestion")
    return parser


def _run(args, hparams: Hyperparams) -> int:
    """The range test on MNIST, printing its batches (every tenth, or each as JSON) and the suggestion."""
    from .data import DataError, load_mnist

    try:
        data = load_mnist()
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    history = []
    for step in steps(data, hparams, args.steps, args.start_lr, args.end_lr):
        history.append(step)
        if args.json:
            print(json.dumps(step.__dict__), flush=True)
        elif step.step % 10 == 1:
            print(f"step {step.step:4d}: learning rate {step.learning_rate:.3g}, cost {step.cost:.4f} "
                  f"(smoothed {step.smoothed:.4f})", flush=True)
    suggestion = suggest(history)
    share = epochs_fraction(len(history), hparams)
    if args.json:
        print(json.dumps({**(suggestion.as_json() if suggestion else {"suggested_lr": None}),
                          "steps": len(history), "epochs": round(share, 3)}))
    elif suggestion is None:
        print(f"No suggestion: the cost never fell and turned within {len(history)} batches.")
    else:
        print(f"Suggested learning rate: {suggestion.learning_rate:g}. {suggestion.rule} "
              f"({len(history)} batches, {share:.0%} of an epoch.)")
    return 0


def main(argv=None) -> int:
    """``python -m nn_core.lr_find``: the range test on the settings Train's flags describe."""
    from .cli import quiet_exit

    parser = _parser()
    args = parser.parse_args(argv)
    hparams = Hyperparams(**{setting.name: getattr(args, setting.name) for setting in SETTINGS})
    try:
        check_range(args.steps, args.start_lr, args.end_lr)
    except ValueError as error:
        parser.error(str(error))
    return quiet_exit(lambda: _run(args, hparams))


if __name__ == "__main__":
    sys.exit(main())
