"""nn_core.handwriting: the set of my digits (bounded, pickle-free files), its variations, and
fine-tuning a trained model on a held-out personal hand (rasterised like the canvas)."""

from __future__ import annotations

import io
import resource
import zipfile

import numpy as np
import pytest

from nn_core import Hyperparams, LocalBackend, evaluate
from nn_core.handwriting import (MAX_DRAWINGS, MIN_DRAWINGS, DigitSet, DigitSetError, TrainingMix, fine_tuning,
                                 variations, vary)
from nn_core.preprocess import to_mnist
from tests.digit_strokes import rasterise
from tests.personal_hand import held_out, teaching


def as_set(drawings) -> DigitSet:
    digits = DigitSet.empty()
    for drawing in drawings:
        digits = digits.add(to_mnist(rasterise(drawing.strokes)), drawing.label)
    return digits


@pytest.fixture(scope="module")
def hand():
    return as_set(teaching()), as_set(held_out())


@pytest.fixture(scope="module")
def default_model(default_run):
    return default_run  # conftest's default run, trained once a session


def test_a_set_keeps_what_the_network_saw_and_round_trips_through_npz(hand):
    digits, _ = hand
    assert len(digits) == 30 and digits.counts() == [3] * 10
    field = to_mnist(rasterise(teaching()[0].strokes))
    assert np.abs(digits.fields()[0] - field).max() <= 0.5 / 255 + 1e-6  # kept as uint8, like MNIST
    again = DigitSet.from_bytes(digits.to_bytes())
    assert np.array_equal(again.images, digits.images) and np.array_equal(again.labels, digits.labels)
    smaller = digits.remove(0)
    assert len(smaller) == 29 and smaller.counts()[0] == 2 and len(digits) == 30  # sets are values
    assert len(DigitSet.from_bytes(DigitSet.empty().to_bytes())) == 0


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def declared_npz(name: str, header_shape: tuple, dtype="|u1") -> bytes:
    """A zip whose member's .npy header declares ``header_shape`` with almost no data behind it."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {header_shape}, }}".encode()
    header += b" " * (63 - len(header) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 100
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, member)
        archive.writestr("labels.npy" if name == "images.npy" else "images.npy",
                         npz_member(np.zeros(1, np.uint8) if name == "images.npy" else np.zeros((1, 28, 28), np.uint8)))
    return buffer.getvalue()


def npz_member(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("case, expected", [
    ("junk", "not an .npz"),
    ("a model file", "exactly 'images' and 'labels'"),
    ("object labels", "dtype object"),
    ("float images", "dtype float32"),
    ("wrong image size", "shape (2, 32, 32)"),
    ("label 12", "not a digit"),
    ("counts differ", "2 images but 3 labels"),
    ("truncated", "truncated"),
])
def test_a_bad_set_file_is_refused_with_a_reason(case, expected):
    images, labels = np.zeros((2, 28, 28), np.uint8), np.array([1, 2], np.uint8)
    data = {
        "junk": b"hello",
        "a model file": npz(W1=np.zeros((784, 2), np.float32)),
        "object labels": npz(images=images, labels=np.array([1, "x"], object)),
        "float images": npz(images=images.astype(np.float32), labels=labels),
        "wrong image size": npz(images=np.zeros((2, 32, 32), np.uint8), labels=labels),
        "label 12": npz(images=images, labels=np.array([1, 12], np.uint8)),
        "counts differ": npz(images=images, labels=np.array([1, 2, 3], np.uint8)),
        "truncated": declared_npz("images.npy", (5, 28, 28)),
    }[case]
    with pytest.raises(DigitSetError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        DigitSet.from_bytes(data)


def test_a_huge_declared_set_is_refused_from_its_header_in_bounded_memory():
    """A header declaring 10 million images (7.8 GB) is refused before anything is allocated."""
    data = declared_npz("images.npy", (10_000_000, 28, 28))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DigitSetError, match=f"up to {MAX_DRAWINGS}"):
        DigitSet.from_bytes(data)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 50
    with pytest.raises(DigitSetError, match="more than a set"):
        DigitSet.from_bytes(b"PK" + b"\0" * (3 * 2**20))


def test_a_set_is_bounded():
    digits = DigitSet(np.zeros((MAX_DRAWINGS, 784), np.uint8), np.zeros(MAX_DRAWINGS, np.uint8))
    assert digits.full
    with pytest.raises(ValueError, match="the most it keeps"):
        digits.add(np.zeros(784, np.float32), 3)
    with pytest.raises(ValueError, match="a digit 0-9"):
        DigitSet.empty().add(np.zeros(784, np.float32), 10)


def test_variations_differ_from_the_drawing_but_keep_its_ink_and_are_reproducible(hand):
    digits, _ = hand
    field = digits.fields()[0]
    rng = np.random.default_rng(0)
    varied = np.stack([vary(field, rng) for _ in range(20)])
    assert varied.shape == (20, 784) and varied.min() >= 0 and varied.max() <= 1
    assert all(np.abs(v - field).sum() > 5 for v in varied)  # each one moved
    ink = field.sum()
    assert np.all((varied.sum(axis=1) > 0.5 * ink) & (varied.sum(axis=1) < 2 * ink))  # not lost, not smeared
    one, two = variations(digits, 3, seed=4), variations(digits, 3, seed=4)
    assert np.array_equal(one.images, two.images) and len(one) == 90 and one.counts() == [9] * 10
    assert not np.array_equal(one.images, variations(digits, 3, seed=5).images)


def test_a_training_mix_is_mnist_plus_the_extra_images(mnist, hand):
    digits, _ = hand
    mixed = TrainingMix(1000, seed=3, extra=digits).apply(mnist)
    assert mixed.train_images.shape == (1030, 784) and np.array_equal(mixed.train_images[-30:], digits.images)
    assert mixed.test_images is mnist.test_images
    rows = [np.flatnonzero((mnist.train_images == row).all(axis=1))[:1] for row in mixed.train_images[:5]]
    assert all(len(r) for r in rows)  # the first rows are MNIST images
    assert np.array_equal(TrainingMix(1000, 3, digits).apply(mnist).train_images, mixed.train_images)


def test_too_few_drawings_are_refused():
    two = DigitSet(np.zeros((MIN_DRAWINGS - 1, 784), np.uint8), np.arange(MIN_DRAWINGS - 1, dtype=np.uint8))
    with pytest.raises(ValueError, match="too few to learn from"):
        fine_tuning(Hyperparams(), two)


def test_fine_tuning_teaches_the_personal_hand_and_keeps_mnist(mnist, hand, default_model):
    """Three drawings per digit: the held-out drawings (other sizes, places, slants) go from poorly
    read to at least 95% read, and the test accuracy stays at 97% or more, dropping at most 0.5 points."""
    digits, unseen = hand
    base = default_model.model
    before = float(np.mean(base.predict(unseen.fields()) == unseen.labels))
    test_before = evaluate(base, mnist.test_images, mnist.test_labels)[1]
    plan = fine_tuning(default_model.hparams, digits)
    run = LocalBackend(mnist).start(plan.hparams, initial=base, mix=plan.mix)
    while not run.poll().finished:
        pass
    tuned = run.claim().model
    after = float(np.mean(tuned.predict(unseen.fields()) == unseen.labels))
    test_after = evaluate(tuned, mnist.test_images, mnist.test_labels)[1]
    print(f"held-out personal hand: {before:.0%} -> {after:.0%}; test accuracy {test_before:.2%} -> {test_after:.2%}")
    assert before <= 0.75 and after >= 0.95 and after - before >= 0.20
    assert test_after >= 0.97 and test_before - test_after <= 0.005
