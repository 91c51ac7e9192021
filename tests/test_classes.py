"""Everything that reads a model's outputs follows its data set's classes (2-62), not MNIST's ten digits:
evaluation, the Evaluate page's diagnostics, saliency and "make it read as", Inside's stages and the
optimizer's chosen weights, the hidden-layer map, the epoch counts and the export's refusal."""

from __future__ import annotations

import numpy as np
import pytest

from nn_core import Hyperparams, Model, Trainer, evaluate
from nn_core.datasets import from_arrays
from nn_core.diagnostics import diagnose, favourite_images, top_probabilities
from nn_core.estimate import run_seconds
from nn_core.explain import perturb, saliency
from nn_core.export import ExportError, refusal, script
from nn_core.hidden_map import Layer, sample_rows
from nn_core.inside import InsideRun, flat_index, numbers, stages
from nn_core.metrics import confusion, report_rows
from nn_core.model import Workspace, forward_backward
from nn_core.trainset import batches_per_epoch, trained_images

from tests.four_classes import FOUR, four_digits

LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")


@pytest.fixture(scope="module")
def four(mnist):
    """MNIST's digits 0-3 under other names: 6,000 training and 1,000 test images."""
    return four_digits(mnist, 6_000, 1_000)


@pytest.fixture(scope="module")
def letters(mnist):
    """26 classes (MNIST images labelled by their index mod 26: nothing to learn, every class present),
    598 images held out of 3,000 as the test set."""
    return from_arrays(mnist.train_images[:3_000], np.arange(3_000) % 26, LETTERS, "not letters")


def trained(data, hp):
    trainer = Trainer(data, hp)
    while not trainer.finished:
        trainer.run(max_batches=1000)
    return trainer


@pytest.fixture(scope="module")
def four_model(four):
    return trained(four, Hyperparams(hidden_units=16, epochs=1, seed=2)).model


def test_diagnostics_have_a_row_and_column_per_class_named(four, four_model):
    d = diagnose(four_model, four.test_images, four.test_labels, names=four.classes)
    assert d.probabilities.shape == (1_000, 4) and d.confusion.shape == (4, 4)
    assert np.allclose(d.probabilities.sum(axis=1), 1, atol=1e-5)
    cost, accuracy = evaluate(four_model, four.test_images, four.test_labels)
    assert d.accuracy == accuracy > 0.95 and d.cost == pytest.approx(cost, rel=1e-6)
    assert [row["digit"] for row in d.report] == [*FOUR, "macro avg", "weighted avg"]
    assert sum(row["support"] for row in d.report[:4]) == 1_000
    assert d.confusion.sum(axis=1).tolist() == np.bincount(four.test_labels, minlength=4).tolist()
    assert all(0 <= digit < 4 for digit, _ in top_probabilities(d.probabilities[0], k=10))
    assert len(top_probabilities(d.probabilities[0], k=10)) == 4
    favourites = favourite_images(four_model, four.test_images, four.test_labels, layer=1)
    assert favourites.digit.max() < 4 and favourites.count.max() <= 20
    with pytest.raises(ValueError, match="3 class names for a model of 4 classes"):
        diagnose(four_model, four.test_images, four.test_labels, names=FOUR[:3])


def test_26_classes_through_evaluation_metrics_and_the_map(letters):
    model = trained(letters, Hyperparams(hidden_units=16, epochs=1, seed=3)).model
    assert model.classes == 26
    d = diagnose(model, letters.test_images, letters.test_labels, names=letters.classes)
    assert d.confusion.shape == (26, 26) and len(d.report) == 28 and d.report[25]["digit"] == "z"
    assert d.confusion.sum() == len(letters.test_labels) == 598  # 23 of each class's 115-116 held out
    labels = np.array([0, 25, 25, 3])
    assert confusion(labels, np.array([0, 25, 3, 3]), 26)[25].tolist() == [0, 0, 0, 1] + [0] * 21 + [1]
    assert [row["digit"] for row in report_rows(labels, labels, 26)][:2] == ["0", "1"]
    layer = Layer.of(model, letters.test_images)
    assert layer.predicted.max() < 26 and layer.activations.shape == (598, 16)
    assert len(sample_rows(600, 2_000)) == 600  # a test set smaller than the map's sample: shown whole


@pytest.mark.parametrize("classes", [4, 26])
def test_saliency_and_make_it_read_as_reach_every_class(mnist, classes):
    model = Model.initialize(32, np.random.default_rng(classes), classes=classes)
    x = mnist.test_images[0] / 255.0
    for target in (0, classes - 1):
        digit, gradient = saliency(model, x, target)
        assert digit == target and gradient.shape == (784,)
        found = perturb(model, x, target)
        assert found.success and found.read_as == target and found.probabilities.shape == (classes,)
    with pytest.raises(ValueError, match=f"a class is 0-{classes - 1}, not {classes}"):
        saliency(model, x, classes)


def test_inside_a_4_class_run_steps_as_a_train_run_and_its_stages_are_the_gradient(four):
    hp = Hyperparams(hidden_units=16, seed=4)
    run = InsideRun.start(four, hp)
    run.advance(3)
    alone = Trainer(four, hp)
    alone.run(max_batches=3)
    assert np.array_equal(run.trainer.model.flat, alone.model.flat)
    step = run.last
    assert step.stages.Y.shape == (step.stages.rows, 4) and step.stages.array("A2").shape[1] == 4
    # the stages' gradient of a batch (here the step's kept images) is the training's own
    X = np.round(step.stages.X * 255).astype(np.float32)  # the kept rows, as pixels
    ws = Workspace(16, len(X), layers=1, classes=4)
    forward_backward(step.before, X, step.stages.y, ws, 1 / 255)
    assert np.allclose(stages(step.before, X, step.stages.y, 1 / 255).gradient(), ws.grad, atol=1e-6)
    # the optimizer's chosen weights: an output weight of class 7 is class 7 mod 4 = 3, read where it is
    chosen = step.chosen
    assert chosen[-1] == ("W2", 2, 3)
    index = flat_index(16, 1, *chosen[-1], classes=4)
    assert step.before.flat[index] == step.before.W2[2, 3]
    assert numbers(step, hp)["W"][-1] == step.before.W2[2, 3]


def test_an_epoch_is_the_data_sets_size_and_mnists_figures_are_unchanged(four):
    hp = Hyperparams(batch_size=100)
    assert trained_images(hp) == 60_000 and batches_per_epoch(hp) == 600  # MNIST's, as before
    assert trained_images(Hyperparams(early_stop=3)) == 55_000
    assert trained_images(hp, 6_000) == 6_000 and batches_per_epoch(hp, 6_000) == 60
    assert trained_images(Hyperparams(early_stop=3), 6_000) == 4_800  # a fifth held out
    assert Trainer(four, hp).batches_per_epoch == batches_per_epoch(hp, len(four.train_labels))
    assert Trainer(four, Hyperparams(early_stop=3)).batches_per_epoch == \
        batches_per_epoch(Hyperparams(early_stop=3), len(four.train_labels))
    assert run_seconds(hp, four) < run_seconds(hp) / 4  # a tenth of the training images, a tenth of the test set


def test_a_run_on_a_sessions_data_set_is_refused_for_export_in_one_sentence(four):
    result = trained(four, Hyperparams(hidden_units=16, epochs=1, train_size=600)).result()
    assert result.data_key == four.key
    reason = refusal(result.hparams, data=four)
    assert reason.startswith("This run trained on a data set of the session's own (four digits)")
    assert reason.count(".") == 1 and refusal(result.hparams, data=result.data_key)
    with pytest.raises(ExportError, match="only runs on MNIST can be exported"):
        script(result.hparams, data=result.data_key)
    assert refusal(result.hparams) is None and refusal(result.hparams, data="") is None


def test_a_run_read_in_words_counts_the_data_sets_images_and_names_its_classes(four):
    from nn_core.reading import noise_reading, training_images, training_set

    assert training_images(Hyperparams()) == "all 60,000 training images"  # MNIST's, as before
    assert training_images(Hyperparams(), data=four) == "all 6,000 training images"
    assert training_set(Hyperparams(train_size=1_000, early_stop=2), data=four).startswith(
        "1,000 training images (a fixed, class-balanced subset); the last 200 held out")
    noisy = Hyperparams(label_noise=0.3)
    assert "replaced by random classes" in training_set(noisy, data=four)
    assert "replaced by random digits" in training_set(noisy)
    epoch = trained(four, Hyperparams(hidden_units=16, epochs=1, label_noise=0.3, train_size=600)).epochs[-1]
    assert noise_reading(epoch, noisy, four).endswith(("the true classes, not the noise.", "wrong labels)."))


def test_teaching_your_handwriting_is_refused_off_mnist_in_one_sentence(mnist, four):
    from nn_core.handwriting import DigitSet, TrainingMix, refusal

    assert refusal(mnist) is None
    assert refusal(four) == ("Teaching your handwriting fine-tunes a reader of MNIST's 10 digits; the session's data "
                             "set is four digits (4 classes).")
    drawings = DigitSet(mnist.test_images[:3], mnist.test_labels[:3])
    with pytest.raises(ValueError, match="the session's data set is four digits"):
        Trainer(four, Hyperparams(hidden_units=16), mix=TrainingMix(100, 0, drawings))
    assert len(TrainingMix(100, 0, drawings).apply(mnist).train_labels) == 103
