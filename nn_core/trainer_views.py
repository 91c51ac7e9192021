"""What callers read of a run's components through the ``Trainer`` (the UI, Inside, tests): views only,
the components own the state."""

from __future__ import annotations

import numpy as np


class TrainerViews:
    @property
    def epoch_complete(self) -> bool:
        """Every batch of this epoch is trained: ``end_epoch`` is due before the next batch."""
        return self.batch == self.batches_per_epoch

    @property
    def learning_rate(self) -> float:
        """The learning rate in effect (the settings', unless changed during the run)."""
        return self.optimizer.learning_rate

    @property
    def input_scale(self) -> float:
        """What ``next_batch``'s X is multiplied by before the network reads it (1/255 for uint8 data)."""
        return self.batches.input_scale

    @property
    def split(self):
        """The run's own training rows, labels and validation rows; None when it trains on all of the data."""
        return self.batches.split

    @property
    def samples(self) -> int:
        return self.batches.samples

    @property
    def _permutation(self) -> np.ndarray | None:
        return self.batches.permutation

    @property
    def workspace(self):
        return self.gradient.workspace

    def _dropout_masks(self, m: int) -> list[np.ndarray] | None:
        return self.gradient.masks(m)

    @property
    def pending(self) -> list:
        """Epochs trained whose evaluation is deferred (``PendingEpoch``)."""
        return self.evaluator.pending

    @property
    def snapshots(self) -> list:
        return self.keeper.snapshots

    @property
    def best(self) -> tuple | None:
        return self.early_stopping.best

    @property
    def stopped_early(self) -> bool:
        return self.early_stopping.stopped_early

    @property
    def last_good(self) -> np.ndarray:
        return self.guard.last_good

    def first_cost(self, cost: float) -> float:
        return self.guard.first_cost(self, cost)

    def health_sample(self) -> np.ndarray:
        return self.evaluator.health_sample()

    def l2_penalty(self, flat: np.ndarray | None = None) -> float:
        return self.l2.penalty(self.model.flat if flat is None else flat) if self.l2 else 0.0
