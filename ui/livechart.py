"""What the live view (ui/liveview.py) draws with: plotly.js served from the installed ``plotly``
package, and figures as plain JSON.

plotly.js is the file shipped inside the ``plotly`` package (``plotly/package_data/plotly.min.js``),
served by the app's own server (a components-v1 declaration used only as a static route for that
folder), loaded once per page: no network, no CDN. ``figure_spec`` turns a Plotly figure into the
JSON-able dicts the view is sent, without its template (the chart takes the app's theme in the
browser). ``reported_width`` reads a width the browser reported, if a screen can have it.
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
