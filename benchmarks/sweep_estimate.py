"""The Sweep page's time estimate against real sweeps (``python -m benchmarks.sweep_estimate``).

Each case is a small sweep (a few runs of one kind: the default run's settings, wider, deeper, Adam,
augmentation, a small training set, small and full batches), trained as the page trains it: the
``nn_core.sweep.Sweep`` driver on ``nn_core.jobs.ProcessBackend`` with one worker per core. Printed per
case: the page's estimate (``ui.sweep.estimated_seconds``), the wall time measured, and the workers'
CPU seconds divided by the workers (what the wall time would be on an otherwise idle machine), with
the load average: on a shared machine read the CPU column, and the wall column beside the load.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import psutil

from benchmarks.live_charts import cpu_seconds
from nn_core import Hyperparams, load_mnist
from nn_core.jobs import ProcessBackend, available_cores
from nn_core.sweep import Sweep, grid
from ui.sweep import estimated_seconds

BASE = Hyperparams(epochs=3)
CASES = {  # name: (settings of every run, the values swept)
    "default, 3 epochs": (BASE, {"learning_rate": [0.4, 4.0]}),
    "hidden 256": (replace(BASE, hidden_units=256), {"learning_rate": [0.4, 4.0]}),
    "3 layers": (replace(BASE, layers=3), {"learning_rate": [0.4, 4.0]}),
    "adam": (replace(BASE, optimizer="adam"), {"learning_rate": [0.001, 0.003]}),
    "augment, 1 epoch": (replace(BASE, augment="on", epochs=1), {"learning_rate": [0.4, 4.0]}),
    "1,000 images, 20 epochs": (replace(BASE, train_size=1000, epochs=20), {"learning_rate": [0.4, 4.0]}),
    "batch 16, 1 epoch": (replace(BASE, batch_size=16, epochs=1), {"learning_rate": [0.1, 0.4]}),
    "full batch, 10 epochs": (replace(BASE, batch_size=60_000, epochs=10), {"learning_rate": [1.0, 4.0]}),
    "hidden 512, 2 layers, 1 epoch": (replace(BASE, hidden_units=512, layers=2, epochs=1), {"learning_rate": [0.4, 4.0]}),
    "the page's default (6 rates x 2 seeds)": (BASE, {"learning_rate": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]}),
}


def worker_cpu(backend_pid: int) -> float:
    """CPU seconds of this process's children (the workers) so far."""
    return cpu_seconds(psutil.Process(backend_pid).children(recursive=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=list(CASES), help="only these cases (default: all)")
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    data = load_mnist().read_only()
    workers = available_cores()
    backend = ProcessBackend(data, workers)
    warm = Sweep(backend, [Hyperparams(epochs=1, train_size=100)] * workers, workers, data.test_images, data.test_labels)
    warm.advance()  # the workers started and the data loaded: the page's server has them already
    print(f"{workers} workers; estimate vs measured, seconds")
    print(f"{'case':<42} {'runs':>4} {'estimate':>8} {'wall':>7} {'cpu/worker':>10} {'cpu/est':>7}  load")
    for name in args.case or CASES:
        base, values = CASES[name]
        runs = grid(base, values, args.seeds)
        estimate = estimated_seconds(runs, workers)
        cpu_before, started = worker_cpu(os.getpid()), time.perf_counter()
        Sweep(backend, runs, workers, data.test_images, data.test_labels).advance()
        wall = time.perf_counter() - started
        cpu = (worker_cpu(os.getpid()) - cpu_before) / workers
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{name:<42} {len(runs):>4} {estimate:>8.1f} {wall:>7.1f} {cpu:>10.1f} {cpu / estimate:>7.2f}  {load}",
              flush=True)
    backend.shutdown()


if __name__ == "__main__":
    main()
