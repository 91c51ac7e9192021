"""Issue 29, item 7: a long CLI run says its estimate (the Sweep page's estimator) before it starts and
shows progress within an epoch that takes more than a few seconds, on stderr: --json's stdout stays
JSON. The runs here are the issue's (about 160 s an epoch); the tests read the first lines and stop
them with Ctrl-C, as a user would."""

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

from nn_core import Hyperparams
from nn_core.estimate import duration, run_seconds

ROOT = Path(__file__).resolve().parent.parent
HUGE = ["--layers", "4", "--hidden", "512", "--batch-size", "1", "--epochs", "50", "--lr", "0.01"]
GUARD = 300  # seconds: only if the lines never come (a broken build); the test waits on them, not on time


def first_stderr_lines(command: list[str], wanted) -> tuple[list[str], str, int]:
    """Start ``command``, read stderr until ``wanted(lines)``, then Ctrl-C it: (lines, stdout, status)."""
    process = subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    guard = threading.Timer(GUARD, process.kill)
    guard.start()
    lines = []
    try:
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            if wanted(lines):
                break
        process.send_signal(signal.SIGINT)
        stdout, rest = process.communicate(timeout=GUARD)
    finally:
        guard.cancel()
        if process.poll() is None:
            process.kill()
    return lines + rest.splitlines(), stdout, process.returncode


def test_the_page_and_the_cli_share_one_estimator():
    import ui.sweep

    assert ui.sweep.run_seconds is run_seconds and ui.sweep.estimated_seconds.__module__ == "nn_core.estimate"


def test_a_long_training_run_says_its_estimate_then_its_progress_within_the_epoch():
    hp = Hyperparams(layers=4, hidden_units=512, batch_size=1, epochs=50, learning_rate=0.01)
    lines, stdout, status = first_stderr_lines(["nn_core.train", *HUGE, "--json"],
                                               lambda lines: any(l.startswith("Epoch 1 of 50:") for l in lines))
    assert f"50 epochs of about {duration(run_seconds(hp) / 50)} each: about {duration(run_seconds(hp))}" in lines[0]
    progress = next(l for l in lines if l.startswith("Epoch 1 of 50:"))
    assert "of 60,000 batches" in progress and "left of it" in progress
    assert status == 130 and lines[-1] == "interrupted: nothing saved"
    for line in stdout.splitlines():  # --json's stdout: JSON only (no epoch ended here)
        json.loads(line)


def test_a_long_sweep_says_its_estimate_then_where_its_runs_stand():
    lines, stdout, status = first_stderr_lines(
        ["nn_core.sweep", *HUGE, "0.02", "--workers", "1", "--json"],
        lambda lines: any("runs ended; training: epoch 1 of 50" in l for l in lines))
    assert lines[0].startswith("2 runs on 1 at a time: about ") and "by the lab's estimate" in lines[0]
    assert any(l.startswith("0 of 2 runs ended; training: epoch 1 of 50 at ") for l in lines)
    assert status == 130
    for line in stdout.splitlines():
        json.loads(line)
