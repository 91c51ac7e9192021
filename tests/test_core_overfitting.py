"""The overfitting lab's settings in the core: fewer training images, L2, dropout, label noise,
augmentation and early stopping. Each is off by default (the default run's bits are checked in
test_core_recipe.py) and each does what its help says."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from nn_core import Hyperparams, Mnist, Model, Trainer
from nn_core import trainset
from nn_core.evaluation import evaluate
from nn_core.model import Workspace, cross_entropy_from_logits, forward_backward
from tests.browser import ROOT


def small(data: Mnist, n: int = 6000) -> Mnist:
    return Mnist(data.train_images[:n], data.train_labels[:n], data.test_images[:2000], data.test_labels[:2000])


def to_end(trainer: Trainer, batches: int = 100) -> Trainer:
    while not trainer.finished:
        trainer.run(max_batches=batches)
    return trainer


def test_a_subset_is_fixed_class_balanced_and_seeded(mnist):
    labels = mnist.train_labels
    one = trainset.split(labels, 1000, 0.0, 0, seed=138)
    again = trainset.split(labels, 1000, 0.0, 0, seed=138)
    other = trainset.split(labels, 1000, 0.0, 0, seed=139)
    assert len(one.train_rows) == 1000 and len(np.unique(one.train_rows)) == 1000
    assert np.array_equal(one.train_rows, again.train_rows)
    assert not np.array_equal(one.train_rows, other.train_rows)
    shares = np.bincount(labels[one.train_rows], minlength=10) / 1000
    np.testing.assert_allclose(shares, np.bincount(labels, minlength=10) / len(labels), atol=0.001)
    assert trainset.split(labels, 60_000, 0.0, 0, seed=1) is None  # the default: the whole set, untouched


def test_label_noise_replaces_the_stated_share_of_training_labels_only(mnist):
    split = trainset.split(mnist.train_labels, 10_000, 0.3, 0, seed=5)
    true = mnist.train_labels[split.train_rows]
    assert split.noisy == 3000
    changed = np.count_nonzero(split.train_labels != true)
    assert 0.85 * 3000 < changed <= 3000  # a random digit is the true one a tenth of the time
    assert np.array_equal(trainset.split(mnist.train_labels, 10_000, 0.3, 0, seed=5).train_labels, split.train_labels)
    data = small(mnist, 10_000)
    test_before = data.test_labels.copy()
    trainer = Trainer(data, Hyperparams(train_size=10_000, label_noise=0.3, epochs=1))
    X, y = trainer.next_batch()
    rows = trainer.split.train_rows[trainer._permutation[:128]]
    assert np.array_equal(y, trainer.split.train_labels[trainer._permutation[:128]])  # it trains on the noisy ones
    assert not np.array_equal(y, data.train_labels[rows])
    assert np.array_equal(data.test_labels, test_before)


def test_early_stopping_never_trains_on_its_validation_images_and_keeps_the_best_epoch(mnist):
    data = small(mnist, 3000)
    hparams = Hyperparams(train_size=2000, early_stop=2, epochs=40)
    trainer = Trainer(data, hparams)
    validation = set(trainer.split.validation_rows.tolist())
    assert len(validation) == 400 and not validation & set(trainer.split.train_rows.tolist())  # a fifth, apart
    seen = set()
    while not trainer.finished:
        if trainer.epoch_complete:
            trainer.end_epoch()
            continue
        X, y = trainer.next_batch()
        positions = trainer._permutation[(trainer.batch) * 128 : (trainer.batch + 1) * 128]
        seen |= set(trainer.split.train_rows[positions].tolist())
        trainer.step(X, y)
    assert not seen & validation and len(seen) == 1600
    result = trainer.result()
    assert result.stopped_early and len(result.epochs) < 40
    costs = [e.validation_cost for e in result.epochs]
    assert result.best_epoch == int(np.argmin(costs)) + 1
    assert len(result.epochs) - result.best_epoch == 2  # patience 2
    rows = trainer.split.validation_rows
    kept, _ = evaluate(result.model, data.train_images[rows], data.train_labels[rows])
    assert kept == pytest.approx(min(costs), rel=1e-6)  # the model is the best epoch's
    assert result.final is result.epochs[result.best_epoch - 1]


def test_dropout_gradient_matches_finite_differences_with_the_masks_fixed():
    rng = np.random.default_rng(2)
    H, m, layers = 5, 7, 2
    model = Model.initialize(H, rng, "tanh", dtype=np.float64, layers=layers)
    X, y = rng.random((m, 784)), rng.integers(0, 10, m)
    masks = [(rng.random((m, H)) < 0.6) / 0.6 for _ in range(layers)]
    ws = Workspace(H, m, np.float64, layers)
    ws.use_dropout()
    cost = forward_backward(model, X, y, ws, masks=masks)

    def masked_cost():
        A = X
        for k in range(layers):
            A = np.tanh(A @ model.weights[k] + model.biases[k]) * masks[k]
        return cross_entropy_from_logits(A @ model.weights[-1] + model.biases[-1], y).mean()

    assert cost == pytest.approx(masked_cost(), rel=1e-12)
    for i in list(range(784 * H, model.flat.size)) + list(rng.choice(784 * H, 30, replace=False)):
        saved = model.flat[i]
        model.flat[i] = saved + 1e-6
        plus = masked_cost()
        model.flat[i] = saved - 1e-6
        minus = masked_cost()
        model.flat[i] = saved
        assert ws.grad[i] == pytest.approx((plus - minus) / 2e-6, rel=1e-5, abs=1e-8)


def test_dropout_drops_the_stated_share_in_training_and_nothing_in_evaluation(mnist):
    trainer = Trainer(small(mnist), Hyperparams(dropout=0.5, layers=2, epochs=1))
    masks = trainer._dropout_masks(128)
    for mask in masks:
        assert set(np.unique(mask)) == {0.0, 2.0} and 0.45 < np.mean(mask == 0) < 0.55
    X = mnist.test_images[:50] / 255
    assert np.array_equal(trainer.model.predict(X), trainer.model.predict(X))  # evaluation is deterministic


def test_the_l2_penalty_is_in_the_cost_and_its_gradient_in_the_step(mnist):
    data = small(mnist, 1000)
    lam, lr = 0.01, 0.5
    trainer = Trainer(data, Hyperparams(l2=lam, optimizer="sgd", learning_rate=lr, epochs=1))
    before = trainer.model.copy()
    X, y = trainer.next_batch()
    cost = trainer.step(X, y)
    ws = Workspace(64, 128)
    plain_cost = forward_backward(before, X, y, ws, trainer.input_scale)
    penalty = 0.5 * lam * (np.sum(before.W1.astype(np.float64) ** 2) + np.sum(before.W2.astype(np.float64) ** 2))
    assert cost == pytest.approx(plain_cost + penalty, rel=1e-5)
    expected_W1 = before.W1 - lr * (ws.gW1 + lam * before.W1)
    np.testing.assert_allclose(trainer.model.W1, expected_W1, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(trainer.model.b1, before.b1 - lr * ws.gb1, rtol=1e-4, atol=1e-7)  # no penalty on biases


def test_augmentation_moves_images_as_stated():
    image = np.zeros((1, 784))
    image[0, 14 * 28 + 10] = 1.0
    shifted = trainset.warp(image.copy(), np.eye(2)[None], np.array([[2.0, 3.0]]))
    assert shifted.reshape(28, 28)[16, 13] == pytest.approx(1.0) and shifted.sum() == pytest.approx(1.0)
    half = trainset.warp(image.copy(), np.eye(2)[None], np.array([[0.0, 0.5]]))  # bilinear: split in two
    assert half.reshape(28, 28)[14, 10] == pytest.approx(0.5) and half.reshape(28, 28)[14, 11] == pytest.approx(0.5)
    gone = trainset.warp(image.copy(), np.eye(2)[None], np.array([[0.0, 40.0]]))
    assert gone.sum() == 0  # beyond the border is empty


def test_augmented_batches_differ_from_the_images_but_keep_their_ink(mnist):
    trainer = Trainer(small(mnist), Hyperparams(augment="on", epochs=1))
    X, y = trainer.next_batch()
    rows = trainer._permutation[:128]
    original = mnist.train_images[rows].astype(np.float32)
    assert not np.allclose(X, original)
    ink = X.sum(axis=1) / original.sum(axis=1)
    assert 0.6 < ink.min() and ink.max() < 1.4  # scaled 0.85-1.1, so ink changes by its square at most


def test_every_overfitting_setting_resumes_to_the_bit(mnist):
    data = small(mnist, 3000)
    hparams = Hyperparams(train_size=2000, dropout=0.3, augment="on", label_noise=0.1, l2=1e-3, early_stop=1,
                          epochs=6, layers=2)
    alone = to_end(Trainer(data, hparams), 10_000)
    state = Trainer(data, hparams).state()
    while not state.finished:
        trainer = Trainer.resume(data, pickle.loads(pickle.dumps(state)))
        trainer.run(max_batches=7)
        state = trainer.state()
    result = state.result()
    assert np.array_equal(result.model.flat, alone.model.flat)
    assert [e.validation_cost for e in result.epochs] == [e.validation_cost for e in alone.epochs]
    assert result.best_epoch == alone.result().best_epoch


def test_fewer_images_open_a_gap_that_l2_and_augmentation_narrow(mnist):
    data = small(mnist, 10_000)

    def gap(**settings):
        trainer = to_end(Trainer(data, Hyperparams(train_size=1000, epochs=20, **settings)))
        last = trainer.epochs[-1]
        return last.test_cost - last.train_cost, last.train_accuracy

    plain, train_accuracy = gap()
    assert train_accuracy == 1.0 and plain > 0.25  # memorised
    assert gap(l2=0.003)[0] < plain
    assert gap(augment="on")[0] < 0.5 * plain


def test_the_cli_takes_a_bare_augment_flag_and_reports_early_stopping():
    args = [sys.executable, "-m", "nn_core.train", "--train-size", "500", "--epochs", "40", "--early-stop", "2",
            "--augment", "--json", "--threads", "1"]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) < 40 and all("validation_cost" in row for row in rows)
    assert "Stopped early after epoch" in result.stderr
    bad = subprocess.run([sys.executable, "-m", "nn_core.train", "--dropout", "0.9"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "dropout must be a number in [0, 0.8]" in bad.stderr
