"""Command line: ``python -m nn_core.sweep`` trains a grid of settings on local workers or a Dask cluster.

Each setting's flag (the same names as ``python -m nn_core.train``) takes one or more values; the grid
is their product, times ``--seeds K`` seeds (the given seed and the next K-1). Flags not given take
the post's defaults. One line per run as it ends: a table row, or with ``--json`` one JSON object.
Exit status: 0 every run ended (a divergence is an ending), 2 bad arguments or data, 4 no Dask
scheduler at the given address.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
import time

from .cli import add_setting_flags, flag_error_parser, quiet_exit, writable_path
from .data import DataError, load_mnist
from .evaluation import evaluate
from .jobs import DaskBackend, ProcessBackend, SchedulerUnreachable, available_cores
from .settings import SETTINGS, Hyperparams
from .training import RunResult, RunStatus

MAX_RUNS = 200  # the largest grid a sweep takes
MAX_SEEDS = 5
COLUMNS = [setting.name for setting in SETTINGS] + ["status", "test_accuracy", "test_cost", "train_seconds"]


def bounded_int(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}], got {text[:40]!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer in [{low}, {high}], got {value}")
        return value
    return parse


def parse_args(argv=None) -> argparse.Namespace:
    parser = flag_error_parser("python -m nn_core.sweep", __doc__.splitlines()[0])
    add_setting_flags(parser, nargs="+")
    parser.add_argument("--seeds", type=bounded_int(1, MAX_SEEDS), default=1,
                        help=f"seeds per point of the grid, 1-{MAX_SEEDS} (the given seed and the next ones)")
    parser.add_argument("--workers", type=bounded_int(1, 64), default=available_cores(),
                        help="local worker processes (default: this machine's cores)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--json", action="store_true", help="one JSON object per run on stdout")
    parser.add_argument("--csv", metavar="PATH", type=writable_path(".csv"), help="also write the table here")
    args = parser.parse_args(argv)
    args.grid = grid(args)
    if len(args.grid) > MAX_RUNS:
        parser.error(f"the grid has {len(args.grid)} runs, more than the {MAX_RUNS} a sweep takes")
    return args


def grid(args: argparse.Namespace) -> list[Hyperparams]:
    """Every combination of the given values, each with its seeds, in a stable order."""
    values = [list(dict.fromkeys(getattr(args, setting.name))) for setting in SETTINGS]
    runs = []
    for combination in itertools.product(*values):
        settings = dict(zip((setting.name for setting in SETTINGS), combination))
        for offset in range(args.seeds):
            runs.append(Hyperparams(**{**settings, "seed": min(settings["seed"] + offset, 2**31 - 1)}))
    return list(dict.fromkeys(runs))


def row(result: RunResult, test_images, test_labels) -> dict:
    """A run's line: its settings, how it ended and its test figures (a diverged run's are those of
    the last good parameters it kept)."""
    cost, accuracy = evaluate(result.model, test_images, test_labels)
    return {**result.hparams.as_dict(), "status": str(result.status), "test_accuracy": accuracy,
            "test_cost": cost, "train_seconds": round(result.train_seconds, 4)}


def run_grid(backend, runs: list[Hyperparams], in_flight: int, report) -> None:
    """Train every run, at most ``in_flight`` at a time (a worker each), reporting each as it ends."""
    pending, active = list(runs), []
    while pending or active:
        while pending and len(active) < in_flight:
            active.append(backend.start(pending.pop(0)))
        for handle in list(active):
            if handle.poll(0.05, every=0.0).finished and (result := handle.claim()) is not None:
                active.remove(handle)
                report(result)


def table_line(values: dict) -> str:
    hp = f"H {values['hidden_units']:>3} lr {values['learning_rate']:<6g} beta {values['momentum']:<4g} " \
         f"batch {values['batch_size']:>4} epochs {values['epochs']:>2} seed {values['seed']:>4} {values['activation']:<7}"
    return (f"{hp} {values['status']:<8} test accuracy {values['test_accuracy']:.2%}  test cost "
            f"{values['test_cost']:.4f}  {values['train_seconds']:6.2f} s")


def sweep(args: argparse.Namespace) -> int:
    try:
        data = load_mnist().read_only()
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        backend = DaskBackend(data, args.scheduler) if args.scheduler else ProcessBackend(data, args.workers)
    except SchedulerUnreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return 4
    in_flight = max(1, backend.workers) if args.scheduler else args.workers
    rows: list[dict] = []
    started = time.perf_counter()

    def report(result: RunResult) -> None:
        values = row(result, data.test_images, data.test_labels)
        rows.append(values)
        print(json.dumps(values) if args.json else table_line(values), flush=True)

    try:
        if not args.json:
            where = f"the Dask cluster at {args.scheduler}" if args.scheduler else f"{args.workers} local workers"
            print(f"{len(args.grid)} runs on {where}", flush=True)
        run_grid(backend, args.grid, in_flight, report)
    finally:
        backend.shutdown()
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    if not args.json:
        ended = sum(values["status"] == RunStatus.DIVERGED for values in rows)
        print(f"{len(rows)} runs in {time.perf_counter() - started:.1f} s ({ended} diverged)"
              + (f"; table written to {args.csv}" if args.csv else ""))
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    return quiet_exit(lambda: sweep(args))


if __name__ == "__main__":
    sys.exit(main())
