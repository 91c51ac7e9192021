"""The network's health, per layer and per epoch, as Plotly figures, and the section that shows them
(Train, live and for an ended run; Evaluate, for the active model).

Every ``EpochStats`` carries a ``nn_core.health.Health``: the share of saturated (or dead) units per
hidden layer, the gradient norm per weight matrix, the distinct units per hidden layer and each
weight matrix's quantiles. Four figures, each with its one-sentence help (``health.HELP``):
saturation, gradient norms (log y), distinct units, and the weights' distribution over the epochs
(one small plot per weight matrix: the median and bands between quantiles, TensorBoard's
"distributions").
"""

from __future__ import annotations

from functools import lru_cache

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from nn_core import EpochStats, Hyperparams, health
from nn_core.model import weight_names

from .charts_common import PLOT_CONFIG, log_axis
from .livechart import figure_spec

HEIGHT = 300  # px, each of the three line charts
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
MEDIAN_COLOUR = "#ff7f0e"  # orange: stands out from the blue bands on light and dark themes
LEGEND = {"orientation": "h", "yanchor": "top", "y": -0.4}  # under the axis title
# The weights' bands, widest first: indices into health.QUANTILES, and the share of weights each holds.
BANDS = ((0, 8, "all"), (1, 7, "87%"), (2, 6, "68%"), (3, 5, "38%"))
MEDIAN = 4
BAND_OPACITY = (0.15, 0.25, 0.35, 0.5)
BAND_COLOUR = "31, 119, 180"  # Plotly's first colour, as "r, g, b"
# The figures in the order they are shown, with their help's key in health.HELP.
FIGURES = ("saturated", "grad_norm", "distinct_units", "weights")


def measured(epochs: list[EpochStats]) -> list[EpochStats]:
    """The epochs that carry health figures (all of a run trained in this app)."""
    return [stats for stats in epochs if stats.health is not None]


def layer_names(layers: int) -> list[str]:
    return [f"layer {k}" for k in range(1, layers + 1)]


def _epoch_axis(hparams: Hyperparams) -> dict:
    """Whole epochs from 1 to the run's last (a run that ends early keeps its planned axis)."""
    return {"title": "epoch", "range": [0.7, max(hparams.epochs, 1) + 0.3], "dtick": 1 if hparams.epochs <= 12 else None}


def _layout(figure: go.Figure, title: str, hparams: Hyperparams, **axes) -> go.Figure:
    figure.update_layout(title=title, xaxis=_epoch_axis(hparams), height=HEIGHT, margin=MARGIN, legend=LEGEND,
                         **axes)
    return figure


def _mode(epochs) -> str:
    return "lines+markers" if len(epochs) < 30 else "lines"


def saturated_figure(epochs: list[EpochStats], hparams: Hyperparams) -> go.Figure:
    """Per hidden layer, the share of saturated (sigmoid, tanh) or dead (ReLU) units after each epoch."""
    epochs = measured(epochs)
    figure = go.Figure()
    x = [stats.epoch for stats in epochs]
    for k, name in enumerate(layer_names(hparams.layers)):
        figure.add_scatter(x=x, y=[stats.health.saturated[k] for stats in epochs], name=name, mode=_mode(x))
    title = "Dead units" if hparams.activation == "relu" else "Saturated units"
    return _layout(figure, title, hparams, yaxis={"title": "share of units", "tickformat": ".0%", "range": [0, 1.02]})


def grad_norm_figure(epochs: list[EpochStats], hparams: Hyperparams) -> go.Figure:
    """Per weight matrix, the epoch's mean gradient norm; log y, ticks labelled as plain numbers."""
    epochs = measured(epochs)
    figure = go.Figure()
    x = [stats.epoch for stats in epochs]
    shown = []
    for k, name in enumerate(weight_names(hparams.layers)):
        # a zero norm (no gradient at all) has no place on a log axis: a gap
        y = [stats.health.grad_norm[k] if stats.health.grad_norm[k] > 0 else None for stats in epochs]
        shown += [value for value in y if value is not None]
        figure.add_scatter(x=x, y=y, name=name, mode=_mode(x))
    return _layout(figure, "Gradient norm", hparams,
                   yaxis={"title": "gradient norm (log scale)", **log_axis(shown, max_ticks=5)})


def distinct_units_figure(epochs: list[EpochStats], hparams: Hyperparams) -> go.Figure:
    """Per hidden layer, how many distinct units it holds after each epoch, against its width."""
    epochs = measured(epochs)
    figure = go.Figure()
    x = [stats.epoch for stats in epochs]
    for k, name in enumerate(layer_names(hparams.layers)):
        figure.add_scatter(x=x, y=[stats.health.distinct_units[k] for stats in epochs], name=name, mode=_mode(x))
    width = hparams.hidden_units
    figure.add_hline(y=width, line={"dash": "dash", "color": "#909090", "width": 1.5},
                     annotation_text=f"width {width}", annotation_position="bottom right")
    return _layout(figure, "Distinct units", hparams,
                   yaxis={"title": "distinct units", "range": [0, width * 1.08], "rangemode": "tozero"})


def weights_figure(epochs: list[EpochStats], hparams: Hyperparams) -> go.Figure:
    """One small plot per weight matrix: its weights' median after each epoch and the bands between
    quantiles (all of them, 87%, 68%, 38%), darker towards the middle."""
    epochs = measured(epochs)
    names = weight_names(hparams.layers)
    H = hparams.hidden_units
    shapes = [784] + [H] * hparams.layers + [10]
    titles = [f"{name} ({fan_in}×{fan_out})" for name, fan_in, fan_out in zip(names, shapes[:-1], shapes[1:])]
    figure = make_subplots(rows=1, cols=len(names), subplot_titles=titles, horizontal_spacing=0.06)
    x = [stats.epoch for stats in epochs]
    for k in range(len(names)):
        column = k + 1
        quantiles = [stats.health.weight_quantiles[k] for stats in epochs]
        for (low, high, share), opacity in zip(BANDS, BAND_OPACITY):
            fill = f"rgba({BAND_COLOUR}, {opacity})"
            common = {"x": x, "mode": "lines", "line": {"width": 0}, "legendgroup": share, "hoverinfo": "skip"}
            figure.add_scatter(y=[q[low] for q in quantiles], showlegend=False, row=1, col=column, **common)
            figure.add_scatter(y=[q[high] for q in quantiles], fill="tonexty", fillcolor=fill, name=f"{share} of weights",
                               showlegend=k == 0, row=1, col=column, **common)
        figure.add_scatter(x=x, y=[q[MEDIAN] for q in quantiles], name="median", mode=_mode(x), legendgroup="median",
                           line={"color": MEDIAN_COLOUR, "width": 2}, marker={"size": 4},
                           showlegend=k == 0, row=1, col=column)
        figure.update_xaxes(_epoch_axis(hparams) | {"title": "epoch" if k == 0 else None}, row=1, col=column)
    # the title above the small plots' own titles
    figure.update_layout(title={"text": "Weights over the epochs", "y": 0.98, "yanchor": "top"}, height=HEIGHT + 30,
                         margin={**MARGIN, "t": 75}, legend={**LEGEND, "y": -0.3})
    figure.update_yaxes(title_text="weight", row=1, col=1)
    return figure


BUILDERS = {"saturated": saturated_figure, "grad_norm": grad_norm_figure, "distinct_units": distinct_units_figure,
            "weights": weights_figure}


def health_figures(epochs: list[EpochStats], hparams: Hyperparams) -> dict[str, go.Figure]:
    """The four figures by name (see FIGURES), for the epochs so far."""
    return {name: BUILDERS[name](epochs, hparams) for name in FIGURES}


@lru_cache(maxsize=32)
def _live_specs(epochs: tuple[EpochStats, ...], hparams: Hyperparams) -> dict[str, dict]:
    """The figures as JSON-able specs, made once per (epochs so far, settings): a live run's page
    redraws every second or so, and its health changes only when an epoch ends (building the four
    Plotly figures takes ~80 ms of the server)."""
    return {name: figure_spec(figure) for name, figure in health_figures(list(epochs), hparams).items()}


def health_section(epochs: list[EpochStats], hparams: Hyperparams) -> None:
    """The network's health (Evaluate; Train draws the same figures in its live view, see
    ui.training.health_blocks): three line charts side by side, the weights' distribution under them,
    each with its help."""
    st.subheader("Network health")
    if not measured(epochs):
        st.caption("No epoch of this run ended, so there are no health figures.")
        return
    figures = health_figures(epochs, hparams)
    columns = st.columns(3)
    for name, column in zip(FIGURES[:3], columns):
        with column:
            st.plotly_chart(figures[name], config=PLOT_CONFIG, key=f"health_{name}")
            st.caption(health.HELP[name])
    st.plotly_chart(figures["weights"], config=PLOT_CONFIG, key="health_weights")
    st.caption(health.HELP["weights"])
