"""Learning rate and momentum changed while a run trains: recorded as the run's changes, and a run
given those changes replays it to the bit, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

from nn_core import Hyperparams, Mnist, Trainer
from nn_core.jobs import TRAIN_SAMPLE, DaskBackend, ProcessBackend
from nn_core.runs import LocalBackend
from nn_core.training import Change, describe_changes

# Far longer than the test: the run is stopped once both changes are in, so the test waits on events
# (the changes recorded, the run past them), never on how fast the machine trains (a 24-epoch run once
# ended before its second change on a loaded machine).
HPARAMS = Hyperparams(epochs=50, seed=21)


def small(data: Mnist) -> Mnist:
    return Mnist(data.train_images[:12_000], data.train_labels[:12_000], data.test_images, data.test_labels)


def replayed(data, result):
    """The run again, given its recorded changes, for as many batches as it trained."""
    trainer = Trainer(data, result.hparams, train_sample=TRAIN_SAMPLE, changes=result.changes)
    target = len(result.batch_costs)
    while trainer.total_batches_done < target and not trainer.finished:
        trainer.run(max_batches=min(97, target - trainer.total_batches_done))
    return trainer.result()


def change_while_training(run, changes=(("learning_rate", 0.5), ("momentum", 0.5))):
    """Poll the run, changing a setting after each of its first chunks, then stop it; its result."""
    pending, made, after = list(changes), 0, 30
    while not (progress := run.poll(0.2, every=0.0)).finished:  # every chunk's news, not the page's pace
        assert progress.total_batches_done < progress.total_batches, "the run ended before it was stopped"
        # the next change once the last one is recorded and the run has gone on past it
        if len(progress.changes) == made and progress.total_batches_done > after:
            if not pending:
                run.stop()
                continue
            run.change(*pending.pop(0))
            made, after = made + 1, progress.total_batches_done + 60
    result = run.claim()
    assert result.status == "stopped" and len(result.changes) == len(changes)
    return result


def assert_replays(data, result):
    assert len(result.changes) == 2 and result.changes[0].batch < result.changes[1].batch
    again = replayed(data, result)
    assert np.array_equal(again.model.flat, result.model.flat)
    assert np.array_equal(again.batch_costs, result.batch_costs)
    plain = replayed(data, type(result)(**{**result.__dict__, "changes": ()}))
    assert not np.array_equal(plain.model.flat, result.model.flat)  # the changes did change the run


def test_a_local_run_records_its_changes_and_replays_to_the_bit(mnist):
    data = small(mnist)
    result = change_while_training(LocalBackend(data).start(HPARAMS))
    # went on, not restarted: every batch trained once, the epochs in order
    assert not np.isnan(result.batch_costs).any()
    assert [e.epoch for e in result.epochs] == list(range(1, len(result.batch_costs) // 94 + 1))
    assert_replays(data, result)
    words = result.describe_changes()
    assert words[0].startswith("learning rate 4 → 0.5 at epoch ") and words[1].startswith("momentum 0.9 → 0.5")


@pytest.fixture(scope="module")
def processes(mnist):
    backend = ProcessBackend(small(mnist), workers=2)
    backend.warm_up()
    yield backend
    backend.shutdown()


def test_worker_processes_record_changes_that_replay_to_the_bit(processes, mnist):
    result = change_while_training(processes.start(HPARAMS))
    assert_replays(small(mnist), result)


def test_a_dask_run_records_changes_that_replay_to_the_bit(mnist):
    from distributed import LocalCluster

    data = mnist  # Dask's workers read MNIST from disk, all of it
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        backend = DaskBackend(data, cluster.scheduler_address)
        try:
            result = change_while_training(backend.start(HPARAMS))
        finally:
            backend.shutdown()
    assert_replays(data, result)


def test_bad_changes_are_refused():
    with pytest.raises(ValueError, match="only learning_rate and momentum"):
        Change(3, "hidden_units", 8).check()
    with pytest.raises(ValueError, match="learning rate must be"):
        Change(3, "learning_rate", -1.0).check()
    with pytest.raises(ValueError, match=r"momentum \(beta\) must be"):
        Change(3, "momentum", 1.5).check()


def test_changes_are_described_from_the_value_they_replaced():
    changes = (Change(1125, "learning_rate", 0.5), Change(1500, "learning_rate", 2.0))
    assert describe_changes(Hyperparams(), changes, 469) == [
        "learning rate 4 → 0.5 at epoch 2.4", "learning rate 0.5 → 2 at epoch 3.2"]
