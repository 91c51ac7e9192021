"""Data sets other than MNIST: read from an upload or a path in any supported format (``read_dataset``),
or made from arrays (a user's drawings, or what the readers produce: ``from_arrays``), checked, with a
seeded test split held out when none is given; and written back as a zip of class folders.

Formats (detected from the name and the content): IDX files as MNIST ships them, in a zip or a folder
(``dataset_idx``); a zip or folder of one folder per class of images (``dataset_images``); an ``.npz``
or a CSV (``dataset_formats``). Bounds (``dataset_bounds``) are checked before anything is unpacked or
allocated; every refusal is a ``DataError`` with one sentence. Nothing is written to disk.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from .data import IMAGE_SIDE, PIXELS, DataError, DataSet
from .dataset_archive import FolderArchive, ZipArchive
from .dataset_bounds import (MAX_NAME, MAX_TEST_IMAGES, MAX_TRAIN_IMAGES, MAX_UPLOAD_BYTES, check_class_count,
                             check_size)
from .dataset_formats import read_csv, read_npz
from .dataset_idx import find_sets, read_idx_set
from .dataset_images import convert_image, read_class_folders

__all__ = ["MAX_UPLOAD_BYTES", "MAX_TRAIN_IMAGES", "MAX_TEST_IMAGES", "DataError", "convert_image", "from_arrays",
           "read_dataset", "write_zip_of_folders"]
HELD_OUT = 0.2  # the share of a data set without a test split that is held out as its test set


def digest(train_images, train_labels, test_images, test_labels, classes) -> str:
    """A short digest naming a data set by its contents: the same arrays and classes, the same key."""
    h = hashlib.sha256()
    for array in (train_images, train_labels, test_images, test_labels):
        h.update(str(array.shape).encode())
        h.update(np.ascontiguousarray(array).data)
    h.update("\x00".join(classes).encode())
    return h.hexdigest()[:16]


def _check_labels(labels: np.ndarray, images: np.ndarray, classes: tuple[str, ...], part: str) -> None:
    if images.ndim != 2 or images.shape[1] != PIXELS or images.dtype != np.uint8:
        raise DataError(f"{part}: images must be 28x28 uint8, got {images.dtype} {images.shape}")
    if labels.shape != (len(images),):
        raise DataError(f"{part}: {len(labels):,} labels for {len(images):,} images")
    if labels.size and int(labels.max()) >= len(classes):
        raise DataError(f"{part}: label {int(labels.max())} but only {len(classes)} classes (0-{len(classes) - 1})")


def _check_classes(classes) -> tuple[str, ...]:
    """The names as text of at most ``MAX_NAME`` characters, control characters (a newline...) made spaces."""
    classes = tuple(re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", str(name))[:MAX_NAME] for name in classes)
    check_class_count(len(classes))
    if len(set(classes)) != len(classes):
        raise DataError("two classes have the same name")
    return classes


def from_arrays(images, labels, classes, name: str, test_images=None, test_labels=None, seed: int = 0,
                note: str = "") -> DataSet:
    """A checked data set from uint8 images (n, 784) or (n, 28, 28) and labels 0..len(classes)-1.
    Without a test split, a seeded ``HELD_OUT`` share of every class is held out as one (said in ``note``)."""
    classes = _check_classes(classes)
    images = np.asarray(images, np.uint8).reshape(len(images), -1)
    labels = np.asarray(labels).astype(np.uint8)
    _check_labels(labels, images, classes, "training set")
    if test_images is None:
        train, test = _hold_out(labels, len(classes), seed)
        share = len(test) / max(1, len(labels))
        images, labels, test_images, test_labels = images[train], labels[train], images[test], labels[test]
        held = f"no test split given: {share:.0%} of each class held out as the test set (seed {seed})"
        note = f"{note}; {held}" if note else held
    else:
        test_images = np.asarray(test_images, np.uint8).reshape(len(test_images), -1)
        test_labels = np.asarray(test_labels).astype(np.uint8)
        _check_labels(test_labels, test_images, classes, "test set")
    if len(images) > MAX_TRAIN_IMAGES or len(test_images) > MAX_TEST_IMAGES:
        raise DataError(f"{len(images):,} training and {len(test_images):,} test images: at most "
                        f"{MAX_TRAIN_IMAGES:,} and {MAX_TEST_IMAGES:,}")
    missing = [c for k, c in enumerate(classes) if not np.any(labels == k)]
    if missing:
        raise DataError(f"class {missing[0]!r} has no training image")
    arrays = (images, labels, test_images, test_labels)
    return DataSet(*arrays, classes=classes, name=str(name)[:MAX_NAME] or "data set",
                   key=digest(*arrays, classes), note=note)


def _hold_out(labels: np.ndarray, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and test rows: of each class with two or more images, ``HELD_OUT`` (at least one) held out; a
    smaller share of a set over 50,000 images, so the test set stays within ``MAX_TEST_IMAGES``."""
    rng = np.random.default_rng(seed)
    share = min(HELD_OUT, (MAX_TEST_IMAGES - n_classes) / max(1, len(labels)))  # rounding adds < 1 a class
    train, test = [], []
    for k in range(n_classes):
        rows = rng.permutation(np.flatnonzero(labels == k))
        held = max(1, round(share * len(rows))) if len(rows) >= 2 else 0
        test.append(rows[:held])
        train.append(rows[held:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def read_dataset(source, filename: str | None = None, seed: int = 0, progress=None) -> DataSet:
    """A data set from an upload's bytes or a path (a file, or a folder of IDX files or class folders), in any
    supported format, detected from ``filename`` (else the path's name) and the content. ``seed``: the held-out
    test split's, when the data has none. ``progress(done, total)`` is called as images are converted.
    Raises ``DataError`` with one sentence for anything refused."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        filename = filename or path.name
        if path.is_dir():
            return _build(_from_archive(FolderArchive(path), filename, progress), filename, seed)
        blob = _read_file(path)
    else:
        check_size(len(source), MAX_UPLOAD_BYTES, "the upload")
        blob = bytes(source)
    return _build(_from_bytes(blob, filename or "", progress), filename or "", seed)


def _read_file(path: Path) -> bytes:
    """The file's bytes, its size checked first and the read bounded (a file may grow while it is read)."""
    try:
        check_size(path.stat().st_size, MAX_UPLOAD_BYTES, str(path.name))
        with open(path, "rb") as handle:
            blob = handle.read(MAX_UPLOAD_BYTES + 1)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error})") from None
    check_size(len(blob), MAX_UPLOAD_BYTES, str(path.name))
    return blob


def _from_bytes(blob: bytes, filename: str, progress) -> dict:
    """The arrays of a file's contents: a zip (IDX files, class folders or an .npz), or a CSV."""
    lower = filename.lower()
    if blob[:2] == b"PK" or lower.endswith((".zip", ".npz")):
        archive = ZipArchive(blob)
        if lower.endswith(".npz") or (archive.names and all(n.endswith(".npy") for n in archive.names)):
            return read_npz(archive)
        return _from_archive(archive, filename, progress)
    if blob[:2] == b"\x1f\x8b" or blob[:4] in (b"\x00\x00\x08\x01", b"\x00\x00\x08\x03"):
        raise DataError("a single IDX file holds only images or only labels: put the four files (train-images, "
                        "train-labels, t10k-images, t10k-labels) in a zip or a folder")
    if lower.endswith((".csv", ".txt")) or re.match(rb"[\w \"]*(,[\w \"]*){784}\s", blob[:20_000]):
        return read_csv(blob)
    raise DataError(f"{filename or 'the upload'}: not a format the lab reads (a zip of IDX files or of class "
                    "folders, an .npz, or a CSV of label,pixel0..pixel783)")


def _from_archive(archive, filename: str, progress) -> dict:
    """IDX files if the archive has them, else one folder per class of images."""
    if find_sets(archive.names):
        return read_idx_set(archive, filename)
    return read_class_folders(archive, progress)


def _build(arrays: dict, filename: str, seed: int) -> DataSet:
    stem = re.sub(r"(\.(zip|npz|csv|gz|txt))+$", "", Path(filename.replace("\\", "/")).name, flags=re.I)
    return from_arrays(name=stem or "data set", seed=seed, **arrays)


def write_zip_of_folders(data: DataSet) -> bytes:
    """The data set as a zip of PNGs, ``train/<class>/00001.png`` and ``test/<class>/...``, and
    ``classes.txt`` naming the folders in the classes' order: read back by ``read_dataset`` with the same
    images, classes (in their order) and split (a character a folder name cannot hold, such as "/", becomes "_")."""
    folders = _folder_names(data.classes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
        archive.writestr("classes.txt", "\n".join(folders) + "\n")
        for split, images, labels in (("train", data.train_images, data.train_labels),
                                      ("test", data.test_images, data.test_labels)):
            for folder in folders:
                archive.writestr(f"{split}/{folder}/", b"")  # every class's folder, even one with no test image
            for number, (pixels, label) in enumerate(zip(images, labels)):
                png = io.BytesIO()
                Image.fromarray(np.asarray(pixels, np.uint8).reshape(IMAGE_SIDE, IMAGE_SIDE), "L").save(png, "PNG")
                archive.writestr(f"{split}/{folders[label]}/{number:05d}.png", png.getvalue())
    return buffer.getvalue()


def _folder_names(classes) -> list[str]:
    """A folder name per class: its name with path separators and leading dots replaced."""
    names = [re.sub(r"[/\\\x00]", "_", name).lstrip(".") or "_" for name in classes]
    if len(set(names)) != len(names):
        raise DataError("two classes' names become the same folder name")
    return names
