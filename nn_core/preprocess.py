"""A drawing on the canvas -> the 28x28 input the network was trained on.

MNIST was made this way (LeCun et al.): each digit's bounding box was scaled, keeping its aspect
ratio, so the longer side is 20 px (anti-aliased: grey levels at the edges), then placed in a
28x28 field with its centre of mass at the centre. A mouse drawing differs from those digits in
size, place, slant and stroke thickness, so before doing the same we

- thin the strokes of small drawings: a fixed brush is thick relative to a tiny digit, and once
  the digit is scaled up to 20 px its strokes would be far fatter than MNIST's (~2-3 px);
- optionally straighten the slant with moment-based deskewing (a shear that makes the ink's
  second-order cross moment zero), capped so it never turns a 7's diagonal upright.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

SIDE = 28  # MNIST field
BOX = 20  # the longer side of the digit's bounding box in the field
INK_THRESHOLD = 0.2  # ink level (0-1) that counts as drawn
MIN_INK_PIXELS = 4  # fewer drawn canvas pixels than this counts as an empty canvas
TARGET_STROKE = 2.4  # MNIST's typical stroke width in the 28x28 field, pixels
MAX_SHEAR = 0.5  # largest deskew shear (x shift per unit of height)
WORK_SIDE = 6 * BOX  # drawings are shrunk to this (longer side) before thinning and deskewing
# A canvas image from the browser: 280 CSS px, up to 4x that on dense phone screens. Anything larger
# is refused from the PNG's header, before a pixel is decoded.
MAX_CANVAS_SIDE = 1200
MAX_CANVAS_PNG_BYTES = 4 * 2**20


def decode_canvas_png(png: bytes) -> np.ndarray:
    """The canvas's PNG as an (h, w, 4) uint8 RGBA array; ValueError for anything that is not a
    small image (checked from its size and header before decoding)."""
    import io

    if len(png) > MAX_CANVAS_PNG_BYTES:
        raise ValueError(f"the canvas image is {len(png):,} bytes, more than a drawing needs")
    try:
        image = Image.open(io.BytesIO(png))
        width, height = image.size
        if max(width, height) > MAX_CANVAS_SIDE:
            raise ValueError(f"the canvas image is {width}x{height} pixels, larger than any canvas")
        return np.asarray(image.convert("RGBA"))
    except (OSError, Image.DecompressionBombError, SyntaxError) as error:
        raise ValueError(f"the canvas sent something that is not an image ({type(error).__name__})") from None


def ink_from_rgba(rgba: np.ndarray) -> np.ndarray:
    """(h, w, 4) uint8 RGBA (white ink) -> (h, w) float32 ink level in [0, 1].

    Luminance times alpha, so an opaque black background and a transparent one both read as 0.
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] not in (3, 4):
        raise ValueError(f"expected an (h, w, 4) RGBA image, got shape {rgba.shape}")
    rgb = rgba[..., :3].astype(np.float32)
    ink = rgb @ np.array([0.299, 0.587, 0.114], np.float32) / 255
    if rgba.shape[2] == 4:
        ink *= rgba[..., 3].astype(np.float32) / 255
    return ink


def has_ink(ink: np.ndarray) -> bool:
    return int(np.count_nonzero(ink > INK_THRESHOLD)) >= MIN_INK_PIXELS


def deskew(ink: np.ndarray, max_shear: float = MAX_SHEAR) -> np.ndarray:
    """Shear ``ink`` (h, w) horizontally about its centre of mass so its slant is zero.

    The slant is mu11 / mu02 (how x moves with y); the shear x' = x - slant * (y - cy) removes
    it. Capped at ``max_shear`` in either direction.
    """
    total = ink.sum()
    if total <= 0:
        return ink
    ys, xs = np.indices(ink.shape, dtype=np.float64)
    cy, cx = (ys * ink).sum() / total, (xs * ink).sum() / total
    mu02 = (((ys - cy) ** 2) * ink).sum() / total
    mu11 = ((ys - cy) * (xs - cx) * ink).sum() / total
    if mu02 < 1e-6:
        return ink
    slant = float(np.clip(mu11 / mu02, -max_shear, max_shear))
    # affine_transform maps output (row, col) to input: col_in = col_out + slant * (row - cy)
    matrix = np.array([[1.0, 0.0], [slant, 1.0]])
    offset = np.array([0.0, -slant * cy])
    # widen the frame so the sheared ink is not cut off at the sides
    pad = int(np.ceil(abs(slant) * ink.shape[0] / 2)) + 1
    padded = np.pad(ink, ((0, 0), (pad, pad)))
    return ndimage.affine_transform(padded, matrix, offset=offset, order=1)


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width in pixels of a binary drawing: twice the median distance to the
    background along the strokes' ridges (the local maxima of the distance transform)."""
    mask = np.pad(mask, 1)  # background all round, so ink at the crop's edge has an edge
    distance = ndimage.distance_transform_edt(mask)
    ridge = (distance == ndimage.maximum_filter(distance, size=3)) & mask
    values = distance[ridge]
    return 2.0 * float(np.median(values)) if values.size else 0.0


def reweight(ink: np.ndarray, pixels: float) -> np.ndarray:
    """Thin the strokes by ``pixels`` on each side, or thicken them if negative (any real amount).

    From the signed distance to the strokes' edge (positive inside): the new ink is that
    distance shifted by ``pixels``, clipped to [0, 1], which keeps a one-pixel soft edge.
    """
    if abs(pixels) < 0.25:
        return ink
    pad = max(0, int(np.ceil(-pixels)) + 1)  # room to grow
    mask = np.pad(ink > 0.5, pad + 1)  # background all round: ink at the crop's edge has an edge
    inside = ndimage.distance_transform_edt(mask)
    outside = ndimage.distance_transform_edt(~mask)
    signed = np.where(mask, inside - 0.5, 0.5 - outside)
    return np.clip(signed - pixels + 0.5, 0, 1).astype(np.float32)[1:-1, 1:-1]


def crop(ink: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero((ink > INK_THRESHOLD / 4).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD / 4).any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def fit_box(ink: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale so the longer side is ``box`` pixels, keeping the aspect ratio (area-averaged)."""
    h, w = ink.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = Image.fromarray(ink.astype(np.float32), mode="F")
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    return np.asarray(image.resize(size, resample), dtype=np.float32)


def centre_by_mass(digit: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Place ``digit`` (h, w) in a side x side field with its centre of mass at the centre."""
    field = np.zeros((side, side), np.float32)
    cy, cx = ndimage.center_of_mass(digit)
    top, left = int(round(side / 2 - 0.5 - cy)), int(round(side / 2 - 0.5 - cx))
    h, w = digit.shape
    # clip to the field (a lopsided digit may reach past the edge)
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + h, side), min(left + w, side)
    field[t0:t1, l0:l1] = digit[t0 - top : t1 - top, l0 - left : l1 - left]
    return field


def to_mnist(rgba: np.ndarray, deskew_slant: bool = True, normalise_strokes: bool = True) -> np.ndarray | None:
    """Canvas RGBA (h, w, 4) uint8 -> (784,) float32 in [0, 1] like MNIST, or None if empty."""
    ink = ink_from_rgba(rgba)
    if not has_ink(ink):
        return None
    ink = crop(ink)
    if max(ink.shape) > WORK_SIDE:  # shrink first: the steps below cost ~ pixels x radius^2
        ink = fit_box(ink, WORK_SIDE)
    if normalise_strokes:
        # the stroke width it would have in the 20 px box, brought to MNIST's by eroding the
        # surplus (or dilating the shortfall) on each side, here before the final scaling
        scale = BOX / max(ink.shape)
        surplus = stroke_width(ink > 0.5) - TARGET_STROKE / scale
        reweighted = reweight(ink, surplus / 2)
        if has_ink(reweighted):  # never erase a drawing
            ink = crop(reweighted)
    if deskew_slant:
        ink = crop(deskew(ink))
    field = centre_by_mass(fit_box(ink))
    return np.clip(field, 0, 1).reshape(SIDE * SIDE)
