"""Plotly pieces every page shares (no Streamlit calls here): the toolbar-free config, the common
layout, the batch costs' moving mean, the log axis, a chart's selection and the ten-digit probability
bars (Draw and Inside). Each page's own figures are in its module: ui/charts_train.py (Train and its
history), ui/charts_evaluate.py, ui/charts_sweep.py, ui/inside_charts.py; Compare's are in ui/compare.py.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

PLOT_CONFIG = {"displayModeBar": False}  # every chart of the app: no Plotly toolbar over the figure
# Legend under the plot, clear of the axis title, so the plot keeps its full width.
# Legend under the plot, clear of the axis title, so the plot keeps its full width.
LAYOUT = {"height": 360, "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
          "legend": {"orientation": "h", "yanchor": "top", "y": -0.22}}


def smoothed_batch_costs(batch_costs, batches_per_epoch: int, max_points: int = 400) -> tuple[list, list]:
    """Batch costs (n,) as (x in epochs, moving mean) with at most ``max_points`` points.

    The window is a tenth of an epoch (at least one batch): long enough to calm the noise of single
    batches, short enough to show the fast drop in the first epoch. Point i sits at the end of its
    window, so x = (i + 1) / batches_per_epoch.
    """
    costs = np.asarray(batch_costs, np.float64)
    n = len(costs)
    if n == 0:
        return [], []
    window = min(n, max(1, batches_per_epoch // 10))
    sums = np.cumsum(np.concatenate([[0.0], costs]))
    means = (sums[window:] - sums[:-window]) / window  # (n - window + 1,) mean of each window
    ends = np.arange(window, n + 1)  # batches done at each mean
    step = max(1, -(-len(means) // max_points))
    keep = np.unique(np.append(np.arange(0, len(means), step), len(means) - 1))  # always the newest
    return (ends[keep] / batches_per_epoch).tolist(), means[keep].tolist()


MANTISSAS = ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1, 3), (1,))  # tick sets per decade, densest first


def tick_label(value: float) -> str:
    """A log axis's tick as a plain number ("0.05", "2", "1000"), powers of ten beyond that ("1e-5")."""
    if 1e-4 <= value < 1e5:
        return f"{value:.6f}".rstrip("0").rstrip(".") if value < 1 else f"{value:.0f}"
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def log_axis(values, max_ticks: int = 7, exact: bool = False) -> dict:
    """A log axis over the positive finite ``values``, labelled with plain numbers at explicit ticks
    (Plotly's own log ticks label minor ticks by their first digit alone, "2", "5", "8 9"): the
    densest of 1-9, 1-2-5, 1-3 or 1 per decade (then every n-th decade) that puts at most
    ``max_ticks`` ticks within the values' span. With ``exact`` and at most ``max_ticks`` distinct
    values (a sweep's settings), the ticks are the values themselves."""
    positive = sorted({float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
                       and np.isfinite(v) and v > 0})
    axis = {"type": "log", "tickmode": "array"}
    if not positive:
        return {"type": "log", "dtick": 1}  # nothing to show yet: decades
    if exact and len(positive) <= max_ticks:
        return {**axis, "tickvals": positive, "ticktext": [tick_label(v) for v in positive]}
    low, high = positive[0], positive[-1]
    first, last = int(np.floor(np.log10(low))), int(np.ceil(np.log10(high)))
    for mantissas in MANTISSAS:
        ticks = [float(f"{m}e{e}") for e in range(first, last + 1) for m in mantissas]
        if sum(low <= t <= high for t in ticks) <= max_ticks:
            break
    else:  # decades alone are too many: every n-th decade
        step = -(-(last - first + 1) // max_ticks)
        ticks = [float(f"1e{e}") for e in range(first - first % step, last + 1, step)]
    # one tick beyond each end, for the axis's padding; the rest within the span
    inside = [t for t in ticks if low <= t <= high]
    below, above = [t for t in ticks if t < low][-1:], [t for t in ticks if t > high][:1]
    ticks = below + inside + above
    return {**axis, "tickvals": ticks, "ticktext": [tick_label(t) for t in ticks]}


def selected_points(chart) -> list | None:
    """The points of a Plotly chart's selection state (the browser's JSON: any shape), else None."""
    try:
        return chart["selection"]["points"]
    except (KeyError, TypeError, IndexError):
        return None


def probability_figure(probabilities: np.ndarray, predicted: int, names: list[str] | None = None) -> go.Figure:
    """Bar chart of the softmax outputs (C,), the predicted class highlighted; ``names`` the classes' tick
    labels (escaped for Plotly: ui.datasets.chart_names), else their numbers (MNIST's digits)."""
    classes = list(range(len(probabilities)))
    names = [str(k) for k in classes] if names is None else list(names)
    colours = ["#4f8bf9" if k == predicted else "#6b7280" for k in classes]
    figure = go.Figure(go.Bar(x=classes, y=probabilities, marker_color=colours, customdata=names,
                              text=[f"{p:.0%}" for p in probabilities], textposition="outside",
                              hovertemplate="%{customdata}: %{y:.1%}<extra></extra>"))
    figure.update_layout(height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False,
                         xaxis={"tickmode": "array", "tickvals": classes, "ticktext": names, "title": "class"},
                         yaxis={"range": [0, 1.15], "tickformat": ".0%", "title": "probability"},
                         title="What the network thinks")
    return figure
