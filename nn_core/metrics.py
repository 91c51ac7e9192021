"""Evaluation metrics, thin over scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from .model import CLASSES  # MNIST's digits: the default

DIGITS = list(range(CLASSES))


def confusion(labels: np.ndarray, predictions: np.ndarray, classes: int = CLASSES) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class (C = ``classes``, MNIST's 10 digits by default)."""
    return confusion_matrix(labels, predictions, labels=list(range(classes)))


def report_rows(labels: np.ndarray, predictions: np.ndarray, classes: int = CLASSES,
                names: tuple[str, ...] | None = None) -> list[dict]:
    """The post's per-digit report as rows: each class (digit 0-9 for MNIST), then macro and weighted averages.

    Each row: {"digit", "precision", "recall", "f1-score", "support"} (the post's table, with
    accuracy given separately); "digit" is the class's name (``names``, else its number as text).
    Unlike the post, arguments are in scikit-learn's order (y_true first); the post passed
    predictions first, which swaps precision and recall.
    """
    numbers = list(range(classes))
    report = classification_report(labels, predictions, labels=numbers, output_dict=True, zero_division=0)
    names = [str(k) for k in numbers] if names is None else list(names)
    rows = []
    for key, name in list(zip([str(k) for k in numbers], names)) + [("macro avg",) * 2, ("weighted avg",) * 2]:
        entry = report[key]
        rows.append({"digit": name, "precision": entry["precision"], "recall": entry["recall"],
                     "f1-score": entry["f1-score"], "support": int(entry["support"])})
    return rows
