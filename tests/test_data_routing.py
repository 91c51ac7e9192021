"""A session's own data set on the job backends: runs on it train on the worker processes and on a real
Dask cluster to the same bits as a Trainer alone; the data set reaches the workers once per data set
(a shared copy mapped locally, one scatter on Dask), never with a chunk, and is freed with its last run."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nn_core import Hyperparams, evaluate
from nn_core.data import load_shared, share
from nn_core.jobs import DaskBackend, ProcessBackend
from nn_core.sweep import Sweep
from nn_core.worker_tasks import cached_keys, run_data

from tests.four_classes import four_digits
from tests.test_jobs import trained_alone, wait_for_result

# Long enough for several chunks and a deferred epoch evaluation; short on one core.
HP = Hyperparams(hidden_units=32, epochs=3, seed=5)
SHORT_CHUNK = 0.02  # seconds of training per chunk: a run here is many chunks however fast the machine


@pytest.fixture(scope="module")
def four(mnist):
    """MNIST's digits 0-3 under other names: a 4-class data set, 12,000 training and 2,000 test images."""
    return four_digits(mnist, 12_000, 2_000)


@pytest.fixture(scope="module")
def alone(four):
    return trained_alone(four, HP)


def assert_same_run(result, alone):
    assert result.status == alone.status == "done", result.note
    assert result.model.classes == 4
    assert np.array_equal(result.model.flat, alone.model.flat)
    assert np.array_equal(result.batch_costs, alone.batch_costs)
    assert [(e.train_cost, e.test_cost, e.test_accuracy) for e in result.epochs] == \
           [(e.train_cost, e.test_cost, e.test_accuracy) for e in alone.epochs]


def test_a_shared_copy_keeps_the_classes_name_key_and_note(four, tmp_path):
    copy = load_shared(share(four, tmp_path))
    assert (copy.classes, copy.name, copy.key, copy.note) == (four.classes, four.name, four.key, four.note)
    assert np.array_equal(copy.train_images, four.train_images) and not copy.is_mnist


def test_a_worker_maps_a_few_data_sets_and_drops_one_its_server_freed(four, tmp_path):
    folders = []
    for k in range(5):  # five data sets, told apart by their key
        folder = tmp_path / f"set{k}"
        folder.mkdir()
        share(replace(four, key=f"key{k}"), folder)
        folders.append(folder)
        assert run_data(str(folder)).key == f"key{k}"
        assert run_data(str(folder)) is run_data(str(folder))  # mapped once
    assert cached_keys() == ["key2", "key3", "key4"]  # at most three, the latest used
    for path in folders[4].iterdir():
        path.unlink()
    folders[4].rmdir()
    run_data(str(folders[3]))
    assert cached_keys() == ["key2", "key3"]


def test_worker_processes_train_a_sessions_data_set_to_the_bit_and_free_it(mnist, four, alone):
    backend = ProcessBackend(mnist, workers=2)
    backend.chunk_seconds = lambda: SHORT_CHUNK
    try:
        runs = [backend.start(HP, data=four), backend.start(HP, data=four)]  # both on one shared copy
        assert backend.data_sets_shared == 1 and backend.shared_data_sets() == [four.key]
        folder = Path(backend.data_source(four.key)[0])
        assert folder.parent == Path(tempfile.gettempdir())  # this process's temporary folder
        results = [wait_for_result(run) for run in runs]
        for result in results:
            assert_same_run(result, alone)
        assert backend.shared_data_sets() == [] and not folder.exists()  # freed with its last run
        mnist_run = wait_for_result(backend.start(Hyperparams(hidden_units=16, epochs=1, seed=3)))  # MNIST's, as ever
        assert mnist_run.model.classes == 10 and backend.data_sets_shared == 1
    finally:
        backend.shutdown()


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster


def test_a_dask_cluster_gets_the_data_set_once_and_gives_the_same_bits(cluster, mnist, four, alone):
    backend = DaskBackend(mnist, cluster.scheduler_address)
    scattered, chunks = [], []
    scatter, submit = backend.client.scatter, backend.client.submit

    keys, holders = [], []

    def counting_scatter(data, **options):
        scattered.append(data.key)
        future = scatter(data, **options)
        keys.append(future.key)
        holders.append(len(backend.client.who_has().get(future.key, ())))
        return future

    def counting_submit(function, *args, **options):
        chunks.append(function.__name__)
        return submit(function, *args, **options)

    backend.client.scatter, backend.client.submit = counting_scatter, counting_submit
    backend.chunk_seconds = lambda: SHORT_CHUNK
    try:
        sweep = Sweep(backend, [HP, HP], 2, data=four)  # the sweep of a session's data set, on the cluster
        sweep.advance(240)
        assert sweep.finished and len(sweep.results) == 2
        for result, row in zip(sweep.results, sweep.rows):
            assert_same_run(result, alone)
            assert (row["test_cost"], row["test_accuracy"]) == evaluate(alone.model, four.test_images, four.test_labels)
        assert scattered == [four.key]  # once, for both runs and all their chunks
        assert chunks.count("train_chunk") > 4
        assert backend.shared_data_sets() == []  # released with the last run: the workers drop their copies
        deadline = time.monotonic() + 30
        assert holders == [2]  # every worker was given it at once
        while backend.client.who_has().get(keys[0]):
            assert time.monotonic() < deadline, "the workers still hold the data set"
            time.sleep(0.1)
        pids = set(backend.client.run(os.getpid).values())
        assert len(pids) == 2
    finally:
        backend.shutdown()


def test_the_shared_data_sets_are_bounded_and_each_freed_with_its_last_run(mnist, four, monkeypatch):
    from nn_core import backends

    monkeypatch.setattr(backends, "MAX_DATA_SETS", 1)
    backend = ProcessBackend(mnist, workers=1)  # no worker started: only the sharing is exercised
    try:
        backend._hold(four)
        backend._hold(four)  # a second run on it: the same copy
        folder = Path(backend.data_source(four.key)[0])
        with pytest.raises(Exception, match="the workers hold 1 data sets for runs now") as refused:
            backend._hold(replace(four, key="another data set"))
        assert type(refused.value).__name__ == "DataError" and backend.data_sets_shared == 1
        backend.run_ended(four.key)
        assert folder.is_dir()  # one run still on it
        backend.run_ended(four.key)
        assert not folder.exists() and backend.shared_data_sets() == []
    finally:
        backend._active = 0
        backend.shutdown()
