"""The divergence guard: a batch (or epoch) cost that shows divergence ends the run with the
parameters that last gave a sane batch cost."""

from __future__ import annotations

import numpy as np

from ..run_events import Diverged, RunStatus, diverges
from .base import Component


class DivergenceGuard(Component):
    def __init__(self, flat: np.ndarray):
        self.last_good = flat.copy()  # parameters that last gave a sane batch cost

    @staticmethod
    def first_cost(run, cost: float) -> float:
        """The run's first batch cost (``cost`` itself before any batch): what divergence is judged from."""
        return float(run.batch_costs[0]) if run.total_batches_done else cost

    def check(self, run, cost: float) -> bool:
        """Whether ``cost`` shows divergence; if so the run has ended, its last good parameters restored."""
        if not diverges(cost, self.first_cost(run, cost)):
            return False
        np.copyto(run.model.flat, self.last_good)
        batch = run.batch + 1 if run.batch < run.batches_per_epoch else run.batch
        run.diverged = Diverged(epoch=run.epoch + 1, batch=batch, cost=float(cost), learning_rate=run.learning_rate)
        run.status = RunStatus.DIVERGED
        return True

    def on_gradient(self, run, grad: np.ndarray, grad_scale: float, cost: float) -> float:
        if not self.check(run, cost):
            np.copyto(self.last_good, run.model.flat)
        return cost

    def state_dict(self) -> dict:
        return {"last_good": self.last_good.copy()}

    def load_state_dict(self, state) -> None:
        np.copyto(self.last_good, state.last_good)
