"""A zip (or folder) of one folder per class of images, turned into 28x28 grayscale the way MNIST was made:
the ink's bounding box scaled to fit 20x20 keeping its aspect ratio, then placed with its centre of mass at
the centre of the 28x28 field (``nn_core.preprocess`` does the same for the canvas).

Photos are usually dark ink on a light page; MNIST is white ink on black. Which one an image is, is read
from its border (the outermost ring of pixels): a light border means dark-on-light, and the image is
inverted. The border's level is then taken as the background and subtracted, so a grey page reads as black.

Folder layout: ``class/image.png`` (optionally all under one top folder), or ``train/class/...`` and
``test/class/...`` for a given test split. Folder names are the class names, sorted (numbers in them by
value: 2 before 10). Files that are not images are skipped and counted.
"""

from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image, ImageOps

from .data import PIXELS, DataError
from .dataset_archive import hidden
from .dataset_bounds import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, check_class_count, check_counts
from .preprocess import BOX, SIDE, centre_by_mass, crop, fit_box

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
SPLITS = {"train": "train", "training": "train", "test": "test", "testing": "test", "t10k": "test"}
WORK_SIDE = 8 * BOX  # an image is shrunk to this (longer side) before conversion: ample for a 20 px result


def natural_key(name: str) -> tuple:
    """Sort key: numbers by value ("2" before "10"), letters without regard to case."""
    return tuple(int(part) if k % 2 else part.casefold() for k, part in enumerate(re.split(r"(\d+)", name)))


def open_image(blob: bytes, name: str) -> Image.Image | None:
    """The image, its size checked from the header before any pixel is decoded; None if it is not an image."""
    if len(blob) > MAX_IMAGE_BYTES:
        raise DataError(f"{name}: {len(blob):,} bytes, more than the {MAX_IMAGE_BYTES:,} an image may have")
    try:  # Pillow itself refuses past twice its own MAX_IMAGE_PIXELS; the lab's bound, far lower, is checked below
        image = Image.open(io.BytesIO(blob), formats=IMAGE_FORMATS)  # lazy: reads the header only
    except Image.DecompressionBombError:
        raise DataError(f"{name}: an image of more than {MAX_IMAGE_PIXELS:,} pixels (refused before decoding)") \
            from None
    except (OSError, SyntaxError, ValueError):
        return None
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise DataError(f"{name}: {width:,} x {height:,} pixels, more than the {MAX_IMAGE_PIXELS:,} an image may have")
    if image.format == "JPEG":
        image.draft("L", (WORK_SIDE, WORK_SIDE))  # a JPEG decodes straight to a smaller size
    return image


def grey(image: Image.Image) -> np.ndarray:
    """(h, w) float32 in [0, 1], at most ``WORK_SIDE`` on its longer side. Transparency: a drawing on a clear
    background is laid on black if its ink is light, on white if it is dark."""
    image = upright(image)
    image.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), np.float32) / 255
        alpha = rgba[..., 3]
        level = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
        light_ink = (level * alpha).sum() > 0.5 * alpha.sum()
        return level * alpha + (0.0 if light_ink else 1.0) * (1 - alpha)
    return np.asarray(image.convert("L"), np.float32) / 255


def upright(image: Image.Image) -> Image.Image:
    """A phone photo turned the way it was taken (its EXIF orientation), if it says."""
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, KeyError, TypeError):  # a damaged EXIF block: the image as stored
        return image


def ring(level: np.ndarray) -> np.ndarray:
    """The outermost pixels of an (h, w) image."""
    return np.concatenate([level[0], level[-1], level[1:-1, 0], level[1:-1, -1]])


def convert_image(image: Image.Image) -> np.ndarray:
    """Any image -> (784,) uint8 like MNIST's: white ink on black, fit in 20x20 with its aspect ratio, centre of
    mass at the centre of 28x28. Dark-on-light images (a light border) are inverted. A blank image gives zeros; a
    28x28 image is only made grey (and inverted if need be): it has MNIST's size, and may be an MNIST image."""
    level = grey(image)
    ink = 1 - level if ring(level).mean() > 0.5 else level
    if level.shape == (SIDE, SIDE):  # already MNIST's size (such as what write_zip_of_folders wrote): kept as it is
        return np.round(ink * 255).astype(np.uint8).reshape(PIXELS)
    ink = np.clip(ink - np.median(ring(ink)), 0, None)  # the background's level, read from the border, to 0
    if ink.max() <= 0.05:
        return np.zeros(PIXELS, np.uint8)
    ink = crop(ink / ink.max())
    field = centre_by_mass(np.clip(fit_box(ink), 0, 1), SIDE)
    return np.round(field * 255).astype(np.uint8).reshape(PIXELS)


def layout(archive) -> tuple[dict[str, dict[str, list[str]]], int]:
    """{split: {class: [file names]}} (split "all" when none is given) and the number of files skipped."""
    names = [n for n in archive.names if not hidden(n)]
    skipped = len(archive.names) - len(names)
    folders = [f for f in archive.folders if f and not hidden(f)]
    root = common_root(names, folders)
    split_folders = archive_splits(names, root)
    tree: dict[str, dict[str, list[str]]] = {}
    for folder in folders:  # every class folder, empty ones included (refused below)
        parts = folder[len(root):].rstrip("/").split("/") if folder.startswith(root) else []
        if parts and parts[0]:
            split, cls = place(parts + ["-"], split_folders)
            if cls:
                tree.setdefault(split, {}).setdefault(cls, [])
    for name in names:
        split, cls = place(name[len(root):].split("/"), split_folders)
        if cls is None or not name.lower().endswith(IMAGE_SUFFIXES):
            skipped += 1
        else:
            tree.setdefault(split, {}).setdefault(cls, []).append(name)
    return tree, skipped


def common_root(names: list[str], folders: list[str]) -> str:
    """The one top folder everything sits in ("set/" for set/cat/1.png and set/dog/2.png), else ""."""
    tops = {name.split("/")[0] for name in names if "/" in name}
    if len(tops) == 1 and all("/" in name for name in names):
        top = next(iter(tops))
        inner = {name.split("/")[1] for name in names if name.count("/") >= 2}
        if inner and top.lower() not in SPLITS:
            return top + "/"
    return ""


def archive_splits(names: list[str], root: str) -> bool:
    """Whether the top folders are a train and a test split (train/ and test/, each holding class folders)."""
    tops = {SPLITS.get(name[len(root):].split("/")[0].lower()) for name in names if name[len(root):].count("/") >= 2}
    return tops == {"train", "test"}


def place(parts: list[str], split_folders: bool) -> tuple[str, str | None]:
    """(split, class) of a file's path below the root; class None for a file outside any class folder."""
    if split_folders:
        split = SPLITS.get(parts[0].lower())
        return (split or "train", parts[1] if split and len(parts) >= 3 else None)
    return "all", parts[0] if len(parts) >= 2 else None


ORDER_FILE = "classes.txt"  # at the zip's top: the class folders in their order, one per line (optional)
MAX_ORDER_BYTES = 62 * 200  # 62 names of at most 40 characters, UTF-8, with room to spare


def read_class_folders(archive, progress=None) -> dict:
    """The arrays and class names of a zip of class folders, for ``from_arrays``. Within a split the images
    keep the order of their file names (numbers by value), whatever their class: what
    ``write_zip_of_folders`` wrote reads back in its order."""
    tree, skipped = layout(archive)
    classes = checked_classes(tree)
    if ORDER_FILE in archive.sizes and archive.sizes[ORDER_FILE] <= MAX_ORDER_BYTES:
        listed = archive.read(ORDER_FILE).decode("utf-8", "replace").splitlines()
        if sorted(listed) == sorted(classes):  # the order the classes were made in, as the zip's writer kept it
            classes, skipped = listed, skipped - 1
    counts = {split: sum(map(len, by_class.values())) for split, by_class in tree.items()}
    check_counts(counts.get("train", counts.get("all", 0)), counts.get("test") if "all" not in counts else None)
    arrays, unreadable, done = {}, 0, 0
    for split, by_class in tree.items():
        files = sorted(((name, label) for label, cls in enumerate(classes) for name in by_class.get(cls, [])),
                       key=lambda file: (natural_key(file[0].rsplit("/", 1)[-1]), file[0]))
        images, labels, kept = np.empty((len(files), PIXELS), np.uint8), np.empty(len(files), np.uint8), 0
        for name, label in files:
            pixels = image_pixels(archive.read(name), name)
            if pixels is None:
                unreadable += 1
            else:
                images[kept], labels[kept], kept = pixels, label, kept + 1
            done += 1
            if progress is not None:
                progress(done, sum(counts.values()))
        arrays[split] = (images[:kept], labels[:kept])
    return folder_result(arrays, classes, skipped, unreadable)


def checked_classes(tree: dict[str, dict[str, list[str]]]) -> list[str]:
    """The training split's class names, sorted; refused: too few or many, a training class without an image,
    a test class that is not a training class."""
    classes = sorted(tree.get("train", tree.get("all", {})), key=natural_key)
    if not classes:
        raise DataError("no IDX files and no class folders of images found (a CSV or an .npz is uploaded as it is, "
                        "not in a zip)")
    check_class_count(len(classes))
    for split, by_class in tree.items():
        for cls, files in by_class.items():
            if cls not in classes:
                raise DataError(f"the test split has a class {cls!r} that the training split has not")
            if not files and split != "test":
                raise DataError(f"the class folder {cls!r} holds no image")
    return classes


def image_pixels(blob: bytes, name: str) -> np.ndarray | None:
    """The file converted, or None if it is not a readable image (its size is checked first, and refused)."""
    image = open_image(blob, name)
    try:
        return None if image is None else convert_image(image)
    except (OSError, SyntaxError, ValueError):  # a header that promised more than the file holds
        return None


def folder_result(arrays: dict, classes: list[str], skipped: int, unreadable: int) -> dict:
    notes = [f"{skipped:,} file{'s' * (skipped != 1)} that {'are' if skipped != 1 else 'is'} not an image "
             "skipped"] if skipped else []
    if unreadable:
        notes.append(f"{unreadable:,} unreadable image file{'s' * (unreadable != 1)} skipped")
    train_images, train_labels = arrays.get("train", arrays.get("all"))
    test_images, test_labels = arrays.get("test", (None, None))
    return dict(images=train_images, labels=train_labels, test_images=test_images, test_labels=test_labels,
                classes=tuple(classes), note="; ".join(notes))
