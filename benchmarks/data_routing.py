"""What a session's own data set costs the job backends: the one-off sharing (a copy the local workers map,
a scatter to a Dask cluster's workers) of a full-size data set (60,000 + 10,000 images, 10 classes), and
the bytes of a chunk's task, which carry no data whatever the data set.

    python -m benchmarks.data_routing [--dask]
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from nn_core import Hyperparams, Trainer, load_mnist
from nn_core.data import share
from nn_core.datasets import from_arrays


def full_size(mnist):
    """MNIST's arrays with other class names: a data set of a session's own, as large as one can be."""
    return from_arrays(mnist.train_images, mnist.train_labels, [f"class {k}" for k in range(10)], "full size",
                       mnist.test_images, mnist.test_labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dask", action="store_true", help="also scatter it to a LocalCluster of 2 workers")
    args = parser.parse_args()
    mnist = load_mnist().read_only()
    data = full_size(mnist)
    folder = Path(tempfile.mkdtemp(prefix="nn-lab-bench-"))
    try:
        started = time.perf_counter()
        share(data, folder)
        seconds = time.perf_counter() - started
        size = sum(path.stat().st_size for path in folder.iterdir())
        print(f"local share of a full-size data set: {size / 2**20:.1f} MB written in {seconds:.2f} s "
              "(once per data set)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for name, source in (("MNIST", mnist), ("a session's data set", data)):
        state = Trainer(source, Hyperparams()).state()
        print(f"a chunk's task on {name}: {len(pickle.dumps(state)) / 1024:.0f} kB (the run's state, no images)")
    if args.dask:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            started = time.perf_counter()
            future = client.scatter(data, broadcast=True, hash=False)
            client.replicate([future])
            seconds = time.perf_counter() - started
            holders = client.who_has([future])[future.key]
            print(f"scatter to {len(holders)} Dask workers: {seconds:.2f} s (once per data set)")
    print(f"(numpy {np.__version__})")


if __name__ == "__main__":
    main()
