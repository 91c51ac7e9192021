"""nn_core.diagnostics: the Evaluate page's numbers, checked against scikit-learn and plain NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import classification_report, confusion_matrix

from nn_core import Hyperparams, Mnist, Trainer, evaluate
from nn_core.diagnostics import diagnose, top_probabilities, unit_weight_images
from ui.charts_evaluate import cell_from_selection
from ui.images import diverging_rgb, enlarge, symmetric_limit


@pytest.fixture(scope="module")
def trained(mnist):
    """A model trained for 150 batches on 6,000 training images: good, but with mistakes in many cells."""
    subset = Mnist(mnist.train_images[:6000], mnist.train_labels[:6000], mnist.test_images, mnist.test_labels)
    trainer = Trainer(subset, Hyperparams(hidden_units=32, epochs=4, seed=5))
    trainer.run(max_batches=150)
    return trainer.result().model


@pytest.fixture(scope="module")
def diagnostics(trained, mnist):
    return diagnose(trained, mnist.test_images, mnist.test_labels)


def numpy_probabilities(model, images) -> np.ndarray:
    """(n, 10) float64 softmax of the 784-H-10 sigmoid network, written out independently."""
    hidden = 1 / (1 + np.exp(-(images / 255.0) @ model.W1.astype(np.float64) - model.b1))
    logits = hidden @ model.W2.astype(np.float64) + model.b2
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_confusion_matches_scikit_learn_on_the_same_predictions(diagnostics, mnist):
    expected = confusion_matrix(mnist.test_labels, diagnostics.predictions, labels=list(range(10)))
    np.testing.assert_array_equal(diagnostics.confusion, expected)
    assert diagnostics.confusion.shape == (10, 10) and diagnostics.confusion.sum() == 10_000
    assert np.count_nonzero(diagnostics.confusion - np.diag(np.diag(diagnostics.confusion))) > 20  # real mistakes


def test_predictions_and_probabilities_match_an_independent_float64_forward(diagnostics, trained, mnist):
    probabilities = numpy_probabilities(trained, mnist.test_images)
    # float32 vs float64 could only disagree on an image whose top two logits are within ~1e-5
    np.testing.assert_array_equal(diagnostics.predictions, probabilities.argmax(axis=1))
    np.testing.assert_allclose(diagnostics.probabilities, probabilities, atol=2e-5)
    np.testing.assert_allclose(diagnostics.probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_cost_and_accuracy_are_those_the_training_loop_reports(diagnostics, trained, mnist):
    cost, accuracy = evaluate(trained, mnist.test_images, mnist.test_labels)
    assert diagnostics.accuracy == accuracy  # same forward, same chunks: the Train page's number exactly
    assert diagnostics.cost == pytest.approx(cost, rel=1e-5)
    assert 0.5 < accuracy < 0.99


def test_report_rows_match_classification_report(diagnostics, mnist):
    expected = classification_report(mnist.test_labels, diagnostics.predictions, output_dict=True, zero_division=0)
    assert [row["digit"] for row in diagnostics.report] == [str(d) for d in range(10)] + ["macro avg", "weighted avg"]
    for row in diagnostics.report:
        for name in ("precision", "recall", "f1-score"):
            assert row[name] == pytest.approx(expected[row["digit"]][name])
        assert row["support"] == expected[row["digit"]]["support"]


def test_each_cell_holds_exactly_its_images_most_confident_mistake_first(diagnostics, mnist):
    labels, predictions, probabilities = mnist.test_labels, diagnostics.predictions, diagnostics.probabilities
    seen = []
    for true_digit in range(10):
        for predicted_digit in range(10):
            cell = diagnostics.cell(true_digit, predicted_digit)
            expected = np.flatnonzero((labels == true_digit) & (predictions == predicted_digit))
            np.testing.assert_array_equal(np.sort(cell), expected)
            assert len(cell) == diagnostics.confusion[true_digit, predicted_digit]
            confidence = probabilities[cell, predicted_digit]
            if true_digit == predicted_digit:  # correct answers: shakiest first
                assert np.all(np.diff(confidence) >= 0)
            else:
                assert np.all(np.diff(confidence) <= 0)
            seen.append(cell)
    assert np.array_equal(np.sort(np.concatenate(seen)), np.arange(10_000))  # every image in exactly one cell


def test_worst_confusion_is_the_largest_off_diagonal_cell(diagnostics):
    true_digit, predicted_digit = diagnostics.worst_confusion()
    assert true_digit != predicted_digit
    off_diagonal = diagnostics.confusion - np.diag(np.diag(diagnostics.confusion))
    assert diagnostics.confusion[true_digit, predicted_digit] == off_diagonal.max()


def test_top_probabilities_sorted_and_tied_in_digit_order():
    row = np.array([0.05, 0.6, 0.0, 0.2, 0.05, 0, 0, 0, 0.1, 0], np.float32)
    assert [d for d, _ in top_probabilities(row)] == [1, 3, 8]
    assert top_probabilities(row, k=5)[3:] == [(0, pytest.approx(0.05)), (4, pytest.approx(0.05))]


@pytest.mark.parametrize("points, cell", [
    ([{"x": 2, "y": 7, "curve_number": 1, "point_index": 72}], (7, 2)),
    ([{"x": 9.0, "y": 4.0}], (4, 9)),
    ([{"z": 3}, {"x": 0, "y": 0}], (0, 0)),  # a point without coordinates is skipped
    ([], None),
    (None, None),
    ([{"x": 10, "y": 3}], None),  # outside the matrix
    ([{"x": "a", "y": 3}], None),
])
def test_cell_from_selection(points, cell):
    assert cell_from_selection(points) == cell


def test_unit_images_put_each_weight_on_its_pixel():
    from nn_core import Model

    model = Model.initialize(3, np.random.default_rng(0))
    model.W1[:] = 0
    model.W1[5 * 28 + 17, 1] = 2.5  # pixel at row 5, column 17 feeds unit 1
    images = unit_weight_images(model)
    assert images.shape == (3, 28, 28)
    assert images[1, 5, 17] == 2.5 and np.count_nonzero(images) == 1


def test_shared_symmetric_colour_scale():
    values = np.array([[-4.0, -2.0, 0.0, 1.0, 2.0, 8.0, np.nan]])
    assert symmetric_limit(values[:, :6]) == 8.0
    assert symmetric_limit(np.zeros(5)) == 1.0  # never a zero limit
    rgb = diverging_rgb(values, limit=2.0)
    assert rgb.shape == (1, 7, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 2]) == (255, 255, 255)  # zero is white
    assert tuple(rgb[0, 1]) == tuple(rgb[0, 0])  # -2 and -4 both saturate to the same blue
    assert tuple(rgb[0, 4]) == tuple(rgb[0, 5])  # +2 and +8 both saturate to the same red
    assert rgb[0, 1, 2] > rgb[0, 1, 0] and rgb[0, 4, 0] > rgb[0, 4, 2]  # blue negative, red positive
    assert 255 > rgb[0, 3, 1] > rgb[0, 4, 1]  # +1 is paler than +2
    assert tuple(rgb[0, 6]) == (128, 128, 128)  # NaN is grey


def test_enlarge_keeps_pixels_square():
    images = np.arange(2 * 2 * 3).reshape(2, 2, 3)
    big = enlarge(images, 4)
    assert big.shape == (2, 8, 12)
    assert np.all(big[1, 4:8, 8:12] == images[1, 1, 2])
    rgb = np.zeros((5, 28, 28, 3), np.uint8)
    assert enlarge(rgb, 3, rgb=True).shape == (5, 84, 84, 3)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_a_deeper_units_favourite_images_are_its_most_exciting_test_images(mnist, activation):
    """favourite_images against the network written out in float64: each unit's top images are the
    most exciting ones (up to float32 near-ties), their mean is the image shown, their commonest
    label the caption's digit; a ReLU unit that nothing activates is reported dead."""
    from nn_core import Model
    from nn_core.diagnostics import favourite_images

    model = Model.initialize(16, np.random.default_rng(3), activation, layers=3, init="he")
    model.b2[0] = -1e3  # layer 2's unit 0 never active under ReLU
    images, labels = mnist.test_images[:1500], mnist.test_labels[:1500]
    f = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}[activation]
    A = images / 255.0
    layers = []
    for W, b in zip(model.weights[:-1], model.biases[:-1]):
        A = f(A @ W.astype(np.float64) + b)
        layers.append(A)
    for layer in (2, 3):
        got = favourite_images(model, images, labels, layer, k=10, chunk=700)
        acts = layers[layer - 1]  # (1500, 16)
        assert got.top.shape == (10, 16) and got.images.shape == (16, 28, 28)
        for unit in range(16):
            chosen = np.sort(acts[got.top[:, unit], unit])[::-1]
            best = np.sort(acts[:, unit])[::-1][:10]
            np.testing.assert_allclose(chosen, best, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(got.images[unit], images[got.top[:, unit]].mean(axis=0).reshape(28, 28) / 255,
                                       atol=1e-6)
            votes = np.bincount(labels[got.top[:, unit]], minlength=10)
            assert got.digit[unit] == np.argmax(votes) and got.count[unit] == votes.max()
        np.testing.assert_array_equal(got.active, (acts > 0).any(axis=0))
    if activation == "relu":
        assert not favourite_images(model, images, labels, 2).active[0]
