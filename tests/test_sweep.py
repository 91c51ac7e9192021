"""``python -m nn_core.sweep``: the grid, its JSON lines, exit codes, and the same numbers on 1 and 2
local workers and on a Dask cluster started with the ``dask`` command line from a folder without the
repository (its workers get nn_core and MNIST from the client), one worker killed; the app's backend
on that cluster; addresses that are malformed, not Dask, or a scheduler without workers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest

from nn_core import Hyperparams, RunStatus, Trainer, job_run, jobs
from nn_core.jobs import TRAIN_SAMPLE, DaskBackend
from nn_core.sweep import Sweep
from tests.browser import ROOT, free_port

KEYS = {"hidden_units", "learning_rate", "momentum", "batch_size", "epochs", "seed", "activation", "layers", "init",
        "optimizer", "train_size", "l2", "dropout", "label_noise", "augment", "early_stop", "schedule", "lr_decay",
        "step_epochs", "warmup", "status", "test_accuracy", "test_cost", "train_seconds", "note"}
GRID = ["--lr", "0.4", "4", "1000", "--hidden", "16", "32", "--epochs", "2", "--seeds", "2"]


def sweep(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nn_core.sweep", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def results(stdout: str) -> dict:
    """The runs by their settings, without their timing (which differs from run to run)."""
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert all(set(line) == KEYS for line in lines), lines[0]
    assert all(line["note"] is None for line in lines)  # no run failed
    return {tuple(line[k] for k in sorted(KEYS - {"status", "test_accuracy", "test_cost", "train_seconds", "note"})):
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
        settings = dict(zip(sorted(KEYS - {"status", "test_accuracy", "test_cost", "train_seconds", "note"}), key))
        assert (status == "diverged") == (settings["learning_rate"] == 1000)
        assert (accuracy > 0.85) == (status == "done") and cost > 0


def test_two_workers_give_the_same_numbers(local_results):
    outcome = sweep(*GRID, "--workers", "2", "--json")
    assert outcome.returncode == 0, outcome.stderr
    assert results(outcome.stdout) == local_results


def test_the_table_and_csv_and_workers_bounded_by_the_cores(tmp_path):
    outcome = sweep("--hidden", "16", "--epochs", "1", "--csv", str(tmp_path / "runs"), "--workers", "64")
    assert outcome.returncode == 0, outcome.stderr
    cores = jobs.available_cores()
    assert outcome.stderr.strip() == f"note: --workers 64 is more than the {cores} cores this process may use: using {cores}"
    assert outcome.stdout.splitlines()[0] == f"1 runs on {cores} local workers" and "test accuracy" in outcome.stdout
    rows = (tmp_path / "runs.csv").read_text().splitlines()
    assert rows[0].startswith("hidden_units,learning_rate") and len(rows) == 2


@pytest.mark.parametrize("flags", [["--lr", "0"], ["--hidden", "16", "x"], ["--seeds", "9"], ["--workers", "0"],
                                   ["--hidden", *map(str, range(1, 120)), "--lr", "1", "2"], ["--bogus"],
                                   ["--scheduler", "garbage"], ["--scheduler", "foo://bar"],
                                   ["--scheduler", "http://127.0.0.1:8786"], ["--scheduler", "tcp://host:99999"]])
def test_bad_flags_exit_2_with_one_line(flags):
    outcome = sweep(*flags, timeout=60)
    assert outcome.returncode == 2 and outcome.stdout == ""
    assert len(outcome.stderr.strip().splitlines()) == 1 and "error" in outcome.stderr


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port}"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def not_dask():
    """An address that answers, but not as Dask does: Python's HTTP server."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    yield f"tcp://127.0.0.1:{port}"
    server.kill()
    server.wait()


@pytest.mark.parametrize("kind", ["nothing there", "not Dask"])
def test_an_unreachable_or_not_dask_scheduler_exits_4_naming_it(kind, request):
    address = "tcp://127.0.0.1:9" if kind == "nothing there" else request.getfixturevalue("not_dask")
    started = time.monotonic()
    outcome = sweep("--scheduler", address, "--epochs", "1", "--timeout", "2", "--json", timeout=60)
    assert outcome.returncode == 4 and outcome.stdout == ""
    assert outcome.stderr.count("\n") == 1 and address in outcome.stderr
    assert ("answers but not as a Dask scheduler" in outcome.stderr) == (kind == "not Dask")
    assert time.monotonic() - started < 30  # it hung past 300 s on a server that was not Dask


@pytest.fixture(scope="module")
def bare_scheduler(tmp_path_factory):
    """A scheduler started with the dask command line in an empty folder, without the repository on
    PYTHONPATH (so neither it nor its workers can import nn_core); no worker yet (see bare_cluster)."""
    folder = tmp_path_factory.mktemp("bare")
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    assert subprocess.run([sys.executable, "-c", "import nn_core"], cwd=folder, env=env,
                          capture_output=True).returncode != 0
    port = free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": folder, "env": env}
    processes = [subprocess.Popen(["dask", "scheduler", "--port", str(port), "--dashboard-address", ":0"], **quiet)]
    wait_for_port(port)
    cluster = SimpleNamespace(address=f"tcp://127.0.0.1:{port}", quiet=quiet, processes=processes, workers=[])
    yield cluster
    for process in processes:
        process.kill()
        process.wait()


def test_a_scheduler_without_workers_exits_4_saying_so_and_ctrl_c_ends_quietly(bare_scheduler):
    address = bare_scheduler.address
    outcome = sweep("--scheduler", address, "--epochs", "1", "--timeout", "2", "--json", timeout=60)
    assert outcome.returncode == 4 and outcome.stdout == "" and outcome.stderr.count("\n") == 1
    assert f"the Dask scheduler at {address} has no worker" in outcome.stderr and "dask worker" in outcome.stderr
    waiting = subprocess.Popen([sys.executable, "-m", "nn_core.sweep", "--scheduler", address, "--timeout", "120"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal has it
    assert waiting.stdout.readline().startswith(f"Connecting to the Dask scheduler at {address}")
    time.sleep(3)  # into the wait for a worker
    waiting.send_signal(signal.SIGINT)
    _, errors = waiting.communicate(timeout=60)
    assert waiting.returncode == 130 and errors.strip() == "interrupted: nothing saved", errors


@pytest.fixture(scope="module")
def bare_cluster(bare_scheduler):
    """bare_scheduler with two workers started by the dask command line, as bare as it."""
    for _ in range(2):
        bare_scheduler.workers.append(subprocess.Popen(
            ["dask", "worker", bare_scheduler.address, "--nthreads", "1", "--no-nanny"], **bare_scheduler.quiet))
    bare_scheduler.processes += bare_scheduler.workers
    return bare_scheduler


def test_bare_dask_workers_get_the_code_and_data_and_lose_a_worker_and_no_run(local_results, bare_cluster):
    run = subprocess.Popen([sys.executable, "-m", "nn_core.sweep", *GRID, "--scheduler", bare_cluster.address,
                            "--json", "--timeout", "60"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    first = run.stdout.readline()  # the first result: then one worker dies
    bare_cluster.workers[0].send_signal(signal.SIGKILL)
    rest, errors = run.communicate(timeout=300)
    assert run.returncode == 0, errors
    assert results(first + rest) == local_results


def test_the_apps_backend_on_bare_workers_then_none(bare_cluster, mnist, monkeypatch):
    """A run on the workers that got nn_core from the client is the same to the bit as a Trainer's; once
    no worker is left, Stop ends a run at once, and a run left waiting fails saying why, with no figures."""
    hparams = Hyperparams(hidden_units=16, epochs=1, seed=5)
    backend = DaskBackend(mnist, bare_cluster.address, timeout=60)
    try:
        homes = backend.client.run(lambda: __import__("nn_core").__file__)
        assert homes and all("nn_lab_code_" in home for home in homes.values())  # the zip sent from here
        run = backend.start(hparams)
        while not run.poll(1).finished:
            pass
        result = run.claim()
        trainer = Trainer(mnist, hparams, train_sample=TRAIN_SAMPLE)
        while not trainer.finished:
            trainer.run(max_batches=1000)
        alone = trainer.result()
        assert result.status == RunStatus.DONE and np.array_equal(result.model.flat, alone.model.flat)

        for worker in bare_cluster.workers:  # no worker left
            worker.kill()
            worker.wait()
        while backend.workers:
            time.sleep(0.2)
        stopped = backend.start(hparams)
        stopped.poll(1)
        assert stopped.waiting_for().startswith(f"No Dask worker is connected to the scheduler at {bare_cluster.address}")
        started = time.monotonic()
        stopped.stop()
        assert stopped.poll(5).finished and time.monotonic() - started < 3  # sat at batch 0 before
        assert stopped.claim().status == RunStatus.STOPPED

        monkeypatch.setattr(job_run, "NO_WORKER_SECONDS", 2.0)
        sweep_ = Sweep(backend, [hparams, hparams.__class__(**(hparams.as_dict() | {"seed": 6}))], 1,
                       mnist.test_images, mnist.test_labels)
        sweep_.advance(60)
        assert sweep_.finished and sweep_.stopped and len(sweep_.rows) == 1  # the second run never started
        (row,) = sweep_.rows
        assert row["status"] == "failed" and row["test_accuracy"] is None and row["test_cost"] is None
        assert f"no Dask worker has been connected to the scheduler at {bare_cluster.address}" in row["note"]
        assert sweep_.failure == row["note"]
    finally:
        backend.shutdown()
