"""Inside page: server time of a Step's rerun (``python -m benchmarks.inside_step``, from the repository's root).

Runs the app's Inside page in Streamlit's AppTest (in this process, no browser) with Train's settings set
for each case: the defaults at 64 hidden units; 512 units (learning rate 1: the default 4 diverges at that
width); 3 hidden layers with Adam (the page at its deepest usual shape: a stage per layer, Adam's worked
numbers); and a full batch of 60,000 (the post's Part 1, plain SGD from N(0, 1) weights). For each it presses
Step ``--repeats`` times after one warm-up step and prints the median, min and max milliseconds of each
rerun (the script, its figures and their serialisation; AppTest's own parsing of the result adds a
little), then the same for Step 100 (not for the full batch: 100 steps are 100 passes over MNIST), and the
training work alone (``InsideRun.advance``: the trainer's step and the stages' recomputation), with the
most Python memory one step allocated (tracemalloc's peak, beyond the run's own buffers).
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from pathlib import Path

from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, load_mnist
from nn_core.inside import InsideRun
from ui.state import setting_key

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")

# (name, Train's settings by link key, Step 100 timed, repeats' share)
CASES = (
    ("64 hidden units, the defaults", {"hidden": 64, "lr": 4.0}, True, 1.0),
    ("512 hidden units, learning rate 1", {"hidden": 512, "lr": 1.0}, True, 1.0),
    ("3 layers of 64 units, adam at 0.001", {"hidden": 64, "layers": 3, "opt": "adam", "lr": 0.001}, True, 1.0),
    ("full batch of 60,000, sgd, N(0, 1) weights, lr 1",
     {"hidden": 64, "batch": 60_000, "opt": "sgd", "init": "normal", "lr": 1.0, "epochs": 50}, False, 0.4),
)
NAMES = {"hidden": "hidden_units", "lr": "learning_rate", "layers": "layers", "opt": "optimizer", "batch": "batch_size",
         "init": "init", "epochs": "epochs"}


def rerun_ms(at: AppTest, label: str) -> float:
    button = next(b for b in at.button if b.label == label)
    started = time.perf_counter()
    button.click().run()
    elapsed = (time.perf_counter() - started) * 1000
    assert not at.exception, at.exception
    return elapsed


def page_times(settings: dict, repeats: int, step_100: bool) -> dict[str, list[float]]:
    at = AppTest.from_file(APP, default_timeout=300)
    for key, value in settings.items():
        at.session_state[setting_key(key)] = value
    at.switch_page("pages/inside.py")
    at.run()
    rerun_ms(at, "Step")  # warm-up: the first figures, imports
    times = {"Step": [rerun_ms(at, "Step") for _ in range(repeats)]}
    if step_100:
        times["Step 100"] = [rerun_ms(at, "Step 100") for _ in range(max(1, repeats // 5))]
    return times


def training_ms(data, settings: dict, repeats: int) -> tuple[list[float], float]:
    """Each step's training work in ms, and the peak of Python allocations during one more step in MB."""
    run = InsideRun.start(data, Hyperparams(**{NAMES[key]: value for key, value in settings.items()}))
    run.advance(1)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run.advance(1)
        times.append((time.perf_counter() - started) * 1000)
    tracemalloc.start()  # one more step, traced (tracing slows allocation, so not among the timed ones)
    run.advance(1)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return times, peak


def line(name: str, times: list[float]) -> str:
    return (f"  {name:<28} median {statistics.median(times):7.1f} ms   min {min(times):7.1f}   max {max(times):7.1f}"
            f"   ({len(times)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="Step presses timed per case (default 15)")
    parser.add_argument("--cases", type=int, nargs="*", help="which cases to run, by number from 1 (default all)")
    args = parser.parse_args()
    data = load_mnist().read_only()
    for number, (name, settings, step_100, share) in enumerate(CASES, start=1):
        if args.cases and number not in args.cases:
            continue
        repeats = max(2, round(args.repeats * share))
        print(f"{number}. {name}:")
        for what, times in page_times(settings, repeats, step_100).items():
            print(line(f"{what} rerun", times))
        times, peak = training_ms(data, settings, repeats)
        print(line("one step's training work", times) + f"   peak {peak:.1f} MB allocated")


if __name__ == "__main__":
    main()
