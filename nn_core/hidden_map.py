"""A 2-D map of the last hidden layer: where a sample of test images lands, by PCA or t-SNE.

Each test image's last hidden layer activations (H numbers) are what the output layer reads; brought
down to two dimensions, images the network tells apart land apart. PCA is a linear projection: fitted
once (on the kept model) and applied to every epoch's activations, so the frames share their axes
and the classes can be watched separating. t-SNE keeps neighbours together and is far slower
(seconds for 2,000 images), so it is computed on request, one epoch at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .evaluation import chunked_logits
from .model import Model

SAMPLE = 2_000  # test images on the map by default
MIN_SAMPLE, MAX_SAMPLE = 500, 5_000  # t-SNE's time grows faster than linearly in the images
SAMPLE_SEED = 0
TSNE_DIMENSIONS = 50  # t-SNE reads the activations' first principal components (when H is larger)
TSNE_PERPLEXITY = 30.0


def sample_rows(n: int, size: int = SAMPLE, seed: int = SAMPLE_SEED) -> np.ndarray:
    """``size`` of ``n`` test image indices (sorted): the same images for every model and epoch."""
    if not MIN_SAMPLE <= size <= MAX_SAMPLE:
        raise ValueError(f"the map shows {MIN_SAMPLE:,} to {MAX_SAMPLE:,} test images, not {size:,}")
    if size > n:
        raise ValueError(f"asked for {size:,} images of a set of {n:,}")
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


@dataclass(frozen=True, eq=False)
class Layer:
    """The last hidden layer's activations for some images, and what the network read from them."""

    activations: np.ndarray  # (m, H) float32
    predicted: np.ndarray  # (m,) int: the digit the network reads

    @classmethod
    def of(cls, model: Model, images: np.ndarray) -> "Layer":
        """``model`` over ``images`` (uint8 or float (m, 784)), by the code ``evaluate`` uses."""
        activations = np.empty((len(images), model.hidden_units), np.float32)
        predicted = np.empty(len(images), np.int64)
        for rows, logits, ws in chunked_logits(model, images):
            activations[rows] = ws.A[-1][: rows.stop - rows.start]
            predicted[rows] = np.argmax(logits, axis=1)
        return cls(activations, predicted)


class PcaMap:
    """Principal components of one layer's activations (the kept model's), applied to any epoch's."""

    def __init__(self, reference: Layer):
        from sklearn.decomposition import PCA

        X = reference.activations.astype(np.float64)
        self.components = min(2, X.shape[1])
        self.pca = PCA(n_components=self.components, svd_solver="full").fit(X)
        # The share of the reference's variance the two axes hold, for the caption.
        self.explained = float(np.sum(self.pca.explained_variance_ratio_))

    def points(self, layer: Layer) -> np.ndarray:
        """(m, 2) float32: ``layer``'s activations on the reference's two axes (a second axis of 0 for H = 1)."""
        projected = self.pca.transform(layer.activations.astype(np.float64))
        if self.components < 2:
            projected = np.column_stack([projected, np.zeros(len(projected))])
        return projected.astype(np.float32)


def tsne_points(layer: Layer, seed: int = 0) -> np.ndarray:
    """(m, 2) float32: t-SNE of ``layer``'s activations (on their first ``TSNE_DIMENSIONS`` principal
    components when H is larger), PCA-initialised, the same result for the same input and seed."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    X = layer.activations.astype(np.float64)
    if X.shape[1] > TSNE_DIMENSIONS:
        X = PCA(n_components=TSNE_DIMENSIONS, svd_solver="full", random_state=seed).fit_transform(X)
    perplexity = min(TSNE_PERPLEXITY, (len(X) - 1) / 3)
    # One OpenMP thread: on cores shared with training (and other work), its threads spin waiting for
    # each other: 500 images took 85 s with them and 11 s without, measured at a load of 14 on 2 cores.
    with threadpool_limits(limits=1, user_api="openmp"):
        embedding = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
                         random_state=seed).fit_transform(X)
    return embedding.astype(np.float32)
