"""Issue 29, item 3: every CSV the lab writes (Compare's and Sweep's downloads, the sweep CLI's --csv)
neutralises cells a spreadsheet would read as a formula: text beginning with =, +, -, @, a tab or a
carriage return gets a leading single quote. Numbers stay numbers (-0.5 is a value, not a formula)."""

import csv
import io

from nn_core import Hyperparams, RunStatus
from nn_core import sweep as sweep_cli
from nn_core.sweep import COLUMNS, Sweep
from ui import compare as cmp
from ui import sweep as sweep_ui

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1:A2)", "+ mini-batches of 128", "-2+3", "\t=1", "\r=1"]


def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_every_formula_start_is_quoted_and_nothing_else():
    from nn_core.tables import csv_cell

    for text in HOSTILE:
        assert csv_cell(text) == "'" + text
    for text in ("plain", "mini-batches", " =not first", "'=already"):
        assert csv_cell(text) == text
    assert csv_cell(-0.5) == -0.5 and csv_cell(-3) == -3 and csv_cell(None) is None


def test_compares_download_neutralises_variant_names():
    names = ["The post's run", *HOSTILE]
    variants = [Hyperparams(hidden_units=16 + k) for k in range(len(names))]
    comparison = cmp.Comparison(names, variants, "The post's three changes")
    cells = read(cmp.results_csv(comparison).decode())
    assert [row[0] for row in cells[1:]] == ["The post's run", *("'" + text for text in HOSTILE)]
    assert [row[1] for row in cells[1:]] == [str(16 + k) for k in range(len(names))]  # numbers as numbers


def sweep_rows() -> list[dict]:
    good = {**Hyperparams().as_dict(), "status": "done", "test_accuracy": 0.9762, "test_cost": -0.5,
            "train_seconds": 1.5, "note": None}
    failed = {**Hyperparams().as_dict(), "status": str(RunStatus.FAILED), "test_accuracy": None, "test_cost": None,
              "train_seconds": 0.1, "note": "=cmd|' /C calc'!A0"}
    return [good, failed]


def test_the_sweep_cli_csv_neutralises_text_and_keeps_numbers(tmp_path):
    path = tmp_path / "sweep.csv"
    sweep_cli.write_csv(path, sweep_rows())
    cells = read(path.read_text())
    assert cells[0] == COLUMNS
    note, cost = COLUMNS.index("note"), COLUMNS.index("test_cost")
    assert cells[2][note] == "'=cmd|' /C calc'!A0"
    assert cells[1][cost] == "-0.5" and cells[1][COLUMNS.index("learning_rate")] == "4.0"


def test_the_sweep_pages_download_is_the_same_table():
    sweep = Sweep(None, [], 1, None, None, rows=sweep_rows())
    path_text = sweep_ui.results_csv(sweep).decode()
    assert read(path_text)[2][COLUMNS.index("note")] == "'=cmd|' /C calc'!A0"
