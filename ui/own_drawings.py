"""Classes a user names and draws on the Draw page ("circle", "arrow", "smile"...), kept as the network
reads them, and what a network trained on them is: Teachable Machine's idea on the lab's own network.

The drawings are a ``DigitSet`` (28x28 uint8 fields and labels, here the index of a class name), so
"my digits" and "my classes" keep and bound drawings the same way (at most MAX_DRAWINGS a session). The
data set of a training is ``nn_core.datasets.from_arrays``'s: a seeded fifth of each class held out as
its test set, and the run trains on the rest with augmentation, so ten drawings of a class are enough.
No Streamlit here: the page is ``ui.own_classes``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from nn_core import Hyperparams, RunResult
from nn_core.data import DataSet
from nn_core.datasets import from_arrays
from nn_core.handwriting import MAX_DRAWINGS, DigitSet

MIN_CLASSES, MAX_CLASSES = 2, 10
MAX_NAME = 24  # characters of a class's name
MIN_EXAMPLES = 3  # drawings of each class before training: two to train on and one held out
NAME = "My drawn classes"  # the data set's name
# The training of a few dozen drawings: the post's network (one output per class), 15 epochs of batches of 8
# at learning rate 1, every batch warped anew (augmentation). On synthetic shapes rasterised like the canvas
# (tests/own_shapes.py; and, measured once, six harder ones), 10, 15, 20 or 50 epochs read new drawings
# equally well (99-100% with 5 or 10 drawings a class); each epoch costs the worker backends a round trip,
# so 15: 40 drawings train in 0.1-0.9 s of CPU, 2-4 s from click to model on the process workers of a
# loaded 2-core machine.
RECIPE = Hyperparams(learning_rate=1.0, batch_size=8, epochs=15, augment="on", seed=0)
FORBIDDEN = "/\\"  # a name is a folder's name in the downloaded zip (nor may it start with a dot)


def name_problem(name: str, names: tuple[str, ...]) -> str | None:
    """Why ``name`` (stripped) cannot be a new class next to ``names``, in one sentence; None if it can."""
    if not name:
        return "A class needs a name."
    if len(name) > MAX_NAME:
        return f"A class's name is at most {MAX_NAME} characters; this one has {len(name)}."
    if not name.isprintable() or any(mark in name for mark in FORBIDDEN) or name.startswith("."):
        return "A class's name cannot hold a slash, a backslash or a control character, nor start with a dot."
    if name.casefold() in (other.casefold() for other in names):
        return "There is already a class of that name."
    if len(names) >= MAX_CLASSES:
        return f"You have {MAX_CLASSES} classes, the most a drawn set has."
    return None


@dataclass(frozen=True)
class Drawings:
    """The class names, in order, and the drawings (``drawn.labels`` index ``names``), oldest first."""

    names: tuple[str, ...] = ()
    drawn: DigitSet = field(default_factory=DigitSet.empty)

    def __len__(self) -> int:
        return len(self.drawn)

    def counts(self) -> list[int]:
        return np.bincount(self.drawn.labels, minlength=len(self.names)).tolist()[: len(self.names)]

    def of(self, k: int) -> np.ndarray:
        """The drawings of class ``k``, (n, 784) uint8."""
        return self.drawn.images[self.drawn.labels == k]

    def add_class(self, name: str) -> "Drawings":
        name = name.strip()
        problem = name_problem(name, self.names)
        if problem:
            raise ValueError(problem)
        return Drawings(self.names + (name,), self.drawn)

    def remove_class(self, k: int) -> "Drawings":
        """Without class ``k`` and its drawings (the later classes move up one)."""
        keep = self.drawn.labels != k
        labels = self.drawn.labels[keep]
        labels = np.where(labels > k, labels - 1, labels).astype(np.uint8)
        return Drawings(self.names[:k] + self.names[k + 1:], DigitSet(self.drawn.images[keep], labels))

    def add(self, image: np.ndarray, k: int) -> "Drawings":
        """One more drawing of class ``k``: ``image`` (784,) float in [0, 1] as the network saw it."""
        if not 0 <= k < len(self.names):
            raise ValueError(f"there is no class {k}")
        return Drawings(self.names, self.drawn.add(image, k))  # refuses past MAX_DRAWINGS

    def undo(self) -> "Drawings":
        """Without the last drawing added."""
        return Drawings(self.names, self.drawn.remove(len(self.drawn) - 1)) if len(self) else self

    def clear(self, k: int) -> "Drawings":
        """Without the drawings of class ``k`` (the class stays)."""
        keep = self.drawn.labels != k
        return Drawings(self.names, DigitSet(self.drawn.images[keep], self.drawn.labels[keep]))

    @property
    def full(self) -> bool:
        return self.drawn.full

    @property
    def fingerprint(self) -> str:
        """A digest of the names and drawings: the same drawings, the same fingerprint."""
        h = hashlib.sha256("\x00".join(self.names).encode())
        h.update(self.drawn.images.tobytes())
        h.update(self.drawn.labels.tobytes())
        return h.hexdigest()[:16]

    def unready(self) -> str | None:
        """Why these drawings cannot be trained on yet, in one sentence; None if they can."""
        if len(self.names) < MIN_CLASSES:
            return f"Name at least {MIN_CLASSES} classes first (you have {len(self.names)})."
        few = [name for name, count in zip(self.names, self.counts()) if count < MIN_EXAMPLES]
        if few:
            return (f"Draw at least {MIN_EXAMPLES} examples of every class (ten work well); too few of: "
                    f"{', '.join(few)}.")
        return None

    def data_set(self) -> DataSet:
        """The drawings as a data set (every class needs a drawing): a fifth of each class held out."""
        return from_arrays(self.drawn.images, self.drawn.labels, self.names, NAME,
                           note=f"{len(self)} drawings made on the Draw page")

    @classmethod
    def of_data_set(cls, data: DataSet) -> "Drawings":
        """A data set's images (training and test) as drawings, if it is one a drawn set can be."""
        total = len(data.train_labels) + len(data.test_labels)
        if not MIN_CLASSES <= data.n_classes <= MAX_CLASSES:
            problem = f"A drawn set has {MIN_CLASSES} to {MAX_CLASSES} classes; this one has {data.n_classes}."
        elif total > MAX_DRAWINGS:
            problem = f"A drawn set keeps at most {MAX_DRAWINGS} drawings; this one has {total:,}."
        else:
            problem = next(filter(None, (name_problem(name, data.classes[:k]) for k, name in enumerate(data.classes))),
                           None)
        if problem:
            raise ValueError(problem)
        images = np.concatenate([data.train_images, data.test_images])
        labels = np.concatenate([data.train_labels, data.test_labels]).astype(np.uint8)
        return cls(tuple(data.classes), DigitSet(images, labels))


@dataclass(frozen=True)
class Trained:
    """A network trained on drawn classes: what it reads, and how it did on the held-out drawings."""

    model: object
    names: tuple[str, ...]
    fingerprint: str  # of the drawings it was trained on (Drawings.fingerprint)
    drawings: int  # drawings in the data set it trained on (training and held out)
    trained_on: int
    right: int  # held-out drawings read right
    held_out: int
    seconds: float
    status: str
    result: RunResult | None = None  # the run (its epochs' snapshots dropped), for the session's history

    @classmethod
    def of(cls, result: RunResult, data: DataSet, fingerprint: str) -> "Trained":
        right = int(np.count_nonzero(result.model.predict(data.test_images.astype(np.float32) / 255)
                                     == data.test_labels))
        return cls(result.model, data.classes, fingerprint, len(data.train_labels) + len(data.test_labels),
                   len(data.train_labels), right, len(data.test_labels), result.train_seconds,
                   str(result.status), result)

    def reads(self, image: np.ndarray) -> np.ndarray:
        """The probability of each class, (classes,), for ``image`` (784,) float in [0, 1]."""
        return self.model.predict_proba(image)
