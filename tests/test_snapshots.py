"""The parameters a run keeps at each epoch's end (nn_core.snapshots): equal to the trainer's own at
that moment, bounded in memory, the same from every backend (tests/test_jobs.py compares the worker
processes' and Dask's with a Trainer's), and the live progress's unit images."""

from __future__ import annotations

import numpy as np
import pytest

from nn_core import Hyperparams, LocalBackend, Trainer
from nn_core import snapshots
from nn_core.model import parameter_count
from nn_core.snapshots import SNAPSHOT_BYTES, kept_epochs, snapshot_bytes, stride, unit_images

SMALL = Hyperparams(hidden_units=16, epochs=4, train_size=1000, seed=5)


def params_at_each_epoch_end(mnist, hparams):
    """The trainer's float32 parameters before training and after each epoch, read between epochs."""
    trainer = Trainer(mnist, hparams)
    seen = [trainer.model.flat.copy()]
    while not trainer.finished:
        trainer.run(max_batches=trainer.batches_per_epoch - trainer.batch)  # stops at the epoch's end
        seen.append(trainer.model.flat.copy())
    return trainer, seen


def test_a_run_keeps_its_parameters_at_each_epochs_end_at_half_precision(mnist):
    trainer, seen = params_at_each_epoch_end(mnist, SMALL)
    assert [s.epoch for s in trainer.snapshots] == [0, 1, 2, 3, 4]
    for snapshot, params in zip(trainer.snapshots, seen):
        assert snapshot.params.dtype == np.float16
        assert np.array_equal(snapshot.params, params.astype(np.float16))
    assert not np.array_equal(trainer.snapshots[0].params, trainer.snapshots[-1].params)
    # the last is the model kept, and a snapshot makes a model of the run's shape
    result = trainer.result()
    assert np.allclose(result.snapshots[-1].model(result.model).flat, result.model.flat, rtol=1e-3, atol=1e-4)


def test_the_local_backend_keeps_the_same_snapshots_and_the_training_is_unchanged(mnist):
    trainer, _ = params_at_each_epoch_end(mnist, SMALL)
    run = LocalBackend(mnist).start(SMALL)
    while not run.poll(0.2).finished:
        pass
    result = run.claim()
    assert np.array_equal(result.model.flat, trainer.model.flat)  # keeping them changes no bit
    assert [s.epoch for s in result.snapshots] == [0, 1, 2, 3, 4]
    assert all(np.array_equal(a.params, b.params) for a, b in zip(result.snapshots, trainer.snapshots))


def test_memory_is_bounded_per_run():
    per_epoch = snapshot_bytes(512)
    assert per_epoch == parameter_count(512) * 2 == 814_100
    every = stride(512, 1, 50)
    kept = kept_epochs(50, every)
    assert every == 2 and kept[:3] == [0, 2, 4] and kept[-1] == 50
    assert len(kept) * per_epoch <= SNAPSHOT_BYTES < 51 * per_epoch  # all 51 would not fit
    assert stride(64, 1, 9) == 1  # the default run keeps every epoch: 10 x 102 KB
    for hidden, layers in ((512, 4), (256, 2)):
        assert len(kept_epochs(50, stride(hidden, layers, 50))) * snapshot_bytes(hidden, layers) <= SNAPSHOT_BYTES


def test_a_run_past_the_budget_keeps_every_strideth_epoch_and_the_last(mnist, monkeypatch):
    hparams = Hyperparams(hidden_units=16, epochs=5, train_size=500, seed=2)
    budget = 3 * snapshot_bytes(16)  # room for three: epochs 0, 3 and 5
    monkeypatch.setattr(snapshots, "SNAPSHOT_BYTES", budget)
    trainer, seen = params_at_each_epoch_end(mnist, hparams)
    assert [s.epoch for s in trainer.snapshots] == [0, 3, 5]
    assert sum(s.nbytes for s in trainer.snapshots) <= budget
    for snapshot in trainer.snapshots:
        assert np.array_equal(snapshot.params, seen[snapshot.epoch].astype(np.float16))


def test_early_stopping_keeps_the_epoch_it_stopped_at(mnist, monkeypatch):
    monkeypatch.setattr(snapshots, "SNAPSHOT_BYTES", 2 * snapshot_bytes(16))  # only the first and the last
    hparams = Hyperparams(hidden_units=16, epochs=40, train_size=200, early_stop=1, seed=3)
    trainer = Trainer(mnist, hparams)
    trainer.run()
    assert trainer.stopped_early
    assert [s.epoch for s in trainer.snapshots] == [0, trainer.epoch]


def test_progress_carries_the_first_layers_units_as_small_images(mnist):
    run = LocalBackend(mnist).start(SMALL)
    first = run.progress()
    assert first.units.shape == (16, 28, 28) and first.units.dtype == np.uint8
    progress = run.poll(0.05)
    while not progress.finished:
        progress = run.poll(0.2)
    result = run.claim()
    images, limit = unit_images(result.model.flat, 16)
    assert np.array_equal(progress.units, images) and progress.units_limit == limit
    assert not np.array_equal(first.units, progress.units)  # they changed as it trained
    # each pixel is its weight over the limit: 128 is zero, 1 and 255 the limit's either side
    W1 = result.model.W1  # (784, 16)
    decoded = (progress.units.reshape(16, 784).T.astype(np.float32) - 128) / 127 * limit
    inside = np.abs(W1) <= limit
    assert np.allclose(decoded[inside], W1[inside], atol=limit / 127)
    assert np.all(progress.units.reshape(16, 784).T[W1 > limit] == 255)


@pytest.mark.parametrize("hidden", [64, 512])
def test_unit_images_are_uint8_per_unit(hidden):
    flat = np.random.default_rng(0).standard_normal(parameter_count(hidden)).astype(np.float32)
    flat[3] = np.nan
    images, limit = unit_images(flat, hidden)
    assert images.shape == (hidden, 28, 28) and images.dtype == np.uint8 and limit > 0
    W1 = flat[: 784 * hidden].reshape(784, hidden)
    assert images[5, 0, 0] == np.clip(np.rint(128 + 127 * W1[0, 5] / limit), 1, 255)
    assert images[3, 0, 0] == 128  # W1[0, 3], NaN, drawn as zero
