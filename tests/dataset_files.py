"""Data set files the tests make themselves (nothing is downloaded): scikit-learn's bundled 8x8 digits, shapes
drawn with Pillow, and the containers they travel in (a zip of class folders, IDX files, CSV, .npz), plus
hostile ones (zip bombs, a huge image's header)."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "cross", "square", "triangle")


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def digits_8x8() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 digits: (n, 8, 8) uint8 0-255 and labels 0-9."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.round(digits.images * (255 / 16)).astype(np.uint8), digits.target.astype(np.uint8)


def shape_image(kind: str, rng: np.random.Generator) -> Image.Image:
    """One shape at a random size and place on a canvas of a random size; half dark-on-light, in RGB."""
    width, height = int(rng.integers(40, 120)), int(rng.integers(40, 120))
    dark_on_light = bool(rng.integers(2))
    paper, ink = ((235, 230, 220), (20, 20, 60)) if dark_on_light else ((0, 0, 0), (255, 255, 255))
    image = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(image)
    side = int(rng.integers(16, min(width, height) - 4))
    x, y = int(rng.integers(2, width - side - 1)), int(rng.integers(2, height - side - 1))
    stroke = max(2, side // 10)
    box = (x, y, x + side, y + side)
    if kind == "circle":
        draw.ellipse(box, outline=ink, width=stroke)
    elif kind == "square":
        draw.rectangle(box, outline=ink, width=stroke)
    elif kind == "triangle":
        draw.polygon([(x + side / 2, y), (x, y + side), (x + side, y + side)], outline=ink, width=stroke)
    else:
        draw.line([(x, y), (x + side, y + side)], fill=ink, width=stroke)
        draw.line([(x + side, y), (x, y + side)], fill=ink, width=stroke)
    return image


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def shapes_zip(per_class: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return zip_of({f"shapes/{kind}/{k}.png": png(shape_image(kind, rng)) for kind in SHAPES for k in range(per_class)})


def digits_zip() -> bytes:
    """The digits as a zip of class folders of 8x8 PNGs, with a file that is not an image."""
    images, labels = digits_8x8()
    files = {f"digits/{label}/{k}.png": png(Image.fromarray(image, "L"))
             for k, (image, label) in enumerate(zip(images, labels))}
    return zip_of({**files, "digits/README.txt": b"scikit-learn's digits"})


def idx_bytes(array: np.ndarray, packed: bool = True) -> bytes:
    """A uint8 array as an IDX file, gzipped or not."""
    array = np.ascontiguousarray(array, np.uint8)
    raw = (0x0800 | array.ndim).to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw += array.tobytes()
    return gzip.compress(raw, 6) if packed else raw


def idx_zip(train: tuple, test: tuple | None, prefix: str = "", packed: bool = True, extra: dict | None = None) -> bytes:
    suffix = ".gz" if packed else ""
    files = {f"{prefix}train-images-idx3-ubyte{suffix}": idx_bytes(train[0], packed),
             f"{prefix}train-labels-idx1-ubyte{suffix}": idx_bytes(train[1], packed)}
    if test is not None:
        files[f"{prefix}t10k-images-idx3-ubyte{suffix}"] = idx_bytes(test[0], packed)
        files[f"{prefix}t10k-labels-idx1-ubyte{suffix}"] = idx_bytes(test[1], packed)
    return zip_of({**files, **(extra or {})})


def csv_text(images: np.ndarray, labels: np.ndarray, header: bool = True) -> bytes:
    rows = np.column_stack([labels, images.reshape(len(images), -1)]).astype(int)
    lines = [",".join(["label"] + [f"pixel{k}" for k in range(784)])] if header else []
    lines += [",".join(map(str, row)) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def npz_bytes(**arrays) -> bytes:
    out = io.BytesIO()
    np.savez_compressed(out, **arrays)
    return out.getvalue()


def declare_sizes(blob: bytes, sizes: dict[str, int]) -> bytes:
    """The zip with the unpacked sizes its headers declare for some entries changed (the data stays)."""
    data = bytearray(blob)
    for name, size in sizes.items():
        encoded = name.encode()
        for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
            at = data.find(signature + b"")
            while at >= 0:
                name_length = struct.unpack_from("<H", data, at + (26 if signature == b"PK\x03\x04" else 28))[0]
                if data[at + name_at:at + name_at + name_length] == encoded:
                    struct.pack_into("<I", data, at + size_at, size)
                at = data.find(signature, at + 4)
    return bytes(data)


def zeros_zip(entries: dict[str, int]) -> bytes:
    """A zip whose entries are runs of zero bytes of the given lengths, deflated (1 MB packs into about 1 KB)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, length in entries.items():
            with archive.open(name, "w", force_zip64=length > 2**31) as handle:
                chunk = bytes(2**20)
                for start in range(0, length, len(chunk)):
                    handle.write(chunk[:min(len(chunk), length - start)])
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels (grey) and holds a few rows: its header is all a reader may read."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(bytes((width + 1) * 4))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
