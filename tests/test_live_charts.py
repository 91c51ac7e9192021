"""The live chart's parts that run without a browser: the batch-cost line downsampled to a chart's
width, log axes labelled with plain numbers, a figure made JSON for the element, plotly.js served
from the plotly package."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from nn_core import Hyperparams
from ui.charts_common import log_axis, smoothed_batch_costs, tick_label
from ui.charts_sweep import sweep_line_figure
from ui.charts_train import training_cost_figure
from ui.livechart import PLOTLY_FOLDER, figure_spec

BARE_MINOR_TICK = re.compile(r"^\d( \d)*$")  # what Plotly's own log axis writes between decades: "5", "8 9"


@pytest.mark.parametrize("width", [50, 300, 601])
def test_the_batch_cost_line_is_downsampled_to_the_charts_width(width):
    costs = np.linspace(2.3, 0.05, 4221)  # a default run's 4,221 batches
    x, y = smoothed_batch_costs(costs, batches_per_epoch=469, max_points=width)
    assert len(x) == len(y) <= width + 1  # one point per pixel, and the newest
    assert x[-1] == 4221 / 469 and x == sorted(x)
    assert y[-1] == pytest.approx(costs[-46:].mean())  # the newest window's mean (window 46 batches)
    figure = training_cost_figure([], costs, 469, Hyperparams(), max_points=width)
    assert len(figure.data[0].x) <= width + 1


def test_a_short_line_is_not_thinned():
    x, y = smoothed_batch_costs(np.arange(30.0), batches_per_epoch=10, max_points=600)
    assert len(x) == 30 and y == list(range(30))


@pytest.mark.parametrize("values, expected", [
    ([0.031, 2.4], ["0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "5"]),  # a run's costs: 1-2-5 a decade
    ([0.06, 0.09], ["0.05", "0.06", "0.07", "0.08", "0.09", "0.1"]),  # a narrow span: every digit, in full
    ([0.001, 1000], ["0.001", "0.01", "0.1", "1", "10", "100", "1000"]),  # wide: decades
    ([1e-9, 1e9], ["1e-9", "1e-6", "0.001", "1", "1000", "1e6", "1e9"]),  # wider: every third decade
])
def test_log_axes_are_labelled_with_plain_numbers(values, expected):
    axis = log_axis(values)
    assert axis["type"] == "log" and axis["tickmode"] == "array"
    assert axis["ticktext"] == expected
    assert [float(text) for text in axis["ticktext"]] == pytest.approx(axis["tickvals"])
    inside = [t for t in axis["tickvals"] if min(values) <= t <= max(values)]
    assert 2 <= len(inside) <= 7


def test_a_sweeps_setting_axis_is_ticked_at_the_values_swept():
    rows = [{"learning_rate": lr, "seed": 1, "status": "diverged" if lr == 1000 else "done",
             "test_accuracy": 0.9, "test_cost": 0.3 / (1 + lr)} for lr in (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)]
    layout = sweep_line_figure(rows, "learning_rate", "Learning rate").layout
    assert list(layout.xaxis.ticktext) == ["0.01", "0.1", "1", "10", "100", "1000"]
    assert layout.yaxis2.type == "log" and not any(BARE_MINOR_TICK.match(t) for t in layout.yaxis2.ticktext)


def test_the_cost_chart_never_shows_bare_minor_ticks():
    costs = np.exp(np.linspace(np.log(2.4), np.log(0.03), 4221))
    axis = training_cost_figure([], costs, 469, Hyperparams()).layout.yaxis
    assert axis.type == "log" and len(axis.ticktext) >= 3
    assert not any(BARE_MINOR_TICK.match(text) for text in axis.ticktext if float(text) not in (1, 2, 5))
    assert "1" in axis.ticktext and "0.1" in axis.ticktext  # each decade by its value


def test_tick_labels():
    assert [tick_label(v) for v in (1e-5, 1e-4, 0.05, 2.0, 1000.0, 1e5, 3e7)] == [
        "1e-5", "0.0001", "0.05", "2", "1000", "1e5", "3e7"]


def test_a_figure_becomes_plain_json_without_its_template():
    figure = go.Figure()
    figure.add_scatter(x=[0, 1, 2], y=np.array([0.5, 0.25, 0.125]), name="cost")
    figure.update_layout(height=360, yaxis=log_axis([0.125, 0.5]))
    spec = figure_spec(figure)
    assert spec["data"][0]["x"] == [0, 1, 2] and spec["data"][0]["name"] == "cost"
    y = spec["data"][0]["y"]  # an array goes as plotly.js's typed-array form (base64), which plotly.js reads
    assert y == [0.5, 0.25, 0.125] or set(y) == {"dtype", "bdata"}
    assert "template" not in spec["layout"] and spec["layout"]["height"] == 360
    assert figure_spec({"data": [{"y": [1]}], "layout": {"title": {"text": "t"}}}) == {
        "data": [{"y": [1]}], "layout": {"title": {"text": "t"}}}


def test_plotly_js_is_the_file_inside_the_plotly_package():
    library = PLOTLY_FOLDER / "plotly.min.js"
    assert library.stat().st_size > 1_000_000
    source = (Path(__file__).resolve().parent.parent / "ui" / "liveview.js").read_text()
    assert "cdn" not in source.lower() and "https://" not in source  # no network: the app's own server
    assert "Plotly.extendTraces" in source and "Plotly.newPlot" in source
