"""Issue 29, item 6: the CLI's output files. ``--save`` and the sweep's ``--csv`` refuse a folder, a
trailing slash and what is not a regular file (exit 2, one line) instead of writing a name beside it;
the extension is matched without regard to case."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nn_core import cli, sweep

ROOT = Path(__file__).resolve().parent.parent


def refused(parse, argv, capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        parse(argv)
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0], lines
    return lines[0]


@pytest.mark.parametrize("parse, flag", [(cli.parse_args, "--save"), (sweep.parse_args, "--csv")])
def test_a_folder_or_a_trailing_slash_is_refused(parse, flag, tmp_path, capsys):
    before = sorted(os.listdir(tmp_path.parent))
    assert "folder" in refused(parse, [flag, str(tmp_path)], capsys)
    assert "folder" in refused(parse, [flag, str(tmp_path) + "/"], capsys)
    assert "folder" in refused(parse, [flag, str(tmp_path / "new") + "/"], capsys)  # even one that is not there
    assert sorted(os.listdir(tmp_path.parent)) == before and os.listdir(tmp_path) == []


@pytest.mark.parametrize("parse, flag, suffix", [(cli.parse_args, "--save", ".npz"), (sweep.parse_args, "--csv", ".csv")])
def test_what_is_not_a_regular_file_is_refused(parse, flag, suffix, tmp_path, capsys):
    assert "not a regular file" in refused(parse, [flag, os.devnull], capsys)
    assert not Path(os.devnull + suffix).exists()
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    assert "not a regular file" in refused(parse, [flag, str(fifo)], capsys)


@pytest.mark.parametrize("parse, flag, suffix", [(cli.parse_args, "--save", ".npz"), (sweep.parse_args, "--csv", ".csv")])
def test_the_extension_is_matched_without_regard_to_case(parse, flag, suffix, tmp_path):
    upper = tmp_path / f"x{suffix.upper()}"
    assert getattr(parse([flag, str(upper)]), flag[2:]) == upper
    assert getattr(parse([flag, str(tmp_path / "y")]), flag[2:]) == tmp_path / f"y{suffix}"
    assert os.listdir(tmp_path) == []  # checked by a write that leaves nothing


def test_a_model_saved_as_x_NPZ_is_written_there_and_loads(tmp_path):
    target = tmp_path / "x.NPZ"
    result = subprocess.run([sys.executable, "-m", "nn_core.train", "--epochs", "1", "--hidden", "16",
                             "--train-size", "100", "--save", str(target)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert os.listdir(tmp_path) == ["x.NPZ"]
    from nn_core import load_model

    _, hparams, _ = load_model(target)
    assert hparams.hidden_units == 16
