"""Inside page: server time of a Step's rerun (``python -m benchmarks.inside_step``, from the repository's root).

Runs the app's Inside page in Streamlit's AppTest (in this process, no browser) with Train's default
settings at 64 and 512 hidden units (512 at learning rate 1: the default 4 diverges at that width), presses
Step ``--repeats`` times after one warm-up step and prints the median, min and max milliseconds of each
rerun (the script, its figures and their serialisation; AppTest's own parsing of the result adds a
little), then the same for Step 100, and the training work alone (``InsideRun.advance``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, load_mnist
from nn_core.inside import InsideRun
from ui.state import setting_key

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def rerun_ms(at: AppTest, label: str) -> float:
    button = next(b for b in at.button if b.label == label)
    started = time.perf_counter()
    button.click().run()
    elapsed = (time.perf_counter() - started) * 1000
    assert not at.exception, at.exception
    return elapsed


def page_times(hidden_units: int, learning_rate: float, repeats: int) -> dict[str, list[float]]:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[setting_key("hidden")] = hidden_units
    at.session_state[setting_key("lr")] = learning_rate
    at.switch_page("pages/inside.py")
    at.run()
    rerun_ms(at, "Step")  # warm-up: the first figures, imports
    return {"Step": [rerun_ms(at, "Step") for _ in range(repeats)],
            "Step 100": [rerun_ms(at, "Step 100") for _ in range(max(1, repeats // 5))]}


def training_ms(data, hidden_units: int, learning_rate: float, repeats: int) -> list[float]:
    run = InsideRun.start(data, Hyperparams(hidden_units=hidden_units, learning_rate=learning_rate))
    run.advance(1)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run.advance(1)
        times.append((time.perf_counter() - started) * 1000)
    return times


def line(name: str, times: list[float]) -> str:
    return (f"  {name:<28} median {statistics.median(times):7.1f} ms   min {min(times):7.1f}   max {max(times):7.1f}"
            f"   ({len(times)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="Step presses timed per width (default 15)")
    args = parser.parse_args()
    data = load_mnist().read_only()
    for hidden_units, learning_rate in ((64, 4.0), (512, 1.0)):
        print(f"{hidden_units} hidden units, learning rate {learning_rate:g}:")
        for name, times in page_times(hidden_units, learning_rate, args.repeats).items():
            print(line(f"{name} rerun", times))
        print(line("one step's training work", training_ms(data, hidden_units, learning_rate, args.repeats)))


if __name__ == "__main__":
    main()
