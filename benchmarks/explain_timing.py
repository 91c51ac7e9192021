"""Draw's "Why this digit?" and Perturb: how long ``nn_core.explain`` takes (``python -m benchmarks.explain_timing``,
from the repository's root).

On the default run's model (``tests/data/default_run_params.npz``, 64 sigmoid units) and ``--images`` MNIST
test images: the saliency of each image's reading, and perturb into each of the nine digits it is not (its
median, 90th percentile and largest time, its steps and the median L2 of the change). Then the largest
network the lab trains, 4 layers of 512 units (ReLU, untrained weights), for one image. Prints the load
average beside the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from nn_core import Model, load_mnist, scale_pixels
from nn_core.explain import perturb, saliency

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "tests" / "data" / "default_run_params.npz"


def milliseconds(work, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50, help="MNIST test images (1-10,000)")
    args = parser.parse_args()
    if not 1 <= args.images <= 10_000:
        parser.error("--images must be 1-10,000")
    print(f"load average before: {os.getloadavg()}")
    model = Model(np.load(DEFAULT_MODEL)["flat"], 64)
    mnist = load_mnist()
    images, labels = scale_pixels(mnist.test_images[: args.images]), mnist.test_labels[: args.images]

    per_pass = milliseconds(lambda: [saliency(model, x) for x in images], 5)
    print(f"saliency, default model: {statistics.median(per_pass) / len(images):.2f} ms per image "
          f"(median of 5 passes over {len(images)} images)")

    times, steps, changes, reached = [], [], [], 0
    for x, label in zip(images, labels):
        for target in range(10):
            if target == label:
                continue
            started = time.perf_counter()
            result = perturb(model, x, target)
            times.append((time.perf_counter() - started) * 1000)
            steps.append(result.steps)
            changes.append(result.l2)
            reached += result.success
    print(f"perturb, default model, {len(times)} (image, other digit) pairs: {reached} reached; time median "
          f"{statistics.median(times):.1f} ms, 90th percentile {np.percentile(times, 90):.1f} ms, largest "
          f"{max(times):.1f} ms; steps median {statistics.median(steps):g}, largest {max(steps)}; "
          f"median L2 {statistics.median(changes):.2f}")

    largest = Model.initialize(512, np.random.default_rng(0), "relu", layers=4, init="he")
    x = images[0]
    target = (int(largest.predict(x)[0]) + 1) % 10
    print(f"4 layers of 512 relu units (untrained), one image: saliency "
          f"{statistics.median(milliseconds(lambda: saliency(largest, x), 5)):.1f} ms, perturb "
          f"{statistics.median(milliseconds(lambda: perturb(largest, x, target), 5)):.1f} ms (medians of 5)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
