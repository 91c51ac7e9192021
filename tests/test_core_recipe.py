"""The settings behind the post's argument: initialisations, optimizers, full-batch descent, depth, and
the network's health that shows why they matter. The default run stays the post's, to the bit."""

from pathlib import Path

import numpy as np
import pytest

from nn_core import EpochStats, Hyperparams, Mnist, Model, Trainer, load_model, model_bytes
from nn_core import health
from nn_core.model import Workspace, forward_backward
from nn_core.optim import ADAM_BETA2, EPSILON, OPTIMIZERS, for_settings
from nn_core.persist import ModelFileError
from nn_core.training import PASS_ROWS
from tests.reference_run import default_run

DATA = Path(__file__).parent / "data"


def subset(data: Mnist, n: int) -> Mnist:
    return Mnist(data.train_images[:n], data.train_labels[:n], data.test_images[:2000], data.test_labels[:2000])


def trained(data, hparams, **budget) -> Trainer:
    trainer = Trainer(data, hparams)
    while not trainer.finished:
        trainer.run(max_batches=budget.get("max_batches", 200))
    return trainer


def test_the_default_run_is_the_posts_algorithm_array_for_array(mnist):
    """The default run's parameters equal, bit for bit, those of the post's algorithm written out plainly
    (``tests/reference_run.py``, no nn_core code) and run here, in this process, with this BLAS: a
    reference trained on another CPU differs in the last bits (OpenBLAS's kernels round by CPU)."""
    trainer = trained(mnist, Hyperparams())
    expected = default_run(mnist.train_images, mnist.train_labels)
    for name, array in trainer.model.arrays().items():
        assert array.dtype == expected[name].dtype == np.float32, name
        assert np.array_equal(array, expected[name]), name
    assert trainer.epochs[-1].test_accuracy == 0.9762
    assert f"{trainer.epochs[-1].test_cost:.6f}" == "0.080080"


def test_the_reference_run_notices_a_changed_step(mnist):
    """The comparison above can fail: one more epoch, or a learning rate off by one part in a million,
    gives other bits."""
    data = subset(mnist, 2000)
    base = default_run(data.train_images, data.train_labels, epochs=1)
    for changed in (default_run(data.train_images, data.train_labels, epochs=1, lr=4.000004),
                    default_run(data.train_images, data.train_labels, epochs=1, seed=139)):
        assert not np.array_equal(base["W1"], changed["W1"])
    trainer = trained(data, Hyperparams(epochs=1))
    assert all(np.array_equal(a, base[name]) for name, a in trainer.model.arrays().items())


def reference_optimizer(name, params, grads, learning_rate, beta):
    """Each optimizer written out in float64, straight from its textbook formula."""
    params = params.copy()
    a = np.zeros_like(params)
    b = np.zeros_like(params)
    for t, g in enumerate(grads, start=1):
        if name == "sgd":
            params -= learning_rate * g
        elif name == "momentum":
            a = beta * a + (1 - beta) * g
            params -= learning_rate * a
        elif name == "nesterov":
            a = beta * a + (1 - beta) * g
            params -= learning_rate * (beta * a + (1 - beta) * g)
        elif name == "rmsprop":
            b = beta * b + (1 - beta) * g**2
            params -= learning_rate * g / (np.sqrt(b) + EPSILON)
        elif name == "adam":
            a = beta * a + (1 - beta) * g
            b = ADAM_BETA2 * b + (1 - ADAM_BETA2) * g**2
            params -= learning_rate * (a / (1 - beta**t)) / (np.sqrt(b / (1 - ADAM_BETA2**t)) + EPSILON)
    return params


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_each_optimizer_is_its_formula(name):
    rng = np.random.default_rng(4)
    params, grads = rng.normal(size=40), [rng.normal(size=40) for _ in range(5)]
    learning_rate, beta = 0.3, 0.8
    optimizer = for_settings(40, learning_rate, beta, name)
    for array in optimizer.state.values():  # float64 state for a tight comparison
        assert array.dtype in (np.float32, np.int64)
    optimizer = type(optimizer)(40, learning_rate, beta, dtype=np.float64)
    ours = params.copy()
    for g in grads:
        optimizer.step(ours, optimizer.grad_scale * g)  # the loop's gradient carries grad_scale
    np.testing.assert_allclose(ours, reference_optimizer(name, params, grads, learning_rate, beta), rtol=1e-12)


def test_an_unknown_optimizer_or_initialisation_is_refused():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        Hyperparams(optimizer="lion").validate()
    with pytest.raises(ValueError, match="initialisation must be one of"):
        Hyperparams(init="xavier").validate()
    with pytest.raises(ValueError, match=r"hidden layers must be an integer in \[1, 4\]"):
        Hyperparams(layers=5).validate()
    with pytest.raises(ValueError, match=r"batch size must be an integer in \[1, 60000\]"):
        Hyperparams(batch_size=60001).validate()


@pytest.mark.parametrize("init, sd", [("lecun", lambda n: np.sqrt(1 / n)), ("normal", lambda n: 1.0),
                                      ("he", lambda n: np.sqrt(2 / n)), ("zeros", lambda n: 0.0)])
def test_initialisations_draw_the_stated_spread_in_every_layer(init, sd):
    model = Model.initialize(128, np.random.default_rng(0), layers=3, init=init)
    for W, b in zip(model.weights, model.biases):
        assert W.std() == pytest.approx(sd(W.shape[0]), rel=0.05, abs=1e-12)
        assert not b.any()


def test_a_batch_larger_than_a_pass_has_the_gradient_of_the_whole_batch(mnist):
    """Full-batch descent is computed in passes of PASS_ROWS rows; their sum is the batch's gradient."""
    data = subset(mnist, PASS_ROWS * 2 + 500)
    n = len(data.train_labels)
    hparams = Hyperparams(batch_size=n, optimizer="sgd", learning_rate=1.0, epochs=1, layers=2)
    trainer = Trainer(data, hparams)
    before = trainer.model.copy()
    X, y = trainer.next_batch()
    assert X.dtype == np.uint8 and len(X) == n  # gathered as stored; passes are cast one by one
    cost = trainer.step(X, y)
    # the same step in float64, in one pass
    model64 = Model(before.flat.astype(np.float64), before.hidden_units, before.activation, before.layers)
    ws = Workspace(model64.hidden_units, n, np.float64, layers=2)
    expected_cost = forward_backward(model64, X.astype(np.float64), y, ws, 1 / 255)
    assert cost == pytest.approx(expected_cost, rel=1e-5)
    np.testing.assert_allclose(before.flat - trainer.model.flat, ws.grad, rtol=2e-3, atol=1e-6)


def test_full_batch_descent_takes_one_step_per_epoch(mnist):
    data = subset(mnist, 6000)
    trainer = trained(data, Hyperparams(batch_size=60_000, optimizer="sgd", init="normal", learning_rate=1.0,
                                        epochs=3))
    assert trainer.batches_per_epoch == 1 and len(trainer.result().batch_costs) == 3
    assert trainer.status == "done"


def test_zeros_never_break_the_symmetry(mnist):
    data = subset(mnist, 3000)
    zeros = trained(data, Hyperparams(init="zeros", epochs=2, layers=2))
    lecun = trained(data, Hyperparams(epochs=2, layers=2))
    # equal units get equal updates: only BLAS's rounding splits them, into a few groups (see nn_core.health)
    assert all(max(e.health.distinct_units) <= 8 for e in zeros.epochs), [e.health for e in zeros.epochs]
    assert [e.health.distinct_units for e in lecun.epochs] == [(64, 64), (64, 64)]
    assert zeros.epochs[-1].test_accuracy < lecun.epochs[-1].test_accuracy - 0.3


def test_unit_variance_weights_saturate_sigmoid_units(mnist):
    data = subset(mnist, 3000)
    normal = trained(data, Hyperparams(init="normal", epochs=1))
    lecun = trained(data, Hyperparams(epochs=1))
    assert normal.epochs[0].health.saturated[0] > 0.3 > 0.05 > lecun.epochs[0].health.saturated[0]


def test_health_figures_measure_what_they_say():
    a = np.array([[0.999, 0.5, 0.0001], [0.5, 0.5, 0.9999]])  # sigmoid activations
    assert health.saturated_share(a, "sigmoid") == pytest.approx(3 / 6)
    assert health.saturated_share(np.array([[0.0, 1.0], [0.0, 2.0]]), "relu") == 0.5  # one dead unit of two
    assert health.saturated_share(np.array([[0.9999, 0.0]]), "tanh") == 0.5
    W = np.array([[1.0, 1.0, 2.0], [3.0, 3.0, 3.0]])
    assert health.distinct_units(W, np.zeros(3)) == 2
    assert health.distinct_units(W, np.array([0.0, 1.0, 0.0])) == 3  # a bias makes a unit different


def test_gradient_norms_are_the_mean_over_the_epochs_batches(mnist):
    data = subset(mnist, 1000)
    hparams = Hyperparams(epochs=1, batch_size=250, optimizer="sgd", learning_rate=0.5)
    trainer = Trainer(data, hparams)
    norms = []
    while not trainer.epoch_complete:
        X, y = trainer.next_batch()
        model = trainer.model.copy()
        ws = Workspace(64, 250)
        forward_backward(model, X, y, ws, trainer.input_scale)
        norms.append([np.linalg.norm(ws.gW1), np.linalg.norm(ws.gW2)])
        trainer.step(X, y)
    stats = trainer.end_epoch()
    np.testing.assert_allclose(stats.health.grad_norm, np.mean(norms, axis=0), rtol=1e-4)


@pytest.mark.parametrize("optimizer, learning_rate", [("adam", 0.003), ("rmsprop", 0.003), ("nesterov", 4.0),
                                                      ("sgd", 1.0)])
def test_every_optimizer_learns_at_its_usual_rate(mnist, optimizer, learning_rate):
    data = subset(mnist, 6000)
    trainer = trained(data, Hyperparams(optimizer=optimizer, learning_rate=learning_rate, epochs=2))
    assert trainer.status == "done" and trainer.epochs[-1].test_accuracy > 0.75  # 94 steps from 10%
    assert trainer.epochs[-1].train_cost < 0.5 * trainer.result().batch_costs[0]


def test_adam_at_momentums_rate_diverges_with_the_usual_message(mnist):
    trainer = trained(subset(mnist, 6000), Hyperparams(optimizer="adam", learning_rate=4.0, epochs=2))
    assert trainer.status == "diverged" and "Lower the learning rate" in trainer.diverged.message


def test_deeper_networks_train_and_round_trip_through_a_model_file(mnist):
    trainer = trained(subset(mnist, 6000), Hyperparams(layers=3, hidden_units=32, epochs=2, init="he",
                                                       activation="relu", learning_rate=0.3))
    assert trainer.epochs[-1].test_accuracy > 0.8
    assert len(trainer.epochs[-1].health.saturated) == 3 and len(trainer.epochs[-1].health.grad_norm) == 4
    model, hparams, metrics = load_model(model_bytes(trainer.model, trainer.hparams, trainer.result().metrics()))
    assert hparams == trainer.hparams and model.layers == 3
    assert np.array_equal(model.flat, trainer.model.flat)
    assert np.array_equal(model.predict(np.ones((2, 784))), trainer.model.predict(np.ones((2, 784))))


def test_a_model_file_saved_before_depth_existed_still_loads():
    model, hparams, metrics = load_model(DATA / "model_before_depth.npz")
    assert (model.hidden_units, model.activation, model.layers) == (16, "tanh", 1)
    assert (hparams.layers, hparams.init, hparams.optimizer) == (1, "lecun", "momentum")
    assert metrics == {"test_accuracy": 0.5}


def test_a_file_whose_settings_disagree_with_its_arrays_is_refused():
    one_layer = Model.initialize(8, np.random.default_rng(0))
    import io
    import json
    import zipfile

    source = io.BytesIO(model_bytes(one_layer, Hyperparams(hidden_units=8)))
    target = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "hyperparams.npy":
                text = json.dumps({**Hyperparams(hidden_units=8).as_dict(), "layers": 2})
                buffer = io.BytesIO()
                np.save(buffer, np.array(text))
                data = buffer.getvalue()
            new.writestr(info.filename, data)
    with pytest.raises(ModelFileError, match="2 hidden layer"):
        load_model(target.getvalue())


def test_epoch_stats_carry_health_for_every_layer(mnist):
    trainer = trained(subset(mnist, 2000), Hyperparams(layers=2, epochs=1, hidden_units=16))
    stats = trainer.epochs[0]
    assert isinstance(stats, EpochStats)
    assert len(stats.health.weight_quantiles) == 3
    for quantiles in stats.health.weight_quantiles:
        assert list(quantiles) == sorted(quantiles) and len(quantiles) == len(health.QUANTILES)
