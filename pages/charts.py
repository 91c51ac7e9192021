"""Plotly figures shared by the pages (no Streamlit calls here)."""

from __future__ import annotations

import plotly.graph_objects as go

from nn_core import RunResult

# The seed post's printed test cost after each of its 9 epochs (lr 4, beta 0.9, batch 128, 64 sigmoid units).
POST_TEST_COST = [0.16223940981168986, 0.11032242938356147, 0.0958078559246339, 0.1010270024817398,
                  0.09527116695490956, 0.08268937190759178, 0.08188431384719108, 0.08675249924246693,
                  0.08023754855128316]


def epoch_curves_figure(run: RunResult, title: str = "Cost per epoch") -> go.Figure:
    """Train and test cost of one run per epoch, test accuracy on a second axis."""
    epochs = [h.epoch for h in run.history]
    figure = go.Figure()
    figure.add_scatter(x=epochs, y=[h.train_cost for h in run.history], name="train cost", mode="lines+markers")
    figure.add_scatter(x=epochs, y=[h.test_cost for h in run.history], name="test cost", mode="lines+markers")
    figure.add_scatter(x=epochs, y=[h.test_accuracy for h in run.history], name="test accuracy",
                       mode="lines+markers", yaxis="y2", line={"dash": "dot"})
    figure.update_layout(title=title, xaxis_title="epoch", yaxis_title="cross-entropy",
                         yaxis2={"title": "accuracy", "overlaying": "y", "side": "right", "tickformat": ".1%"},
                         height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h"})
    return figure


def confusion_figure(counts, show_rates: bool = False, selected: tuple[int, int] | None = None) -> go.Figure:
    """10x10 confusion heatmap: y = true digit (0 at top), x = predicted digit; counts in the cells.

    ``counts`` (10, 10) ints. With ``show_rates`` the cells hold row-normalised rates instead.
    The colour scale tops out at the largest mistake, so the diagonal saturates and the mistakes
    stay visible. Plotly heatmaps send no selection events to Streamlit, so an invisible marker
    sits on each cell's centre: clicking a cell selects its marker (x = predicted, y = true).
    ``selected`` (true, predicted) is outlined.
    """
    import numpy as np

    counts = np.asarray(counts)
    support = counts.sum(axis=1, keepdims=True)
    rates = counts / np.maximum(support, 1)
    values = rates if show_rates else counts
    off_diagonal = values[~np.eye(10, dtype=bool)]
    top = float(off_diagonal.max()) if off_diagonal.max() > 0 else float(values.max() or 1)
    text = [[f"{r:.1%}" if show_rates else f"{c:d}" for c, r in zip(crow, rrow)] for crow, rrow in zip(counts, rates)]
    digits = list(range(10))
    figure = go.Figure()
    figure.add_heatmap(z=values, x=digits, y=digits, text=text, texttemplate="%{text}", zmin=0, zmax=top,
                       colorscale="Blues", hoverinfo="skip", xgap=1, ygap=1,
                       colorbar={"title": "rate" if show_rates else "count", "tickformat": ".0%" if show_rates else "d"})
    true_grid, predicted_grid = np.meshgrid(digits, digits, indexing="ij")  # (10, 10) each, row = true
    figure.add_scatter(
        x=predicted_grid.ravel(), y=true_grid.ravel(), mode="markers", showlegend=False,
        customdata=np.stack([counts.ravel(), rates.ravel()], axis=1),
        marker={"symbol": "square", "size": 30, "color": "rgba(0,0,0,0)"},
        hovertemplate="true %{y}, predicted %{x}: %{customdata[0]} images (%{customdata[1]:.1%} of the %{y}s)"
                      "<extra>click to see them</extra>")
    if selected is not None:
        true_digit, predicted_digit = selected
        figure.add_shape(type="rect", x0=predicted_digit - 0.5, x1=predicted_digit + 0.5, y0=true_digit - 0.5,
                         y1=true_digit + 0.5, line={"color": "#d62728", "width": 3})
    figure.update_layout(
        title="Confusion matrix (rows: true digit, columns: predicted)", height=460,
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, clickmode="event+select",
        xaxis={"title": "predicted digit", "tickmode": "array", "tickvals": digits, "constrain": "domain"},
        yaxis={"title": "true digit", "tickmode": "array", "tickvals": digits, "autorange": "reversed",
               "scaleanchor": "x"})
    return figure
