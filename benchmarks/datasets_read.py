"""How long reading a full-size data set takes, and the memory it takes at its peak (tracemalloc: NumPy's,
zlib's and Pillow's buffers), for each format, on MNIST itself written in that format (70,000 images; the
CSV: the first 20,000, as a CSV of all 70,000 passes the 50 MB upload bound; class folders: 28x28 PNGs,
kept as they are, and shapes drawn at 40-120 px, converted).

    python -m benchmarks.datasets_read [--images N]   # N: images in the class-folder zip (default 10,000)
"""

from __future__ import annotations

import argparse
import io
import time
import tracemalloc
import zipfile

import numpy as np

from nn_core.data import DATA_DIR, FILES, load_mnist
from nn_core.datasets import from_arrays, read_dataset, write_zip_of_folders
from tests.dataset_files import shapes_zip


def measure(label: str, blob: bytes, filename: str) -> None:
    """Read twice: timed, then with tracemalloc on (which slows allocation) for the peak."""
    started = time.perf_counter()
    read_dataset(blob, filename)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    data = read_dataset(blob, filename)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    held = sum(a.nbytes for a in (data.train_images, data.train_labels, data.test_images, data.test_labels))
    print(f"{label:<28} {len(blob) / 2**20:6.1f} MB  {len(data.train_labels):>6,} + {len(data.test_labels):>6,} images"
          f"  {seconds:6.2f} s  peak {peak / 2**20:6.1f} MB (the data set itself {held / 2**20:.1f} MB)", flush=True)


def files(mnist, count: int) -> dict[str, tuple[bytes, str]]:
    idx = io.BytesIO()
    with zipfile.ZipFile(idx, "w", zipfile.ZIP_STORED) as archive:
        for name in FILES.values():
            archive.write(DATA_DIR / name, name)
    npz = io.BytesIO()
    np.savez_compressed(npz, x=mnist.train_images, y=mnist.train_labels, x_test=mnist.test_images,
                        y_test=mnist.test_labels)
    rows = np.column_stack([mnist.train_labels[:20_000], mnist.train_images[:20_000]])
    csv = ("\n".join(",".join(map(str, row)) for row in rows.tolist()) + "\n").encode()
    share = count / 70_000
    part = from_arrays(mnist.train_images[:round(60_000 * share)], mnist.train_labels[:round(60_000 * share)],
                       mnist.classes, "MNIST", mnist.test_images[:round(10_000 * share)],
                       mnist.test_labels[:round(10_000 * share)])
    return {"IDX (MNIST's 4 .gz in a zip)": (idx.getvalue(), "mnist.zip"),
            ".npz (compressed)": (npz.getvalue(), "mnist.npz"), "CSV (20,000 rows)": (csv, "mnist.csv"),
            f"class folders ({count:,} PNGs)": (write_zip_of_folders(part), "mnist-folders.zip"),
            "shapes (2,000 of 40-120 px)": (shapes_zip(500), "shapes.zip")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    for label, (blob, filename) in files(load_mnist(), args.images).items():
        measure(label, blob, filename)


if __name__ == "__main__":
    main()
