"""Sweeps refuse grids and values boxes beyond their bounds from the counts, before building anything
(#25: a grid of 26 million runs was built before being refused)."""

import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from nn_core import Hyperparams
from nn_core import sweep as cli_sweep
from nn_core.settings import MAX_SEED
from nn_core.sweep import MAX_RUNS, grid, grid_size, parse_args

ROOT = Path(__file__).resolve().parent.parent


def values(flag: str, count: int) -> list[str]:
    return [flag, *map(str, range(1, count + 1))]


@pytest.mark.parametrize("argv, said", [
    (values("--hidden", 512) + values("--batch-size", 1024) + values("--epochs", 50),
     "--hidden has 512 values, more than the 200"),  # the issue's: refused before any value is parsed
    (values("--hidden", 200) + values("--batch-size", 200) + values("--epochs", 50),
     "the grid has 2,000,000 runs, more than the 200"),  # each list allowed, their product counted, not built
    (values("--hid", 300), "--hidden has 300 values"),  # an abbreviated flag is the same flag
])
def test_a_huge_grid_is_refused_from_its_counts_in_little_memory(argv, said, capsys):
    tracemalloc.start()
    try:
        with pytest.raises(SystemExit) as exit_:
            parse_args(argv)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert exit_.value.code == 2
    assert said in capsys.readouterr().err
    assert peak < 2_000_000, f"{peak:,} bytes allocated to refuse it"  # 2 million Hyperparams: ~1 GB


def test_the_command_refuses_it_with_status_2_and_one_line():
    argv = values("--hidden", 512) + values("--batch-size", 1024) + values("--epochs", 50)
    result = subprocess.run([sys.executable, "-m", "nn_core.sweep", *argv], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and not result.stdout
    assert result.stderr.splitlines() == ["python -m nn_core.sweep: error: --hidden has 512 values, more than "
                                          "the 200 runs a sweep takes"]


@pytest.mark.parametrize("chosen, seeds", [
    ({"hidden_units": [16, 32, 16], "learning_rate": [0.1, 1.0]}, 3),
    ({"seed": [1, 2, 3], "epochs": [1]}, 2),  # seeds 1-4: overlapping points are one run
    ({"seed": [MAX_SEED - 1, MAX_SEED]}, 5),  # clamped at the largest seed
    ({}, 1),
])
def test_the_count_is_the_grid_built(chosen, seeds):
    assert grid_size(Hyperparams(), chosen, seeds) == len(grid(Hyperparams(), chosen, seeds))


def test_the_largest_grid_passes():
    args = parse_args(values("--hidden", 40) + ["--lr", "0.1", "1", "4", "8", "16", "--seeds", "1"])
    assert len(args.grid) == MAX_RUNS


def test_ctrl_c_while_the_arguments_are_read_is_quiet(monkeypatch, capsys):
    def interrupted(argv=None):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli_sweep, "parse_args", interrupted)
    assert cli_sweep.main([]) == 130
    assert capsys.readouterr().err == "interrupted: nothing saved\n"
