"""Compare's results as text: the results table (and its CSV) and one sentence per step saying what it
changed and what that did (no Streamlit calls here). ``comparison``: a ``ui.compare.Comparison``."""

from __future__ import annotations

from nn_core import Hyperparams, RunResult, RunStatus
from nn_core.settings import BY_NAME
from nn_core.tables import csv_text

from .compare_table import COLUMNS, NAME, differing


def status_text(result: RunResult) -> str:
    if result.stopped_early and result.best_epoch:
        return f"{result.status} (early stop after {len(result.epochs)} epochs, best {result.best_epoch})"
    return str(result.status)


def result_rows(comparison) -> list[dict]:
    """The results table (and its CSV): Variant, the settings that differ, status, test_accuracy,
    test_cost, train_seconds; one row per variant, in the table's order."""
    shown = differing(comparison.variants)
    rows = []
    for name, hp, result, figures in zip(comparison.names, comparison.variants, comparison.results, comparison.scores):
        row = {NAME: name, **{column: getattr(hp, column) for column in shown}}
        row["status"] = status_text(result) if result is not None else "training"
        row["test_accuracy"] = figures[1] if figures else None
        row["test_cost"] = figures[0] if figures else None
        row["train_seconds"] = round(result.train_seconds, 2) if result is not None else None
        rows.append(row)
    return rows


def results_csv(comparison) -> bytes:
    rows = result_rows(comparison)
    return csv_text(rows, list(rows[0]) if rows else [NAME]).encode()  # formulas neutralised (nn_core.tables)


def _changes(before: Hyperparams, after: Hyperparams) -> str:
    parts = []
    for column in COLUMNS:
        old, new = getattr(before, column), getattr(after, column)
        if old != new:
            setting = BY_NAME[column]
            parts.append(f"{setting.label.lower()} {setting.format(old)} → {setting.format(new)}")
    return ", ".join(parts) or "nothing"


def step_sentences(comparison, ladder: bool) -> list[str]:
    """One sentence per step: what it changed against the row before it (``ladder``) or the first row,
    and what that did to test accuracy and cost, from this comparison's own figures."""
    sentences = []
    for index in range(1, len(comparison.variants)):
        reference = index - 1 if ladder else 0
        name, against = comparison.names[index], comparison.names[reference]
        what = _changes(comparison.variants[reference], comparison.variants[index])
        result, mine, theirs = comparison.results[index], comparison.scores[index], comparison.scores[reference]
        head = f"{name} changed {what} (against {against})"
        if result is None:
            continue
        if result.status == RunStatus.DIVERGED:
            sentences.append(f"{head}: it diverged ({result.diverged.message.split('.')[0].lower()}), so it "
                             "gained nothing.")
            continue
        if theirs is None:
            sentences.append(f"{head}: it reached {mine[1]:.2%} test accuracy (test cost {mine[0]:.4f}), where "
                             f"{against} diverged.")
            continue
        points = 100 * (mine[1] - theirs[1])
        verb = "gained" if points > 0 else "lost" if points < 0 else "changed by"
        cost = (mine[0] - theirs[0]) / theirs[0]
        sentence = (f"{head}: test accuracy {theirs[1]:.2%} → {mine[1]:.2%} ({verb} {abs(points):.2f} points), "
                    f"test cost {theirs[0]:.4f} → {mine[0]:.4f} ({cost:+.0%})")
        gap = _gap(result), _gap(comparison.results[reference])
        if comparison.preset == "Overfitting" and None not in gap:
            sentence += f", gap between train and test accuracy {gap[1]:.1f} → {gap[0]:.1f} points"
        seconds = comparison.results[reference].train_seconds
        if seconds > 0:
            sentence += f", in {result.train_seconds / seconds:.1f}× the training time"
        if result.status != RunStatus.DONE:
            sentence += f" (it was {result.status} before its last epoch)"
        sentences.append(sentence + ".")
    return sentences


def _gap(result: RunResult | None) -> float | None:
    last = result.final if result is not None else None
    return None if last is None else 100 * (last.train_accuracy - last.test_accuracy)
