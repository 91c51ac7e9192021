"""A run as plain data: ``RunState`` (everything it needs to go on, picklable, so it travels to
another process and back), ``RunResult`` (what is kept once it ends) and the ``Change`` of a setting
made while it trained."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

import numpy as np

from .model import Model
from .run_events import Diverged, EpochStats, RunStatus
from .settings import BY_NAME, Hyperparams

if TYPE_CHECKING:
    from .handwriting import TrainingMix

CHANGEABLE = ("learning_rate", "momentum")  # the settings a run takes new values of while it trains


@dataclass(frozen=True)
class Change:
    """A setting given a new value while the run trained, from batch ``batch`` on (the number of
    batches trained before it applied). A run given the changes a live run recorded replays it to the bit."""

    batch: int
    name: str  # one of CHANGEABLE
    value: float

    def check(self) -> "Change":
        if self.name not in CHANGEABLE:
            raise ValueError(f"only {' and '.join(CHANGEABLE)} can change during a run, not {self.name!r}")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 0:
            raise ValueError(f"a change applies from a batch number >= 0, got {self.batch!r}")
        BY_NAME[self.name].check(self.value)
        return self

    def describe(self, before: float, batches_per_epoch: int) -> str:
        """E.g. "learning rate 4 → 0.5 at epoch 2.4" (epochs trained, to a tenth)."""
        label = {"learning_rate": "learning rate", "momentum": "momentum"}[self.name]
        return f"{label} {before:g} → {self.value:g} at epoch {self.batch / batches_per_epoch:.1f}"


def describe_changes(hparams: Hyperparams, changes, batches_per_epoch: int) -> list[str]:
    """Each change of a run in words, from the value it replaced."""
    current = {name: getattr(hparams, name) for name in CHANGEABLE}
    words = []
    for change in changes:
        words.append(change.describe(current[change.name], batches_per_epoch))
        current[change.name] = change.value
    return words


@dataclass(eq=False)
class RunResult:
    """What is kept of a run once it ends: small enough to keep many per session."""

    hparams: Hyperparams
    model: Model
    epochs: list[EpochStats]  # one entry per completed epoch
    batch_costs: np.ndarray  # (batches done,) float32, each batch's cost before its step
    batches_per_epoch: int
    status: RunStatus
    diverged: Diverged | None = None
    train_seconds: float = 0.0
    note: str | None = None  # why a failed run ended
    origin: str | None = None  # what the run started from, if not a fresh model (a fine-tuning's base)
    best_epoch: int | None = None  # early stopping: the epoch whose parameters the model holds
    stopped_early: bool = False  # early stopping ended the run before its last epoch
    changes: tuple = ()  # Change: learning rate or momentum changed while it trained
    # Snapshot: the parameters before training and at each kept epoch's end (float16, bounded: see
    # nn_core.snapshots); a session keeps them only for its latest runs, () once dropped.
    snapshots: tuple = ()
    data_key: str = ""  # the data set it trained on: "" MNIST, else that data set's key (DataSet.key)

    def describe_changes(self) -> list[str]:
        return describe_changes(self.hparams, self.changes, self.batches_per_epoch)

    @property
    def final(self) -> EpochStats | None:
        """The figures of the model kept: the last epoch's, or with early stopping the best epoch's."""
        if not self.epochs:
            return None
        return self.epochs[self.best_epoch - 1] if self.best_epoch else self.epochs[-1]

    def metrics(self) -> dict:
        """Final figures as plain numbers (saved with the model)."""
        last = self.final
        if last is None:
            return {"train_seconds": self.train_seconds, "epochs_trained": 0}
        return {"test_accuracy": last.test_accuracy, "test_cost": last.test_cost,
                "train_accuracy": last.train_accuracy, "train_cost": last.train_cost,
                "train_seconds": self.train_seconds, "epochs_trained": last.epoch}


class Position:
    """Where a run stands, from its ``epoch``, ``batch``, ``batches_per_epoch`` and ``status``."""

    @property
    def total_batches_done(self) -> int:
        return self.epoch * self.batches_per_epoch + self.batch

    @property
    def finished(self) -> bool:
        return self.status.finished


@dataclass(eq=False)
class RunState(Position):
    """Everything a run needs to go on, and nothing more: plain arrays and numbers, so it can be sent
    to another process or machine and back (``Trainer.state`` / ``Trainer.resume``)."""

    hparams: Hyperparams
    batches_per_epoch: int
    params: np.ndarray  # Model.flat
    optimizer_state: dict  # the optimizer's arrays (momentum's V, Adam's M, V and t ...), copied
    last_good: np.ndarray  # parameters that last gave a sane batch cost
    rng: dict  # the bit generator's state
    permutation: np.ndarray | None  # this epoch's shuffle, None between epochs
    epoch: int
    batch: int
    batch_costs: np.ndarray  # (total_batches,) NaN where not trained yet
    epochs: list
    status: "RunStatus"
    diverged: "Diverged | None"
    train_seconds: float
    grad_norm_sum: np.ndarray | None = None  # this epoch's summed gradient norms, per weight matrix
    mix: "TrainingMix | None" = None  # the run's own training set, if not MNIST's
    data_key: str = ""  # the data set it trains on: "" MNIST, else that data set's key (DataSet.key)
    streams: dict | None = None  # the extra generators' states (dropout, augmentation), by name
    best: tuple | None = None  # early stopping: (best epoch, its validation cost, its parameters)
    stopped_early: bool = False
    changes: tuple = ()  # Change, in order: the learning rate and momentum changed while it trained
    pending: tuple = ()  # PendingEpoch: epochs trained, not yet evaluated (see Trainer.end_epoch)
    # Snapshot: the parameters at the kept epochs' ends. A job's chunk is sent without them and returns
    # only the ones it made, which the run adds to its own (so they never travel twice).
    snapshots: tuple = ()
    # The parts of components that have no field above (a concern added later: ``state_dict`` keys).
    extra: dict = field(default_factory=dict)

    @classmethod
    def of(cls, **values) -> "RunState":
        """A state from the loop's and components' parts: a part without a field of its own goes in ``extra``."""
        names = {f.name for f in fields(cls)}
        extra = {key: value for key, value in values.items() if key not in names}
        return cls(**{key: value for key, value in values.items() if key in names}, extra=extra)

    def with_changes(self, requested: list[tuple[str, float]]) -> "RunState":
        """This state with new values of changeable settings that apply from its next batch."""
        added = tuple(Change(self.total_batches_done, name, value).check() for name, value in requested)
        return replace(self, changes=self.changes + added)

    def outline(self) -> dict:
        """The run so far, copied, as the fields ``RunResult`` and a progress snapshot share."""
        return {"hparams": self.hparams, "epochs": list(self.epochs), "status": self.status,
                "batch_costs": self.batch_costs[: self.total_batches_done].copy(),
                "batches_per_epoch": self.batches_per_epoch, "diverged": self.diverged,
                "train_seconds": self.train_seconds, "changes": self.changes}

    def result(self) -> RunResult:
        """What is kept of the run (its model a copy of the parameters)."""
        hp = self.hparams
        return RunResult(model=Model.of(self.params.copy(), hp.hidden_units, hp.activation, hp.layers),
                         best_epoch=self.best[0] if self.best else None, stopped_early=self.stopped_early,
                         snapshots=self.snapshots, data_key=self.data_key, **self.outline())

    def stopped(self, status: RunStatus = RunStatus.STOPPED) -> "RunState":
        """This state, ended on request or by a failure (unless it had ended already)."""
        return self if self.finished else replace(self, status=status)
