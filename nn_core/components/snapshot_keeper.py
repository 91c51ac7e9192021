"""The snapshot keeper: the parameters before training and at the kept epochs' ends (float16, within
the budget of ``nn_core.snapshots``), and at the run's last epoch."""

from __future__ import annotations

from .. import snapshots
from ..snapshots import Snapshot
from .base import Component


class SnapshotKeeper(Component):
    def __init__(self, hp, flat):
        self.epochs = hp.epochs
        self.stride = snapshots.stride(hp.hidden_units, hp.layers, hp.epochs)
        self.snapshots: list[Snapshot] = [Snapshot.of(0, flat)]  # before training

    def on_epoch_end(self, run, stats) -> None:
        if snapshots.keeps(run.epoch, self.epochs, self.stride) or run.finished:
            self.snapshots.append(Snapshot.of(run.epoch, run.model.flat))

    def state_dict(self) -> dict:
        return {"snapshots": tuple(self.snapshots)}

    def load_state_dict(self, state) -> None:
        self.snapshots = list(state.snapshots)
