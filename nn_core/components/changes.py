"""Mid-run changes: the learning rate and momentum given new values from given batches on."""

from __future__ import annotations

from ..run_state import CHANGEABLE, Change
from .base import Component


class MidRunChanges(Component):
    def __init__(self, hparams, changes: tuple, optimizer):
        self.hparams, self.optimizer = hparams, optimizer
        self.changes = tuple(change.check() for change in changes)
        if any(a.batch > b.batch for a, b in zip(self.changes, self.changes[1:])):
            raise ValueError("a run's changes must come in the order of their batches")
        self.applied = 0  # how many of the changes are in effect
        self.in_effect = {name: getattr(hparams, name) for name in CHANGEABLE}  # the settings', or as changed

    def add(self, run, name: str, value: float) -> Change:
        change = Change(run.total_batches_done, name, value).check()
        self.changes += (change,)
        self.apply(run.total_batches_done)
        return change

    def apply(self, batches_done: int) -> None:
        """Configure the optimizer with every change due by now (from the settings' values on)."""
        due = sum(1 for change in self.changes if change.batch <= batches_done)
        if due == self.applied:
            return
        values = {name: getattr(self.hparams, name) for name in CHANGEABLE}
        for change in self.changes[:due]:
            values[change.name] = change.value
        self.optimizer.configure(values["learning_rate"], values["momentum"])
        self.in_effect = values  # the rate a schedule multiplies
        self.applied = due

    def on_batch_start(self, run) -> None:
        if len(self.changes) > self.applied:
            self.apply(run.total_batches_done)

    def state_dict(self) -> dict:
        return {"changes": self.changes}

    def load_state_dict(self, state) -> None:
        self.changes = state.changes
        self.apply(state.total_batches_done)
