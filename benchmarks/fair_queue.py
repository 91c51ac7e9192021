"""One session's sweep against another session's Train (``python -m benchmarks.fair_queue``).

On the app's default backend (``nn_core.jobs.ProcessBackend``, one worker per core), session A runs
a sweep of ``--sweep-runs`` runs (the page's driver, ``nn_core.sweep.Sweep``, as many runs in flight
as there are workers, advanced by a thread of its own as the Sweep page's fragment advances it),
and once it is going session B trains the default run and polls it as the Train page does. B's time
(start to its result) is measured alone and then against A's sweep, alternately ``--repeats``
times on the same warmed-up workers; the ratio contended / solo is printed beside the load average.
With ``--first-come`` each repeat also runs B against the sweep with the fair queue bypassed (tasks
straight to the executor's own first-come queue, as before it), at the same time of the same load.
Run it from the repository's root.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import threading
import time

from nn_core import Hyperparams, load_mnist
from nn_core.jobs import ProcessBackend
from nn_core.sweep import Sweep


def start(backend, hparams: Hyperparams, owner: str):
    """A run of ``owner`` (on a backend that knows owners; else just a run)."""
    if "owner" in inspect.signature(backend.start).parameters:
        return backend.start(hparams, owner=owner)
    return backend.start(hparams)


def train_b(backend) -> tuple[float, float]:
    """Session B's default run, polled like the Train page: (seconds to its result, its accuracy)."""
    began = time.perf_counter()
    run = start(backend, Hyperparams(), "session-b")
    while not run.poll().finished:
        pass
    while (result := run.claim()) is None:
        time.sleep(0.01)
    return time.perf_counter() - began, result.epochs[-1].test_accuracy


def sweep_a(backend, data, runs: int, epochs: int) -> tuple[Sweep, threading.Event, threading.Thread]:
    """Session A's sweep of ``runs`` seeds of the default settings, advanced in a thread until stopped."""
    planned = [Hyperparams(epochs=epochs, seed=seed) for seed in range(1, runs + 1)]
    sweep = Sweep(backend, planned, backend.workers, data.test_images, data.test_labels)
    if "owner" in inspect.signature(Sweep).parameters:
        sweep.owner = "session-a"
    done = threading.Event()

    def advance():
        while not done.is_set() and not sweep.finished:
            sweep.advance(0.5)

    thread = threading.Thread(target=advance, daemon=True)
    thread.start()
    return sweep, done, thread


def first_come(backend, on: bool) -> None:
    """Bypass the backend's fair queue (tasks straight to the executor), or stop bypassing it."""
    if on:
        backend.enqueue = lambda owner, send, *args: send(*args)
        backend.withdraw = lambda task: False
    else:
        vars(backend).pop("enqueue", None)
        vars(backend).pop("withdraw", None)


def contended(backend, data, args) -> tuple[float, int]:
    """B's time against A's sweep, and how many of A's runs ended meanwhile."""
    sweep, done, thread = sweep_a(backend, data, args.sweep_runs, args.sweep_epochs)
    time.sleep(2.0)  # the sweep's first runs are on the workers
    seconds, _ = train_b(backend)
    ended = len(sweep.rows)
    done.set()
    thread.join()
    sweep.stop()
    while sweep.active:
        sweep.advance(0.5)
    return seconds, ended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep-runs", type=int, default=40)
    parser.add_argument("--sweep-epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--first-come", action="store_true", help="also without the fair queue, alternately")
    args = parser.parse_args()
    data = load_mnist().read_only()
    backend = ProcessBackend(data)
    pids = backend.warm_up()
    print(f"{backend.workers} workers {pids}; sweep of {args.sweep_runs} runs x {args.sweep_epochs} epochs")
    solo, fair, fifo = [], [], []
    try:
        for repeat in range(args.repeats):
            seconds, accuracy = train_b(backend)
            solo.append(seconds)
            print(f"[{repeat}] B alone:       {seconds:6.2f} s (accuracy {accuracy:.4f}) load {os.getloadavg()}",
                  flush=True)
            for queue, times in (("fair queue", fair), ("first come", fifo))[:1 + args.first_come]:
                first_come(backend, queue == "first come")
                seconds, ended = contended(backend, data, args)
                first_come(backend, False)
                times.append(seconds)
                print(f"[{repeat}] B against A's sweep ({queue}): {seconds:6.2f} s (A's runs ended meanwhile: "
                      f"{ended}) load {os.getloadavg()}", flush=True)
    finally:
        backend.shutdown()
    a = statistics.median(solo)
    for queue, times in (("fair queue", fair), ("first come", fifo))[:1 + args.first_come]:
        b = statistics.median(times)
        print(f"median: B alone {a:.2f} s, against A's sweep ({queue}) {b:.2f} s, ratio {b / a:.2f} (goal: at most 2)")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
