"""MNIST from its original IDX files: read, verify, and scale.

The four gzip files ship in the repo (``data/mnist``) with the published SHA-256 of each
decompressed file, so a fresh clone needs no download and a damaged file is caught by name.
"""

from __future__ import annotations

import atexit
import gzip
import hashlib
import json
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"
CHECKSUM_FILE = "SHA256SUMS.raw"
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
# IDX magic: two zero bytes, a type code (0x08 = unsigned byte), then the number of dimensions.
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE
CLASSES = 10
DIGITS = tuple("0123456789")  # MNIST's class names
MAX_FILE_BYTES = 16 + 60_000 * PIXELS  # the largest file, the training images, unpacked


class DataError(ValueError):
    """A data file is missing, truncated, altered or not in IDX format."""


@dataclass(frozen=True)
class Mnist:
    """A data set's four arrays, as stored: uint8 pixels 0-255 (28x28 images, flattened) and uint8
    labels 0..classes-1: MNIST's by default, or a data set a user brought or drew (``DataSet``).

    Kept as uint8 (47 MB rather than 219 MB as float32); the training loop scales each batch
    into a reused float32 buffer with ``scale_pixels``.
    """

    train_images: np.ndarray  # (60000, 784) uint8
    train_labels: np.ndarray  # (60000,) uint8
    test_images: np.ndarray  # (10000, 784) uint8
    test_labels: np.ndarray  # (10000,) uint8
    classes: tuple[str, ...] = DIGITS  # label k's name; as many as the output layer's units (2-62)
    name: str = "MNIST"  # shown as plain text
    key: str = ""  # "" for the shipped MNIST; else a digest of the arrays and classes naming this data set
    note: str = ""  # how it was made, e.g. its held-out test split, shown as plain text

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def is_mnist(self) -> bool:
        return not self.key

    def read_only(self) -> "Mnist":
        """Mark every array read-only (for one copy shared by all sessions) and return self."""
        for array in (self.train_images, self.train_labels, self.test_images, self.test_labels):
            array.flags.writeable = False
        return self


def scale_pixels(images: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """uint8 pixels (n, 784) -> float32 in [0, 1], the same formula everywhere (x / 255)."""
    return np.divide(images, np.float32(255), out=out, dtype=np.float32)


def read_checksums(directory: Path) -> dict[str, str]:
    """Parse ``SHA256SUMS.raw`` ("<hex>  <name>" per line) into {raw file name: hex}."""
    path = directory / CHECKSUM_FILE
    if not path.is_file():
        raise DataError(f"{path}: checksum list is missing")
    if path.stat().st_size > 4096:  # four lines of "<64 hex>  <name>"
        raise DataError(f"{path}: {path.stat().st_size:,} bytes, not a list of four checksums")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    sums = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2 or len(fields[0]) != 64 or any(c not in "0123456789abcdefABCDEF" for c in fields[0]):
            raise DataError(f"{path}, line {number}: expected '<64 hex digits>  <file name>', got {line[:80]!r}")
        sums[fields[1]] = fields[0].lower()
    return sums


def _unpack(path: Path) -> bytes:
    """The gzip file's contents, unpacking at most MAX_FILE_BYTES (a gzip bomb is refused, not unpacked)."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DataError(f"{path.name}: {path.stat().st_size:,} bytes, larger than any MNIST file")
    try:
        unzip = zlib.decompressobj(wbits=31)  # 31: a gzip header; faster than gzip.open
        raw = unzip.decompress(path.read_bytes(), MAX_FILE_BYTES + 1)  # bounded: no gzip bomb unpacks whole
    except zlib.error as error:
        raise DataError(f"{path.name}: not a valid gzip file or truncated ({error})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise DataError(f"{path.name}: unpacks to more than {MAX_FILE_BYTES:,} bytes, larger than any MNIST file")
    if not unzip.eof:
        raise DataError(f"{path.name}: not a valid gzip file or truncated (the stream ends early)")
    return raw


def read_idx(path: Path, expected_sha256: str | None = None) -> np.ndarray:
    """Read one gzip-compressed IDX file of unsigned bytes into an array of its stated shape.

    Raises DataError naming the file and the fault: missing, not gzip, truncated, checksum
    mismatch (with both digests), wrong magic number, or a size that does not match the header.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path.name}: file is missing (looked in {path.parent})")
    raw = _unpack(path)
    if expected_sha256 is not None:
        actual = hashlib.sha256(raw).hexdigest()
        if actual != expected_sha256:
            raise DataError(
                f"{path.name}: SHA-256 checksum mismatch: expected {expected_sha256}, got {actual}"
                " (the file is altered or damaged; restore it from the repository)"
            )
    if len(raw) < 8:
        raise DataError(f"{path.name}: header truncated ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic not in (IMAGES_MAGIC, LABELS_MAGIC):
        raise DataError(
            f"{path.name}: bad IDX header: magic number 0x{magic:08x}, expected 0x{IMAGES_MAGIC:08x}"
            f" (images) or 0x{LABELS_MAGIC:08x} (labels)"
        )
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{path.name}: header truncated: {ndim} dimensions need {header_size} bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected_size = header_size + int(np.prod(shape))
    if len(raw) != expected_size:
        raise DataError(
            f"{path.name}: bad IDX size: header says shape {shape} ({expected_size} bytes),"
            f" file has {len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape).copy()


def load_mnist(directory: Path | str = DATA_DIR, verify: bool = True) -> Mnist:
    """Load and verify the four MNIST files; images flattened to (n, 784) uint8."""
    directory = Path(directory)
    sums = read_checksums(directory) if verify else {}
    arrays = {}
    for key, filename in FILES.items():
        raw_name = filename.removesuffix(".gz")
        if verify and raw_name not in sums:
            raise DataError(f"{filename}: no checksum listed for {raw_name} in {CHECKSUM_FILE}")
        arrays[key] = read_idx(directory / filename, sums.get(raw_name))
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise DataError(f"{FILES[f'{split}_images']}: expected 28x28 images, got {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(f"{FILES[f'{split}_labels']}: {len(labels)} labels for {len(images)} images")
        if labels.max(initial=0) >= CLASSES:
            raise DataError(f"{FILES[f'{split}_labels']}: label {labels.max()} outside 0-9")
        arrays[f"{split}_images"] = images.reshape(len(images), PIXELS)
    return Mnist(**arrays)


DESCRIPTION_FILE = "dataset.json"  # a shared copy's classes, name, key and note (``share``)
MAX_DESCRIPTION_BYTES = 64 * 1024  # 62 class names of 40 characters, a name and a note: a few kB


def share(data: Mnist, folder: Path | str | None = None, prefix: str = "nn-lab-mnist-") -> Path:
    """Write the four arrays as uncompressed ``.npy`` files, and the data set's classes, name, key and
    note as ``dataset.json``, into ``folder`` (a new private temporary folder by default, in this
    process's temporary directory, removed at exit) for ``load_shared``; returns the folder. Processes
    that map these files share one copy of the data in the page cache instead of holding one each."""
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix=prefix))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # mapped files stay readable until unmapped
    folder = Path(folder)
    for key in FILES:
        partial = folder / f"{key}.npy.partial"
        with open(partial, "wb") as handle:  # a handle: np.save would add ".npy" to the name
            np.save(handle, getattr(data, key))
        partial.replace(folder / f"{key}.npy")  # whole files only: a reader never sees half of one
    description = {"classes": list(data.classes), "name": data.name, "key": data.key, "note": data.note}
    partial = folder / f"{DESCRIPTION_FILE}.partial"
    partial.write_text(json.dumps(description, ensure_ascii=False), encoding="utf-8")
    partial.replace(folder / DESCRIPTION_FILE)
    return folder


def load_shared(folder: Path | str) -> Mnist:
    """The arrays ``share`` wrote, memory-mapped read-only (checked when shared, so not re-hashed), with
    the data set's classes, name, key and note (a folder without ``dataset.json``: MNIST's)."""
    arrays = {}
    for key in FILES:
        path = Path(folder) / f"{key}.npy"
        try:
            arrays[key] = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DataError(f"{path}: cannot map the shared copy of the data set ({error})") from None
    path = Path(folder) / DESCRIPTION_FILE
    if not path.is_file():
        return Mnist(**arrays)
    try:
        if path.stat().st_size > MAX_DESCRIPTION_BYTES:
            raise ValueError(f"{path.stat().st_size:,} bytes")
        description = json.loads(path.read_text(encoding="utf-8"))
        classes = tuple(str(name) for name in description["classes"])
        return Mnist(**arrays, classes=classes, name=str(description["name"]), key=str(description["key"]),
                     note=str(description["note"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"{path}: cannot read the shared data set's description ({error})") from None


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip-compressed IDX file (for tests and tools)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = (0x0800 | array.ndim).to_bytes(4, "big")
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(magic + dims + array.tobytes())


DataSet = Mnist  # the general name: any data set of 28x28 images the lab trains on
