"""Command line: ``python -m nn_core.sweep`` trains a grid of settings on local workers or a Dask cluster.

Each setting's flag (the same names as ``python -m nn_core.train``) takes one or more values; the grid
is their product, times ``--seeds K`` seeds (the given seed and the next K-1). Flags not given take
the post's defaults. One line per run as it ends: a table row, or with ``--json`` one JSON object.
Exit status: 0 every run ended (a divergence is an ending), 2 bad arguments or data (a malformed
scheduler address too), 4 the Dask cluster cannot be used (nothing or not Dask answering at the
address, no worker there, workers that cannot run nn_core), 5 a run failed (the sweep stops; why on
stderr). A failed run's line has null test figures and its ``note``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from dataclasses import dataclass, field

from .cli import (PROGRESS_AFTER, ProgressLine, add_setting_flags, announce, bounded_int, flag_error_parser,
                  quiet_exit, writable_path)
from .estimate import estimated_seconds
from .data import DataError, load_mnist
from .evaluation import evaluate
from .cluster import CONNECT_SECONDS, ClusterUnusable, SchedulerAddressError, check_address, find_scheduler
from .jobs import DaskBackend, ProcessBackend, available_cores
from .settings import MAX_SEED, SETTINGS, Hyperparams
from .run_events import RunStatus
from .run_state import RunResult
from .tables import csv_text

MAX_RUNS = 200  # the largest grid a sweep takes
MAX_SEEDS = 5
COLUMNS = [setting.name for setting in SETTINGS] + ["status", "test_accuracy", "test_cost", "train_seconds", "note"]


def parse_args(argv=None) -> argparse.Namespace:
    parser = flag_error_parser("python -m nn_core.sweep", __doc__.splitlines()[0])
    add_setting_flags(parser, nargs="+")
    parser.add_argument("--seeds", type=bounded_int(1, MAX_SEEDS), default=1,
                        help=f"seeds per point of the grid, 1-{MAX_SEEDS} (the given seed and the next ones)")
    parser.add_argument("--workers", type=bounded_int(1, 64), default=available_cores(),
                        help="local worker processes, at most this machine's cores (default: its cores)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--timeout", metavar="SECONDS", type=bounded_int(1, 300), default=int(CONNECT_SECONDS),
                        help=f"the longest wait for the scheduler to answer, then for a worker (default "
                             f"{CONNECT_SECONDS:g})")
    parser.add_argument("--json", action="store_true", help="one JSON object per run on stdout")
    parser.add_argument("--csv", metavar="PATH", type=writable_path(".csv"), help="also write the table here")
    too_many = flag_with_too_many_values(sys.argv[1:] if argv is None else argv)
    if too_many:  # before argparse parses each value (argv may hold a few hundred thousand)
        parser.error(too_many)
    args = parser.parse_args(argv)
    if args.scheduler is not None:
        try:
            check_address(args.scheduler)
        except SchedulerAddressError as error:
            parser.error(f"--scheduler: {error}")
    values = {setting.name: getattr(args, setting.name) for setting in SETTINGS}
    runs = grid_size(Hyperparams(), values, args.seeds)  # counted, not built: flags multiply into millions
    if runs > MAX_RUNS:
        parser.error(f"the grid has {runs:,} runs, more than the {MAX_RUNS} a sweep takes")
    args.grid = grid(Hyperparams(), values, args.seeds)
    return args


def flag_with_too_many_values(argv: list[str]) -> str | None:
    """What is wrong when a setting's flag is given more values than a sweep has runs, else None."""
    flags = {setting.flag for setting in SETTINGS}
    counts, current = [], None  # (flag, its values) per occurrence
    for token in argv:
        if token.startswith("--"):
            current = next((flag for flag in flags if flag.startswith(token)), None)  # or its abbreviation
            counts.append([current, 0])
        elif current is not None:
            counts[-1][1] += 1
    for flag, count in counts:
        if count > MAX_RUNS:
            return f"{flag} has {count} values, more than the {MAX_RUNS} runs a sweep takes"
    return None


def grid(base: Hyperparams, values: dict[str, list], seeds: int) -> list[Hyperparams]:
    """Every combination of ``values`` (setting name -> its values) over ``base``, each with ``seeds``
    seeds (its seed and the next ones), in a stable order and without repeats."""
    names = list(values)
    runs = []
    for combination in itertools.product(*(list(dict.fromkeys(v)) for v in values.values())):
        point = base.as_dict() | dict(zip(names, combination))
        runs += [Hyperparams(**(point | {"seed": min(point["seed"] + k, MAX_SEED)})) for k in range(seeds)]
    return list(dict.fromkeys(runs))


def grid_size(base: Hyperparams, values: dict[str, list], seeds: int) -> int:
    """How many runs ``grid`` makes of the same arguments, counted without making them."""
    seeds_run = {min(seed + k, MAX_SEED) for seed in set(values.get("seed", [base.seed])) for k in range(seeds)}
    return math.prod(len(set(v)) for name, v in values.items() if name != "seed") * len(seeds_run)


def row(result: RunResult, test_images, test_labels) -> dict:
    """A run's line: its settings, how it ended and its test figures (a diverged run's are those of
    the last good parameters it kept; a failed run has none, and a note saying why it failed)."""
    failed = result.status == RunStatus.FAILED
    cost, accuracy = (None, None) if failed else evaluate(result.model, test_images, test_labels)
    return {**result.hparams.as_dict(), "status": str(result.status), "test_accuracy": accuracy,
            "test_cost": cost, "train_seconds": round(result.train_seconds, 4),
            "note": (result.note or "unknown") if failed else None}


@dataclass(eq=False)
class Sweep:
    """A grid being trained: at most ``in_flight`` runs at a time on ``backend``, a row and a result
    per ended run, in the order they ended. ``data``: the data set the runs train on (a session's own;
    None: the backend's MNIST); its test set is the rows' unless ``test_images``/``test_labels`` are given."""

    backend: object
    pending: list[Hyperparams]
    in_flight: int
    test_images: object = None
    test_labels: object = None
    varied: list[str] = field(default_factory=list)  # the settings the grid varies (for labels)
    total: int = 0
    started: float = field(default_factory=time.perf_counter)
    active: list = field(default_factory=list)  # run handles in flight
    rows: list[dict] = field(default_factory=list)
    results: list[RunResult] = field(default_factory=list)
    stopped: bool = False
    failure: str | None = None  # why a run failed: the sweep then stops (its cause, e.g. the workers, would fail the rest)
    owner: object = None  # who runs it (the app: the session), for the backend's fair queue and watchdog
    data: object = None  # the DataSet the runs train on; None: the backend's MNIST

    def __post_init__(self):
        self.pending = list(self.pending)
        self.total = len(self.pending)
        if self.test_images is None and self.test_labels is None:
            source = self.data if self.data is not None else getattr(self.backend, "data", None)
            if source is not None:
                self.test_images, self.test_labels = source.test_images, source.test_labels

    @property
    def finished(self) -> bool:
        return not self.pending and not self.active

    def advance(self, seconds: float | None = None, report=None, wait: bool = True) -> None:
        """Start runs while a worker is free and record those that ended (``report``: called with
        each new row), for about ``seconds`` or until the sweep has ended. ``wait=False``: one pass,
        reading each run's progress without waiting for news (a page that polls again later)."""
        deadline = None if seconds is None else time.perf_counter() + seconds
        passes = 0
        while not self.finished and (wait or not passes) and (
                deadline is None or time.perf_counter() < deadline or not (wait or passes)):
            passes += 1
            while self.pending and len(self.active) < self.in_flight:
                hparams = self.pending.pop(0)
                if self.data is None:  # (a backend of before data sets takes no data)
                    self.active.append(self.backend.start(hparams, owner=self.owner))
                else:
                    self.active.append(self.backend.start(hparams, owner=self.owner, data=self.data))
            for handle in list(self.active):
                if (handle.poll(0.1, every=0.0) if wait else handle.progress()).finished:
                    self.active.remove(handle)
                    if (result := handle.claim()) is not None:
                        result.snapshots = ()  # a sweep keeps up to 200 runs: not their epochs' parameters
                        self.rows.append(row(result, self.test_images, self.test_labels))
                        self.results.append(result)
                        if result.status == RunStatus.FAILED and self.failure is None:
                            self.failure = self.rows[-1]["note"]
                            self.stop()
                        if report is not None:
                            report(self.rows[-1])

    def stop(self) -> None:
        """No further run starts; those in flight end after their current chunk, and are kept."""
        self.stopped = True
        self.pending.clear()
        for handle in self.active:
            handle.stop()


def sweep_progress(sweep_: Sweep) -> str:
    """The runs ended, and where each run in flight stands (from its last chunk back)."""
    standing = []
    for handle in sweep_.active:
        p = handle.progress()
        standing.append(f"epoch {p.epoch + 1} of {p.hparams.epochs} at {p.batch / max(1, p.batches_per_epoch):.0%}")
    return f"{len(sweep_.rows)} of {sweep_.total} runs ended; training: {', '.join(standing)}"


def table_line(values: dict) -> str:
    hp = f"H {values['hidden_units']:>3} lr {values['learning_rate']:<6g} beta {values['momentum']:<4g} " \
         f"batch {values['batch_size']:>5} epochs {values['epochs']:>2} seed {values['seed']:>4} {values['activation']:<7} " \
         f"layers {values['layers']} {values['init']:<6} {values['optimizer']:<8}"
    if values["test_accuracy"] is None:  # a failed run: no figures, the reason
        return f"{hp} {values['status']:<8} {values['note']}"
    return (f"{hp} {values['status']:<8} test accuracy {values['test_accuracy']:.2%}  test cost "
            f"{values['test_cost']:.4f}  {values['train_seconds']:6.2f} s")


def _open(args: argparse.Namespace):
    """The data and the backend the sweep runs on, and 0; or None and the exit code (why said on stderr)."""
    try:
        if args.scheduler:  # before the data: an address where no scheduler answers is said at once
            if not args.json:
                print(f"Connecting to the Dask scheduler at {args.scheduler} (waiting at most {args.timeout} s for it, "
                      f"then as long for a worker)", flush=True)
            find_scheduler(args.scheduler, args.timeout)
        data = load_mnist().read_only()
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return None, 2
    except ClusterUnusable as error:
        print(f"error: {error}", file=sys.stderr)
        return None, 4
    cores = available_cores()
    if not args.scheduler and args.workers > cores:  # more would only share the cores, each with its own data
        print(f"note: --workers {args.workers} is more than the {cores} cores this process may use: using {cores}",
              file=sys.stderr)
        args.workers = cores
    try:
        backend = (DaskBackend(data, args.scheduler, args.timeout) if args.scheduler
                   else ProcessBackend(data, args.workers))
    except ClusterUnusable as error:
        print(f"error: {error}", file=sys.stderr)
        return None, 4
    return (data, backend), 0


def sweep(args: argparse.Namespace) -> int:
    opened, code = _open(args)
    if opened is None:
        return code
    data, backend = opened
    in_flight = max(1, backend.workers) if args.scheduler else args.workers
    sweep_ = Sweep(backend, args.grid, in_flight, data=None if data.is_mnist else data)
    try:
        if not args.json:
            where = f"the Dask cluster at {args.scheduler}" if args.scheduler else f"{args.workers} local workers"
            print(f"{len(args.grid)} runs on {where}", flush=True)
        announce(estimated_seconds(args.grid, in_flight, sweep_.data),
                 f"{len(args.grid)} runs on {in_flight} at a time")
        line, news = ProgressLine(), time.monotonic()

        def report(values: dict) -> None:
            nonlocal news
            line.clear()
            print(json.dumps(values) if args.json else table_line(values), flush=True)
            news = time.monotonic()

        while not sweep_.finished:
            sweep_.advance(1.0, report=report)
            if time.monotonic() - news > PROGRESS_AFTER and sweep_.active:
                line.show(sweep_progress(sweep_))
        line.clear()
    except KeyboardInterrupt:
        sweep_.stop()  # no run goes on, nor sends its chunk again once the backend is shut down
        raise
    finally:
        backend.shutdown()
    return _report(args, sweep_)


def _report(args: argparse.Namespace, sweep_: "Sweep") -> int:
    """The table written, the summary line, and the exit code: 5 if a run failed."""
    rows = sweep_.rows
    if args.csv:
        write_csv(args.csv, rows)
    if not args.json:
        ended = sum(values["status"] == RunStatus.DIVERGED for values in rows)
        print(f"{len(rows)} runs in {time.perf_counter() - sweep_.started:.1f} s ({ended} diverged)"
              + (f"; table written to {args.csv}" if args.csv else ""))
    if sweep_.failure is not None:
        print(f"error: a run failed, so the sweep stopped: {sweep_.failure}", file=sys.stderr)
        return 5
    return 0


def write_csv(path, rows: list[dict]) -> None:
    """The sweep's table as CSV at ``path``, formulas neutralised like every CSV the lab writes."""
    with open(path, "w", newline="") as handle:
        handle.write(csv_text(rows, COLUMNS))


def main(argv=None) -> int:
    return quiet_exit(lambda: sweep(parse_args(argv)))  # Ctrl-C quiet from the start


if __name__ == "__main__":
    sys.exit(main())
