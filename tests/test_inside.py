"""nn_core.inside: the Inside page's steps are a Train run's steps, and every stage it keeps matches an
independent float64 forward and backward pass written here (not nn_core.model's)."""

from __future__ import annotations

import numpy as np
import pytest

from nn_core import Hyperparams, Mnist, Model, Trainer
from nn_core.inside import HISTORY_STEPS, InsideRun, chosen_weights
from nn_core.model import flat_views


def initial_weights(hp: Hyperparams):
    """The post's initialisation drawn from the seed, and the first epoch's shuffle after it."""
    rng = np.random.default_rng(hp.seed)
    W1 = (rng.standard_normal((784, hp.hidden_units)) * np.sqrt(1 / 784)).astype(np.float32)
    W2 = (rng.standard_normal((hp.hidden_units, 10)) * np.sqrt(1 / hp.hidden_units)).astype(np.float32)
    return W1, W2, rng.permutation(60_000)


ACTIVATION = {  # f and f' in float64
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
}


def reference(params: dict, X, y, activation: str) -> dict:
    """The post's forward and backward pass, row-major, in float64."""
    f, f_prime = ACTIVATION[activation]
    W1, b1, W2, b2 = (params[name].astype(np.float64) for name in ("W1", "b1", "W2", "b2"))
    m = len(X)
    Z1 = X @ W1 + b1
    A1 = f(Z1)
    Z2 = A1 @ W2 + b2
    A2 = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    A2 /= A2.sum(axis=1, keepdims=True)
    Y = np.zeros((m, 10))
    Y[np.arange(m), y] = 1
    dZ2 = A2 - Y
    dA1 = dZ2 @ W2.T
    dZ1 = dA1 * f_prime(Z1)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2, "Y": Y, "cost": -np.sum(Y * np.log(A2)) / m,
            "dZ2": dZ2, "dW2": A1.T @ dZ2 / m, "db2": dZ2.sum(axis=0) / m, "dA1": dA1, "derivative": f_prime(Z1),
            "dZ1": dZ1, "dW1": X.T @ dZ1 / m, "db1": dZ1.sum(axis=0) / m}


def assert_close(name, actual, expected, rtol=2e-4):
    """float32 against float64: within rtol of the matrix's largest entry."""
    actual = np.asarray(actual, np.float64)
    assert actual.shape == np.shape(expected), name
    scale = max(float(np.max(np.abs(expected))), 1e-12)
    error = float(np.max(np.abs(actual - expected)))
    assert error <= rtol * scale, f"{name}: off by {error:.3g} (largest entry {scale:.3g})"


def flat64(arrays: dict, hidden_units: int) -> np.ndarray:
    return np.concatenate([np.asarray(arrays[name], np.float64).ravel() for name in ("W1", "b1", "W2", "b2")])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_every_stage_matches_an_independent_float64_pass(mnist, activation):
    hp = Hyperparams(activation=activation, learning_rate=0.5 if activation == "relu" else 4.0)
    W1, W2, permutation = initial_weights(hp)
    run = InsideRun.start(mnist, hp)
    velocity = np.zeros(flat64({"W1": W1, "b1": np.zeros(64), "W2": W2, "b2": np.zeros(10)}, 64).size)
    for number in (1, 2):  # the second step starts from a non-zero velocity
        run.advance(1)
        step = run.last
        rows = permutation[(number - 1) * 128 : number * 128]
        X, y = mnist.train_images[rows] / 255.0, mnist.train_labels[rows].astype(int)
        if number == 1:  # the seed's weights: the post's initialisation, as a Train run draws it
            assert np.array_equal(step.before.W1, W1) and np.array_equal(step.before.W2, W2)
            assert not step.before.b1.any() and not step.before.b2.any()
        expected = reference(step.before.arrays(), X, y, activation)
        assert np.array_equal(step.stages.y, y)
        assert_close("X", step.stages.X, X)
        for name in ("Y", "Z1", "A1", "Z2", "A2", "dZ2", "dW2", "db2", "dA1", "derivative", "dZ1", "dW1", "db1"):
            assert_close(name, getattr(step.stages, name), expected[name])
        assert step.cost == pytest.approx(expected["cost"], rel=1e-5)
        gradient = flat64({name: expected["d" + name] for name in ("W1", "b1", "W2", "b2")}, 64)
        velocity = hp.momentum * velocity + (1 - hp.momentum) * gradient  # the post's V
        assert_close("V", step.velocity, velocity)
        assert_close("update", step.update, hp.learning_rate * velocity)
        assert_close("after", step.after.flat, step.before.flat - hp.learning_rate * velocity, rtol=1e-5)


def test_batch_costs_and_weights_are_the_default_runs(mnist):
    """Steps of 1, 10 and 100 batches give exactly the costs and weights of nn_core's default run."""
    reference_run = Trainer(mnist, Hyperparams())
    reference_run.run(max_batches=111)
    run = InsideRun.start(mnist, Hyperparams())
    for steps, total in ((1, 1), (10, 11), (100, 111)):
        run.advance(steps)
        assert run.steps == run.last.number == total
        assert run.last.cost == reference_run.batch_costs[total - 1]
    assert np.array_equal(run.trainer.batch_costs[:111], reference_run.batch_costs[:111])
    assert np.array_equal(run.trainer.model.flat, reference_run.model.flat)


def test_an_epoch_ends_as_in_a_train_run(mnist):
    """Across epoch ends (8 batches of 1,000 images): the same shuffles, evaluation and position."""
    subset = Mnist(mnist.train_images[:1000], mnist.train_labels[:1000], mnist.test_images[:500],
                   mnist.test_labels[:500])
    hp = Hyperparams(epochs=3)
    reference_run = Trainer(subset, hp)
    reference_run.run(max_batches=20)
    run = InsideRun.start(subset, hp)
    run.advance(20)
    assert (run.trainer.epoch, run.trainer.batch) == (reference_run.epoch, reference_run.batch) == (2, 4)
    assert (run.last.epoch, run.last.batch) == (3, 4)
    assert np.array_equal(run.trainer.batch_costs[:20], reference_run.batch_costs[:20])
    assert np.array_equal(run.trainer.model.flat, reference_run.model.flat)
    figures = ("epoch", "train_cost", "test_cost", "train_accuracy", "test_accuracy")
    assert [getattr(run.last_epoch, f) for f in figures] == [getattr(reference_run.epochs[-1], f) for f in figures]
    run.advance(100)  # the run's 24 batches are all trained: no further step
    assert run.finished and run.steps == 24 and not run.diverged


def test_a_huge_learning_rate_ends_with_the_message_and_the_last_good_step(mnist):
    run = InsideRun.start(mnist, Hyperparams(learning_rate=1000.0))
    run.advance(100)
    assert run.finished and run.diverged is not None
    assert "Lower the learning rate" in run.diverged.message
    assert run.last is not None and run.last.number == run.steps  # the last good step stays shown
    assert np.isfinite(run.last.stages.dW1).all()


def test_starts_from_a_given_model_with_zero_velocity(mnist):
    rng = np.random.default_rng(5)
    model = Model.initialize(32, rng, "tanh")
    model.b1[...] = 0.25
    run = InsideRun.start(mnist, Hyperparams(hidden_units=32, activation="tanh"), initial=model)
    run.advance(1)
    assert np.array_equal(run.last.before.flat, model.flat)
    gradient = run.last.stages.gradient()
    assert_close("V", run.last.velocity, 0.1 * gradient)  # V = 0.9 * 0 + 0.1 * grad


def test_momentum_history_is_bounded_and_shows_V_smoothing_the_gradient(mnist):
    run = InsideRun.start(mnist, Hyperparams())
    run.advance(HISTORY_STEPS + 30)
    steps, norms, values = run.history_arrays()
    assert list(steps) == list(range(31, HISTORY_STEPS + 31))
    last = run.last  # the newest record is the last step's own figures
    views = {kind: flat_views(flat.astype(np.float64), 64) for kind, flat in last.kinds().items()}
    for k, kind in enumerate(("gradient", "velocity", "update")):
        layer_one = np.sqrt(np.sum(views[kind]["W1"] ** 2) + np.sum(views[kind]["b1"] ** 2))
        assert norms[-1, 0, k] == pytest.approx(layer_one, rel=1e-4)
        for i, (name, row, column) in enumerate(chosen_weights(64)):
            assert values[-1, i, k] == pytest.approx(views[kind][name][row, column], rel=1e-5, abs=1e-12)
    # V is an average of recent gradients: it changes less from step to step than the gradient does
    for layer in (0, 1):
        gradient_jumps = np.abs(np.diff(norms[:, layer, 0])).mean()
        velocity_jumps = np.abs(np.diff(norms[:, layer, 1])).mean()
        assert velocity_jumps < 0.5 * gradient_jumps
