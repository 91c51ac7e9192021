"""The CSV files the lab writes (Compare's and Sweep's downloads, the sweep CLI's ``--csv``), through
one writer that neutralises spreadsheet formulas.

A spreadsheet reads a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a
formula (OWASP's "CSV injection"): a variant named ``=HYPERLINK(...)``, or the preset's
``+ mini-batches of 128``. Such a text cell gets a leading single quote, which spreadsheets show as
text. Numbers stay numbers: ``-0.5`` written from a float is a value, not text, and a spreadsheet
reads it as the number it is.
"""

from __future__ import annotations

import csv
import io
from typing import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """``value`` as a CSV cell: text that a spreadsheet would read as a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: Iterable[dict], columns: Sequence[str]) -> str:
    """A header of ``columns`` then one line per row (a missing or None cell is empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(column) for column in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return buffer.getvalue()
