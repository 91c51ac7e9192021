"""The Inside page's own charts: a layer's matrix with its units named on both axes, and the optimizer's
history (each layer's norms, a few weights' values) for any depth and optimizer.

Kept apart from ``ui.charts_common`` (shared by every page): these know the Inside run's kinds (the gradient,
the optimizer's state arrays, the update) and nothing else.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .charts_common import LAYOUT

SIGNED_SCALE = [[0.0, "#2166ac"], [0.5, "#ffffff"], [1.0, "#b2182b"]]  # blue, white at 0, red (as diverging_rgb)
STEP_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}}

# The kinds' styles: the gradient grey and dotted, the optimizer's first state array solid blue (momentum's
# V, Adam's M), its second solid green (Adam's V), the update dashed orange.
KIND_STYLE = {"gradient": ("#9ca3af", "dot", 1), "state0": ("#4f8bf9", "solid", 2), "state1": ("#2ca02c", "solid", 2),
              "update": ("#f0883e", "dash", 1)}


def kind_style(kind: str, kinds: tuple[str, ...]) -> tuple[str, str, int]:
    """(colour, dash, width) of a kind, the state arrays styled by their position."""
    if kind in ("gradient", "update"):
        return KIND_STYLE[kind]
    states = [k for k in kinds if k not in ("gradient", "update")]
    return KIND_STYLE[f"state{states.index(kind)}"]


def layer_matrix_figure(values: np.ndarray, title: str, rows: str, columns: str, row_labels=None,
                        column_labels=None, height: int = 300) -> go.Figure:
    """One matrix (r, c) as a heatmap, row 0 at the top, signed values blue-white-red around 0 (others
    on blues); ``row_labels`` (r,) and ``column_labels`` (c,) name the rows and columns (the units shown)."""
    values = np.asarray(values)
    signed = bool(values.size) and float(np.nanmin(values)) < 0
    limit = float(np.nanmax(np.abs(values))) if values.size else 1.0
    colours = {"colorscale": SIGNED_SCALE, "zmin": -limit, "zmax": limit} if signed else {"colorscale": "Blues"}
    x = list(range(values.shape[1])) if column_labels is None else list(column_labels)
    y = list(range(values.shape[0])) if row_labels is None else list(row_labels)
    figure = go.Figure(go.Heatmap(z=values, x=x, y=y, **colours,
                                  hovertemplate=f"{rows} %{{y}}, {columns} %{{x}}: %{{z:.4g}}<extra></extra>"))
    figure.update_layout(title=title, height=height, xaxis={"title": columns},
                         yaxis={"title": rows, "autorange": "reversed"}, **STEP_LAYOUT)
    return figure


def _panels(count: int, columns: int) -> list[tuple[dict, dict, str]]:
    """Domains of ``count`` small panels in a grid: (x domain, y domain, axis suffix) each."""
    rows = -(-count // columns)
    panels = []
    for i in range(count):
        row, column = divmod(i, columns)
        x_domain = [column / columns + 0.08, (column + 1) / columns - 0.01]  # room for the y ticks' labels
        y_domain = [1 - (row + 1) / rows + 0.1, 1 - row / rows - 0.08]  # room for the x ticks and the title
        panels.append((x_domain, y_domain, "" if i == 0 else str(i + 1)))
    return panels


def _small_multiples(title: str, series: list[tuple[str, list[dict]]], columns: int, height: int,
                     y_axis: dict) -> go.Figure:
    """One figure of small panels (built in one call: a figure grown trace by trace takes ~2 ms a trace)."""
    traces, layout, notes = [], {}, []
    for (label, panel_traces), (x_domain, y_domain, axis) in zip(series, _panels(len(series), columns)):
        traces += [{**trace, "xaxis": f"x{axis}", "yaxis": f"y{axis}"} for trace in panel_traces]
        layout[f"xaxis{axis}"] = {"domain": x_domain, "anchor": f"y{axis}"}
        layout[f"yaxis{axis}"] = {"domain": y_domain, "anchor": f"x{axis}", **y_axis}
        notes.append({"text": label, "x": sum(x_domain) / 2, "y": y_domain[1], "xref": "paper", "yref": "paper",
                      "yanchor": "bottom", "showarrow": False})
    return go.Figure(traces, {"title": title, "annotations": notes, **layout, **{**LAYOUT, "height": height}})


def _kind_traces(steps: np.ndarray, series: np.ndarray, kinds: tuple[str, ...], symbols: dict[str, str],
                 first: bool, what: str) -> list[dict]:
    traces = []
    for k, kind in enumerate(kinds):
        colour, dash, width = kind_style(kind, kinds)
        traces.append({"type": "scatter", "x": steps, "y": series[:, k], "name": symbols[kind], "legendgroup": kind,
                       "showlegend": first, "mode": "lines", "line": {"color": colour, "dash": dash, "width": width},
                       "hovertemplate": f"{what} {symbols[kind]}, step %{{x}}: %{{y:.3g}}<extra></extra>"})
    return traces


def norms_figure(steps: np.ndarray, norms: np.ndarray, kinds: tuple[str, ...], symbols: dict[str, str]) -> go.Figure:
    """Norms (n, layers, kinds) over the last steps: a panel per layer (W_l and b_l together), a line per
    kind, log y. Traces in order layer by layer, kind by kind."""
    layers = norms.shape[1]
    series = [(f"layer {l + 1}" + (" (output)" if l == layers - 1 else ""),
               _kind_traces(steps, norms[:, l], kinds, symbols, l == 0, f"‖·‖ layer {l + 1}"))
              for l in range(layers)]
    columns = min(layers, 3)
    return _small_multiples("Norms over the last steps, per layer", series, columns,
                            height=300 + 200 * (-(-layers // columns) - 1),
                            y_axis={"type": "log", "dtick": 1, "exponentformat": "power"})


def chosen_weights_figure(steps: np.ndarray, values: np.ndarray, labels: list[str], kinds: tuple[str, ...],
                          symbols: dict[str, str], columns: int = 3) -> go.Figure:
    """Small multiples, a panel per weight: its gradient, the optimizer's state and the update (n, k, kinds)."""
    series = [(label, _kind_traces(steps, values[:, i], kinds, symbols, i == 0, label)) for i, label in enumerate(labels)]
    rows = -(-len(labels) // columns)
    return _small_multiples("A few weights over the last steps", series, columns, height=160 + 140 * rows,
                            y_axis={"tickformat": ".0e", "nticks": 3})


def vector_figure(values: np.ndarray, title: str, labels=None, x_title: str = "", height: int = 220) -> go.Figure:
    """A vector (n,) as bars (a bias gradient), red up, blue down."""
    values = np.asarray(values)
    colours = np.where(values >= 0, "#b2182b", "#2166ac")
    figure = go.Figure(go.Bar(x=list(range(len(values))) if labels is None else list(labels), y=values,
                              marker_color=colours, hovertemplate="%{x}: %{y:.4g}<extra></extra>"))
    figure.update_layout(title=title, height=height, xaxis={"title": x_title}, showlegend=False, **STEP_LAYOUT)
    return figure
