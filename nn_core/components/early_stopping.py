"""Early stopping: keep the best epoch's parameters (by validation cost); end the run once
``hp.early_stop`` epochs have not improved on it. The model ends with the best epoch's parameters."""

from __future__ import annotations

import numpy as np

from ..run_events import RunStatus
from .base import Component


class EarlyStopping(Component):
    def __init__(self, patience: int, epochs: int):
        self.patience, self.epochs = patience, epochs
        self.best: tuple | None = None  # (epoch, validation cost, parameters)
        self.stopped_early = False

    def on_epoch_end(self, run, stats) -> None:
        if stats is None or stats.validation_cost is None:
            return
        if self.best is None or stats.validation_cost < self.best[1]:
            self.best = (run.epoch, stats.validation_cost, run.model.flat.copy())
        elif run.epoch - self.best[0] >= self.patience and run.epoch < self.epochs:
            self.stopped_early = True
            run.status = RunStatus.DONE

    def on_train_end(self, run) -> None:
        if self.best is not None and self.best[0] != run.epoch:
            np.copyto(run.model.flat, self.best[2])  # the best epoch's parameters are the model

    def state_dict(self) -> dict:
        best = None if self.best is None else (self.best[0], self.best[1], self.best[2].copy())
        return {"best": best, "stopped_early": self.stopped_early}

    def load_state_dict(self, state) -> None:
        self.best, self.stopped_early = state.best, state.stopped_early
