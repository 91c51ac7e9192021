"""Live Plotly charts drawn once and updated in place, for whatever a page redraws while something runs.

``st.plotly_chart`` builds a new Plotly figure on every update (its element's identity is a hash of
the figure, so each redraw purges the old chart and draws a new one: a few hundred ms of a core in
the browser, per chart, per update). ``live_chart`` is a Streamlit components-v2 element with a fixed
key: the browser keeps one plotly.js plot per key and hands each update to ``Plotly.react`` on it
(``ui/livechart.js``), which changes the traces in place.

Any Plotly figure works (``live_chart(figure, key=...)``), or its traces and layout as JSON-able
dicts (``{"data": [...], "layout": {...}}``); a figure's template is left out, as the chart takes the
app's theme in the browser. plotly.js is the file shipped inside the installed ``plotly`` package
(``plotly/package_data/plotly.min.js``), served by the app's own server (a components-v1 declaration
used only as a static route for that folder), loaded once per page: no network, no CDN.

``chart_width`` is the width the browser reported for a chart (for downsampling a long line to one
point per pixel), or None until it has.

Under AppTest (no browser) the element is recorded like any other (``at.get("bidi_component")``, its
JSON data holding the figure), so page tests can read what a live chart was given.
"""

from __future__ import annotations

import json
from pathlib import Path

import plotly
import plotly.io as pio
import streamlit as st
from streamlit.components.v1 import declare_component

PLOTLY_FOLDER = Path(plotly.__file__).resolve().parent / "package_data"  # holds plotly.min.js
LIBRARY_NAME = "plotly_js"  # declared in this module: served at component/ui.livechart.plotly_js/
DEFAULT_WIDTH = 600  # px: a chart's width until its browser has said (half of a wide page)
MAX_WIDTH = 10_000  # px: no screen is wider; a larger width in a chart's state is not a browser's

_live_chart = st.components.v2.component(
    "nn_lab.live_chart", js=(Path(__file__).with_name("livechart.js")).read_text(), isolate_styles=False)
_library = None


def library_path() -> str:
    """plotly.js's address relative to the app's root, served from the plotly package (declared on
    the running server once, and again for a new runtime, as AppTest makes one per test)."""
    global _library
    from streamlit.runtime import Runtime

    registry = Runtime.instance().component_registry if Runtime.exists() else None
    if _library is None or (registry is not None and registry.get_component_path(_library.name)
                            != str(PLOTLY_FOLDER)):
        _library = declare_component(LIBRARY_NAME, path=str(PLOTLY_FOLDER))
    return f"component/{_library.name}/plotly.min.js"


def figure_spec(figure) -> dict:
    """A Plotly figure (or a dict of its ``data`` and ``layout``) as plain JSON-able dicts, without
    its template (the browser gives the chart the app's theme)."""
    spec = json.loads(pio.to_json(figure, validate=False, remove_uids=True)) if not isinstance(figure, dict) \
        else {"data": list(figure.get("data", [])), "layout": dict(figure.get("layout", {}))}
    spec["layout"].pop("template", None)
    return spec


def live_chart(figure, key: str, config: dict | None = None) -> int | None:
    """Draw ``figure`` in the live chart ``key`` (drawn on first use, updated in place after) and
    return the chart's width in px as the browser last reported it (None before it has)."""
    spec = figure_spec(figure)
    if config:
        spec["config"] = config
    width = reported_width(st.session_state.get(key))
    _live_chart(key=key, data={"figure": spec, "library": library_path(), "width": width},
                default={"width": width}, on_width_change=_ignore)
    return width


def chart_width(key: str) -> int:
    """The live chart ``key``'s plot width in px as its browser reported it, else DEFAULT_WIDTH."""
    return reported_width(st.session_state.get(key)) or DEFAULT_WIDTH


def reported_width(state) -> int | None:
    """The width in px in a live chart's state, if it is one a screen can have: the state is the
    browser's JSON, any shape and any number (json reads 1e999 as infinity)."""
    width = state.get("width") if isinstance(state, dict) else None
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width <= MAX_WIDTH:
        return None  # also NaN, which compares false
    return int(width)


def _ignore() -> None:
    """The width is read on the next draw; nothing to do when it changes."""
