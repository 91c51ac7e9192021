"""``python -m nn_core.sweep``: the grid, its JSON lines, exit codes, and the same numbers on 1 and 2
local workers and on a Dask cluster started with the ``dask`` command line, one worker killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.browser import ROOT, free_port

KEYS = {"hidden_units", "learning_rate", "momentum", "batch_size", "epochs", "seed", "activation", "layers", "init",
        "optimizer", "train_size", "l2", "dropout", "label_noise", "augment", "early_stop", "status",
        "test_accuracy", "test_cost", "train_seconds"}
GRID = ["--lr", "0.4", "4", "1000", "--hidden", "16", "32", "--epochs", "2", "--seeds", "2"]


def sweep(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nn_core.sweep", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def results(stdout: str) -> dict:
    """The runs by their settings, without their timing (which differs from run to run)."""
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert all(set(line) == KEYS for line in lines), lines[0]
    return {tuple(line[k] for k in sorted(KEYS - {"status", "test_accuracy", "test_cost", "train_seconds"})):
            (line["status"], line["test_accuracy"], line["test_cost"]) for line in lines}


@pytest.fixture(scope="module")
def local_results():
    outcome = sweep(*GRID, "--workers", "1", "--json")
    assert outcome.returncode == 0, outcome.stderr
    return results(outcome.stdout)


def test_a_grid_with_a_diverging_rate_reports_every_run(local_results):
    assert len(local_results) == 12  # 3 rates x 2 widths x 2 seeds
    statuses = [status for status, _, _ in local_results.values()]
    assert statuses.count("diverged") == 4 and statuses.count("done") == 8  # lr 1000 diverges, at both widths
    for key, (status, accuracy, cost) in local_results.items():
        settings = dict(zip(sorted(KEYS - {"status", "test_accuracy", "test_cost", "train_seconds"}), key))
        assert (status == "diverged") == (settings["learning_rate"] == 1000)
        assert (accuracy > 0.85) == (status == "done") and cost > 0


def test_two_workers_give_the_same_numbers(local_results):
    outcome = sweep(*GRID, "--workers", "2", "--json")
    assert outcome.returncode == 0, outcome.stderr
    assert results(outcome.stdout) == local_results


def test_the_table_and_csv(tmp_path):
    outcome = sweep("--hidden", "16", "--epochs", "1", "--csv", str(tmp_path / "runs"))
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.splitlines()[0].startswith("1 runs on") and "test accuracy" in outcome.stdout
    rows = (tmp_path / "runs.csv").read_text().splitlines()
    assert rows[0].startswith("hidden_units,learning_rate") and len(rows) == 2


@pytest.mark.parametrize("flags", [["--lr", "0"], ["--hidden", "16", "x"], ["--seeds", "9"], ["--workers", "0"],
                                   ["--hidden", *map(str, range(1, 120)), "--lr", "1", "2"], ["--bogus"]])
def test_bad_flags_exit_2_with_one_line(flags):
    outcome = sweep(*flags, timeout=60)
    assert outcome.returncode == 2 and outcome.stdout == ""
    assert len(outcome.stderr.strip().splitlines()) == 1 and "error" in outcome.stderr


def test_an_unreachable_scheduler_exits_4_naming_it():
    started = time.monotonic()
    outcome = sweep("--scheduler", "tcp://127.0.0.1:9", "--epochs", "1", timeout=60)
    assert outcome.returncode == 4 and "tcp://127.0.0.1:9" in outcome.stderr
    assert time.monotonic() - started < 30


def test_a_dask_cluster_started_from_the_command_line_loses_a_worker_and_no_run(local_results):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": ROOT, "env": env}
    scheduler = subprocess.Popen(["dask", "scheduler", "--port", str(port), "--dashboard-address", ":0"], **quiet)
    workers = [subprocess.Popen(["dask", "worker", address, "--nthreads", "1", "--no-nanny"], **quiet)
               for _ in range(2)]
    try:
        run = subprocess.Popen([sys.executable, "-m", "nn_core.sweep", *GRID, "--scheduler", address, "--json"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = run.stdout.readline()  # the first result: then one worker dies
        workers[0].send_signal(signal.SIGKILL)
        rest, errors = run.communicate(timeout=300)
        assert run.returncode == 0, errors
        assert results(first + rest) == local_results
    finally:
        for process in workers + [scheduler]:
            process.kill()
            process.wait()
