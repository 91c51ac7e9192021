"""The learning-rate schedule drawn under the settings before a run: the rate of every batch."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from nn_core import Hyperparams
from nn_core.schedules import curve, describe
from nn_core.trainset import batches_per_epoch


def schedule_figure(values: dict) -> go.Figure:
    per_epoch = batches_per_epoch(Hyperparams(**values))
    total = per_epoch * values["epochs"]
    ts, factors = curve(values["schedule"], per_epoch, total, decay=values["lr_decay"],
                        step_epochs=values["step_epochs"], warmup=values["warmup"])
    fig = go.Figure(go.Scatter(x=ts / per_epoch, y=factors * values["learning_rate"], mode="lines",
                               line={"color": "#636efa"}, hovertemplate="epoch %{x:.2f}: rate %{y:.3g}<extra></extra>"))
    fig.update_xaxes(title="epoch", range=[0, values["epochs"]])
    fig.update_yaxes(title="learning rate", rangemode="tozero")
    fig.update_layout(height=180, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


def schedule_preview(values: dict) -> None:
    """The chart and one line in words, for a schedule other than the post's constant rate."""
    if values["schedule"] == "constant":
        st.caption("The post's constant rate: every batch steps with the learning rate above.")
        return
    st.caption(f"This run: {describe(values['schedule'], values['lr_decay'], values['step_epochs'], values['warmup'])}"
               f", from {values['learning_rate']:g}.")
    st.plotly_chart(schedule_figure(values), config={"displayModeBar": False}, key="schedule_preview")


def rates(hparams, changes, batches_per_epoch: int, points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(batch numbers, the learning rate each stepped with) over the planned run: the schedule's factor
    times the rate in effect (the settings', or as changed from a change's batch on)."""
    total = batches_per_epoch * hparams.epochs
    ts, factors = curve(hparams.schedule, batches_per_epoch, total, points, decay=hparams.lr_decay,
                        step_epochs=hparams.step_epochs, warmup=hparams.warmup)
    base = np.full(len(ts), hparams.learning_rate)
    for change in changes:
        if change.name == "learning_rate":
            base[ts >= change.batch] = change.value
    return ts, base * factors


def add_rate_trace(figure: go.Figure, hparams, changes, batches_per_epoch: int) -> None:
    """The scheduled learning rate over the cost chart's batch axis, on an axis of its own at the right
    (a run at the post's constant rate gets nothing: its chart stays as it was)."""
    if hparams.schedule == "constant":
        return
    ts, values = rates(hparams, changes, batches_per_epoch)
    figure.add_scatter(x=ts / batches_per_epoch, y=values, yaxis="y2", mode="lines", name="learning rate",
                       line={"color": "rgba(128, 128, 128, 0.7)", "dash": "dot", "width": 1.5},
                       hovertemplate="epoch %{x:.2f}: learning rate %{y:.3g}<extra></extra>")
    figure.update_layout(yaxis2={"title": f"learning rate ({hparams.schedule})", "overlaying": "y", "side": "right",
                                 "rangemode": "tozero", "showgrid": False})
