"""One live view: everything a page draws of a running run (its charts, and on Train its first layer's
units) in one components-v2 element with a fixed key, sent only what is new.

``st.plotly_chart`` purges and redraws a chart whenever its figure changes, and even a chart kept in
place costs the server (a figure built, validated, serialised) and the browser (``Plotly.react``
re-parses every trace) the whole history on every poll. Here the element (``ui/liveview.js``) is sent
the view's layout once per run (which charts, in which rows, their captions and empty figures), then
per poll only what changed since the message before: new points of each trace (appended with
``Plotly.extendTraces``), changed layout keys (``Plotly.relayout``, e.g. a log axis's ticks when the
costs reach a new decade), new unit images as raw bytes drawn on a ``<canvas>``. So that the history
never moves, a run's batch-cost line is on a fixed grid (``cost_grid``): a point every
``total_batches / GRID_POINTS`` batches of the PLANNED run, each the mean of the window before it.

Messages are numbered. Each holds what changed since the message the element last acknowledged
(``base``; its state ``ack``, set every few messages), so a message the front end never handed the
element (Streamlit's front end gives a component only the newest of updates that arrive together)
loses nothing: the element skips what it has. An element that does not have the base (a remount
after a page switch or a reconnect) sets its state ``need`` to a new value, and the next rerun sends
the complete view once. A live view that has had no message for ``WATCHDOG_SECONDS`` sets its state
``nudge``: its fragment reruns even should the fragment's own polls stop reaching the server. A result
drawn by the fragment ahead of the page (``View.watch``) does so after ``BEHIND_SECONDS``, for the page.

What the element was sent is kept in the session (``_FEEDS``), so a poll's message is built from
what the run has now against what was sent: nothing is rebuilt from scratch per poll but the new
points. A view that is not live (before a run, its result after) goes through the same element as
complete figures: the finished run's figures are the page's usual figures, unchanged.

Under AppTest (no browser) the element is recorded like any other (``at.get("bidi_component")``, its
JSON data holding what it was sent), so page tests can read it (``sent``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st

from .livechart import MAX_WIDTH, figure_spec, library_path

GRID_POINTS = 600  # batch-cost points over a whole planned run (about one per pixel of a half-page chart)
POLL_SECONDS = 1.0  # how often a running run's fragment reruns (st.fragment(run_every=...)): each rerun costs the
# browser a redraw of the fragment (measured at load 27: 0.5 s made the renderer spend 1.6x the old page's)
WATCHDOG_SECONDS = 4 * POLL_SECONDS  # a live view that has had no message for this long asks for a rerun itself
# A view whose fragment has drawn a run's result ahead of the page (View.watch) asks for that rerun this soon,
# not at the next poll: the page (Stop disabled, the history, the active model) follows its result at once.
BEHIND_SECONDS = 0.3
_FEEDS = "_live_view_feeds"  # session state: per element key, what it was sent

_view = st.components.v2.component("nn_lab.live_view", js=Path(__file__).with_name("liveview.js").read_text(),
                                   isolate_styles=False)


@dataclass
class Chart:
    """One chart of a view: its name (unique in the view), its figure (a Plotly figure or its JSON-able
    spec), the caption under it, and its share of its row's width."""

    name: str
    figure: object
    caption: str = ""
    grow: float = 1.0


@dataclass
class View:
    """A view's blocks in order: ``("row", [Chart, ...])``, ``("heading", text)``, ``("note", id)`` (a
    line of text given in ``notes``), ``("units", None)`` (the live units' canvas)."""

    blocks: list = field(default_factory=list)
    notes: dict = field(default_factory=dict)
    units: dict | None = None  # {"codes": (n, 28, 28) uint8, "caption": str, "columns": int, "version": ...}
    palette: np.ndarray | None = None  # (256, 3) uint8: the units' colours
    config: dict = field(default_factory=dict)  # Plotly's config for every chart
    live: bool = False  # a running run's view: its charts drawn with fixed margins (see liveview.js)
    watch: bool = False  # a view at rest whose fragment still has a rerun to come: asked for (BEHIND_SECONDS)

    def charts(self) -> list[Chart]:
        return [chart for kind, value in self.blocks if kind == "row" for chart in value]


def cost_grid(batch_costs, batches_per_epoch: int, total_batches: int) -> tuple[list, list]:
    """A running run's batch costs as (x in epochs, moving mean) on a fixed grid: a point every
    ``ceil(total_batches / GRID_POINTS)`` batches of the planned run, each the mean of the window of a
    tenth of an epoch before it. A point, once there, never changes (the cumulative sums of a prefix
    are the prefix's), so a poll appends the new points and nothing else."""
    costs = np.asarray(batch_costs, np.float64)
    stride = max(1, -(-max(1, total_batches) // GRID_POINTS))
    window = max(1, batches_per_epoch // 10)
    ends = np.arange(stride, len(costs) + 1, stride)
    ends = ends[ends >= window]
    if not len(ends):
        return [], []
    sums = np.concatenate([[0.0], np.cumsum(costs[: ends[-1]])])
    means = (sums[ends] - sums[ends - window]) / window
    return (ends / batches_per_epoch).tolist(), means.tolist()


def browser_width(key: str) -> int | None:
    """The width in px the element's first chart reported, if it is one a screen can have."""
    state = st.session_state.get(key)
    width = state.get("width") if isinstance(state, Mapping) else None
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width <= MAX_WIDTH:
        return None
    return int(width)


def _need(key: str):
    state = st.session_state.get(key)
    need = state.get("need") if isinstance(state, Mapping) else None
    return need if isinstance(need, str) and len(need) <= 64 else None


def _spec(figure) -> dict:
    return figure_spec(figure) if not isinstance(figure, dict) else {
        "data": list(figure.get("data", [])), "layout": {k: v for k, v in figure.get("layout", {}).items()
                                                         if k != "template"}}


def _signature(spec: dict) -> str:
    """A figure's traces without their points: what must match for new points to be appended."""
    return json.dumps([{k: v for k, v in trace.items() if k not in ("x", "y")} for trace in spec["data"]],
                      sort_keys=True, default=str)


def _ends(spec: dict) -> list:
    """Per trace: its length and its last point (to tell appended points from a changed line)."""
    ends = []
    for trace in spec["data"]:
        x, y = trace.get("x"), trace.get("y")
        if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            ends.append((len(x), json.dumps([x[-1], y[-1]], default=str) if x else None))
        else:
            ends.append(None)  # not a plain list (a typed array): compared whole, in the signature
    return ends


def _points(spec: dict) -> str:
    """The points of the traces that are not plain lists, for the signature."""
    return json.dumps([[trace.get("x"), trace.get("y")] for trace, end in zip(spec["data"], _ends(spec))
                       if end is None], default=str)


def _chart_diff(spec: dict, sent: dict) -> dict | None:
    """What turns the chart ``sent`` into ``spec``: {"extend", "relayout"}, or {"figure"} when its traces
    changed otherwise than by new points; None if nothing changed."""
    signature = _signature(spec) + _points(spec)
    ends = _ends(spec)
    if signature != sent["signature"]:
        return {"figure": spec}
    change = {}
    indices, starts, xs, ys = [], [], [], []
    for i, (trace, now, before) in enumerate(zip(spec["data"], ends, sent["ends"])):
        if now is None:
            continue
        length, _ = now
        old_length, old_last = before
        if length < old_length or (old_length and json.dumps([trace["x"][old_length - 1], trace["y"][old_length - 1]],
                                                             default=str) != old_last):
            return {"figure": spec}  # a point changed: the whole figure
        if length > old_length:
            indices.append(i)
            starts.append(old_length)
            xs.append(trace["x"][old_length:])
            ys.append(trace["y"][old_length:])
    if indices:
        change["extend"] = {"i": indices, "from": starts, "x": xs, "y": ys}
    layout = {k: json.dumps(v, sort_keys=True, default=str) for k, v in spec["layout"].items()}
    relayout = {k: spec["layout"][k] for k, text in layout.items() if sent["layout"].get(k) != text}
    relayout |= {k: None for k in sent["layout"] if k not in layout}
    if relayout:
        change["relayout"] = relayout
    return change or None


def _record(spec: dict) -> dict:
    return {"signature": _signature(spec) + _points(spec), "ends": _ends(spec),
            "layout": {k: json.dumps(v, sort_keys=True, default=str) for k, v in spec["layout"].items()}}


def _blocks(view: View) -> list:
    blocks = []
    for kind, value in view.blocks:
        if kind == "row":
            blocks.append({"kind": "row", "charts": [{"name": c.name, "caption": c.caption, "grow": c.grow}
                                                     for c in value]})
        elif kind == "heading":
            blocks.append({"kind": "heading", "text": value})
        elif kind == "note":
            blocks.append({"kind": "note", "id": value, "text": view.notes.get(value, "")})
        elif kind == "units":
            palette = None if view.palette is None else base64.b64encode(
                np.ascontiguousarray(view.palette, np.uint8).tobytes()).decode()
            blocks.append({"kind": "units", "palette": palette})
    return blocks


def _structure(blocks: list) -> str:
    """What, when it changes, needs the view built anew (a complete message: every chart drawn again): its
    blocks without the notes' texts, which a message changes in place (a note saying the health figures
    come after the first epoch, emptied when they come, made the run's six charts be drawn again)."""
    return json.dumps([{k: v for k, v in block.items() if not (block["kind"] == "note" and k == "text")}
                       for block in blocks], sort_keys=True)


def _units(units: dict) -> dict:
    codes = np.ascontiguousarray(units["codes"], np.uint8)
    return {"codes": base64.b64encode(codes.tobytes()).decode(), "n": int(codes.shape[0]),
            "version": str(units.get("version")),
            "columns": int(units.get("columns", 16)), "caption": units.get("caption", "")}


MAX_UNACKNOWLEDGED = 32  # messages the element may leave unacknowledged before it is sent the whole view


def _acknowledged(key: str):
    state = st.session_state.get(key)
    ack = state.get("ack") if isinstance(state, Mapping) else None
    return ack if isinstance(ack, int) and not isinstance(ack, bool) else None


def live_view(key: str, run: str, view: View) -> dict:
    """Draw ``view`` in the element ``key`` as the view of ``run`` (any string naming what is shown: a
    run while it trains, "idle", a result); returns what the element was sent this time.

    Each message holds what changed since the last message the element acknowledged (its state
    "ack", set every few messages, see liveview.js), not since the last one sent: Streamlit's front end
    hands a component only the newest of the updates that arrive together, so one left out loses
    nothing. The element skips the points it already has (each appended run of points says where it
    starts)."""
    feeds = st.session_state.setdefault(_FEEDS, {})
    sent, need, ack = feeds.get(key), _need(key), _acknowledged(key)
    if _unchanged(sent, view, run, need, ack):
        _show(key, sent["message"])  # the same view as last time: its last message again, nothing rebuilt
        return sent["message"]
    blocks = _blocks(view)
    structure = _structure(blocks)
    specs = {chart.name: _spec(chart.figure) for chart in view.charts()}
    record = {"charts": {name: _record(spec) for name, spec in specs.items()}, "notes": dict(view.notes),
              "units": (view.units or {}).get("version")}
    _take_ack(sent, ack)
    complete = (sent is None or sent["run"] != run or sent["need"] != need or sent["structure"] != structure
                or len(sent["records"]) > MAX_UNACKNOWLEDGED)
    head = _head(key, run, view)
    if complete:
        seq = 1 if sent is None else sent["seq"] + 1
        message = head | {"complete": True, "seq": seq, "base": None, "blocks": blocks,
                          "charts": {name: {"figure": spec} for name, spec in specs.items()},
                          "notes": dict(view.notes), "units": _units(view.units) if view.units else None}
        # the base of what follows: an element that missed it sees a gap, and asks
        feeds[key] = {"run": run, "need": need, "structure": structure, "seq": seq, "acked": seq,
                      "records": {seq: record}, "specs": specs, "message": message}
    elif record == sent["records"][sent["seq"]]:
        # nothing new: the last message again (the element has it, or still needs it), watched or not as now
        message = sent["message"] = sent["message"] | {"watchdog": head["watchdog"]}
    else:
        message = _update(sent, head, view, specs, record)
    feeds[key]["view"] = view
    _show(key, message)
    return message


def _head(key: str, run: str, view: View) -> dict:
    """What every message of ``view`` carries besides its charts: the library, the run, how it is drawn and
    how it is watched."""
    return {"library": library_path(), "run": run, "config": view.config, "width": browser_width(key),
            "live": view.live,
            "watchdog": WATCHDOG_SECONDS if view.live else BEHIND_SECONDS if view.watch else None}


def _take_ack(sent: dict | None, ack) -> None:
    """The element has drawn message ``ack``: what follows is sent as changes since it, and the records
    of the messages before it are dropped."""
    if sent is not None and ack is not None and sent["acked"] < ack <= sent["seq"] and ack in sent["records"]:
        sent["acked"] = ack
        sent["records"] = {seq: kept for seq, kept in sent["records"].items() if seq >= ack}


def _unchanged(sent: dict | None, view: View, run: str, need, ack) -> bool:
    """The very view last sent for this run, with nothing newly acknowledged: nothing to rebuild."""
    return (sent is not None and sent.get("view") is view and sent["run"] == run and sent["need"] == need
            and (ack is None or ack <= sent["acked"] or ack not in sent["records"]))


def _update(sent: dict, head: dict, view: View, specs: dict, record: dict) -> dict:
    """A message of what changed since the last acknowledged one (its ``base``), recorded in ``sent``."""
    seq, base = sent["seq"] + 1, sent["acked"]
    before = sent["records"][base]
    charts = {}
    for name, spec in specs.items():
        change = _chart_diff(spec, before["charts"][name])
        if change is not None:
            charts[name] = change
    notes = {k: v for k, v in view.notes.items() if before["notes"].get(k) != v}
    units = _units(view.units) if view.units and view.units.get("version") != before["units"] else None
    message = head | {"seq": seq, "base": base, "charts": charts, "notes": notes, "units": units}
    sent |= {"seq": seq, "specs": specs, "message": message}
    sent["records"][seq] = record
    return message


def _show(key: str, message: dict) -> None:
    _view(key=key, data=message, default={"width": None, "need": None, "ack": None, "nudge": None},
          on_width_change=_nothing, on_need_change=_nothing, on_ack_change=_nothing, on_nudge_change=_nothing)


def shown(key: str, state=None) -> dict[str, dict]:
    """The figures the element ``key`` shows now, by chart name, as JSON-able specs (the whole figures
    its messages add up to), from a session's state (``state``: AppTest's ``at.session_state``)."""
    state = st.session_state if state is None else state
    feeds = state[_FEEDS] if _FEEDS in state else {}
    return dict(feeds[key]["specs"]) if key in feeds else {}


def _nothing() -> None:
    """The state is read by the next rerun; nothing to do when it changes."""
