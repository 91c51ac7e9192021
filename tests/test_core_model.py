"""The model's calculus, the optimizer's formula, and the training loop's contract."""

import numpy as np
import pytest

from nn_core import Diverged, EpochStats, Hyperparams, Mnist, Model, Trainer
from nn_core.evaluation import evaluate
from nn_core.training import DIVERGENCE_COST
from nn_core.model import ACTIVATIONS, Workspace, cross_entropy_from_logits, forward_backward, softmax
from nn_core.optim import Momentum


def subset(data: Mnist, n: int) -> Mnist:
    return Mnist(data.train_images[:n], data.train_labels[:n], data.test_images[:n], data.test_labels[:n])


def mean_cost(model, X, y):
    return cross_entropy_from_logits(model.logits(X), y).mean()


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backward_matches_finite_differences(activation, layers):
    rng = np.random.default_rng(0)
    H, m = 6, 9
    model = Model.initialize(H, rng, activation, dtype=np.float64, layers=layers)
    for b in model.biases:  # non-zero biases so their gradients are exercised
        b[...] = rng.normal(0, 0.5, b.shape)
    X = rng.random((m, 784))
    y = rng.integers(0, 10, m)
    ws = Workspace(H, batch_size=16, dtype=np.float64, layers=layers)  # larger than the batch: partial views
    cost = forward_backward(model, X, y, ws)
    assert cost == pytest.approx(mean_cost(model, X, y), rel=1e-12)
    # every parameter after W1, and a sample of W1 entries
    first_bias = 784 * H
    indices = list(range(first_bias, model.flat.size)) + list(rng.choice(first_bias, 60, replace=False))
    eps = 1e-6
    for i in indices:
        saved = model.flat[i]
        model.flat[i] = saved + eps
        plus = mean_cost(model, X, y)
        model.flat[i] = saved - eps
        minus = mean_cost(model, X, y)
        model.flat[i] = saved
        numeric = (plus - minus) / (2 * eps)
        assert ws.grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8), f"parameter {i}"


def test_softmax_and_cost_are_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0] + [0.0] * 7, [-5e4] * 10])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        probabilities = softmax(logits)
        costs = cross_entropy_from_logits(logits, np.array([2, 3]))
    assert np.allclose(probabilities.sum(axis=1), 1)
    assert costs[0] == pytest.approx(2000.0)  # finite, not inf, though p underflows to 0
    assert costs[1] == pytest.approx(np.log(10))


def test_momentum_step_is_the_posts_formula():
    rng = np.random.default_rng(1)
    W = rng.normal(size=50)
    V = rng.normal(size=50)
    grad = rng.normal(size=50)
    learning_rate, beta = 4.0, 0.9
    optimizer = Momentum(50, learning_rate, beta, dtype=np.float64)
    optimizer.velocity[...] = V
    params = W.copy()
    assert optimizer.grad_scale == pytest.approx(1.0 - beta)
    optimizer.step(params, optimizer.grad_scale * grad)  # the loop's gradient carries grad_scale
    expected_V = beta * V + (1.0 - beta) * grad  # V_dW1 = (beta * V_dW1 + (1. - beta) * grads["dW1"])
    expected_W = W - learning_rate * expected_V  # params["W1"] = params["W1"] - learning_rate * V_dW1
    np.testing.assert_allclose(optimizer.velocity, expected_V, rtol=1e-15)
    np.testing.assert_allclose(params, expected_W, rtol=1e-15)


def test_initialisation_follows_the_post():
    model = Model.initialize(64, np.random.default_rng(138))
    assert model.W1.shape == (784, 64) and model.W2.shape == (64, 10)
    assert model.W1.dtype == np.float32
    assert not model.b1.any() and not model.b2.any()
    assert model.W1.std() == pytest.approx(np.sqrt(1 / 784), rel=0.02)
    assert model.W2.std() == pytest.approx(np.sqrt(1 / 64), rel=0.1)


def run_to_end(trainer, **budget):
    events = []
    while not trainer.finished:
        events += trainer.run(**budget)
    return events


def test_same_seed_gives_bit_identical_parameters(mnist):
    data = subset(mnist, 3000)
    hp = Hyperparams(epochs=2, seed=7)
    first, second = Trainer(data, hp), Trainer(data, hp)
    run_to_end(first, max_batches=5)
    run_to_end(second, max_batches=1000)  # chunking does not change the result
    assert np.array_equal(first.model.flat, second.model.flat)
    other = Trainer(data, Hyperparams(epochs=2, seed=8))
    run_to_end(other, max_batches=1000)
    assert not np.array_equal(first.model.flat, other.model.flat)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_cost_falls_on_a_small_subset(mnist, activation):
    data = subset(mnist, 1000)
    trainer = Trainer(data, Hyperparams(epochs=5, activation=activation, learning_rate=0.5 if activation == "relu" else 4.0))
    start_cost, _ = evaluate(trainer.model, data.train_images, data.train_labels)
    events = run_to_end(trainer, max_batches=100)
    epochs = [e for e in events if isinstance(e, EpochStats)]
    assert len(epochs) == 5 and trainer.status == "done"
    assert epochs[-1].train_cost < 0.5 * start_cost
    assert epochs[-1].train_cost < epochs[0].train_cost
    assert epochs[-1].test_accuracy > 0.75


class RecordingTrainer(Trainer):
    """A Trainer that keeps a copy of every batch it trains on."""

    def __post_init__(self):
        super().__post_init__()
        self.seen = []

    def next_batch(self):
        X, y = super().next_batch()
        self.seen.append(X.copy())
        return X, y


def test_every_sample_is_seen_once_per_epoch(mnist):
    data = subset(mnist, 1000)  # 1000 = 7 * 128 + 104: the last batch is partial
    trainer = RecordingTrainer(data, Hyperparams(epochs=2))
    run_to_end(trainer, max_batches=3)
    seen = trainer.seen
    assert trainer.batches_per_epoch == 8
    assert [len(x) for x in seen] == [128] * 7 + [104] + [128] * 7 + [104]
    for epoch in (seen[:8], seen[8:]):
        rows = np.concatenate(epoch)  # raw 0-255 pixels as float32: the 1/255 is applied to X W1
        expected = data.train_images.astype(np.float32)
        # the same multiset of images, in a shuffled order
        assert not np.array_equal(rows, expected)
        assert np.array_equal(np.sort(rows.sum(axis=1)), np.sort(expected.sum(axis=1)))


def test_stop_keeps_the_parameters_trained_so_far(mnist):
    trainer = Trainer(subset(mnist, 5000), Hyperparams(epochs=3))
    initial = trainer.model.flat.copy()
    events = trainer.run(max_batches=10)
    trainer.stop()
    assert trainer.status == "stopped" and trainer.run(max_batches=10) == []
    result = trainer.result()
    assert result.status == "stopped" and len(result.batch_costs) == 10
    assert events[-1].total_batches_done == 10
    assert not np.array_equal(result.model.flat, initial)
    assert np.array_equal(result.model.flat, trainer.model.flat)


def test_huge_learning_rate_diverges_cleanly(mnist, recwarn):
    trainer = Trainer(mnist, Hyperparams(learning_rate=1000, epochs=2))
    events = run_to_end(trainer, max_batches=50)
    diverged = events[-1]
    assert isinstance(diverged, Diverged) and trainer.status == "diverged"
    assert diverged.epoch == 1 and diverged.batch >= 1
    assert not np.isfinite(diverged.cost) or diverged.cost > DIVERGENCE_COST
    assert "diverged" in diverged.message and "Lower the learning rate" in diverged.message
    # the kept parameters are the last good ones: finite, and they give a sane cost
    assert np.all(np.isfinite(trainer.model.flat))
    cost, _ = evaluate(trainer.model, mnist.test_images[:2000], mnist.test_labels[:2000])
    assert cost < DIVERGENCE_COST
    assert not [w for w in recwarn if "overflow" in str(w.message) or "invalid value" in str(w.message)]


def test_bad_hyperparameters_are_rejected():
    for bad in [dict(learning_rate=-1), dict(learning_rate=float("nan")), dict(batch_size=0),
                dict(hidden_units=0), dict(momentum=1.0), dict(momentum=-0.1), dict(epochs=0),
                dict(activation="swish"), dict(hidden_units=2.5), dict(learning_rate=True), dict(momentum=False),
                dict(seed=10**100), dict(batch_size=10**30), dict(hidden_units=10**6), dict(epochs=10**9),
                dict(learning_rate=float("inf")), dict(seed="1")]:
        with pytest.raises(ValueError):
            Hyperparams(**bad).validate()


class SlowTrainer(Trainer):
    def step(self, X, y):
        import time

        time.sleep(0.05)
        return super().step(X, y)


def test_time_budget_covers_the_whole_call_including_evaluation(mnist):
    # one-batch epochs of >= 50 ms each (a sleeping step): a budget of 0.12 s must stop the call
    # after about 3 epochs, not restart at each epoch end and run all 50
    trainer = SlowTrainer(subset(mnist, 600), Hyperparams(epochs=50, batch_size=600))
    events = trainer.run(max_seconds=0.12)
    epochs = sum(isinstance(e, EpochStats) for e in events)
    assert 1 <= epochs <= 3 and not trainer.finished


def test_chunks_end_at_the_budget_and_at_each_epochs_end(mnist):
    from nn_core import ChunkStats

    data = subset(mnist, 2000)  # 16 batches per epoch
    trainer = Trainer(data, Hyperparams(epochs=3))
    chunks = []
    while len(chunks) < 5:
        chunks += [e for e in trainer.run(max_batches=5) if isinstance(e, ChunkStats)]
    # an epoch's end closes a chunk (16) and the call goes on to its 5 batches (20)
    assert [c.total_batches_done for c in chunks] == [5, 10, 15, 16, 20]
    assert trainer.status == "running" and trainer.total_batches_done == 20 and trainer.epoch == 1
    assert all(0 < c.batch_cost < 3 for c in chunks)


def test_a_run_can_start_from_given_parameters(mnist):
    data = subset(mnist, 2000)
    first = Trainer(data, Hyperparams(epochs=1))
    run_to_end(first)
    again = Trainer(data, Hyperparams(epochs=1, learning_rate=0.5), initial=first.model)
    assert np.array_equal(again.model.flat, first.model.flat) and again.model.flat is not first.model.flat
    cost_before, _ = evaluate(again.model, data.train_images, data.train_labels)
    run_to_end(again)
    assert again.epochs[-1].train_cost < cost_before  # it went on from there, not from scratch
    assert np.array_equal(first.result().model.flat, first.model.flat)  # the given model is untouched
    with pytest.raises(ValueError, match="starting model has 64 sigmoid units"):
        Trainer(data, Hyperparams(hidden_units=32), initial=first.model)
