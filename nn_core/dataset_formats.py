"""Two flat formats: an ``.npz`` of arrays (``x`` N x 28 x 28 or N x 784 uint8, ``y``, optional ``classes``,
``x_test``, ``y_test``), read without pickle and with each array's shape checked from its header before it is
read; and a CSV in the common ``label,pixel0,...,pixel783`` form (a header line optional), parsed in blocks
of rows so no more than a block is ever held as text numbers."""

from __future__ import annotations

import io
import itertools
import re
import zipfile

import numpy as np

from .data import IMAGE_SIDE, PIXELS, DataError
from .dataset_bounds import MAX_IMAGES, MAX_TEST_IMAGES, MAX_TRAIN_IMAGES, check_counts, check_label_range

NPZ_KEYS = {"x", "y", "classes", "x_test", "y_test"}
MAX_CLASS_NAMES_BYTES = 62 * 4 * 200  # a string array of 62 names of up to 200 characters (4 bytes each)
CSV_BLOCK = 2_000  # rows parsed at a time


def class_names(labels: list[np.ndarray], given=None) -> tuple[str, ...]:
    """The given names, or the label values' own ("0", "1", ...) up to the largest label."""
    high = max(int(array.max(initial=0)) for array in labels)
    check_label_range(min(int(array.min(initial=0)) for array in labels), high, "the labels")
    return tuple(str(name) for name in given) if given is not None else tuple(str(k) for k in range(high + 1))


def npy_header(archive, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """An .npy entry's shape and dtype from its header, reading only the header's bytes."""
    try:
        with archive.zip.open(archive.infos[name]) as handle:
            version = np.lib.format.read_magic(handle)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(handle)
    except (ValueError, OSError, EOFError) as error:
        raise DataError(f"{name}: not a NumPy array ({error})") from None
    return shape, dtype


def npz_array(archive, key: str, limit: int, max_bytes: int | None = None) -> np.ndarray:
    """One array of the .npz, refused before it is read if its header says more than ``limit`` values (or
    ``max_bytes``, by default 8 a value), or an object array (which only pickle reads)."""
    name = f"{key}.npy"
    shape, dtype = npy_header(archive, name)
    if dtype.hasobject:
        raise DataError(f"{key}: an array of Python objects (only pickle reads it, and uploads are never "
                        "unpickled); save names as a string array, e.g. np.array(names, dtype=str)")
    if int(np.prod(shape)) > limit or int(np.prod(shape)) * dtype.itemsize > (max_bytes or 8 * limit):
        raise DataError(f"{key}: shape {shape} holds more than the {limit:,} values allowed")
    archive.charge(name)
    try:  # read from the entry straight into the array, block by block (no copy of the entry's bytes)
        with archive.zip.open(archive.infos[name]) as handle:
            return np.lib.format.read_array(handle, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{key}: cannot be read ({error})") from None


def npz_images(archive, key: str, bound: int) -> np.ndarray:
    images = npz_array(archive, key, bound * PIXELS)
    if images.ndim not in (2, 3) or images.shape[1:] not in ((PIXELS,), (IMAGE_SIDE, IMAGE_SIDE)):
        raise DataError(f"{key}: shape {images.shape}; expected N x 28 x 28 or N x 784")
    if images.dtype != np.uint8:
        if images.dtype.kind not in "iub" or images.size and (images.min() < 0 or images.max() > 255):
            raise DataError(f"{key}: {images.dtype} values; expected uint8 pixels 0-255")
        images = images.astype(np.uint8)
    return images.reshape(len(images), PIXELS)


def npz_labels(archive, key: str, bound: int) -> np.ndarray:
    labels = npz_array(archive, key, bound)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(f"{key}: expected one integer label per image, got {labels.dtype} of shape {labels.shape}")
    check_label_range(int(labels.min(initial=0)), int(labels.max(initial=0)), key)
    return labels.astype(np.uint8)


def read_npz(archive) -> dict:
    """The arrays of an .npz (an archive of .npy entries) for ``from_arrays``."""
    keys = {name.removesuffix(".npy") for name in archive.names}
    if not {"x", "y"} <= keys:
        held = ", ".join(sorted(keys))[:200] or "nothing"
        raise DataError(f"the .npz holds {held}; it needs x (images) and y (labels)")
    if ("x_test" in keys) != ("y_test" in keys):
        raise DataError("the .npz has x_test without y_test, or y_test without x_test: give both or neither")
    has_test = "x_test" in keys
    bound = MAX_TRAIN_IMAGES if has_test else MAX_IMAGES
    images, labels = npz_images(archive, "x", bound), npz_labels(archive, "y", bound)
    if len(images) != len(labels):
        raise DataError(f"x holds {len(images):,} images but y {len(labels):,} labels")
    test_images = npz_images(archive, "x_test", MAX_TEST_IMAGES) if has_test else None
    test_labels = npz_labels(archive, "y_test", MAX_TEST_IMAGES) if has_test else None
    if has_test and len(test_images) != len(test_labels):
        raise DataError(f"x_test holds {len(test_images):,} images but y_test {len(test_labels):,} labels")
    given = None
    if "classes" in keys:
        given = npz_array(archive, "classes", 62, MAX_CLASS_NAMES_BYTES).reshape(-1)
        if given.dtype.kind not in "US":
            raise DataError(f"classes: {given.dtype} values; expected a string array of class names")
        given = [name.decode("utf-8", "replace") if isinstance(name, bytes) else name for name in given.tolist()]
    present = [labels] + ([test_labels] if has_test else [])
    return dict(images=images, labels=labels, test_images=test_images, test_labels=test_labels,
                classes=class_names(present, given), note="")


def read_csv(blob: bytes) -> dict:
    """``label,pixel0,...,pixel783`` rows (one optional header line) for ``from_arrays``, parsed ``CSV_BLOCK``
    rows at a time straight into the arrays (the peak is the data set and one block)."""
    lines = blob.count(b"\n") + 1
    if lines > MAX_IMAGES + 2:  # before anything is parsed (a header and a last line without its newline)
        raise DataError(f"the CSV has more than {MAX_IMAGES + 1:,} lines: a data set has at most {MAX_IMAGES:,} images")
    stream = io.BytesIO(blob)
    if not re.search(rb"[A-Za-z]", stream.readline().split(b",")[0]):
        stream.seek(0)  # no header line ("label,pixel0,..."): the first line is a row
    images, labels, filled = np.empty((lines, PIXELS), np.uint8), np.empty(lines, np.uint8), 0
    while block := list(itertools.islice(stream, CSV_BLOCK)):
        rows = [line for line in block if line.strip()]
        if rows:
            parsed = csv_block(rows, filled)
            labels[filled:filled + len(rows)], images[filled:filled + len(rows)] = parsed[:, 0], parsed[:, 1:]
            filled += len(rows)
    check_counts(filled, None)
    if not filled:
        raise DataError("the CSV has no rows")
    return dict(images=images[:filled], labels=labels[:filled], classes=class_names([labels[:filled]]), note="")


def csv_block(lines: list[bytes], start: int) -> np.ndarray:
    """Up to ``CSV_BLOCK`` rows as uint8, each checked: 785 whole numbers, pixels 0-255, labels 0-61."""
    rows = f"the CSV, rows {start + 1:,}-{start + len(lines):,}"
    try:
        block = np.loadtxt(lines, delimiter=",", dtype=np.int64, ndmin=2, encoding="latin-1")
    except ValueError as error:
        reason = str(error).splitlines()[0].split(";")[0][:160]  # NumPy's first clause, without its usecols hint
        raise DataError(f"{rows}: {reason} (expected label,pixel0,...,pixel783: 785 whole numbers a row)") from None
    if block.shape[1] != PIXELS + 1:
        raise DataError(f"the CSV has {block.shape[1]} columns; expected 785 (label,pixel0,...,pixel783)")
    check_label_range(int(block[:, 0].min()), int(block[:, 0].max()), rows)
    pixels = block[:, 1:]
    if pixels.min() < 0 or pixels.max() > 255:
        raise DataError(f"{rows}: a pixel outside 0-255")
    return block.astype(np.uint8)
