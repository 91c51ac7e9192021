"""The drawable canvas's state, read as what it is: JSON from the browser, which a user can replace with
any JSON (a component's state is theirs to send). Anything a canvas never sends is a ValueError with a
short reason, never an exception in the page."""

from __future__ import annotations

import numpy as np

from nn_core.preprocess import MAX_CANVAS_PNG_BYTES, decode_canvas_png, to_mnist

# A PNG data URL: its base64 is 4/3 of the bytes, after a short "data:image/png;base64," head.
MAX_DATA_URL_CHARACTERS = 4 * (MAX_CANVAS_PNG_BYTES // 3 + 1) + 100
# What st_canvas and its result raise on a state of the wrong shape (``drawing: "x"``, ``data: 5``, ...).
MALFORMED = (AttributeError, TypeError, KeyError, IndexError, ValueError)


def stroke_count(drawing) -> int:
    """Strokes on the canvas, from Fabric's JSON (each freedraw stroke is one path object); 0 for
    JSON that is not a canvas's."""
    objects = drawing.get("objects") if isinstance(drawing, dict) else None
    if not isinstance(objects, list):
        return 0
    return sum(isinstance(obj, dict) and str(obj.get("type", "")).lower() == "path" for obj in objects)


def drawn_canvas(draw):
    """``draw()``'s canvas result (st_canvas, called here so a state it cannot read is caught)."""
    try:
        return draw()
    except MALFORMED as error:
        raise ValueError(f"the canvas sent a state no canvas makes ({type(error).__name__})") from None


def canvas_png(canvas) -> bytes | None:
    """The canvas's image as PNG bytes, None before the first stroke; its text's length is checked
    before it is decoded."""
    url = getattr(canvas, "_image_data_url", None)  # st_canvas 0.13 keeps the data URL here
    if url is not None and (not isinstance(url, str) or len(url) > MAX_DATA_URL_CHARACTERS):
        what = f"{len(url):,} characters" if isinstance(url, str) else type(url).__name__
        raise ValueError(f"the canvas image is {what}, not a drawing's data URL")
    try:
        png = canvas.image_bytes
    except MALFORMED as error:
        raise ValueError(f"the canvas image is not a data URL ({type(error).__name__})") from None
    if png is not None and not isinstance(png, bytes):
        raise ValueError("the canvas image is not bytes")
    return png


def canvas_field(canvas, deskew_slant: bool = True) -> np.ndarray | None:
    """What the network reads of the canvas: its drawing as MNIST's 28x28 (784,) float32 in [0, 1]
    (``nn_core.preprocess.to_mnist``), None before the first stroke; ValueError for what no canvas sends."""
    png = canvas_png(canvas)
    return to_mnist(decode_canvas_png(png), deskew_slant=deskew_slant) if png is not None else None
