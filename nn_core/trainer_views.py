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
    def _permutation(self) -> np.ndarray | None:
        return self.batches.permutation

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
    def stopped_early(self) -> bool:
        return self.early_stopping.stopped_early
