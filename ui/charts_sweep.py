"""Sweep's figures (no Streamlit calls here): test accuracy and cost against one varied setting, a
heatmap over two, parallel coordinates over more."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .charts_common import LAYOUT, log_axis


def _setting_axis(values) -> dict:
    """A log axis for positive numbers spanning over a decade and a half (ticked at the values swept,
    when there are few), else a plain one."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    wide = numbers and min(numbers) > 0 and max(numbers) / min(numbers) > 30
    return log_axis(numbers, exact=True) if wide else ({"type": "category"} if not numbers else {})


def sweep_line_figure(rows: list[dict], name: str, label: str) -> go.Figure:
    """Test accuracy and cost against one varied setting: each run a marker (diverged ones as red
    crosses at their kept model's figures), the mean over seeds of the runs that ended as a line."""
    figure = go.Figure()
    done = [r for r in rows if r["status"] != "diverged"]
    diverged = [r for r in rows if r["status"] == "diverged"]
    xs = sorted({r[name] for r in done}, key=lambda v: (isinstance(v, str), v))
    for metric, axis, colour in (("test_accuracy", "y", "#4f8bf9"), ("test_cost", "y2", "#f0883e")):
        means = [float(np.mean([r[metric] for r in done if r[name] == x])) for x in xs]
        figure.add_scatter(x=xs, y=means, name=f"{metric.replace('_', ' ')} (mean over seeds)", yaxis=axis,
                           mode="lines", line={"color": colour})
        figure.add_scatter(x=[r[name] for r in done], y=[r[metric] for r in done], yaxis=axis, mode="markers",
                           name=f"{metric.replace('_', ' ')}, each run", marker={"color": colour, "size": 7})
    if diverged:
        figure.add_scatter(x=[r[name] for r in diverged], y=[r["test_accuracy"] for r in diverged], mode="markers",
                           name="diverged", marker={"symbol": "x", "size": 12, "color": "#d62728"})
    figure.update_layout(title=f"Test figures by {label.lower()}", xaxis={"title": label, **_setting_axis([r[name] for r in rows])},
                         yaxis={"title": "test accuracy", "tickformat": ".1%"},
                         yaxis2={"title": "test cost", "overlaying": "y", "side": "right",
                                 **log_axis([r["test_cost"] for r in rows])}, **LAYOUT)
    return figure


def sweep_heatmap_figure(rows: list[dict], names: tuple[str, str], labels: tuple[str, str]) -> go.Figure:
    """Mean test accuracy over seeds for each pair of values of two varied settings; a cell whose runs
    all diverged says so."""
    xs = sorted({r[names[0]] for r in rows}, key=lambda v: (isinstance(v, str), v))
    ys = sorted({r[names[1]] for r in rows}, key=lambda v: (isinstance(v, str), v))
    z, text = [], []
    for y in ys:
        cells = [[r for r in rows if r[names[0]] == x and r[names[1]] == y] for x in xs]
        ok = [[r for r in cell if r["status"] != "diverged"] for cell in cells]
        z.append([float(np.mean([r["test_accuracy"] for r in good])) if good else None for good in ok])
        text.append([f"{value:.2%}" if value is not None else ("diverged" if cell else "") for value, cell
                     in zip(z[-1], cells)])
    figure = go.Figure(go.Heatmap(z=z, x=[str(x) for x in xs], y=[str(y) for y in ys], text=text,
                                  texttemplate="%{text}", colorscale="Blues", colorbar={"tickformat": ".0%"},
                                  hovertemplate=f"{labels[0]} %{{x}}, {labels[1]} %{{y}}: %{{text}}<extra></extra>"))
    figure.update_layout(title="Mean test accuracy", xaxis={"title": labels[0], "type": "category"},
                         yaxis={"title": labels[1], "type": "category"}, height=420,
                         margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure


def sweep_parallel_figure(rows: list[dict], names: list[str], labels: list[str]) -> go.Figure:
    """Every run as a line through its varied settings, its seed, its test cost and accuracy;
    coloured by accuracy, diverged runs at the bottom of the accuracy axis."""
    dimensions = []
    for name, label in zip(names + ["seed"], labels + ["seed"]):
        values = [r[name] for r in rows]
        if all(isinstance(v, str) for v in values):
            choices = sorted(set(values))
            dimensions.append({"label": label, "values": [choices.index(v) for v in values],
                               "tickvals": list(range(len(choices))), "ticktext": choices})
        else:
            dimensions.append({"label": label, "values": values})
    accuracy = [r["test_accuracy"] if r["status"] != "diverged" else 0.0 for r in rows]
    dimensions += [{"label": "test cost", "values": [r["test_cost"] for r in rows]},
                   {"label": "test accuracy (diverged: 0)", "values": accuracy, "range": [0, 1]}]
    figure = go.Figure(go.Parcoords(line={"color": accuracy, "colorscale": "Viridis", "cmin": 0, "cmax": 1,
                                          "showscale": True}, dimensions=dimensions))
    # the top margin leaves room for the axes' names under the title
    figure.update_layout(title="All runs", height=420, margin={"l": 40, "r": 40, "t": 100, "b": 20})
    return figure
