"""Evaluate's figures (no Streamlit calls here): a run's cost per epoch and the confusion matrix, with
the click on one of its cells read back."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nn_core import RunResult


def epoch_curves_figure(run: RunResult, title: str = "Cost per epoch") -> go.Figure:
    """Train and test cost of one run per epoch, test accuracy on a second axis."""
    epochs = [stats.epoch for stats in run.epochs]
    figure = go.Figure()
    figure.add_scatter(x=epochs, y=[h.train_cost for h in run.epochs], name="train cost", mode="lines+markers")
    figure.add_scatter(x=epochs, y=[h.test_cost for h in run.epochs], name="test cost", mode="lines+markers")
    figure.add_scatter(x=epochs, y=[h.test_accuracy for h in run.epochs], name="test accuracy",
                       mode="lines+markers", yaxis="y2", line={"dash": "dot"})
    figure.update_layout(title=title, xaxis_title="epoch", yaxis_title="cross-entropy",
                         yaxis2={"title": "accuracy", "overlaying": "y", "side": "right", "tickformat": ".1%"},
                         height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h"})
    return figure


def confusion_figure(counts, show_rates: bool = False, selected: tuple[int, int] | None = None,
                     names: list[str] | None = None, noun: str = "digit") -> go.Figure:
    """CxC confusion heatmap: y = true class (the first at top), x = predicted class; counts in the cells.

    ``counts`` (C, C) ints; ``names`` the C classes' tick labels (escaped for Plotly), else their numbers;
    ``noun`` what a class is called in the axes' titles. With ``show_rates`` the cells hold row-normalised rates instead.
    The colour scale tops out at the largest mistake, so the diagonal saturates and the mistakes
    stay visible. Plotly heatmaps send no selection events to Streamlit, so an invisible marker
    sits on each cell's centre: clicking a cell selects its marker (x = predicted, y = true).
    ``selected`` (true, predicted) is outlined.
    """
    counts = np.asarray(counts)
    support = counts.sum(axis=1, keepdims=True)
    rates = counts / np.maximum(support, 1)
    values = rates if show_rates else counts
    n = len(counts)
    classes = list(range(n))
    names = [str(k) for k in classes] if names is None else list(names)
    off_diagonal = values[~np.eye(n, dtype=bool)]
    top = float(off_diagonal.max()) if off_diagonal.max() > 0 else float(values.max() or 1)
    text = [[(f"{r:.1%}" if c else "0") if show_rates else f"{c:d}" for c, r in zip(count_row, rate_row)]
            for count_row, rate_row in zip(counts, rates)]  # (C, C) labels written in the cells
    figure = go.Figure()
    figure.add_heatmap(z=values, x=classes, y=classes, text=text, texttemplate="%{text}", zmin=0, zmax=top,
                       colorscale="Blues", hoverinfo="skip", xgap=1, ygap=1,
                       colorbar={"title": "rate" if show_rates else "count",
                                 "tickformat": ".1%" if show_rates else "d"})
    _add_cell_markers(figure, counts, rates, names)
    if selected is not None:
        true_class, predicted_class = selected
        figure.add_shape(type="rect", x0=predicted_class - 0.5, x1=predicted_class + 0.5, y0=true_class - 0.5,
                         y1=true_class + 0.5, line={"color": "#d62728", "width": 3})
    axis = {"tickmode": "array", "tickvals": classes, "ticktext": names, "showgrid": False, "zeroline": False}
    figure.update_layout(
        title="Confusion matrix", height=460 if n <= 12 else min(460 + 20 * (n - 12), 1200),
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, clickmode="event+select",
        # fixed ranges: the cells fill the plot area exactly (the markers would otherwise pad it)
        xaxis={"title": f"predicted {noun}", "range": [-0.5, n - 0.5], **axis},
        yaxis={"title": f"true {noun}", "range": [n - 0.5, -0.5], **axis})
    return figure


def _add_cell_markers(figure: go.Figure, counts: np.ndarray, rates: np.ndarray, names: list[str]) -> None:
    """An invisible, clickable marker on each cell's centre (x = predicted, y = true), with its hover text."""
    classes = list(range(len(counts)))
    true_grid, predicted_grid = np.meshgrid(classes, classes, indexing="ij")  # (C, C) each, row = true
    labels = np.asarray(names, dtype=object)
    figure.add_scatter(
        x=predicted_grid.ravel(), y=true_grid.ravel(), mode="markers", showlegend=False,
        customdata=np.stack([counts.ravel(), rates.ravel(), labels[true_grid.ravel()], labels[predicted_grid.ravel()]],
                            axis=1),
        marker={"symbol": "square", "size": max(8, 300 // len(classes)), "color": "rgba(0,0,0,0)"},
        hovertemplate="true %{customdata[2]}, predicted %{customdata[3]}: %{customdata[0]} images "
                      "(%{customdata[1]:.1%} of the true %{customdata[2]})<extra>click to see them</extra>")


def cell_from_selection(points: list[dict], classes: int = 10) -> tuple[int, int] | None:
    """(true, predicted) of the first clicked confusion cell in a Plotly selection, else None.

    The page draws the heatmap's x as predicted class and y as true class (``classes`` of them), so a point's x/y
    are the cell (heatmap clicks arrive through an invisible marker at each cell's centre).
    """
    if not isinstance(points, list):  # the selection is the browser's JSON: any shape at all
        return None
    for point in points:
        if not isinstance(point, dict):
            continue
        x, y = point.get("x"), point.get("y")
        if x is None or y is None:
            continue
        try:
            predicted_class, true_class = int(round(float(x))), int(round(float(y)))
        except (TypeError, ValueError, OverflowError):  # OverflowError: x "1e999" is infinite
            continue
        if 0 <= true_class < classes and 0 <= predicted_class < classes:
            return true_class, predicted_class
    return None
