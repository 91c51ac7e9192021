"""Your own handwriting: a set of labelled 28x28 drawings, and fine-tuning a model on them.

A drawing is kept as the network saw it (the preprocessed 28x28 field, as uint8 0-255, like
MNIST). Fine-tuning is an ordinary run that starts from the active model and trains on a
``TrainingMix``: a fixed sample of MNIST's training images (so the network keeps what it knew)
plus many small variations of each of your drawings (shifted, rotated, sheared, scaled, strokes
thinner or thicker), so it learns your hand rather than your few exact images.

The set is saved as ``.npz`` with two arrays, ``images`` (n, 28, 28) uint8 and ``labels`` (n,)
uint8, and read back with the same bounded, pickle-free checks as model files.
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from .data import CLASSES, IMAGE_SIDE, PIXELS, Mnist
from .persist import read_npy
from .settings import MIN_LEARNING_RATE, Hyperparams

MAX_DRAWINGS = 500  # one session's set: 500 x 784 bytes
MIN_DRAWINGS = 3  # fewer is too few to learn a hand from
# The fine-tuning recipe, measured on a held-out seven-segment hand (tests/personal_hand.py).
VARIATIONS = 80  # training variations of each drawing
CHECK_VARIATIONS = 5  # further variations of each drawing, never trained on, to report on
MNIST_SAMPLE = 60_000  # MNIST training images mixed in (all of them)
EPOCHS = 2
LEARNING_RATE_FACTOR = 0.5  # of the base model's own learning rate
BATCH_SIZE = 128
MAX_SET_FILE_BYTES = 2 * 2**20  # a saved set of MAX_DRAWINGS is ~0.3 MB


class DigitSetError(ValueError):
    """The file is not a set of digits saved by this app (or is damaged)."""


@dataclass(frozen=True)
class DigitSet:
    """Labelled drawings: ``images`` (n, 784) uint8 0-255 as the network reads them, ``labels`` (n,) uint8."""

    images: np.ndarray
    labels: np.ndarray

    @classmethod
    def empty(cls) -> "DigitSet":
        return cls(np.empty((0, PIXELS), np.uint8), np.empty(0, np.uint8))

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def full(self) -> bool:
        return len(self) >= MAX_DRAWINGS

    def counts(self) -> list[int]:
        return np.bincount(self.labels, minlength=CLASSES).tolist()

    def add(self, field: np.ndarray, label: int) -> "DigitSet":
        """This set and one more drawing: ``field`` (784,) float in [0, 1] as the network saw it."""
        if self.full:
            raise ValueError(f"the set holds {MAX_DRAWINGS} drawings, the most it keeps")
        if not 0 <= label < CLASSES:
            raise ValueError(f"a label is a digit 0-9, got {label}")
        image = np.round(np.clip(field, 0, 1) * 255).astype(np.uint8).reshape(1, PIXELS)
        return DigitSet(np.concatenate([self.images, image]), np.append(self.labels, np.uint8(label)))

    def extend(self, other: "DigitSet") -> "DigitSet":
        if len(self) + len(other) > MAX_DRAWINGS:
            raise ValueError(f"together {len(self) + len(other)} drawings, more than the {MAX_DRAWINGS} a set keeps")
        return DigitSet(np.concatenate([self.images, other.images]), np.concatenate([self.labels, other.labels]))

    def remove(self, index: int) -> "DigitSet":
        keep = np.arange(len(self)) != index
        return DigitSet(self.images[keep], self.labels[keep])

    def fields(self) -> np.ndarray:
        """The drawings as float32 in [0, 1], (n, 784), as the network reads them."""
        return self.images.astype(np.float32) / 255

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, images=self.images.reshape(-1, IMAGE_SIDE, IMAGE_SIDE), labels=self.labels)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "DigitSet":
        """A set read from ``to_bytes``'s format; DigitSetError for anything else (bounded, no pickle)."""
        if len(data) > MAX_SET_FILE_BYTES:
            raise DigitSetError(f"the file is {len(data):,} bytes, more than a set of {MAX_DRAWINGS} digits")
        if not data.startswith(b"PK"):
            raise DigitSetError("not an .npz file (an .npz file is a zip archive)")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                images, labels = _set_arrays(archive)
        except DigitSetError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, NotImplementedError, RuntimeError,
                MemoryError, OverflowError, SyntaxError) as error:
            raise DigitSetError(f"not a valid .npz file ({type(error).__name__}: {str(error)[:200]})") from None
        if len(labels) != len(images):
            raise DigitSetError(f"{len(images)} images but {len(labels)} labels")
        if labels.size and labels.max() >= CLASSES:
            raise DigitSetError(f"a label is {labels.max()}, not a digit 0-9")
        return cls(images.reshape(-1, PIXELS).copy(), labels.copy())


def _set_arrays(archive: zipfile.ZipFile) -> tuple[np.ndarray, np.ndarray]:
    infos = archive.infolist()
    names = sorted(info.filename for info in infos[:10])
    if names != ["images.npy", "labels.npy"]:
        raise DigitSetError("not a set of digits of this app: it must hold exactly 'images' and 'labels', "
                            f"found {', '.join(name[:40] for name in names) or 'nothing'}")
    members = {info.filename.removesuffix(".npy"): info for info in infos}

    def check(shape_tail):
        def problem(dtype, shape):
            if dtype != np.dtype(np.uint8):
                return f"has dtype {dtype}, expected uint8"
            if len(shape) != 1 + len(shape_tail) or shape[1:] != shape_tail or not 0 <= shape[0] <= MAX_DRAWINGS:
                return f"has shape {shape}, expected {('n',) + shape_tail} with n up to {MAX_DRAWINGS}"
            return None
        return problem

    images = read_npy(archive, members["images"], check((IMAGE_SIDE, IMAGE_SIDE)), DigitSetError)
    labels = read_npy(archive, members["labels"], check(()), DigitSetError)
    return images, labels


# --- variations ---------------------------------------------------------------------------------

def vary(field: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random variation of a 28x28 field (float, [0, 1]): rotated up to 12 degrees, sheared,
    scaled 0.85-1.1, shifted up to 1.5 px, and its strokes thinned or thickened a little."""
    angle = math.radians(rng.uniform(-12, 12))
    shear, scale = rng.uniform(-0.25, 0.25), rng.uniform(0.85, 1.1)
    cos, sin = math.cos(angle), math.sin(angle)
    forward = scale * np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, 0.0], [shear, 1.0]])
    inverse = np.linalg.inv(forward)  # affine_transform maps output coordinates to input ones
    centre = np.full(2, (IMAGE_SIDE - 1) / 2)
    offset = centre - inverse @ (centre + rng.uniform(-1.5, 1.5, 2))
    image = ndimage.affine_transform(field.reshape(IMAGE_SIDE, IMAGE_SIDE), inverse, offset=offset, order=1)
    weight = rng.uniform(-0.5, 0.7)
    if weight > 0:  # thicker: blend in the grey dilation
        image = np.maximum(image, weight * ndimage.grey_dilation(image, footprint=np.ones((2, 2))))
    else:  # thinner: lift the floor
        image = np.clip((image + weight / 2) / (1 + weight / 2), 0, None)
    return np.clip(image, 0, 1).reshape(PIXELS)


def variations(digits: DigitSet, per_drawing: int, seed: int) -> DigitSet:
    """``per_drawing`` variations of each drawing, as uint8 like MNIST (the same seed, the same set)."""
    rng = np.random.default_rng(seed)
    fields = digits.fields()
    images = np.empty((len(digits) * per_drawing, PIXELS), np.uint8)
    for i in range(len(images)):
        images[i] = np.round(vary(fields[i // per_drawing], rng) * 255)
    return DigitSet(images, np.repeat(digits.labels, per_drawing))


# --- the training set of a fine-tuning run ------------------------------------------------------

def refusal(data: Mnist) -> str | None:
    """Why your handwriting cannot be taught on ``data`` (the session's data set), in one sentence; None
    on MNIST. Your drawings are digits: they mix with MNIST's training images, and tune a reader of digits."""
    if data.is_mnist and data.n_classes == CLASSES:
        return None
    return (f"Teaching your handwriting fine-tunes a reader of MNIST's {CLASSES} digits; the session's data set is "
            f"{data.name} ({data.n_classes} classes).")


@dataclass(frozen=True, eq=False)
class TrainingMix:
    """A run's training set: ``mnist_sample`` of MNIST's training images (a fixed sample, chosen by
    ``seed``) followed by ``extra`` images. Small enough to travel with a run's state."""

    mnist_sample: int
    seed: int
    extra: DigitSet

    def apply(self, data: Mnist) -> Mnist:
        """``data`` with this mix as its training set (the test set unchanged). Drawings of digits mix
        with MNIST only: another data set's classes are not the digits they are labelled with."""
        reason = refusal(data)
        if reason:
            raise ValueError(reason)
        n = len(data.train_images)
        rows = (slice(None) if self.mnist_sample >= n
                else np.sort(np.random.default_rng(self.seed).choice(n, self.mnist_sample, replace=False)))
        return replace(data, train_images=np.concatenate([data.train_images[rows], self.extra.images]),
                       train_labels=np.concatenate([data.train_labels[rows], self.extra.labels]))


@dataclass(frozen=True, eq=False)
class FineTuning:
    """What a fine-tuning run is: its settings and training mix, and the unseen variations of the
    drawings that its report reads before and after."""

    hparams: Hyperparams
    mix: TrainingMix | None  # None once its run has it (the run holds the one copy, ~31 MB for 500 drawings)
    check: DigitSet  # variations never trained on


def fine_tuning(base: Hyperparams, digits: DigitSet, seed: int = 0) -> FineTuning:
    """The fine-tuning of a model trained with ``base`` settings on ``digits`` (at least MIN_DRAWINGS)."""
    if len(digits) < MIN_DRAWINGS:
        raise ValueError(f"{len(digits)} drawing{'s' * (len(digits) != 1)} is too few to learn from: "
                         f"add at least {MIN_DRAWINGS}")
    rate = max(base.learning_rate * LEARNING_RATE_FACTOR, MIN_LEARNING_RATE)  # a model at the minimum tunes at it
    hparams = replace(base, learning_rate=rate, epochs=EPOCHS,
                      batch_size=BATCH_SIZE, seed=seed).validate()
    mix = TrainingMix(MNIST_SAMPLE, seed, variations(digits, VARIATIONS, seed))
    return FineTuning(hparams, mix, variations(digits, CHECK_VARIATIONS, seed + 1))


@dataclass(frozen=True)
class Reads:
    """How many drawings of a set a model reads right."""

    right: int
    total: int

    @classmethod
    def of(cls, model, digits: DigitSet) -> "Reads":
        return cls(int(np.count_nonzero(model.predict(digits.fields()) == digits.labels)), len(digits))

    @property
    def fraction(self) -> float:
        return self.right / self.total if self.total else 0.0


@dataclass(eq=False)
class Tuning:
    """A fine-tuning in a session: the run, what it started from, and its reads before and after on
    the drawings (``own``, trained on) and on their unseen variations (``plan.check``).

    The training mix (~31 MB for 500 drawings) is held once, by the run, and only while it trains: the
    plan kept here is without it, and the run handle is let go when the run has ended."""

    run: object | None  # the run handle, until it has ended
    base: int  # the session's index of the run it started from
    plan: FineTuning  # without its mix
    own: DigitSet
    before: tuple[Reads, Reads]  # (unseen variations, own drawings)
    variations: int = 0  # the variations of the drawings it trained on
    index: int | None = None  # the session's index of the fine-tuned run, once it ended
    after: tuple[Reads, Reads] | None = None

    @classmethod
    def start(cls, run, base: int, base_model, plan: FineTuning, own: DigitSet) -> "Tuning":
        before = (Reads.of(base_model, plan.check), Reads.of(base_model, own))
        return cls(run, base, replace(plan, mix=None), own, before, variations=plan.mix.extra.labels.size)

    def finish(self, index: int, model) -> None:
        self.index, self.after = index, (Reads.of(model, self.plan.check), Reads.of(model, self.own))
        self.run = None  # and with it the training mix
