"""Runs as jobs on worker processes and on a real Dask cluster: the same bits as a Trainer alone,
Stop between chunks, a killed worker costs no run, an unreachable scheduler is a clear error."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from nn_core import Hyperparams, Trainer, evaluate
from nn_core.jobs import TRAIN_SAMPLE, DaskBackend, ProcessBackend, SchedulerUnreachable

SHORT = Hyperparams(epochs=5, seed=11)
LONGER = Hyperparams(hidden_units=64, epochs=4, seed=12)


def trained_alone(mnist, hparams):
    trainer = Trainer(mnist, hparams, train_sample=TRAIN_SAMPLE)
    while not trainer.finished:
        trainer.run(max_batches=1000)
    return trainer.result()


def wait_for_result(run, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run.poll(0.5).finished and (result := run.claim()) is not None:
            return result
    raise AssertionError(f"the run did not end: {run.progress()}")


def assert_same_run(result, alone):
    assert result.status == alone.status
    assert np.array_equal(result.model.flat, alone.model.flat)
    assert np.array_equal(result.batch_costs, alone.batch_costs)
    assert [(e.train_cost, e.test_cost, e.test_accuracy) for e in result.epochs] == \
           [(e.train_cost, e.test_cost, e.test_accuracy) for e in alone.epochs]
    # the parameters kept at each epoch's end came back from the workers, each once (tests/test_snapshots.py
    # checks a Trainer's against its parameters)
    assert [s.epoch for s in result.snapshots] == [s.epoch for s in alone.snapshots] == \
           list(range(len(alone.epochs) + 1))
    assert all(np.array_equal(a.params, b.params) for a, b in zip(result.snapshots, alone.snapshots))


@pytest.fixture(scope="module")
def processes(mnist):
    backend = ProcessBackend(mnist, workers=2)
    backend.warm_up()
    yield backend
    backend.shutdown()


def test_worker_processes_give_the_same_run_to_the_bit(processes, mnist):
    run = processes.start(SHORT)
    seen = set()
    while not (progress := run.poll(0.05)).finished:
        seen.add(progress.total_batches_done)
    result = run.claim()
    assert run.error is None and len(seen) >= 2 and run.claim() is None  # live progress, claimed once
    # a run alone on two workers has its epochs 1-4 evaluated by the idle one, beside its training
    assert sorted(run._evaluated) == [1, 2, 3, 4]
    assert_same_run(result, trained_alone(mnist, SHORT))
    assert [e.health for e in result.epochs] == [e.health for e in trained_alone(mnist, SHORT).epochs]
    # the per-epoch train figures are on the fixed sample, the last epoch's on the whole set
    assert [e.train_sample for e in result.epochs] == [TRAIN_SAMPLE] * 4 + [None]
    # a finished run's last epoch is its score (the app does not measure it again): the whole test set,
    # the final parameters, to the bit
    assert (result.final.test_cost, result.final.test_accuracy) == \
        evaluate(result.model, mnist.test_images, mnist.test_labels)


def test_a_fine_tuning_run_on_workers_is_the_same_as_in_process(processes, mnist):
    """A run from a given model on its own training mix (an MNIST sample and extra drawings), which
    travels with the run's state to the workers."""
    from nn_core.handwriting import DigitSet, TrainingMix

    start = trained_alone(mnist, Hyperparams(epochs=1, seed=3)).model
    extra = DigitSet(mnist.test_images[:300].copy(), mnist.test_labels[:300].copy())  # stand-ins for drawings
    mix, hparams = TrainingMix(20_000, seed=1, extra=extra), Hyperparams(epochs=3, learning_rate=2.0, seed=4)
    run = processes.start(hparams, initial=start, mix=mix)
    result = wait_for_result(run)
    assert run._state.mix is mix  # one copy in this process: the chunks' states come back without it
    alone = Trainer(mnist, hparams, initial=start, train_sample=TRAIN_SAMPLE, mix=mix)
    alone.run()
    assert_same_run(result, alone.result())
    assert result.batches_per_epoch == -(-20_300 // 128)  # the mix, not MNIST's 60,000


def test_stop_between_chunks(processes):
    run = processes.start(Hyperparams(epochs=30))
    while run.poll(0.5).total_batches_done == 0:
        pass
    run.stop()
    result = wait_for_result(run, 30)
    assert result.status == "stopped" and 0 < len(result.batch_costs) < 30 * 469


def test_a_killed_worker_costs_one_chunk_not_the_run(processes, mnist):
    pids = processes.warm_up()
    run = processes.start(LONGER)
    while run.poll(0.5).total_batches_done < 200:
        pass
    os.kill(pids[0], signal.SIGKILL)
    result = wait_for_result(run)
    assert run.retries >= 1  # the chunk in flight was sent again, to a new pool
    assert_same_run(result, trained_alone(mnist, LONGER))
    assert set(processes.warm_up()).isdisjoint({pids[0]})


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster


def test_a_dask_cluster_gives_the_same_run_even_when_a_worker_is_killed(cluster, mnist):
    backend = DaskBackend(mnist, cluster.scheduler_address)
    try:
        pids = list(backend.client.run(os.getpid).values())
        run = backend.start(LONGER)
        while run.poll(0.5).total_batches_done < 200:
            pass
        for pid in pids:  # so the chunk in flight is lost; the nannies start new workers
            os.kill(pid, signal.SIGKILL)
        result = wait_for_result(run)
        assert_same_run(result, trained_alone(mnist, LONGER))
        assert set(backend.client.run(os.getpid).values()).isdisjoint(pids)
    finally:
        backend.shutdown()


def test_an_unreachable_scheduler_is_a_clear_error_naming_it(mnist):
    started = time.monotonic()
    with pytest.raises(SchedulerUnreachable, match=r"tcp://127\.0\.0\.1:9"):
        DaskBackend(mnist, "tcp://127.0.0.1:9", timeout=3)
    assert time.monotonic() - started < 30


def test_pages_redraw_less_often_as_runs_queue(mnist):
    backend = ProcessBackend(mnist, workers=2)  # no run started, so no worker either
    seen = []
    for active in (1, 2, 3, 4, 8):
        backend._active = active
        seen.append((backend.chunk_seconds(), backend.poll_interval()))
    assert seen == [pytest.approx(pair) for pair in [(0.4, 1.0), (0.4, 1.0), (0.6, 1.5), (0.8, 2.0), (1.2, 2.0)]]


def test_the_servers_blas_limit_holds_no_sessions_thread():
    """threadpoolctl keeps the thread that set OpenBLAS's limit; in the server that is a session's script
    thread, and with it the session's models, after the session ended (the sessions benchmark saw it)."""
    import threading

    from threadpoolctl import OpenBLASController, threadpool_info

    from ui.server import one_blas_thread

    thread = threading.Thread(target=one_blas_thread.__wrapped__)  # as a session's script thread calls it
    thread.start()
    thread.join()
    assert OpenBLASController._SHARED_STATE.controlling_thread is None
    assert {info["num_threads"] for info in threadpool_info() if info["internal_api"] == "openblas"} == {1}
