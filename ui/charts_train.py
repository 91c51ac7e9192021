"""Train's figures (no Streamlit calls here): the training cost by batch and epoch against the post's,
the accuracy, the overfitting lab's marks, the mid-run changes, and the history's test costs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import plotly.graph_objects as go

from nn_core import Diverged, EpochStats, Hyperparams, RunResult
from nn_core.training import describe_changes

from .charts_common import LAYOUT, log_axis, smoothed_batch_costs

# The seed post's printed test cost after each of its 9 epochs (lr 4, beta 0.9, batch 128, 64 sigmoid units).
# The seed post's printed test cost after each of its 9 epochs (lr 4, beta 0.9, batch 128, 64 sigmoid units).
POST_TEST_COST = [0.16223940981168986, 0.11032242938356147, 0.0958078559246339, 0.1010270024817398,
                  0.09527116695490956, 0.08268937190759178, 0.08188431384719108, 0.08675249924246693,
                  0.08023754855128316]
REFERENCE_LINE = {"dash": "dash", "color": "#909090", "width": 1.5}  # grey: visible on light and dark themes


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
                         diverged: Diverged | None = None, title: str = "Cost", max_points: int = 400,
                         reference: bool = True) -> go.Figure:
    """Live cost chart: smoothed batch cost within epochs (at most ``max_points`` points: the chart's
    width in px), train/test cost after each epoch, the post's test cost as a reference for the post's
    settings, and where a run diverged. Log y (costs fall 30-fold and a diverging one jumps 40-fold),
    labelled with plain numbers. ``reference``: the run is on MNIST (the post's curve means nothing elsewhere)."""
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
    if reference and is_post_run(hparams):
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


def runs_test_cost_figure(runs: list[tuple[str, RunResult]], title: str = "Test cost of chosen runs",
                          reference: bool = True) -> go.Figure:
    """Overlay of test cost per epoch, one line per (label, run); the post's curve for reference (runs on
    MNIST: ``reference``)."""
    figure = go.Figure()
    for label, run in runs:
        figure.add_scatter(x=[stats.epoch for stats in run.epochs], y=[stats.test_cost for stats in run.epochs],
                           name=label, mode="lines+markers")
    if reference:
        figure.add_scatter(x=list(range(1, len(POST_TEST_COST) + 1)), y=POST_TEST_COST, name="post's test cost",
                           mode="lines", line=REFERENCE_LINE)
    costs = [stats.test_cost for _, run in runs for stats in run.epochs] + (POST_TEST_COST if reference else [])
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
