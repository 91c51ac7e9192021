"""Evaluation metrics, thin over scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

DIGITS = list(range(10))


def confusion(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class."""
    return confusion_matrix(labels, predictions, labels=list(range(classes)))


def report_rows(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> list[dict]:
    """The post's per-digit report as rows: digit 0-9, then macro and weighted averages.

    Each row: {"digit", "precision", "recall", "f1-score", "support"} (the post's table, with
    accuracy given separately). Unlike the post, arguments are in scikit-learn's order (y_true
    first); the post passed predictions first, which swaps precision and recall.
    """
    report = classification_report(labels, predictions, labels=list(range(classes)), output_dict=True,
                                   zero_division=0)
    rows = []
    for key in [str(d) for d in range(classes)] + ["macro avg", "weighted avg"]:
        entry = report[key]
        rows.append({"digit": key, "precision": entry["precision"], "recall": entry["recall"],
                     "f1-score": entry["f1-score"], "support": int(entry["support"])})
    return rows

