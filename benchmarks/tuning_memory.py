"""What a session keeps after fine-tuning on 500 drawings (``python -m benchmarks.tuning_memory``).

The Draw page's steps with its own functions, on the app's default backend (worker processes): the
plan (``fine_tuning``: 80 variations of each drawing, the ~31 MB training mix), the run started from
the active model on that mix, the session's ``Tuning``, polled to its end, then what
``ui.runs.collect_ended`` does (claim the result, ``Tuning.finish``). Memory is Python's traced
allocations (tracemalloc, NumPy's arrays included) in this process, above what it held before the
plan, while the run trains (the largest seen between polls) and after it ended with what the session
keeps (the tuning and the result) still referenced. MNIST stand-ins for the drawings (test images).
Run it from the repository's root; to compare with an older commit, run the same file in a copy of it.
"""

from __future__ import annotations

import gc
import os
import time
import tracemalloc

from nn_core import Hyperparams, Trainer, load_mnist
from nn_core.handwriting import DigitSet, Tuning, fine_tuning
from nn_core.jobs import ProcessBackend

DRAWINGS = 500
MB = 2**20


def main() -> None:
    data = load_mnist().read_only()
    base = Trainer(data, Hyperparams(epochs=1))
    base.run()
    base = base.result()
    digits = DigitSet(data.test_images[:DRAWINGS].copy(), data.test_labels[:DRAWINGS].copy())
    backend = ProcessBackend(data)
    backend.warm_up()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    began = time.perf_counter()
    plan = fine_tuning(base.hparams, digits)
    mix_mb = plan.mix.extra.images.nbytes / MB
    run = backend.start(plan.hparams, initial=base.model, mix=plan.mix)
    tuning = Tuning.start(run, 0, base.model, plan, digits)
    del plan  # the page's local: gone when start_tuning returns
    peak_running = 0.0
    while not run.poll().finished:
        gc.collect()
        peak_running = max(peak_running, (tracemalloc.get_traced_memory()[0] - before) / MB)
    while (result := run.claim()) is None:
        time.sleep(0.01)
    del run  # collect_ended: the session's current run is cleared
    tuning.finish(1, result.model)
    # The pool's queue-feeder thread holds the last task it sent, pickled (the run's last state: its mix
    # and all), until it sends another: one per server, not per session. Another task replaces it.
    backend.pool().submit(os.getpid).result()
    gc.collect()
    kept = (tracemalloc.get_traced_memory()[0] - before) / MB
    tracemalloc.stop()
    backend.shutdown()
    print(f"fine-tuning on {DRAWINGS} drawings: the training mix's variations are {mix_mb:.1f} MB; "
          f"{time.perf_counter() - began:.1f} s")
    print(f"traced memory above the start: {peak_running:.1f} MB at most while it trains, "
          f"{kept:.1f} MB kept after it ended (the tuning and the result referenced, as the session does)")
    print(f"load average {os.getloadavg()}")
    assert result is not None and tuning.after is not None


if __name__ == "__main__":
    main()
