"""IDX files as MNIST ships them (gzipped or not), from a zip or a folder holding the four files:
MNIST's names (train-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte, ...) with any prefix, as
Fashion-MNIST, KMNIST and EMNIST publish them (emnist-letters-train-images-idx3-ubyte.gz).

Headers are read first (a few bytes unpacked): the image and label counts are checked against each
other and the bounds before the rest is unpacked, and unpacking stops at the size the header implies.
IDX files holding more images than the bounds (EMNIST letters: 124,800 + 20,800) are read up to them:
the first 60,000 and 10,000 (70,000 from training files without test files, a test split then held out of
them), which EMNIST's shuffled files make a fair sample; the note says so.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from .data import IMAGE_SIDE, IMAGES_MAGIC, LABELS_MAGIC, PIXELS, DataError
from .dataset_bounds import MAX_IMAGES, MAX_TEST_IMAGES, MAX_TRAIN_IMAGES, check_label_range

IDX_NAME = re.compile(r"(?P<prefix>.*?)(?P<split>train|t10k|test)-(?P<kind>images|labels)[-.]idx[13]-ubyte(\.gz)?$",
                      re.IGNORECASE)
KNOWN_CLASSES = {  # class names of published sets whose files carry none, recognised by name and class count
    "fashion": ("T-shirt or top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                "Ankle boot"),
    "kmnist": ("お", "き", "す", "つ", "な", "は", "ま", "や", "れ", "を"),
    "letters": tuple(f"{chr(65 + k)}{chr(97 + k)}" for k in range(26)),  # EMNIST letters: upper and lower case
}
INFLATE_STEP = 2**16  # packed bytes fed to zlib at a time (at most 16 times that unpacked per call)
MAX_MAPPING_BYTES = 4096  # EMNIST's mapping files: up to 62 short lines


def find_sets(names: list[str]) -> dict[str, dict[str, str]]:
    """The IDX files among ``names``, by prefix: {prefix: {"train-images": name, ...}}."""
    sets: dict[str, dict[str, str]] = {}
    for name in names:
        match = IDX_NAME.match(name.rsplit("/", 1)[-1])
        if match:
            split = "train" if match["split"].lower() == "train" else "test"
            sets.setdefault(match["prefix"].lower(), {})[f"{split}-{match['kind'].lower()}"] = name
    return sets


def choose_set(sets: dict[str, dict[str, str]]) -> tuple[str, dict[str, str]]:
    """The one set of IDX files with its training images and labels; refused when there are none or several."""
    whole = {prefix: files for prefix, files in sets.items() if {"train-images", "train-labels"} <= set(files)}
    if not whole:
        found = ", ".join(sorted(name for files in sets.values() for name in files.values()))[:200]
        raise DataError(f"IDX files found ({found}) but not both training files (train-images and train-labels)")
    if len(whole) > 1:
        raise DataError(f"several sets of IDX files ({', '.join(p or '(no prefix)' for p in sorted(whole))}): "
                        "upload one set of four files")
    prefix, files = next(iter(whole.items()))
    if ("test-images" in files) != ("test-labels" in files):
        raise DataError("test images without test labels, or labels without images: give both or neither")
    return prefix, files


def read_idx_set(archive, name: str) -> dict:
    """The arrays and class names of the archive's one set of IDX files, for ``from_arrays``."""
    prefix, files = choose_set(find_sets(archive.names))
    notes, parts = [], {}
    alone = "test-images" not in files  # then a test split is held out of the training files' images
    for split, bound in (("train", MAX_IMAGES if alone else MAX_TRAIN_IMAGES), ("test", MAX_TEST_IMAGES)):
        if f"{split}-images" in files:
            parts[split] = read_pair(archive, files[f"{split}-images"], files[f"{split}-labels"], bound, notes)
    if prefix.startswith("emnist"):  # EMNIST stores each image transposed (column by column)
        for images, _ in parts.values():
            images[:] = images.reshape(-1, IMAGE_SIDE, IMAGE_SIDE).transpose(0, 2, 1).reshape(-1, PIXELS)
        notes.append("EMNIST's images transposed to stand upright")
    mapping = next((n for n in archive.names if n.rsplit("/", 1)[-1].lower() == f"{prefix}mapping.txt"), None)
    labels = [pair[1] for pair in parts.values()]
    classes, offset = name_classes(labels, read_mapping(archive, mapping) if mapping else None,
                                   f"{name} {prefix}".lower(), notes)
    for label_array in labels:
        label_array -= np.uint8(offset)
    train_images, train_labels = parts["train"]
    test_images, test_labels = parts.get("test", (None, None))
    return dict(images=train_images, labels=train_labels, test_images=test_images, test_labels=test_labels,
                classes=classes, note="; ".join(notes))


def read_pair(archive, images_name: str, labels_name: str, bound: int, notes: list[str]):
    """One split's images (n, 784) and labels (n,): both headers checked, then at most ``bound`` of each read."""
    images_blob, labels_blob = archive.read(images_name), archive.read(labels_name)
    images_shape = header(images_blob, images_name, IMAGES_MAGIC)
    labels_shape = header(labels_blob, labels_name, LABELS_MAGIC)
    if images_shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(f"{images_name}: images of {'x'.join(map(str, images_shape[1:]))} pixels; IDX images must be "
                        "28x28 (a zip of class folders takes images of any size)")
    if images_shape[0] != labels_shape[0]:
        raise DataError(f"{images_name} holds {images_shape[0]:,} images but {labels_name} {labels_shape[0]:,} labels")
    count = min(images_shape[0], bound)
    if count < images_shape[0]:
        notes.append(f"{images_name.rsplit('/', 1)[-1]}: the first {count:,} of its {images_shape[0]:,} images")
    images = body(images_blob, images_name, 16, count * PIXELS).reshape(count, PIXELS)
    labels = body(labels_blob, labels_name, 8, count)
    return images, labels


def unpacked_prefix(blob: bytes, size: int, name: str) -> bytes:
    """The first ``size`` bytes of the file, unpacking a gzip file no further."""
    if blob[:2] != b"\x1f\x8b":
        return blob[:size]
    try:
        return zlib.decompressobj(wbits=31).decompress(blob, size)
    except zlib.error as error:
        raise DataError(f"{name}: not a valid gzip file ({error})") from None


def header(blob: bytes, name: str, magic: int) -> tuple[int, ...]:
    """The shape an IDX file's header states, read from its first bytes only."""
    start = unpacked_prefix(blob, 16, name)
    ndim = 3 if magic == IMAGES_MAGIC else 1
    found = int.from_bytes(start[:4], "big") if len(start) >= 4 else None
    if found != magic:
        kind = "images" if magic == IMAGES_MAGIC else "labels"
        raise DataError(f"{name}: not an IDX file of {kind} (magic number "
                        f"{'missing' if found is None else hex(found)}, expected {hex(magic)})")
    if len(start) < 4 + 4 * ndim:
        raise DataError(f"{name}: the IDX header is cut short")
    return tuple(int.from_bytes(start[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))


def body(blob: bytes, name: str, offset: int, count: int) -> np.ndarray:
    """``count`` bytes after the header, unpacked straight into the array (a megabyte at a time: the peak is the
    array, not the array and a copy) and no further than header + count bytes."""
    out = np.empty(count, np.uint8)
    if blob[:2] != b"\x1f\x8b":
        filled = max(0, min(count, len(blob) - offset))
        out[:filled] = np.frombuffer(blob, np.uint8, filled, offset)
    else:
        filled = inflate_into(blob, out, offset, name)
    if filled < count:
        raise DataError(f"{name}: cut short: {filled:,} bytes of data where its header says {count:,}")
    return out


def inflate_into(blob: bytes, out: np.ndarray, skip: int, name: str) -> int:
    """Unpack the gzip file into ``out`` after its first ``skip`` bytes; returns how much of ``out`` was filled."""
    unzip, total, done = zlib.decompressobj(wbits=31), skip + len(out), 0
    try:
        for start in range(0, len(blob), INFLATE_STEP):
            data = blob[start:start + INFLATE_STEP]
            while data and done < total:
                chunk = unzip.decompress(data, min(INFLATE_STEP * 16, total - done))
                data = unzip.unconsumed_tail
                if done + len(chunk) > skip:
                    piece = chunk[max(0, skip - done):]
                    out[max(0, done - skip):max(0, done - skip) + len(piece)] = np.frombuffer(piece, np.uint8)
                done += len(chunk)
                if not chunk:
                    break
            if done >= total or unzip.eof:
                break
    except zlib.error as error:
        raise DataError(f"{name}: not a valid gzip file ({error})") from None
    return max(0, done - skip)


def read_mapping(archive, name: str) -> dict[int, str]:
    """EMNIST's mapping file: one line per class, 'label code [code]' (character codes) -> {label: name}."""
    if archive.sizes[name] > MAX_MAPPING_BYTES:
        raise DataError(f"{name}: {archive.sizes[name]:,} bytes, more than a mapping of classes needs")
    mapping = {}
    for number, line in enumerate(archive.read(name).decode("ascii", "replace").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            label, codes = int(fields[0]), [int(code) for code in fields[1:]]
            mapping[label] = "".join(chr(code) for code in codes) or str(label)
        except (ValueError, OverflowError):
            raise DataError(f"{name}, line {number}: expected 'label code', got {line[:40]!r}") from None
    return mapping


def name_classes(labels: list[np.ndarray], mapping: dict[int, str] | None, name: str, notes: list[str]):
    """The classes' names, and the offset to subtract from the labels so they count from 0: labels 1-26 (EMNIST
    letters) count from 1. From the mapping file if there is one, else from a published set's known names,
    else the label values themselves."""
    low = min(int(array.min(initial=255)) for array in labels)
    high = max(int(array.max(initial=0)) for array in labels)
    if mapping is not None:
        offset = min(mapping)
        if sorted(mapping) != list(range(offset, offset + len(mapping))):
            raise DataError("the mapping file's labels are not one run of numbers")
        check_label_range(low - offset, high - offset, "the labels")
        classes = tuple(mapping[k] for k in sorted(mapping))
    else:
        offset = 1 if low == 1 else 0
        check_label_range(low - offset, high - offset, "the labels")
        known = next((names for key, names in KNOWN_CLASSES.items() if key in name and len(names) == high + 1 - offset),
                     None)
        classes = known or tuple(str(k) for k in range(offset, high + 1))
    if offset:
        notes.append(f"labels {offset}-{offset + len(classes) - 1} counted from 0")
    return classes, offset
