"""Plotly figures shared by the pages (no Streamlit calls here)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import plotly.graph_objects as go

from nn_core import Diverged, EpochStats, Hyperparams, RunResult
from nn_core.training import describe_changes

PLOT_CONFIG = {"displayModeBar": False}  # every chart of the app: no Plotly toolbar over the figure

# The seed post's printed test cost after each of its 9 epochs (lr 4, beta 0.9, batch 128, 64 sigmoid units).
POST_TEST_COST = [0.16223940981168986, 0.11032242938356147, 0.0958078559246339, 0.1010270024817398,
                  0.09527116695490956, 0.08268937190759178, 0.08188431384719108, 0.08675249924246693,
                  0.08023754855128316]


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


def confusion_figure(counts, show_rates: bool = False, selected: tuple[int, int] | None = None) -> go.Figure:
    """10x10 confusion heatmap: y = true digit (0 at top), x = predicted digit; counts in the cells.

    ``counts`` (10, 10) ints. With ``show_rates`` the cells hold row-normalised rates instead.
    The colour scale tops out at the largest mistake, so the diagonal saturates and the mistakes
    stay visible. Plotly heatmaps send no selection events to Streamlit, so an invisible marker
    sits on each cell's centre: clicking a cell selects its marker (x = predicted, y = true).
    ``selected`` (true, predicted) is outlined.
    """
    counts = np.asarray(counts)
    support = counts.sum(axis=1, keepdims=True)
    rates = counts / np.maximum(support, 1)
    values = rates if show_rates else counts
    off_diagonal = values[~np.eye(10, dtype=bool)]
    top = float(off_diagonal.max()) if off_diagonal.max() > 0 else float(values.max() or 1)
    text = [[(f"{r:.1%}" if c else "0") if show_rates else f"{c:d}" for c, r in zip(count_row, rate_row)]
            for count_row, rate_row in zip(counts, rates)]  # (10, 10) labels written in the cells
    digits = list(range(10))
    figure = go.Figure()
    figure.add_heatmap(z=values, x=digits, y=digits, text=text, texttemplate="%{text}", zmin=0, zmax=top,
                       colorscale="Blues", hoverinfo="skip", xgap=1, ygap=1,
                       colorbar={"title": "rate" if show_rates else "count",
                                 "tickformat": ".1%" if show_rates else "d"})
    _add_cell_markers(figure, counts, rates)
    if selected is not None:
        true_digit, predicted_digit = selected
        figure.add_shape(type="rect", x0=predicted_digit - 0.5, x1=predicted_digit + 0.5, y0=true_digit - 0.5,
                         y1=true_digit + 0.5, line={"color": "#d62728", "width": 3})
    figure.update_layout(
        title="Confusion matrix", height=460,
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, clickmode="event+select",
        # fixed ranges: the cells fill the plot area exactly (the markers would otherwise pad it)
        xaxis={"title": "predicted digit", "tickmode": "array", "tickvals": digits, "range": [-0.5, 9.5],
               "showgrid": False, "zeroline": False},
        yaxis={"title": "true digit", "tickmode": "array", "tickvals": digits, "range": [9.5, -0.5],
               "showgrid": False, "zeroline": False})
    return figure

def _add_cell_markers(figure: go.Figure, counts: np.ndarray, rates: np.ndarray) -> None:
    """An invisible, clickable marker on each cell's centre (x = predicted, y = true), with its hover text."""
    digits = list(range(10))
    true_grid, predicted_grid = np.meshgrid(digits, digits, indexing="ij")  # (10, 10) each, row = true
    figure.add_scatter(
        x=predicted_grid.ravel(), y=true_grid.ravel(), mode="markers", showlegend=False,
        customdata=np.stack([counts.ravel(), rates.ravel()], axis=1),
        marker={"symbol": "square", "size": 30, "color": "rgba(0,0,0,0)"},
        hovertemplate="true %{y}, predicted %{x}: %{customdata[0]} images (%{customdata[1]:.1%} of the %{y}s)"
                      "<extra>click to see them</extra>")


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


REFERENCE_LINE = {"dash": "dash", "color": "#909090", "width": 1.5}  # grey: visible on light and dark themes
# Legend under the plot, clear of the axis title, so the plot keeps its full width.
LAYOUT = {"height": 360, "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
          "legend": {"orientation": "h", "yanchor": "top", "y": -0.22}}


def train_label(name: str, epochs: list[EpochStats]) -> str:
    """A training figure's name, saying when it was measured on a sample of the training images."""
    sample = next((stats.train_sample for stats in epochs if stats.train_sample), None)
    # with label noise the train figures are on the labels trained on, some of them wrong
    name = f"{name} (noisy labels)" if any(stats.train_accuracy_true is not None for stats in epochs) else name
    return name if sample is None else f"{name} ({sample:,}-image sample; last epoch: all)"


def is_post_run(hparams: Hyperparams) -> bool:
    """The post's settings, whatever the number of epochs: its first epochs are the same run (the
    seed fixes the initial weights and every epoch's shuffle), so its curve is a fair reference."""
    return replace(hparams, epochs=Hyperparams().epochs) == Hyperparams()


def training_cost_figure(epochs: list[EpochStats], batch_costs, batches_per_epoch: int, hparams: Hyperparams,
                         diverged: Diverged | None = None, title: str = "Cost", max_points: int = 400) -> go.Figure:
    """Live cost chart: smoothed batch cost within epochs (at most ``max_points`` points: the chart's
    width in px), train/test cost after each epoch, the post's test cost as a reference for the post's
    settings, and where a run diverged. Log y (costs fall 30-fold and a diverging one jumps 40-fold),
    labelled with plain numbers."""
    figure = go.Figure()
    x, y = smoothed_batch_costs(batch_costs, batches_per_epoch, max_points)
    shown = list(y)
    figure.add_scatter(x=x, y=y, name="batch cost (smoothed)", mode="lines" if len(x) > 1 else "markers",
                       line={"width": 1, "color": "rgba(128,128,128,0.9)"})
    x = [stats.epoch for stats in epochs]
    figure.add_scatter(x=x, y=[stats.train_cost for stats in epochs], name=train_label("train cost", epochs),
                       mode="lines+markers")
    figure.add_scatter(x=x, y=[stats.test_cost for stats in epochs], name="test cost", mode="lines+markers",
                       **GAP_FILL)
    shown += [value for stats in epochs for value in (stats.train_cost, stats.test_cost)]
    shown += overfitting_marks(figure, epochs, "cost")
    if is_post_run(hparams):
        figure.add_scatter(x=list(range(1, len(POST_TEST_COST) + 1)), y=POST_TEST_COST, name="post's test cost",
                           mode="lines", line=REFERENCE_LINE)
        shown += POST_TEST_COST
    if diverged is not None and np.isfinite(diverged.cost):
        figure.add_scatter(x=[(len(batch_costs) + 1) / batches_per_epoch], y=[diverged.cost], name="diverged",
                           mode="markers", marker={"symbol": "x", "size": 12, "color": "#d62728"})
        shown.append(diverged.cost)
    figure.update_layout(title=title, xaxis={"title": "epoch", "range": [0, hparams.epochs + 0.05]},
                         yaxis={"title": "cross-entropy (log scale)", **log_axis(shown)}, **LAYOUT)
    return figure


def accuracy_figure(epochs: list[EpochStats], planned: int, title: str = "Accuracy") -> go.Figure:
    """Train and test accuracy after each epoch, x fixed to the ``planned`` epochs so it fills in live."""
    figure = go.Figure()
    x = [stats.epoch for stats in epochs]
    figure.add_scatter(x=x, y=[s.train_accuracy for s in epochs], name=train_label("train accuracy", epochs),
                       mode="lines+markers")
    figure.add_scatter(x=x, y=[s.test_accuracy for s in epochs], name="test accuracy", mode="lines+markers",
                       **GAP_FILL)
    overfitting_marks(figure, epochs, "accuracy")
    yaxis = {"title": "accuracy", "tickformat": ".1%"}
    if not epochs:
        yaxis["range"] = [0, 1]  # nothing yet: a sane empty axis rather than Plotly's -100%..400%
    figure.update_layout(title=title, xaxis={"title": "epoch", "range": [0.5, planned + 0.5]}, yaxis=yaxis,
                         **LAYOUT)
    return figure


# The train/test gap: the test line filled down to the train line drawn just before it (a band that
# widens as the network memorises), and the last epoch's gap written beside it.
GAP_FILL = {"fill": "tonexty", "fillcolor": "rgba(214,39,40,0.13)"}
VALIDATION_LINE = {"dash": "dot", "width": 1.5}
BEST_LINE = {"dash": "dash", "color": "#2ca02c", "width": 1.5}


def best_epoch(epochs: list[EpochStats]) -> int | None:
    """The epoch early stopping keeps: the first with the lowest validation cost (None without one)."""
    validated = [stats for stats in epochs if stats.validation_cost is not None]
    return min(validated, key=lambda stats: stats.validation_cost).epoch if validated else None


def overfitting_marks(figure: go.Figure, epochs: list[EpochStats], measure: str) -> list[float]:
    """On a cost or accuracy chart (``measure``), after its train and test lines: the validation line
    and the best epoch when early stopping holds a validation set out, the accuracy on the true labels
    under label noise, and the last epoch's train-to-test gap. Returns the values added (for an axis)."""
    if not epochs:
        return []
    x = [stats.epoch for stats in epochs]
    added = []
    validation = [getattr(stats, f"validation_{measure}") for stats in epochs]
    if any(value is not None for value in validation):
        figure.add_scatter(x=x, y=validation, name=f"validation {measure}", mode="lines+markers",
                           line=VALIDATION_LINE, marker={"size": 5})
        added += [value for value in validation if value is not None]
    true_accuracy = [stats.train_accuracy_true for stats in epochs]
    if measure == "accuracy" and any(value is not None for value in true_accuracy):
        figure.add_scatter(x=x, y=true_accuracy, name="train accuracy (true labels)", mode="lines+markers",
                           line={"dash": "dash", "width": 1.5}, marker={"size": 5})
    last = epochs[-1]
    train, test = getattr(last, f"train_{measure}"), getattr(last, f"test_{measure}")
    if np.isfinite(train) and np.isfinite(test):
        gap = f"{test - train:+.3f}" if measure == "cost" else f"{(test - train) * 100:+.1f} pts"
        y = float(np.log10(test)) if measure == "cost" and test > 0 else test  # a log axis places by log10
        figure.add_annotation(x=last.epoch, y=y, text=f"gap {gap}", showarrow=True, arrowhead=0, ax=-28,
                              ay=-22 if measure == "cost" else 22, font={"size": 11, "color": "#d62728"},
                              name="gap")
    best = best_epoch(epochs)
    if best is not None:
        figure.add_vline(x=best, line=BEST_LINE, annotation_text=f"best epoch {best}",
                         annotation_position="top", annotation_font={"size": 11, "color": "#2ca02c"})
    return added


def runs_test_cost_figure(runs: list[tuple[str, RunResult]], title: str = "Test cost of chosen runs") -> go.Figure:
    """Overlay of test cost per epoch, one line per (label, run); the post's curve for reference."""
    figure = go.Figure()
    for label, run in runs:
        figure.add_scatter(x=[stats.epoch for stats in run.epochs], y=[stats.test_cost for stats in run.epochs],
                           name=label, mode="lines+markers")
    figure.add_scatter(x=list(range(1, len(POST_TEST_COST) + 1)), y=POST_TEST_COST, name="post's test cost",
                       mode="lines", line=REFERENCE_LINE)
    costs = [stats.test_cost for _, run in runs for stats in run.epochs] + POST_TEST_COST
    figure.update_layout(title=title, xaxis_title="epoch",
                         yaxis={"title": "test cross-entropy (log scale)", **log_axis(costs)}, **LAYOUT)
    return figure


CHANGE_LINE = {"dash": "dot", "color": "#9467bd", "width": 1.5}  # purple: apart from the runs' own colours


def mark_changes(figure: go.Figure, hparams: Hyperparams, changes, batches_per_epoch: int) -> go.Figure:
    """Mark on a chart whose x is epochs each learning rate or momentum changed while the run trained
    (``nn_core.training.Change``): a vertical line where it applied, labelled "learning rate 4 → 0.5"
    (staggered, should several be close), its hover text giving the exact batch it applied from."""
    for i, (change, words) in enumerate(zip(changes, describe_changes(hparams, changes, batches_per_epoch))):
        x = change.batch / batches_per_epoch
        figure.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, xref="x", yref="paper", line=CHANGE_LINE,
                         name=f"change {i + 1}")
        figure.add_annotation(x=x, y=1 - 0.08 * (i % 4), xref="x", yref="paper", xanchor="left", yanchor="top",
                              showarrow=False, text=words.split(" at epoch ")[0], name=f"change {i + 1}",
                              font={"size": 11, "color": CHANGE_LINE["color"]},
                              hovertext=f"{words} (from batch {change.batch:,})")
    return figure


def selected_points(chart) -> list | None:
    """The points of a Plotly chart's selection state (the browser's JSON: any shape), else None."""
    try:
        return chart["selection"]["points"]
    except (KeyError, TypeError, IndexError):
        return None


def cell_from_selection(points: list[dict]) -> tuple[int, int] | None:
    """(true, predicted) of the first clicked confusion cell in a Plotly selection, else None.

    The page draws the heatmap's x as predicted digit and y as true digit, so a point's x/y
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
            predicted_digit, true_digit = int(round(float(x))), int(round(float(y)))
        except (TypeError, ValueError, OverflowError):  # OverflowError: x "1e999" is infinite
            continue
        if 0 <= true_digit < 10 and 0 <= predicted_digit < 10:
            return true_digit, predicted_digit
    return None


def probability_figure(probabilities: np.ndarray, predicted: int) -> go.Figure:
    """Bar chart of the ten softmax outputs (10,), the predicted digit highlighted."""
    colours = ["#4f8bf9" if digit == predicted else "#6b7280" for digit in range(10)]
    figure = go.Figure(go.Bar(x=list(range(10)), y=probabilities, marker_color=colours,
                              text=[f"{p:.0%}" for p in probabilities], textposition="outside",
                              hovertemplate="digit %{x}: %{y:.1%}<extra></extra>"))
    figure.update_layout(height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False,
                         xaxis={"tickmode": "linear", "title": "digit"},
                         yaxis={"range": [0, 1.15], "tickformat": ".0%", "title": "probability"},
                         title="What the network thinks")
    return figure


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


# --- the Inside page: one step's matrices and momentum's history ---------------------------------

SIGNED_SCALE = [[0.0, "#2166ac"], [0.5, "#ffffff"], [1.0, "#b2182b"]]  # blue, white at 0, red (as diverging_rgb)
STEP_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}}


def matrix_figure(values: np.ndarray, title: str, rows: str, columns: str, column_labels=None,
                  height: int = 300) -> go.Figure:
    """One matrix (r, c) as a heatmap, row 0 at the top: signed values on blue-white-red around 0, others
    on blues. ``column_labels`` (c,) names the columns (the units shown), else 0..c-1."""
    values = np.asarray(values)
    signed = bool(values.size) and float(np.nanmin(values)) < 0
    limit = float(np.nanmax(np.abs(values))) if values.size else 1.0
    colours = {"colorscale": SIGNED_SCALE, "zmin": -limit, "zmax": limit} if signed else {"colorscale": "Blues"}
    x = list(range(values.shape[1])) if column_labels is None else list(column_labels)
    figure = go.Figure(go.Heatmap(z=values, x=x, y=list(range(values.shape[0])), **colours,
                                  hovertemplate=f"{rows} %{{y}}, {columns} %{{x}}: %{{z:.4g}}<extra></extra>"))
    figure.update_layout(title=title, height=height, xaxis={"title": columns},
                         yaxis={"title": rows, "autorange": "reversed"}, **STEP_LAYOUT)
    return figure


def vector_figure(values: np.ndarray, title: str, labels=None, x_title: str = "", height: int = 220) -> go.Figure:
    """A vector (n,) as bars (a bias gradient), red up, blue down."""
    values = np.asarray(values)
    colours = np.where(values >= 0, "#b2182b", "#2166ac")
    figure = go.Figure(go.Bar(x=list(range(len(values))) if labels is None else list(labels), y=values,
                              marker_color=colours, hovertemplate="%{x}: %{y:.4g}<extra></extra>"))
    figure.update_layout(title=title, height=height, xaxis={"title": x_title}, showlegend=False, **STEP_LAYOUT)
    return figure


KIND_DASH = {"gradient": "dot", "velocity": "solid", "update": "dash"}


def momentum_norms_figure(steps: np.ndarray, norms: np.ndarray, layers=("layer 1", "layer 2"),
                          kinds=("gradient", "velocity", "update")) -> go.Figure:
    """Norms (n, layers, kinds) of each layer's gradient, velocity and update over the last steps (log y)."""
    traces = [{"type": "scatter", "x": steps, "y": norms[:, layer, k], "name": f"‖{kind}‖ {layer_name}",
               "mode": "lines",
               "line": {"color": colour, "dash": KIND_DASH[kind], "width": 2 if kind == "velocity" else 1}}
              for layer, (layer_name, colour) in enumerate(zip(layers, ("#4f8bf9", "#f0883e")))
              for k, kind in enumerate(kinds)]
    return go.Figure(traces, {"title": "Norms over the last steps", "xaxis": {"title": "step"},
                              "yaxis": {"title": "Frobenius norm (log scale)", "type": "log", "dtick": 1},
                              **LAYOUT})


def chosen_weights_figure(steps: np.ndarray, values: np.ndarray, labels: list[str],
                          kinds=("gradient", "velocity", "update"), columns: int = 3) -> go.Figure:
    """Small multiples, one panel per weight: its gradient, velocity and update (n, k, kinds) over the steps.
    Built in one call (a figure grown trace by trace takes ~2 ms a trace)."""
    rows = -(-len(labels) // columns)
    colours = {"gradient": "#9ca3af", "velocity": "#4f8bf9", "update": "#f0883e"}
    traces, layout, notes = [], {}, []
    for i, label in enumerate(labels):
        row, column = divmod(i, columns)
        axis = "" if i == 0 else str(i + 1)
        traces += [{"type": "scatter", "x": steps, "y": values[:, i, k], "name": kind, "legendgroup": kind,
                    "showlegend": i == 0, "mode": "lines", "xaxis": f"x{axis}", "yaxis": f"y{axis}",
                    "line": {"color": colours[kind], "dash": KIND_DASH[kind], "width": 2 if kind == "velocity" else 1},
                    "hovertemplate": f"{label} {kind}, step %{{x}}: %{{y:.3g}}<extra></extra>"}
                   for k, kind in enumerate(kinds)]
        x_domain = [column / columns + 0.1, (column + 1) / columns - 0.01]  # room for the y ticks' labels
        y_domain = [1 - (row + 1) / rows + 0.1, 1 - row / rows - 0.08]  # room for the x ticks and the title
        layout[f"xaxis{axis}"] = {"domain": x_domain, "anchor": f"y{axis}"}
        layout[f"yaxis{axis}"] = {"domain": y_domain, "anchor": f"x{axis}", "tickformat": ".0e", "nticks": 3}
        notes.append({"text": label, "x": sum(x_domain) / 2, "y": y_domain[1], "xref": "paper", "yref": "paper",
                      "yanchor": "bottom", "showarrow": False})
    return go.Figure(traces, {"title": "A few weights: gradient, velocity and update", "annotations": notes,
                              **layout, **{**LAYOUT, "height": 440}})
