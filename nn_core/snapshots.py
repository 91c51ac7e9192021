"""A run's parameters at each epoch's end, kept with it, and its first layer's units as small images.

A run keeps its parameters before training (epoch 0) and at the end of each epoch, at half precision
(float16: a default run's 50,890 parameters take 100 KB an epoch), so pages can replay how its hidden
units and its hidden layer changed. The memory is bounded per run: when every epoch would pass
``SNAPSHOT_BYTES``, only every ``stride``-th epoch (and the last) is kept, a stride fixed from the
settings before the run starts, so every backend keeps the same epochs.

A running run's progress carries its first layer's units as uint8 images (128 is zero), cheap to
hand to a page on every poll; a float matrix is never sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import INPUTS, Model, parameter_count

SNAPSHOT_DTYPE = np.float16  # 3 significant digits: far finer than a unit image or a map can show
SNAPSHOT_BYTES = 24 * 2**20  # a run's kept epochs at most: 512 units over 50 epochs keep every second one
IMAGE_SIDE = 28
UNIT_PERCENTILE = 99.0  # a unit image's colour limit: this percentile of |W1| (as Evaluate's units)
LIMIT_SAMPLE = 50_000


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The parameters after ``epoch`` epochs (0: before training), flat, at half precision."""

    epoch: int
    params: np.ndarray  # (parameter_count(H, L),) float16

    @classmethod
    def of(cls, epoch: int, flat: np.ndarray) -> "Snapshot":
        return cls(epoch, flat.astype(SNAPSHOT_DTYPE))

    def model(self, like: Model) -> Model:
        """These parameters as a float32 model of ``like``'s shape."""
        return Model(self.params.astype(np.float32), like.hidden_units, like.activation, like.layers, like.classes)

    @property
    def nbytes(self) -> int:
        return self.params.nbytes


def snapshot_bytes(hidden_units: int, layers: int = 1) -> int:
    """One epoch's snapshot, in bytes."""
    return parameter_count(hidden_units, layers) * np.dtype(SNAPSHOT_DTYPE).itemsize


def kept_epochs(epochs: int, stride: int) -> list[int]:
    """Epochs 0, stride, 2 stride ... and the last."""
    return sorted(set(range(0, epochs + 1, stride)) | {epochs})


def stride(hidden_units: int, layers: int, epochs: int, budget: int | None = None) -> int:
    """Every how many epochs a run of this shape keeps its parameters: 1 (all) unless that passes
    ``budget`` (default ``SNAPSHOT_BYTES``)."""
    budget = SNAPSHOT_BYTES if budget is None else budget
    size = snapshot_bytes(hidden_units, layers)
    for every in range(1, epochs + 1):
        if len(kept_epochs(epochs, every)) * size <= budget:
            return every
    return epochs  # only before and after: two snapshots, whatever their size


def keeps(epoch: int, epochs: int, every: int) -> bool:
    """Whether a run of ``epochs`` epochs keeping every ``every``-th keeps epoch ``epoch``."""
    return epoch % every == 0 or epoch == epochs


def first_layer(flat: np.ndarray, hidden_units: int) -> np.ndarray:
    """W1 (784, H): a view of the flat parameters (it comes first)."""
    return flat[: INPUTS * hidden_units].reshape(INPUTS, hidden_units)


def unit_images(flat: np.ndarray, hidden_units: int) -> tuple[np.ndarray, float]:
    """The first layer's units as images: (H, 28, 28) uint8, 128 + 127 w / limit (clipped; 128 is a
    zero weight, as is NaN), and the limit (1 if the weights hold NaN), one for every unit: the ``UNIT_PERCENTILE`` of |W1|, over
    at most ``LIMIT_SAMPLE`` evenly spaced weights (a 512-unit layer's exact percentile took 17 ms)."""
    weights = first_layer(flat, hidden_units)  # (784, H)
    every = max(1, weights.size // LIMIT_SAMPLE)
    sample = np.abs(weights.reshape(-1)[::every], dtype=np.float32)
    limit = float(np.percentile(sample, UNIT_PERCENTILE)) if sample.size else 0.0
    limit = limit if np.isfinite(limit) and limit > 0 else 1.0
    scaled = np.multiply(weights, np.float32(127 / limit), dtype=np.float32)  # (784, H), in its own layout
    scaled[np.isnan(scaled)] = 0
    np.clip(scaled, -127, 127, out=scaled)
    scaled += 128
    images = np.rint(scaled, out=scaled).astype(np.uint8)
    # Transposed as bytes, a quarter of the float copy's traffic: (H, 784) -> (H, 28, 28).
    return np.ascontiguousarray(images.T).reshape(hidden_units, IMAGE_SIDE, IMAGE_SIDE), limit
