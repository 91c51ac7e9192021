"""Image styling for the pages: colour maps, crisp enlargement and composition (NumPy), PNG bytes."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def symmetric_limit(values: np.ndarray, percentile: float = 100.0) -> float:
    """One colour-scale limit for all of ``values``: the ``percentile`` of |values| (>0)."""
    limit = float(np.percentile(np.abs(values), percentile)) if values.size else 0.0
    return limit if np.isfinite(limit) and limit > 0 else 1.0


def diverging_rgb(values: np.ndarray, limit: float) -> np.ndarray:
    """Map values in [-limit, limit] to uint8 RGB (..., 3): blue negative, white zero, red positive.

    Values beyond the limit saturate; NaN becomes grey. The same limit for every image makes
    their colours comparable.
    """
    t = np.clip(np.nan_to_num(values / limit, nan=0.0), -1.0, 1.0)[..., None]  # (..., 1)
    white = np.array([255.0, 255.0, 255.0])
    red, blue = np.array([178.0, 24.0, 43.0]), np.array([33.0, 102.0, 172.0])
    rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    rgb[np.isnan(values)] = 128.0
    return rgb.round().astype(np.uint8)


def enlarge(images: np.ndarray, factor: int, rgb: bool = False) -> np.ndarray:
    """Nearest-neighbour upscaling of (..., h, w) images, or (..., h, w, 3) with ``rgb``, so each
    pixel stays a crisp square instead of being blurred by the browser."""
    h_axis, w_axis = (-3, -2) if rgb else (-2, -1)
    return images.repeat(factor, axis=h_axis).repeat(factor, axis=w_axis)


def tile(images: np.ndarray, columns: int, gap: int = 2, background: int = 200) -> np.ndarray:
    """(n, h, w[, 3]) uint8 images as one image, ``columns`` a row (the last row padded), ``gap``
    pixels of ``background`` between them: one picture instead of n, for pages of many units."""
    n, h, w = images.shape[:3]
    rows = max(1, -(-n // columns))
    columns = min(columns, max(n, 1))
    sheet = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap) + images.shape[3:], background, np.uint8)
    for index in range(n):
        row, column = divmod(index, columns)
        sheet[row * (h + gap) : row * (h + gap) + h, column * (w + gap) : column * (w + gap) + w] = images[index]
    return sheet


def png(image: np.ndarray) -> bytes:
    """uint8 (h, w) or (h, w, 3) as PNG bytes, for ``st.image(..., output_format="PNG")`` (which then
    sends them as they are): lossless (its default for arrays is JPEG, which smears single pixels) and
    quickly compressed (level 1 is ~8x faster than PIL's default 6 for a page of unit images, and
    barely larger)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
