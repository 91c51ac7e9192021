"""``python -m nn_core.train``: flags, exit codes, JSON lines, and the post's figures."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, timeout=900):  # a guard against a hang, not a speed claim (CI machines are loaded)
    return subprocess.run([sys.executable, "-m", "nn_core.train", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("flags", [
    ["--lr", "-1"], ["--lr", "0"], ["--lr", "abc"], ["--batch-size", "0"], ["--hidden", "0"],
    ["--beta", "1"], ["--beta", "-0.5"], ["--epochs", "two"], ["--activation", "swish"], ["--seed", "-3"],
    ["--no-such-flag"],
])
def test_bad_flags_exit_2_with_one_line(flags):
    result = cli(*flags, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0]


def test_default_run_reaches_the_posts_accuracy(tmp_path):
    result = cli("--json", "--save", str(tmp_path / "model.npz"))
    assert result.returncode == 0, result.stderr
    epochs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["epoch"] for e in epochs] == list(range(1, 10))
    for key in ("train_cost", "test_cost", "test_accuracy", "train_seconds"):
        assert all(isinstance(e[key], float) for e in epochs), key
    assert all(a["train_seconds"] < b["train_seconds"] for a, b in zip(epochs, epochs[1:]))  # cumulative
    last = epochs[-1]
    assert last["test_accuracy"] >= 0.973
    assert last["test_cost"] <= 0.09
    assert epochs[0]["test_cost"] > last["test_cost"]
    for e in epochs:  # the network's health, one figure per hidden layer or weight matrix
        assert len(e["saturated"]) == 1 and 0 <= e["saturated"][0] < 0.5
        assert len(e["grad_norm"]) == 2 and all(g > 0 for g in e["grad_norm"])
        assert e["distinct_units"] == [64]
    from nn_core import load_model

    model, hparams, metrics = load_model(tmp_path / "model.npz")
    assert metrics["test_accuracy"] == last["test_accuracy"] and hparams.epochs == 9


def test_divergence_exits_3_with_a_message_and_no_warnings():
    result = cli("--lr", "1000", "--json", "--epochs", "2")
    assert result.returncode == 3
    for line in result.stdout.splitlines():
        json.loads(line)
    stderr = result.stderr.strip().splitlines()
    assert len(stderr) == 1 and "diverged" in stderr[0]
    assert "Warning" not in result.stderr


def test_text_output_has_one_line_per_epoch_like_the_post():
    result = cli("--epochs", "2", "--hidden", "16")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Epoch 1: training cost = ") and "test cost = " in lines[0]
    assert lines[1].startswith("Epoch 2: ") and lines[-1] == "Done."


def test_core_imports_no_streamlit():
    code = "import sys, nn_core, nn_core.train, nn_core.metrics; print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
    for path in (ROOT / "nn_core").glob("*.py"):
        assert "import streamlit" not in path.read_text(), path
