"""The settings of a run, declared once: type, range, default, help, URL key and CLI flag.

Validation (``Hyperparams.validate``, so also model files), the CLI's flags (``nn_core.cli``) and the
app's sliders and link codec (``ui.settings``) are all made from ``SETTINGS``. The ranges are the
sliders' ranges: nothing is accepted that the app could not have produced. ``slider`` lists the
values a select slider offers (a link may name only those), or (low, high, step) of a plain one.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import asdict, dataclass, fields

from .model import ACTIVATIONS, INITS, MAX_LAYERS
from .optim import ADAM_BETA2, EPSILON, OPTIMIZERS
from .schedules import SCHEDULES

MAX_SEED = 2**31 - 1
FULL_BATCH = 60_000  # the training set: full-batch gradient descent
# Powers of two, as people choose them, then the whole training set.
BATCH_SIZES = tuple(2**k for k in range(13)) + (FULL_BATCH,)
TRAIN_SIZES = (100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 30_000, FULL_BATCH)
L2_VALUES = (0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1)
# The smallest learning rate anything takes (a flag, a link, a model file, a sweep's values, a change while
# a run trains): a rate as small as 5e-324 passes a check of "> 0", but half of it, fine-tuning's rate, is 0.
MIN_LEARNING_RATE = 1e-6
# Learning rates are 7 per decade (1, 1.5, 2, 3, 4, 6, 8), nearly even on a log scale, from 0.0001 (Adam and
# RMSProp take small ones) to 1000; 1000 diverges on purpose. Written from decimal text so they print cleanly.
LEARNING_RATES = tuple(float(f"{m}e{e}") for e in range(-4, 3) for m in (1, 1.5, 2, 3, 4, 6, 8)) + (1000.0,)


# The text of a number a flag, a link or a values box may hold: plain ASCII decimal, as the lab writes
# them (``format`` below; a learning rate may read 1e-05). Python's int() and float() also take "4_0"
# (40), full-width or Arabic-Indic digits, surrounding whitespace, "inf" and "nan": checked first.
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def number_from_text(text: str, kind: type):
    """``kind(text)`` (int or float) for plain ASCII decimal text only; ValueError otherwise."""
    pattern = _INTEGER_TEXT if kind is int else _DECIMAL_TEXT
    if not isinstance(text, str) or pattern.fullmatch(text) is None:
        raise ValueError(f"not a plain decimal {'integer' if kind is int else 'number'}: {text!r}")
    return kind(text)


@dataclass(frozen=True)
class Setting:
    """One setting: a str from ``choices``, or a number between ``low`` and ``high``."""

    name: str  # the Hyperparams field
    kind: type  # int, float or str
    default: object
    label: str  # the slider's label
    help: str
    url_key: str  # ?hidden=64
    flag: str  # --hidden 64
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself excluded
    choices: tuple = ()  # the allowed values of a str setting
    slider: tuple | None = None  # the values the app's slider offers, or (low, high, step) with ``step_slider``
    step_slider: bool = False  # ``slider`` is (low, high, step) rather than a list of values

    def requirement(self) -> str:
        if self.kind is str:
            return f"one of {', '.join(self.choices)}"
        what = "an integer" if self.kind is int else "a number"
        return (f"{what} in {'(' if self.low_open else '['}{self.format(self.low)}, {self.format(self.high)}]")

    def check(self, value):
        """``value`` if it is valid for this setting, else ValueError naming the setting."""
        if not self._valid(value):
            raise ValueError(f"{self.label.lower()} must be {self.requirement()}, got {value!r}")
        return value

    def _valid(self, value) -> bool:
        if self.kind is str:
            return isinstance(value, str) and value in self.choices
        number = numbers.Integral if self.kind is int else numbers.Real
        if isinstance(value, bool) or not isinstance(value, number) or not math.isfinite(value):
            return False
        above_low = value > self.low or (value == self.low and not self.low_open)
        return above_low and value <= self.high

    def parse(self, text: str):
        """Text (a flag or a link) to a valid value; ValueError says what is required."""
        if len(text) > 40:
            raise ValueError(f"expected {self.requirement()}, got a value {len(text)} characters long")
        try:
            value = text if self.kind is str else number_from_text(text, self.kind)
        except ValueError:
            raise ValueError(f"expected {self.requirement()}, got {text!r}") from None
        if self.kind is float and not math.isfinite(value):
            raise ValueError(f"expected {self.requirement()}, got {text!r}")
        return self.check(value)

    def format(self, value) -> str:
        """The text a link or a table shows; ``parse(format(v)) == v`` for every valid value."""
        text = repr(float(value)) if self.kind is float else str(value)  # repr: the shortest exact text
        return text.removesuffix(".0") if self.kind is float else text


SETTINGS: tuple[Setting, ...] = (
    Setting("hidden_units", int, 64, "Hidden units", "Width of each hidden layer (the post uses 64).",
            "hidden", "--hidden", low=1, high=512,
            slider=(16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)),
    Setting("learning_rate", float, 4.0, "Learning rate",
            "Step size of each update. The post uses 4 with momentum; usual ranges: SGD, momentum and Nesterov "
            "0.5-8 (sigmoid; ReLU wants 10x less), RMSProp 0.0003-0.003, Adam 0.0005-0.005 (Adam at 4 "
            "diverges). 1000 diverges with any optimizer, to show what too high does.",
            "lr", "--lr", low=MIN_LEARNING_RATE, high=1000, slider=LEARNING_RATES),
    Setting("momentum", float, 0.9, "Momentum (beta)",
            "Momentum's and Nesterov's beta: the weight of the previous velocity in each update (0 = plain "
            "gradient descent). RMSProp's decay of its mean squared gradient; Adam's beta1 (its beta2 is "
            f"fixed at {ADAM_BETA2}, epsilon at {EPSILON:g}). Unused by SGD.",
            "beta", "--beta", low=0, high=0.99, slider=(0.0, 0.99, 0.01), step_slider=True),
    Setting("batch_size", int, 128, "Batch size",
            "Images per gradient step (the last batch of an epoch is smaller). The post uses 128; 60,000 is the "
            "whole training set, full-batch gradient descent, as in the post's Part 1 (one step per epoch).",
            "batch", "--batch-size", low=1, high=FULL_BATCH, slider=BATCH_SIZES),
    Setting("epochs", int, 9, "Epochs", "Passes over the 60,000 training images.",
            "epochs", "--epochs", low=1, high=50, slider=(1, 50, 1), step_slider=True),
    Setting("seed", int, 138, "Seed", "Seeds the initial weights and every epoch's shuffle: same seed, same "
            "settings, the same run, weight for weight.", "seed", "--seed", low=0, high=MAX_SEED),
    Setting("activation", str, "sigmoid", "Hidden activation", "The hidden layer's nonlinearity.",
            "act", "--activation", choices=tuple(ACTIVATIONS)),
    Setting("layers", int, 1, "Hidden layers",
            "How many hidden layers, each of Hidden units units (the post has 1). Deeper sigmoid networks learn "
            "more slowly at first: their gradients shrink on the way down.",
            "layers", "--layers", low=1, high=MAX_LAYERS, slider=(1, MAX_LAYERS, 1), step_slider=True),
    Setting("init", str, "lecun", "Initialisation",
            "How the weights start (biases start at zero). lecun: N(0, 1/n) for a layer of n inputs, the post's "
            "fix, which keeps each unit's input near variance 1 so sigmoids stay in their steep middle. "
            "normal: N(0, 1), the post's Part 1 before the fix: inputs of variance n saturate the units, "
            "whose gradients vanish. he: N(0, 2/n), made for ReLU. zeros: every unit identical, and they "
            "stay identical (the symmetry initialisation must break).",
            "init", "--init", choices=tuple(INITS)),
    Setting("optimizer", str, "momentum", "Optimizer",
            "How each gradient becomes a step. momentum: the post's V = beta V + (1 - beta) grad, W -= lr V. "
            "sgd: W -= lr grad (the post's Part 1). nesterov: momentum that steps with a look-ahead velocity. "
            "rmsprop: each weight's step divided by its recent gradient size. adam: momentum divided by "
            "RMSProp's size, both bias-corrected. See Learning rate for each one's usual range.",
            "opt", "--optimizer", choices=tuple(OPTIMIZERS)),
    Setting("train_size", int, FULL_BATCH, "Training images",
            "How many of the 60,000 training images to train on: a fixed, class-balanced subset (the same for "
            "every run with the same size and seed). Fewer images are easier to memorise: watch the gap between "
            "train and test grow.", "n", "--train-size", low=100, high=FULL_BATCH, slider=TRAIN_SIZES),
    Setting("l2", float, 0.0, "L2 penalty (lambda)",
            "Adds lambda/2 times the sum of every squared weight (not the biases) to the cost trained on, and "
            "lambda W to each weight's gradient: large weights cost, so the network keeps simpler functions. "
            "0 (the post) is off; 1e-4 to 1e-3 is the usual range here.", "l2", "--l2", low=0, high=1,
            slider=L2_VALUES),
    Setting("dropout", float, 0.0, "Dropout",
            "Share of hidden units switched off at random in each training batch (inverted dropout: the rest "
            "are scaled up by 1/(1 - rate); nothing is dropped when evaluating). 0 (the post) is off.",
            "dropout", "--dropout", low=0, high=0.8, slider=(0.0, 0.8, 0.05), step_slider=True),
    Setting("label_noise", float, 0.0, "Label noise",
            "Share of the training labels replaced by random digits (seeded; the test set is never touched). "
            "A network that fits those wrong labels is memorising, not learning.", "noise", "--label-noise",
            low=0, high=0.5, slider=(0.0, 0.5, 0.05), step_slider=True),
    Setting("augment", str, "off", "Augmentation",
            "on: every batch's images rotated, sheared, scaled and shifted a little (the variations that teach "
            "the lab your handwriting), so the network never sees the same image twice.", "augment",
            "--augment", choices=("off", "on")),
    Setting("early_stop", int, 0, "Early stopping (patience)",
            "0 is off. Otherwise the last 5,000 training images (a fifth, for fewer than 25,000) are held out "
            "as a validation set and never trained on; the run stops once the validation cost has not improved "
            "for this many epochs and keeps the best epoch's parameters. The test set decides nothing.",
            "patience", "--early-stop", low=0, high=50, slider=(0, 50, 1), step_slider=True),
    Setting("schedule", str, "constant", "Learning-rate schedule",
            "How the learning rate moves over the run, as a factor of the rate set above. constant: the post's. "
            "step: times Decay every Step epochs. exponential: times Decay per epoch, batch by batch. cosine: "
            "down to 0 along a half cosine. one-cycle: a warm-up from 1/25 of the rate over the first Warm-up "
            "share of the run, then a half cosine down to 1/2500 of it. A rate changed while the run trains "
            "is the one the schedule then multiplies.", "sched", "--schedule", choices=SCHEDULES),
    Setting("lr_decay", float, 0.5, "Decay (step, exponential)",
            "The factor the step schedule multiplies the rate by every Step epochs, and the exponential one per "
            "epoch.", "decay", "--decay", low=0.05, high=1, slider=(0.05, 1.0, 0.05), step_slider=True),
    Setting("step_epochs", int, 3, "Step interval (epoch count)", "The step schedule's epochs between two drops.",
            "every", "--step-every", low=1, high=50, slider=(1, 50, 1), step_slider=True),
    Setting("warmup", float, 0.3, "Warm-up (one-cycle)", "The share of the run one-cycle warms up over.",
            "warmup", "--warmup", low=0.05, high=0.9, slider=(0.05, 0.9, 0.05), step_slider=True),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True)
class Hyperparams:
    """A run's settings; the defaults are the seed post's run (see ``SETTINGS`` for ranges)."""

    hidden_units: int = 64  # H, width of the hidden layer
    learning_rate: float = 4.0  # step size applied to the velocity
    momentum: float = 0.9  # beta, weight of the previous velocity
    batch_size: int = 128  # samples per gradient step (the last batch of an epoch is smaller)
    epochs: int = 9  # passes over the training set
    seed: int = 138  # seeds initial weights and every epoch's shuffle
    activation: str = "sigmoid"  # hidden-layer nonlinearity: sigmoid, tanh or relu
    layers: int = 1  # hidden layers, each of hidden_units
    init: str = "lecun"  # weight initialisation: lecun N(0, 1/n), normal N(0, 1), he N(0, 2/n), zeros
    optimizer: str = "momentum"  # momentum, sgd, nesterov, rmsprop or adam
    train_size: int = 60_000  # training images trained on (a fixed, class-balanced subset)
    l2: float = 0.0  # lambda of the L2 penalty on the weights
    dropout: float = 0.0  # share of hidden units dropped in each training batch
    label_noise: float = 0.0  # share of training labels replaced by random digits
    augment: str = "off"  # "on": each batch randomly rotated, sheared, scaled and shifted
    early_stop: int = 0  # patience in epochs; 0: no early stopping (and no validation set)
    schedule: str = "constant"  # the learning rate over the run: constant, step, exponential, cosine, one-cycle
    lr_decay: float = 0.5  # step's factor every step_epochs, exponential's per epoch
    step_epochs: int = 3  # step's epochs between drops
    warmup: float = 0.3  # one-cycle's share of the run warming up

    def validate(self) -> "Hyperparams":
        """Return self, or raise ValueError with a one-line message naming the bad setting."""
        for setting in SETTINGS:
            setting.check(getattr(self, setting.name))
        return self

    def as_dict(self) -> dict:
        return asdict(self)


assert [f.name for f in fields(Hyperparams)] == [s.name for s in SETTINGS]
assert all(getattr(Hyperparams(), s.name) == s.default for s in SETTINGS)
