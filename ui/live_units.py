"""Train's hidden units as they learn: while a run trains, its first hidden layer's units (a page of
them at larger widths) as 28x28 weight images in the live view (ui/liveview.py), sent as their raw
uint8 codes and coloured on a <canvas> by the browser; after it, a slider over the epochs the run
kept (nn_core.snapshots) replays them as one palette PNG.

The codes come from the run's progress (nn_core.runs.Progress.units, made on first use: only a page
that draws them pays for them); no float matrix reaches the page. ``NN_LAB_LIVE_UNITS=0`` in the
server's environment leaves the live units out, for ``python -m benchmarks.live_charts --live-units
both`` to measure what they cost.
"""

from __future__ import annotations

import io
import os

import numpy as np
import streamlit as st
from PIL import Image

from nn_core.snapshots import unit_images

from .images import diverging_rgb, tile
from .state import TRAIN_UNITS_EPOCH, TRAIN_UNITS_FOR, TRAIN_UNITS_PAGE, TRAIN_UNITS_PER_PAGE
from .units import unit_page

LIVE_UNITS_VARIABLE = "NN_LAB_LIVE_UNITS"
TRAIN_UNITS = "train_units"  # the section's container (there before a run, so what follows keeps its place)
ZOOM = 2  # 28 px -> 56 px per unit, enlarged by the browser (the PNG is 28 px a unit)
COLUMNS = 16  # units per row of the sheet
# The colour of each uint8 code: 128 white (a zero weight), 255 red (+limit), 1 blue (-limit); 0, which no
# unit uses, is the grey between the units.
_PALETTE = diverging_rgb((np.arange(256, dtype=np.float64) - 128) / 127, 1.0)  # (256, 3) uint8
_PALETTE[0] = 200


def enabled() -> bool:
    return os.environ.get(LIVE_UNITS_VARIABLE, "1") != "0"


def sheet(units: np.ndarray) -> bytes:
    """(n, 28, 28) uint8 unit images (128 + 127 w / limit) as one palette PNG, ``COLUMNS`` a row,
    blue-white-red, 2 px apart. A byte a pixel, not three: a page of 64 units is 50 KB before compression
    and an update's PNG a third of an RGB one's (the browser enlarges it, pixelated: see ``draw_units``)."""
    codes = tile(units, min(COLUMNS, len(units)), gap=2, background=0)
    image = Image.frombytes("P", codes.shape[::-1], codes.tobytes())  # (w, h): each byte a palette index
    image.putpalette(_PALETTE.tobytes())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _page(units: np.ndarray, limit: float, caption: str) -> tuple[np.ndarray, str]:
    """A page of the units (chosen here when the layer is wider than a page) and its caption."""
    shown = unit_page(len(units), TRAIN_UNITS_PER_PAGE, TRAIN_UNITS_PAGE)
    page = units[shown.start : shown.stop]
    which = f"units {shown.start}-{shown.stop - 1} of {len(units)}" if len(page) < len(units) else f"{len(units)} units"
    return page, (f"{caption} · {which}; red excites, blue inhibits, white is 0; colour limit ±{limit:.2f} "
                  "(the 99th percentile of |weight|).")


def draw_units(units: np.ndarray, limit: float, caption: str) -> None:
    """A page of the units and the caption, as an image (a finished run's replay)."""
    page, text = _page(units, limit, caption)
    st.image(sheet(page), output_format="PNG", width=min(COLUMNS, len(page)) * (28 + 2) * ZOOM)
    st.caption(text)


def units_palette() -> np.ndarray:
    """(256, 3) uint8: the colour of each unit image code (the live view draws the codes on a canvas)."""
    return _PALETTE


def live_units_view(progress) -> dict | None:
    """The running run's first layer as the live view draws it: a page of its uint8 unit images (raw
    codes, coloured by the browser) and the caption; None when live units are off. The progress makes
    the images only here, on first use (nn_core.runs.Progress.units)."""
    if not enabled():
        return None
    units = progress.units
    if units is None:
        return None
    epoch = min(progress.epoch + 1, progress.hparams.epochs)
    page, caption = _page(units, progress.units_limit,
                          f"The first hidden layer's units, live: epoch {epoch}, batch {progress.batch}")
    return {"codes": page, "caption": caption, "columns": COLUMNS, "version": progress.total_batches_done}


def live_units_pager(progress) -> None:
    """The units' pager alone (a poll that reuses the view live_units_view made keeps drawing it, so its
    choice stays and the elements after it keep their places)."""
    if enabled() and progress.units is not None:
        unit_page(len(progress.units), TRAIN_UNITS_PER_PAGE, TRAIN_UNITS_PAGE)


def section():
    """The units' place under the charts: a keyed container, drawn empty before the first run. Its
    images are enlarged by the browser, each pixel a crisp square (not smoothed)."""
    place = st.container(key=TRAIN_UNITS)
    place.html(f"<style>.st-key-{TRAIN_UNITS} img {{image-rendering: pixelated}}</style>")
    return place


def replay_units(run) -> None:
    """A finished run's first layer at the epoch chosen on a slider over the epochs it kept."""
    place = section()
    if not enabled():
        return
    with place:
        kept = {s.epoch: s for s in run.snapshots}
        if len(kept) < 2:
            units, limit = unit_images(run.model.flat, run.model.hidden_units)
            draw_units(units, limit, "The first hidden layer's units at the end (this run's epochs were not kept)")
            return
        epochs = sorted(kept)
        if st.session_state.get(TRAIN_UNITS_FOR) is not run or st.session_state.get(TRAIN_UNITS_EPOCH) not in epochs:
            st.session_state[TRAIN_UNITS_FOR] = run
            st.session_state[TRAIN_UNITS_EPOCH] = epochs[-1]  # a new run: its end
        epoch = st.select_slider("Replay the hidden units by epoch", epochs, key=TRAIN_UNITS_EPOCH,
                                 format_func=lambda e: "start" if e == 0 else f"epoch {e}",
                                 help="The parameters the run kept at each epoch's end (epoch 0: before training).")
        units, limit = unit_images(kept[epoch].params.astype(np.float32), run.model.hidden_units)
        draw_units(units, limit, "The first hidden layer's units " + ("before training" if epoch == 0
                                                                      else f"after epoch {epoch}"))
