"""Command line: ``python -m nn_core.train`` trains the seed post's network on MNIST (or ``--data PATH``).

Defaults are the post's run. One progress line per epoch, like the post's, or with ``--json`` one
JSON object per epoch on stdout. Exit status: 0 done, 2 bad arguments or data, 3 diverged.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from .data import DataError, load_mnist
from .estimate import duration, run_seconds
from .jobs import available_cores
from .persist import save_model
from .run_events import Diverged, EpochStats
from .settings import SETTINGS, Hyperparams, number_from_text
from .training import Trainer


LONG_RUN_SECONDS = 30  # a run (or sweep) estimated to take longer is announced with its estimate
PROGRESS_AFTER = 5.0  # seconds: an epoch (or a sweep's wait for its next run) going longer shows progress
PROGRESS_EVERY = {True: 1.0, False: 15.0}  # seconds between progress lines: on a terminal, in a log file


class ProgressLine:
    """Progress on stderr (stdout stays the results, JSON with --json): one line rewritten in place
    on a terminal, a new line every 15 s in a file or pipe."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last = -math.inf
        self.shown = False  # a line in place, to be cleared before other output

    def show(self, text: str) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY[self.tty]:
            return
        self.last = now
        self.stream.write(f"\r\033[K{text}" if self.tty else f"{text}\n")
        self.shown = self.tty
        self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def announce(seconds: float, what: str) -> None:
    """Before a long run or sweep: its estimate (the Sweep page's), on stderr."""
    if seconds >= LONG_RUN_SECONDS:
        print(f"{what}: about {duration(seconds)} by the lab's estimate (a guide, good to a factor of about two; "
              "Ctrl-C stops it).", file=sys.stderr, flush=True)


def epoch_progress(trainer: Trainer, seconds: float) -> str:
    """Where the current epoch stands, and about how long it has left at its pace so far."""
    done, total = trainer.batch, trainer.batches_per_epoch
    left = f", about {duration(seconds * (total - done) / done)} left of it" if done else ""
    return (f"Epoch {trainer.epoch + 1} of {trainer.hparams.epochs}: {done:,} of {total:,} batches "
            f"({done / total:.0%}) in {duration(seconds)}{left}")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and status 2, without the usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _flag_type(setting):
    """An argparse type from the setting's spec; its error says what is required."""
    def parse(text: str):
        try:
            return setting.parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    parse.__name__ = setting.name  # argparse names the type in some messages
    return parse


def add_setting_flags(parser: argparse.ArgumentParser, nargs: str | None = None) -> None:
    """One flag per setting (``nargs="+"`` for a sweep), defaults and help from the spec."""
    for setting in SETTINGS:
        default = setting.default if nargs is None else [setting.default]
        switch = setting.choices == ("off", "on") and nargs is None  # a bare --augment means on
        parser.add_argument(setting.flag, dest=setting.name, type=_flag_type(setting), default=default,
                            nargs="?" if switch else nargs, const="on" if switch else None,
                            metavar=setting.name.upper(),
                            help=f"{setting.help} {setting.requirement().capitalize()}; default "
                                 f"{setting.format(setting.default)}.")


def flag_error_parser(prog: str, description: str) -> argparse.ArgumentParser:
    return _Parser(prog=prog, description=description)


def writable_path(suffix: str):
    """An argparse type for an output file, checked before any training: the name it will really
    have (``suffix`` added if missing), in a folder that exists and can be written."""
    def parse(text: str) -> Path:
        return _writable(text, suffix)
    return parse


def _writable(text: str, suffix: str) -> Path:
    """The file ``text`` names, refused (ArgumentTypeError, one line) when it names a folder (an
    existing one, or any text ending in a slash), something that is not a regular file (/dev/null, a
    FIFO), or a place that cannot be written. The suffix is matched without regard to case (x.NPZ
    stays x.NPZ) and added when missing."""
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a file name")
    if text.endswith(("/", os.sep)) or (os.altsep and text.endswith(os.altsep)):
        raise argparse.ArgumentTypeError(f"{text} names a folder; give a file name")
    named = Path(text)
    if named.is_dir():
        raise argparse.ArgumentTypeError(f"{named} is a folder; give a file name")
    path = named if named.suffix.lower() == suffix else named.with_name(named.name + suffix)
    for candidate in dict.fromkeys((named, path)):  # /dev/null itself, and /dev/null.npz
        if candidate.exists() and not candidate.is_file():
            raise argparse.ArgumentTypeError(f"{candidate} is not a regular file")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"folder {folder} does not exist")
    existed = path.exists()
    try:  # a real write, not a permission check: root passes os.access even where writes fail (/sys)
        with path.open("ab"):
            pass
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot write to {path}: {error.strerror or error}") from None
    if not existed:
        path.unlink()
    return path


def parse_args(argv=None) -> argparse.Namespace:
    parser = flag_error_parser("python -m nn_core.train", __doc__.splitlines()[0])
    add_setting_flags(parser)
    parser.add_argument("--save", metavar="PATH", type=writable_path(".npz"),
                        help="save the trained model as .npz")
    parser.add_argument("--json", action="store_true", help="one JSON object per epoch on stdout")
    parser.add_argument("--export-script", metavar="PATH", type=writable_path(".py"),
                        help="write the run these flags describe as a self-contained NumPy script (python PATH "
                             "--data DIR) and exit without training")
    add_data_flag(parser)
    cores = available_cores()
    parser.add_argument("--threads", type=bounded_int(1, cores), default=cores,
                        help=f"BLAS threads, 1-{cores}; default all {cores} cores of this machine (the app's runs "
                             "train on 1: the bits of a run depend on it, its figures hardly)")
    return parser.parse_args(argv)


def add_data_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="PATH",
                        help="train on this data set instead of MNIST: a zip (or folder) of IDX files or of one folder "
                             "per class of images, an .npz (x, y, optional classes, x_test, y_test) or a CSV "
                             "(label,pixel0..pixel783); at most 50 MB and 60,000 + 10,000 images")


def open_data(path: str | None, quiet: bool = False):
    """MNIST, or the data set at ``path`` (said on stderr unless ``quiet``; reading its images shows progress).
    Raises DataError."""
    if path is None:
        return load_mnist()
    from .datasets import read_dataset

    line, started = ProgressLine(), time.monotonic()

    def progress(done: int, total: int) -> None:
        if time.monotonic() - started > 1.0:  # only what takes more than a second shows progress
            line.show(f"Reading images: {done:,} of {total:,}")

    data = read_dataset(path, progress=progress)
    line.clear()
    if not quiet:
        print(f"Data: {data.name}, {data.n_classes} classes ({', '.join(data.classes)[:200]}), "
              f"{len(data.train_labels):,} training and {len(data.test_labels):,} test images"
              + (f" ({data.note})" if data.note else ""), file=sys.stderr, flush=True)
    return data


def bounded_int(low: int, high: int):
    """An argparse type for an integer in [low, high]; its error says so."""
    def parse(text: str) -> int:
        try:
            value = number_from_text(text, int)  # plain ASCII digits: int() takes "4_0" and "６４"
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}], got {text[:40]!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer in [{low}, {high}], got {value}")
        return value
    return parse


def epoch_line(stats: EpochStats, as_json: bool) -> str:
    if as_json:
        return json.dumps({
            "epoch": stats.epoch, "train_cost": stats.train_cost, "test_cost": stats.test_cost,
            "train_accuracy": stats.train_accuracy, "test_accuracy": stats.test_accuracy,
            "train_seconds": round(stats.train_seconds, 4), "eval_seconds": round(stats.eval_seconds, 4),
            **(stats.health.as_json() if stats.health is not None else {}),
            **({"validation_cost": stats.validation_cost, "validation_accuracy": stats.validation_accuracy}
               if stats.validation_cost is not None else {}),
            **({"l2_penalty": stats.l2_penalty} if stats.l2_penalty else {}),
            **({"train_accuracy_true": stats.train_accuracy_true} if stats.train_accuracy_true is not None else {})})
    return (f"Epoch {stats.epoch}: training cost = {stats.train_cost:.6f}, test cost = {stats.test_cost:.6f}, "
            f"test accuracy = {stats.test_accuracy:.2%} ({stats.train_seconds:.2f} s)")


def train(args: argparse.Namespace) -> int:
    hparams = Hyperparams(**{setting.name: getattr(args, setting.name) for setting in SETTINGS})
    try:
        data = open_data(args.data)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    trainer = Trainer(data, hparams, threads=args.threads)
    estimate = run_seconds(hparams)
    announce(estimate, f"{hparams.epochs} epoch{'s' * (hparams.epochs != 1)} of about "
                       f"{duration(estimate / hparams.epochs)} each")
    line, epoch_started = ProgressLine(), time.monotonic()
    while not trainer.finished:
        for event in trainer.run(max_batches=50):
            if isinstance(event, EpochStats):
                line.clear()
                print(epoch_line(event, args.json), flush=True)
                epoch_started = time.monotonic()
            elif isinstance(event, Diverged):
                line.clear()
                print(f"error: {event.message}", file=sys.stderr)
                return 3
        elapsed = time.monotonic() - epoch_started
        if elapsed > PROGRESS_AFTER and not trainer.finished:
            line.show(epoch_progress(trainer, elapsed))
    line.clear()
    result = trainer.result()
    if result.stopped_early:
        print(f"Stopped early after epoch {trainer.epoch}: the validation cost was lowest at epoch "
              f"{result.best_epoch}, whose parameters the model keeps (test accuracy "
              f"{result.final.test_accuracy:.2%}).", file=sys.stderr if args.json else sys.stdout)
    if not args.json:
        print("Done.")
    return _save(args, trainer.model, hparams, result, data) if args.save else 0


def _save(args: argparse.Namespace, model, hparams: Hyperparams, result, data) -> int:
    """The trained model written to ``--save``, with the data set it reads: 0, or 2 with the reason when it cannot
    be written."""
    try:
        with open(args.save, "wb") as handle:  # a path would get ".npz" added by NumPy (x.NPZ.npz)
            save_model(handle, model, hparams, result.metrics(), data=None if data.is_mnist else data)
    except OSError as error:
        print(f"error: could not save the model to {args.save}: {error.strerror or error}", file=sys.stderr)
        return 2
    if not args.json:
        print(f"Saved model to {args.save}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.export_script:
        return export_script(args)
    return quiet_exit(lambda: train(args))


def export_script(args: argparse.Namespace) -> int:
    """Write the run's script instead of training; 2 and one line if it cannot be exported or written."""
    from .export import ExportError, script

    hparams = Hyperparams(**{setting.name: getattr(args, setting.name) for setting in SETTINGS})
    try:
        args.export_script.write_text(script(hparams), encoding="utf-8")
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: could not write {args.export_script}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"Wrote {args.export_script}: python {args.export_script} --data DIR (a folder of MNIST's IDX files)")
    return 0


def quiet_exit(command) -> int:
    """Run ``command``; Ctrl-C and a reader that went away end it with a status, not a traceback."""
    try:
        return command()
    except KeyboardInterrupt:
        print("interrupted: nothing saved", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `| head -1`: the reader left; say nothing more
        sys.stderr.close()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
