"""nn_core.inside: the Inside page's steps are a Train run's steps, and every stage it keeps, for any depth,
and the optimizer's state and update, match an independent float64 forward and backward pass and float64
optimizers written here (not nn_core.model's or nn_core.optim's)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from nn_core import Hyperparams, Mnist, Model, Trainer
from nn_core.inside import HISTORY_STEPS, ROWS_KEPT, InsideRun, chosen_weights, kinds, numbers
from nn_core.model import flat_views

OPTIMIZERS = ("momentum", "sgd", "nesterov", "rmsprop", "adam")
LEARNING_RATES = {"momentum": 4.0, "sgd": 1.0, "nesterov": 2.0, "rmsprop": 0.001, "adam": 0.001}


def initial_weights(hp: Hyperparams, samples: int = 60_000):
    """The post's initialisation N(0, 1/fan_in), layer by layer from the seed, and the first epoch's shuffle
    of ``samples`` training images."""
    rng = np.random.default_rng(hp.seed)
    widths = [784] + [hp.hidden_units] * hp.layers + [10]
    weights = [(rng.standard_normal((n_in, n_out)) * np.sqrt(1 / n_in)).astype(np.float32)
               for n_in, n_out in zip(widths[:-1], widths[1:])]
    return weights, rng.permutation(samples)


def initial_params(hp: Hyperparams, samples: int = 60_000) -> tuple[dict, np.ndarray]:
    """W1 b1 ... W(L+1) b(L+1) as the seed draws them (biases zero), in float64, and the first shuffle."""
    weights, permutation = initial_weights(hp, samples)
    params = {}
    for k, W in enumerate(weights, start=1):
        params[f"W{k}"], params[f"b{k}"] = W.astype(np.float64), np.zeros(W.shape[1])
    return params, permutation


ACTIVATION = {  # f and f' in float64
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
}


def reference(params: dict, X, y, activation: str) -> dict:
    """The post's forward and backward pass for any depth, row-major, in float64. Names as the post's:
    Z1 A1 ... Z(L+1) A(L+1), dZ(L+1) dW(L+1) db(L+1), then dA_l, f'(Z_l) ("derivative_l"), dZ_l, dW_l, db_l."""
    f, f_prime = ACTIVATION[activation]
    out = sum(1 for name in params if name.startswith("W"))  # the output layer L+1
    m = len(X)
    r = {"A0": np.asarray(X, np.float64)}
    for l in range(1, out + 1):
        r[f"Z{l}"] = r[f"A{l - 1}"] @ np.asarray(params[f"W{l}"], np.float64) + params[f"b{l}"]
        if l < out:
            r[f"A{l}"] = f(r[f"Z{l}"])
        else:
            e = np.exp(r[f"Z{l}"] - r[f"Z{l}"].max(axis=1, keepdims=True))
            r[f"A{l}"] = e / e.sum(axis=1, keepdims=True)
    Y = np.zeros((m, 10))
    Y[np.arange(m), y] = 1
    r["Y"], r["cost"] = Y, -np.sum(Y * np.log(r[f"A{out}"])) / m
    r[f"dZ{out}"] = r[f"A{out}"] - Y
    for l in range(out, 0, -1):
        if l < out:
            r[f"dA{l}"] = r[f"dZ{l + 1}"] @ np.asarray(params[f"W{l + 1}"], np.float64).T
            r[f"derivative{l}"] = f_prime(r[f"Z{l}"])
            r[f"dZ{l}"] = r[f"dA{l}"] * r[f"derivative{l}"]
        r[f"dW{l}"] = r[f"A{l - 1}"].T @ r[f"dZ{l}"] / m
        r[f"db{l}"] = r[f"dZ{l}"].sum(axis=0) / m
    del r["A0"]
    return r


class ReferenceOptimizer:
    """Each optimizer's textbook formula in float64, element by element, over named parameters."""

    def __init__(self, hp: Hyperparams, params: dict):
        self.hp, self.t = hp, 0
        names = {"momentum": ("velocity",), "nesterov": ("velocity",), "rmsprop": ("square",),
                 "adam": ("first", "second"), "sgd": ()}[hp.optimizer]
        self.state = {key: {name: np.zeros(np.shape(p)) for name, p in params.items()} for key in names}

    def step(self, params: dict, grads: dict) -> tuple[dict, dict]:
        """The parameters after the step, and the update subtracted (each by name)."""
        hp, lr, beta = self.hp, self.hp.learning_rate, self.hp.momentum
        self.t += 1
        updates = {}
        for name, g in grads.items():
            if hp.optimizer == "sgd":
                updates[name] = lr * g
            elif hp.optimizer in ("momentum", "nesterov"):
                V = self.state["velocity"][name] = beta * self.state["velocity"][name] + (1 - beta) * g
                updates[name] = lr * V if hp.optimizer == "momentum" else lr * (beta * V + (1 - beta) * g)
            elif hp.optimizer == "rmsprop":
                S = self.state["square"][name] = beta * self.state["square"][name] + (1 - beta) * g**2
                updates[name] = lr * g / (np.sqrt(S) + 1e-8)
            else:  # adam, beta2 0.999, epsilon 1e-8
                M = self.state["first"][name] = beta * self.state["first"][name] + (1 - beta) * g
                V = self.state["second"][name] = 0.999 * self.state["second"][name] + 0.001 * g**2
                M_hat, V_hat = M / (1 - beta**self.t), V / (1 - 0.999**self.t)
                updates[name] = lr * M_hat / (np.sqrt(V_hat) + 1e-8)
        return {name: params[name] - updates[name] for name in params}, updates


def assert_close(name, actual, expected, rtol=2e-4):
    """float32 against float64: within rtol of the matrix's largest entry."""
    actual = np.asarray(actual, np.float64)
    assert actual.shape == np.shape(expected), name
    scale = max(float(np.max(np.abs(expected))), 1e-12)
    error = float(np.max(np.abs(actual - expected)))
    assert error <= rtol * scale, f"{name}: off by {error:.3g} (largest entry {scale:.3g})"


def flat64(arrays: dict) -> np.ndarray:
    """Named arrays W1 b1 W2 b2 ... as one flat float64 vector, in Model.flat's order."""
    layers = sum(1 for name in arrays if name.startswith("W"))
    return np.concatenate([np.asarray(arrays[f"{p}{k}"], np.float64).ravel()
                           for k in range(1, layers + 1) for p in ("W", "b")])


def stage_names(layers: int) -> list[str]:
    out = layers + 1
    return (["Y"] + [f"{p}{l}" for l in range(1, out + 1) for p in ("Z", "A", "dZ", "dW", "db")]
            + [f"{p}{l}" for l in range(1, out) for p in ("dA", "derivative")])


def check_stages(step, expected: dict, X, y, layers: int) -> None:
    kept = step.stages.rows
    assert np.array_equal(step.stages.y, y[:kept])
    assert_close("X", step.stages.X, X[:kept])
    for name in stage_names(layers):
        whole_batch = name.startswith(("dW", "db"))  # the rest are per image: the first ROWS_KEPT images
        expected_value = expected[name] if whole_batch else expected[name][:kept]
        assert_close(name, step.stages.array(name), expected_value)
    assert step.stages.cost == pytest.approx(expected["cost"], rel=1e-5)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_every_stage_matches_an_independent_float64_pass(mnist, activation):
    hp = Hyperparams(activation=activation, learning_rate=0.5 if activation == "relu" else 4.0)
    (W1, W2), permutation = initial_weights(hp)
    run = InsideRun.start(mnist, hp)
    velocity = np.zeros(flat64({"W1": W1, "b1": np.zeros(64), "W2": W2, "b2": np.zeros(10)}).size)
    for number in (1, 2):  # the second step starts from a non-zero velocity
        run.advance(1)
        step = run.last
        rows = permutation[(number - 1) * 128 : number * 128]
        X, y = mnist.train_images[rows] / 255.0, mnist.train_labels[rows].astype(int)
        if number == 1:  # the seed's weights: the post's initialisation, as a Train run draws it
            assert np.array_equal(step.before.W1, W1) and np.array_equal(step.before.W2, W2)
            assert not step.before.b1.any() and not step.before.b2.any()
        expected = reference(step.before.arrays(), X, y, activation)
        check_stages(step, expected, X, y, layers=1)
        assert step.cost == pytest.approx(expected["cost"], rel=1e-5)
        gradient = flat64({name: expected["d" + name] for name in ("W1", "b1", "W2", "b2")})
        velocity = hp.momentum * velocity + (1 - hp.momentum) * gradient  # the post's V
        assert_close("V", step.state["velocity"], velocity)
        assert_close("update", step.update, hp.learning_rate * velocity)
        assert_close("after", step.after.flat, step.before.flat - hp.learning_rate * velocity, rtol=1e-5)


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_and_depth_against_float64(mnist, optimizer, layers):
    """Three steps of each optimizer at depths 1 and 3, all in float64 from the seed's weights on: every
    layer's stages, the optimizer's state, the update, the weights after, and the numbers the page
    works through (Nesterov's look-ahead, RMSProp's divisor, Adam's t, corrections, M_hat and V_hat)."""
    hp = Hyperparams(optimizer=optimizer, learning_rate=LEARNING_RATES[optimizer], layers=layers)
    params, permutation = initial_params(hp)
    reference_optimizer = ReferenceOptimizer(hp, params)
    run = InsideRun.start(mnist, hp)
    assert run.trainer.model.layers == layers
    for number in (1, 2, 3):
        run.advance(1)
        step = run.last
        rows = permutation[(number - 1) * 128 : number * 128]
        X, y = mnist.train_images[rows] / 255.0, mnist.train_labels[rows].astype(int)
        assert_close("before", step.before.flat, flat64(params), rtol=1e-5)
        expected = reference(params, X, y, hp.activation)  # from the float64 parameters, not the page's
        check_stages(step, expected, X, y, layers)
        grads = {name: expected["d" + name] for name in params}
        after, updates = reference_optimizer.step(params, grads)
        for key in reference_optimizer.state:
            assert_close(key, step.state[key], flat64(reference_optimizer.state[key]))
        # RMSProp and Adam divide each gradient by its own size (plus epsilon = 1e-8): for the few gradients
        # near 1e-8, which float32 gets to 2-3 digits after cancellation, the quotient inherits that (measured:
        # at most 2.7e-4 of the largest update). A wrong formula is off by far more (no bias correction: 3x).
        update_rtol = 1e-3 if optimizer in ("rmsprop", "adam") else 2e-4
        assert_close("update", step.update, flat64(updates), rtol=update_rtol)
        assert_close("after", step.after.flat, flat64(after), rtol=1e-5)
        previous = check_numbers(step, hp, params, grads, reference_optimizer, updates, after,
                                 previous if number > 1 else None)
        params = after
    assert list(step.kinds()) == list(kinds(optimizer))


def expected_numbers(hp, params, grads, optimizer: ReferenceOptimizer, updates, after) -> dict[str, np.ndarray]:
    """The worked formula's quantities at the chosen weights, in float64 (``numbers``' names)."""
    chosen = chosen_weights(hp.hidden_units, hp.layers)

    def at(arrays: dict) -> np.ndarray:
        return np.array([arrays[name][row, column] for name, row, column in chosen])

    t, beta = optimizer.t, hp.momentum
    expected = {"W": at(params), "dW": at(grads), "Δ": at(updates), "W after": at(after)}
    if hp.optimizer in ("momentum", "nesterov"):
        expected["V"] = at(optimizer.state["velocity"])
    if hp.optimizer == "nesterov":
        expected["look-ahead"] = beta * expected["V"] + (1 - beta) * expected["dW"]
    if hp.optimizer == "rmsprop":
        expected["S"] = at(optimizer.state["square"])
        expected["√S + ε"] = np.sqrt(expected["S"]) + 1e-8
    if hp.optimizer == "adam":
        expected["M"], expected["V"] = at(optimizer.state["first"]), at(optimizer.state["second"])
        expected["M̂"], expected["V̂"] = expected["M"] / (1 - beta**t), expected["V"] / (1 - 0.999**t)
        expected["√V̂ + ε"] = np.sqrt(expected["V̂"]) + 1e-8
    return expected


def assert_numbers(shown, expected: dict, hp) -> None:
    for name, values in expected.items():
        assert np.allclose(np.asarray(shown[name], np.float64), values, rtol=1e-3,
                           atol=1e-8 * max(1.0, hp.learning_rate)), name


def check_numbers(step, hp, params, grads, optimizer: ReferenceOptimizer, updates, after, previous: dict | None) -> dict:
    """``numbers``: every quantity of the worked formula at the chosen weights, against float64, and each
    state before the step, the state after the previous one (``previous``'s; zero at the first step)."""
    shown = numbers(step, hp)
    assert len(chosen_weights(hp.hidden_units, hp.layers)) == 3 + (hp.layers - 1) + 3
    if hp.optimizer == "adam":
        assert step.adam_steps == optimizer.t
    expected = expected_numbers(hp, params, grads, optimizer, updates, after)
    for symbol in ("V", "S", "M"):
        if symbol in expected:
            expected[f"{symbol} before"] = np.zeros(len(shown["W"])) if previous is None else previous[symbol]
    assert set(shown) == set(expected)
    assert_numbers(shown, expected, hp)
    return expected


def test_a_full_batch_keeps_128_images_and_the_whole_batchs_gradient(mnist):
    """A batch larger than the trainer's and the stages' passes (5,000 images, all of a small training
    set, as 60,000 are of MNIST's): per-image matrices of its first 128 images, the whole batch's cost
    and gradient, against the float64 pass of all 5,000."""
    subset = Mnist(mnist.train_images[:5000], mnist.train_labels[:5000], mnist.test_images[:500],
                   mnist.test_labels[:500])
    hp = Hyperparams(batch_size=5000, optimizer="sgd", learning_rate=1.0, layers=2, epochs=2)
    params, rows = initial_params(hp, samples=5000)
    run = InsideRun.start(subset, hp)
    run.advance(1)
    step = run.last
    X, y = subset.train_images[rows] / 255.0, subset.train_labels[rows].astype(int)
    assert step.stages.m == 5000 and step.stages.rows == ROWS_KEPT
    check_stages(step, reference(params, X, y, hp.activation), X, y, layers=2)
    assert step.cost == pytest.approx(step.stages.cost, rel=1e-5)
    assert run.last_epoch is not None and run.last_epoch.epoch == 1  # one step is the whole epoch


def test_a_full_batch_of_60000_keeps_memory_bounded(mnist):
    """A step of the whole training set allocates a few MB beyond the trainer's own buffers, not a
    (60000, 784) matrix (188 MB as float32)."""
    run = InsideRun.start(mnist, Hyperparams(batch_size=60_000, optimizer="sgd", init="normal", learning_rate=1.0,
                                             epochs=2))
    tracemalloc.start()
    try:
        run.advance(1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert run.last.stages.m == 60_000 and run.last.stages.X.shape == (ROWS_KEPT, 784)
    assert peak < 40e6, f"a full-batch step peaked at {peak / 1e6:.0f} MB"
    assert all(len(a) <= ROWS_KEPT for name in ("Z", "A", "dZ", "dA", "derivative")
               for a in getattr(run.last.stages, name))


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
    assert np.array_equal(run.trainer.optimizer.velocity, reference_run.optimizer.velocity)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizers_steps_are_a_train_runs(mnist, optimizer):
    hp = Hyperparams(optimizer=optimizer, learning_rate=LEARNING_RATES[optimizer], layers=3)
    reference_run = Trainer(mnist, hp)
    reference_run.run(max_batches=12)
    run = InsideRun.start(mnist, hp)
    run.advance(12)
    assert np.array_equal(run.trainer.batch_costs[:12], reference_run.batch_costs[:12])
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
    assert np.isfinite(run.last.stages.dW[0]).all()


def test_starts_from_a_given_model_with_zero_velocity(mnist):
    rng = np.random.default_rng(5)
    model = Model.initialize(32, rng, "tanh")
    model.b1[...] = 0.25
    run = InsideRun.start(mnist, Hyperparams(hidden_units=32, activation="tanh"), initial=model)
    run.advance(1)
    assert np.array_equal(run.last.before.flat, model.flat)
    gradient = run.last.stages.gradient()
    assert_close("V", run.last.state["velocity"], 0.1 * gradient)  # V = 0.9 * 0 + 0.1 * grad
    assert not run.last.previous["velocity"].any()


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


def test_adam_history_at_depth_3_follows_every_layer(mnist):
    hp = Hyperparams(optimizer="adam", learning_rate=0.001, layers=3, hidden_units=32)
    run = InsideRun.start(mnist, hp)
    steps, norms, values = run.history_arrays()
    assert norms.shape == (0, 4, 4) and values.shape == (0, 8, 4)
    run.advance(5)
    steps, norms, values = run.history_arrays()
    assert list(steps) == [1, 2, 3, 4, 5] and norms.shape == (5, 4, 4) and values.shape == (5, 8, 4)
    views = {kind: flat_views(flat.astype(np.float64), 32, 3) for kind, flat in run.last.kinds().items()}
    for k, kind in enumerate(("gradient", "first", "second", "update")):
        for layer in range(4):
            W, b = views[kind][f"W{layer + 1}"], views[kind][f"b{layer + 1}"]
            assert norms[-1, layer, k] == pytest.approx(np.sqrt(np.sum(W**2) + np.sum(b**2)), rel=1e-4)
    assert run.last.adam_steps == 5
