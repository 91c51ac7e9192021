"""The bounds of a data set a user brings, in one place: every reader checks against these before it
decompresses or allocates anything (sizes come from headers and archive directories first)."""

from __future__ import annotations

from .data import DataError
from .model import MAX_CLASSES, MIN_CLASSES

MAX_UPLOAD_BYTES = 50 * 2**20  # an upload (a file or a zip), compressed
MAX_TRAIN_IMAGES = 60_000
MAX_TEST_IMAGES = 10_000
MAX_IMAGES = MAX_TRAIN_IMAGES + MAX_TEST_IMAGES  # a data set without a test split: all of it
# Everything an archive (or a folder) may unpack to, all entries together: 70,000 raw IDX images are 55 MB,
# a zip of photos unpacks to about its own size. Checked from the declared sizes, then while reading.
MAX_UNPACKED_BYTES = 128 * 2**20
MAX_ENTRY_RATIO = 200  # unpacked / packed of one entry (deflate's best on real data is far below); a bomb's is ~1000
RATIO_FROM = 2**20  # entries declaring less than this are not held to the ratio (a blank PNG packs well)
MAX_ENTRIES = MAX_IMAGES + 1_000  # files in an archive: the images plus a few others
MAX_IMAGE_BYTES = 20 * 2**20  # one image file
MAX_IMAGE_PIXELS = 16_000_000  # width x height of one image, read from its header before decoding (a 12 MP photo fits)
MAX_LABEL = MAX_CLASSES - 1
MAX_NAME = 40  # characters of a class's or a data set's name (kept so by datasets, checked so by persist)


def check_size(size: int, limit: int, what: str) -> None:
    """Refuse ``what`` when its ``size`` in bytes passes ``limit``."""
    if size > limit:
        raise DataError(f"{what} is {size:,} bytes, more than the {limit:,} allowed")


def check_counts(train: int, test: int | None) -> None:
    """Refuse image counts past the bounds; ``test`` None: one set, of which a test split will be held out."""
    if test is None:
        if train > MAX_IMAGES:
            raise DataError(f"{train:,} images: a data set without a test split has at most {MAX_IMAGES:,}")
    elif train > MAX_TRAIN_IMAGES or test > MAX_TEST_IMAGES:
        raise DataError(f"{train:,} training and {test:,} test images: at most {MAX_TRAIN_IMAGES:,} and "
                        f"{MAX_TEST_IMAGES:,}")


def check_class_count(count: int) -> None:
    if not MIN_CLASSES <= count <= MAX_CLASSES:
        raise DataError(f"a data set has {MIN_CLASSES} to {MAX_CLASSES} classes, this one has {count}")


def check_label_range(low: int, high: int, where: str) -> None:
    """Labels are class numbers 0 to 61 (62 classes at most)."""
    if low < 0 or high > MAX_LABEL:
        bad = low if low < 0 else high
        raise DataError(f"{where}: label {bad} is outside 0-{MAX_LABEL} (a data set has at most {MAX_CLASSES} classes)")
