"""Hostile uploads (#32): every bound refused with one clear sentence, before anything is unpacked or allocated.
The memory each refusal took is measured (tracemalloc's peak, which sees NumPy's and zlib's buffers): a zip
declaring 10 GB, or an image declaring 20,000 x 20,000 pixels, must cost no more than a few MB."""

from __future__ import annotations

import io
import struct
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from nn_core.data import DataError
from nn_core.datasets import MAX_UPLOAD_BYTES, read_dataset
from tests import dataset_files as files

FEW_MB = 4 * 2**20  # what a refusal may allocate at its peak, the upload aside


def small_png() -> bytes:
    image = Image.new("L", (12, 12))
    image.paste(255, (3, 3, 9, 9))
    return files.png(image)


def refused(blob_or_path, filename: str | None = None) -> tuple[str, int]:
    """The refusal's message and the peak memory reading took (bytes)."""
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as caught:
            read_dataset(blob_or_path, filename)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300, message  # one sentence
    return message, peak


def folders(counts: dict[str, int], image: bytes | None = None) -> bytes:
    return files.zip_of({f"{cls}/{k}.png": image or small_png() for cls, n in counts.items() for k in range(n)})


@pytest.fixture(scope="module")
def bombs():
    """Zips of runs of zeros: ten entries declaring 1 GB each (10 GB, each really 1 MB), one declaring 100 MB in
    a kilobyte, and one that declares 1 KB but unpacks to 200 MB."""
    ten = files.zeros_zip({f"digits/{k}/a.png": 2**20 for k in range(10)})
    ten = files.declare_sizes(ten, {f"digits/{k}/a.png": 2**30 for k in range(10)})
    ratio = files.declare_sizes(files.zeros_zip({"a/x.png": 2**20, "b/y.png": 1}), {"a/x.png": 100 * 2**20})
    lying = files.declare_sizes(files.zeros_zip({"a/x.png": 200 * 2**20, "b/y.png": 1}), {"a/x.png": 1024})
    return {"ten": ten, "ratio": ratio, "lying": lying}


@pytest.mark.parametrize("bomb, said", [
    ("ten", "declares more than 134,217,728 bytes unpacked"),
    ("ratio", "more than 200 to 1: refused as a possible zip bomb"),
    ("lying", "damaged, or unpacks to more than it declares"),
])
def test_zip_bombs_are_refused_in_a_few_mb(bombs, bomb, said):
    message, peak = refused(bombs[bomb], "bomb.zip")
    print(f"{bomb}: {len(bombs[bomb]):,} bytes, refused with a peak of {peak / 2**20:.2f} MB: {message}")
    assert said in message and peak < FEW_MB


def test_a_gzip_bomb_of_idx_files_is_refused_from_its_headers():
    images = files.idx_bytes(np.zeros((60_000, 28, 28), np.uint8))  # 47 MB of zeros packed into 47 KB
    labels = files.idx_bytes(np.zeros(59_999, np.uint8))
    blob = files.zip_of({"train-images-idx3-ubyte.gz": images, "train-labels-idx1-ubyte.gz": labels})
    message, peak = refused(blob, "bomb.zip")
    assert "60,000 images but" in message and "59,999 labels" in message and peak < FEW_MB


@pytest.mark.parametrize("name", ["../escape/1.png", "/etc/cls/1.png", "C:/cls/1.png", "a/../../b/1.png"])
def test_an_entry_climbing_out_of_its_folder_is_refused(name):
    message, _ = refused(files.zip_of({name: small_png(), "a/1.png": small_png(), "b/1.png": small_png()}))
    assert "points outside its folder" in message


@pytest.mark.parametrize("side", [20_000, 5_000])
def test_a_huge_image_is_refused_from_its_header_before_decoding(side):
    blob = files.zip_of({"a/1.png": files.png_header_only(side, side),
                                                         "a/2.png": small_png(), "b/1.png": small_png()})
    message, peak = refused(blob, "huge.zip")
    print(f"{side} x {side}: refused with a peak of {peak / 2**20:.2f} MB: {message}")
    assert "pixels" in message and peak < FEW_MB


def test_an_upload_over_50_mb_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.zip"
    with open(big, "wb") as handle:
        handle.truncate(MAX_UPLOAD_BYTES + 1)  # sparse: nothing written
    message, peak = refused(big)
    assert "52,428,801 bytes, more than the 52,428,800 allowed" in message and peak < FEW_MB
    message, _ = refused(b"x" * 10, "x.bin")
    assert "not a format" in message


def test_too_many_images_are_refused_before_they_are_parsed():
    message, peak = refused(b"0\n" * 70_002, "many.csv")
    assert "more than 70,001 lines" in message and peak < FEW_MB
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 784), np.uint8))
    header["shape"] = (70_001, 784)  # the header promises 55 MB the file does not hold
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, header)
    message, peak = refused(files.zip_of({"x.npy": npy.getvalue(), "y.npy": npy.getvalue()}), "x.npz")
    assert "shape (70001, 784) holds more than" in message and peak < FEW_MB
    message, _ = refused(too_many_entries())
    assert "more than 71,000 files" in message


def too_many_entries() -> bytes:
    """A zip whose directory lists 71,001 empty files (built by hand: zipfile would take a while)."""
    directory = b"".join(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0)
                         + f"{k:05d}".encode() for k in range(71_001))
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(directory), 0, 0)
    return directory + end


@pytest.mark.parametrize("blob, filename, said", [
    (files.npz_bytes(x=np.zeros((4, 784), np.uint8), y=np.array([0, 1, 2, 5]), classes=np.array(["a", "b", "c"])),
     "x.npz", "label 5 but only 3 classes"),
    (files.csv_text(np.zeros((3, 784)), np.array([0, 1, 99])), "x.csv", "label 99 is outside 0-61"),
    (files.npz_bytes(x=np.zeros((10, 28, 28), np.uint8), y=np.arange(9) % 2), "x.npz", "10 images but y 9 labels"),
    (files.npz_bytes(x=np.zeros((4, 784)), y=np.arange(4) % 2), "x.npz", "expected uint8 pixels"),
    (files.npz_bytes(x=np.zeros((4, 784), np.uint8), y=np.arange(4) % 2, classes=np.array(["a", 1], object)),
     "x.npz", "only pickle reads it"),
    (files.zip_of({"a/1.png": small_png(), "b/": b"", "c/1.png": small_png()}), "x.zip", "'b' holds no image"),
    (folders({"only": 3}), "x.zip", "this one has 1"),
    (folders({f"c{k}": 1 for k in range(63)}), "x.zip", "2 to 62 classes, this one has 63"),
    (files.zip_of({"a/1.txt": b"x", "b/1.png": small_png(), "c/1.png": small_png()}), "x.zip", "'a' holds no image"),
    (files.idx_zip((np.zeros((3, 28, 14)), np.zeros(3)), None), "x.zip", "IDX images must be 28x28"),
    (files.zip_of({"train-images-idx3-ubyte": b"\x00\x00\x08\x03" + struct.pack(">3I", 5, 28, 28) + bytes(100),
                   "train-labels-idx1-ubyte": files.idx_bytes(np.zeros(5), False)}), "x.zip", "cut short"),
], ids=["label past classes", "csv label past 61", "counts differ", "float pixels", "pickled names",
        "empty class folder", "one class", "63 classes", "class of non-images", "idx not 28x28", "truncated idx"])
def test_each_bound_is_refused_with_one_sentence(blob, filename, said):
    message, peak = refused(blob, filename)
    assert said in message and peak < FEW_MB


def test_image_counts_past_the_bounds_are_refused_from_the_zips_directory(monkeypatch):
    import nn_core.dataset_bounds as bounds

    monkeypatch.setattr(bounds, "MAX_TRAIN_IMAGES", 5)  # (the real bounds need 60,001 files to pass)
    monkeypatch.setattr(bounds, "MAX_IMAGES", 6)
    split = files.zip_of({f"train/{c}/{k}.png": small_png() for c in "ab" for k in range(4)}
                         | {f"test/{c}/1.png": small_png() for c in "ab"})
    message, _ = refused(split, "x.zip")
    assert message == "8 training and 2 test images: at most 5 and 10,000"
    message, _ = refused(folders({"a": 4, "b": 3}), "x.zip")
    assert message == "7 images: a data set without a test split has at most 6"
