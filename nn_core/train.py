"""Command line: ``python -m nn_core.train`` trains the seed post's network on MNIST.

Defaults are the post's run. One progress line per epoch, like the post's, or with ``--json`` one
JSON object per epoch on stdout. Exit status: 0 done, 2 bad arguments or data, 3 diverged.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from .data import DataError, load_mnist
from .loop import Diverged, EpochStats, Hyperparams, Trainer, train
from .model import ACTIVATIONS
from .persist import save_model

DEFAULTS = Hyperparams()


def _flag(convert, is_valid, requirement: str):
    """An argparse type: ``convert`` the text, then check it; both failures say what is required."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {requirement}, got {text!r}") from None
        if not is_valid(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return value
    return parse


_positive_int = _flag(int, lambda value: value >= 1, "a positive integer")
_non_negative_int = _flag(int, lambda value: value >= 0, "a non-negative integer")
_positive_float = _flag(float, lambda value: math.isfinite(value) and value > 0, "a positive number")
_momentum = _flag(float, lambda value: 0 <= value < 1, "a number in [0, 1)")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and status 2, without the usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv=None) -> argparse.Namespace:
    parser = _Parser(prog="python -m nn_core.train", description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=_positive_int, default=DEFAULTS.hidden_units, help="hidden units (64)")
    parser.add_argument("--lr", type=_positive_float, default=DEFAULTS.learning_rate, help="learning rate (4)")
    parser.add_argument("--beta", type=_momentum, default=DEFAULTS.momentum, help="momentum in [0, 1) (0.9)")
    parser.add_argument("--batch-size", type=_positive_int, default=DEFAULTS.batch_size, help="batch size (128)")
    parser.add_argument("--epochs", type=_positive_int, default=DEFAULTS.epochs, help="epochs (9)")
    parser.add_argument("--seed", type=_non_negative_int, default=DEFAULTS.seed, help="random seed (138)")
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default=DEFAULTS.activation)
    parser.add_argument("--save", metavar="PATH", help="save the trained model as .npz")
    parser.add_argument("--json", action="store_true", help="one JSON object per epoch on stdout")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    hparams = Hyperparams(hidden_units=args.hidden, learning_rate=args.lr, momentum=args.beta,
                          batch_size=args.batch_size, epochs=args.epochs, seed=args.seed,
                          activation=args.activation)
    try:
        data = load_mnist()
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    trainer = Trainer(data, hparams)
    for event in train(data, hparams, trainer=trainer):
        if isinstance(event, EpochStats):
            if args.json:
                print(json.dumps({
                    "epoch": event.epoch, "train_cost": event.train_cost, "test_cost": event.test_cost,
                    "train_accuracy": event.train_accuracy, "test_accuracy": event.test_accuracy,
                    "train_seconds": round(event.train_seconds, 4),
                    "eval_seconds": round(event.eval_seconds, 4)}), flush=True)
            else:
                print(f"Epoch {event.epoch}: training cost = {event.train_cost:.6f}, test cost = "
                      f"{event.test_cost:.6f}, test accuracy = {event.test_accuracy:.2%}"
                      f" ({event.train_seconds:.2f} s)", flush=True)
        elif isinstance(event, Diverged):
            print(f"error: {event.message}", file=sys.stderr)
            return 3
    if not args.json:
        print("Done.")
    if args.save:
        save_model(args.save, trainer.model, hparams, trainer.result().metrics())
        if not args.json:
            print(f"Saved model to {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
