"""nn_core.explain: the saliency is the gradient (against central finite differences of the model's own
forward pass in float64, for every activation and depth), and perturb makes the network read every digit
on MNIST test images and on drawn digits, pixels kept in [0, 1], its reading the model's own.

Run with -s to see the median changes (L2) perturb needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nn_core import Hyperparams, Model, Trainer, scale_pixels
from nn_core.explain import Network64, box_step, perturb, saliency
from nn_core.preprocess import to_mnist
from tests.digit_strokes import PLACEMENTS, digits, rasterise
from tests.personal_hand import teaching

DATA = Path(__file__).resolve().parent / "data"
STEP = 1e-6  # central differences in float64: truncation ~ STEP^2 p''', rounding ~ 1e-16 / STEP = 1e-10
ROUNDING = 1e-9  # so gradients are compared to 1e-5 relative, or within this absolutely


@pytest.fixture(scope="module")
def default_model() -> Model:
    """The default run's model (64 sigmoid units, 97.62% on the test set), as trained by the lab."""
    return Model(np.load(DATA / "default_run_params.npz")["flat"], 64)


def finite_difference(model: Model, x: np.ndarray, digit: int, pixel: int) -> float:
    """d p_digit / d x_pixel by central differences, through Model.predict_proba in float64."""
    model64 = Model(model.flat.astype(np.float64), model.hidden_units, model.activation, model.layers)
    up, down = x.astype(np.float64), x.astype(np.float64)
    up[pixel] += STEP
    down[pixel] -= STEP
    return (model64.predict_proba(up)[digit] - model64.predict_proba(down)[digit]) / (2 * STEP)


def check_against_finite_differences(model: Model, x: np.ndarray, digit: int | None, rng) -> None:
    chosen, gradient = saliency(model, x, digit)
    assert gradient.shape == (784,) and gradient.dtype == np.float64
    assert np.abs(gradient).max() > 0
    # the pixels that matter most, and a few others
    pixels = np.concatenate([np.argsort(-np.abs(gradient))[:4], rng.choice(784, 4, replace=False)])
    numeric = np.array([finite_difference(model, x, chosen, pixel) for pixel in pixels])
    np.testing.assert_allclose(gradient[pixels], numeric, rtol=1e-5, atol=ROUNDING)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("layers", [1, 3])
def test_saliency_is_the_gradient_of_the_probability(activation, layers):
    rng = np.random.default_rng(7)
    model = Model.initialize(16, rng, activation, dtype=np.float32, layers=layers)
    for b in model.biases:  # non-zero biases: ReLU units both on and off
        b[...] = rng.normal(0, 0.5, b.shape)
    x = rng.random(784).astype(np.float32)
    check_against_finite_differences(model, x, None, rng)  # the predicted digit
    check_against_finite_differences(model, x, int(rng.integers(10)), rng)


def test_saliency_of_the_trained_default_model(default_model, mnist):
    rng = np.random.default_rng(3)
    x = scale_pixels(mnist.test_images[0])
    predicted, _ = saliency(default_model, x)
    assert predicted == int(default_model.predict(x)[0]) == mnist.test_labels[0]
    for digit in (None, 3, 8):
        check_against_finite_differences(default_model, x, digit, rng)


def test_saliency_refuses_what_is_not_an_input(default_model):
    with pytest.raises(ValueError, match="784"):
        saliency(default_model, np.zeros(100, np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        saliency(default_model, np.full(784, 255.0))
    with pytest.raises(ValueError, match="0-9"):
        saliency(default_model, np.zeros(784, np.float32), 10)


def test_the_box_step_is_the_smallest_that_reaches_the_need():
    rng = np.random.default_rng(1)
    gradient = rng.normal(size=50)
    x = rng.random(50)
    low, high = -x, 1 - x
    step = box_step(gradient, 2.0, low, high)
    assert np.all(step >= low) and np.all(step <= high)
    assert gradient @ step == pytest.approx(2.0, abs=1e-9)
    for _ in range(200):  # any other step in the box that reaches the need is longer
        other = np.clip(step + rng.normal(0, 0.05, 50), low, high)
        if gradient @ other >= 2.0:
            assert np.linalg.norm(other) >= np.linalg.norm(step) - 1e-12


def perturb_every_digit(model: Model, inputs: list[np.ndarray]) -> list[float]:
    """Perturb each input into every digit it is not read as; check each result; the L2s."""
    changes = []
    for x in inputs:
        reading = int(model.predict(x)[0])
        for target in range(10):
            result = perturb(model, x, target)
            assert result.success and result.read_as == target, (reading, target, result.steps)
            assert result.image.dtype == np.float32 and result.image.shape == (784,)
            assert result.image.min() >= 0 and result.image.max() <= 1
            # "Now read as" is the model's own forward pass on the exact image returned
            probabilities = model.predict_proba(result.image)
            assert np.array_equal(probabilities, result.probabilities)
            assert int(np.argmax(probabilities)) == target
            assert np.array_equal(result.change, result.image - x)
            assert result.max_change == pytest.approx(np.abs(result.image - x).max())
            if target == reading:
                assert result.steps == 0 and result.l2 == 0
            else:
                assert 0 < result.l2 < 28 and result.steps >= 1
                changes.append(result.l2)
    return changes


def test_perturb_reaches_every_digit_from_mnist_test_images(default_model, mnist):
    inputs = list(scale_pixels(mnist.test_images[:20]))
    changes = perturb_every_digit(default_model, inputs)
    assert len(changes) == 9 * len(inputs)
    print(f"\nperturb, default model, {len(inputs)} MNIST test images x 9 other digits: median L2 "
          f"{np.median(changes):.2f} (quartiles {np.percentile(changes, 25):.2f}-{np.percentile(changes, 75):.2f})")


def test_perturb_reaches_every_digit_from_drawn_digits(default_model):
    drawn = digits([PLACEMENTS[0]]) + teaching()[::3]  # every stroke style, and the personal hand
    inputs = [to_mnist(rasterise(drawing.strokes)) for drawing in drawn]
    changes = perturb_every_digit(default_model, inputs)
    print(f"\nperturb, default model, {len(inputs)} drawn digits x 9 other digits: median L2 "
          f"{np.median(changes):.2f} (quartiles {np.percentile(changes, 25):.2f}-{np.percentile(changes, 75):.2f})")


@pytest.mark.parametrize("activation, layers, learning_rate", [("relu", 3, 0.4), ("tanh", 2, 1.0)])
def test_perturb_works_on_deeper_models_of_other_activations(mnist, activation, layers, learning_rate):
    trainer = Trainer(mnist, Hyperparams(epochs=1, hidden_units=32, activation=activation, layers=layers,
                                         learning_rate=learning_rate))
    trainer.run()
    model = trainer.result().model
    inputs = list(scale_pixels(mnist.test_images[:3]))
    assert np.mean(model.predict(np.array(inputs)) == mnist.test_labels[:3]) > 0.6  # it learned something
    changes = perturb_every_digit(model, inputs)
    print(f"\nperturb, {layers} layers of 32 {activation}, 1 epoch: median L2 {np.median(changes):.2f}")


def test_perturb_says_so_when_its_bound_is_too_small(default_model, mnist):
    x = scale_pixels(mnist.test_images[0])  # a 7
    result = perturb(default_model, x, 0, max_steps=0)
    assert not result.success and result.read_as == 7 and result.steps == 0
    assert np.array_equal(result.image, x)


def test_network64_reads_like_the_model(default_model, mnist):
    x = scale_pixels(mnist.test_images[:5])
    logits = np.array([Network64(default_model).forward(row)[1] for row in x])
    np.testing.assert_allclose(logits, default_model.logits(x), atol=1e-4)
