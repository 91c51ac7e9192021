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
