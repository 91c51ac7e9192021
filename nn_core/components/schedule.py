"""The learning-rate schedule (``nn_core.schedules``): before each batch, the optimizer steps with the
schedule's factor times the rate in effect (the settings', or as changed mid-run)."""

from __future__ import annotations

from .. import schedules
from .base import Component
from .changes import MidRunChanges


class LearningRateSchedule(Component):
    def __init__(self, hp, mid_run: MidRunChanges, optimizer):
        self.hp, self.mid_run, self.optimizer = hp, mid_run, optimizer

    def on_batch_start(self, run) -> None:
        hp, in_effect = self.hp, self.mid_run.in_effect
        scale = schedules.factor(hp.schedule, run.total_batches_done, run.batches_per_epoch, run.total_batches,
                                 hp.lr_decay, hp.step_epochs, hp.warmup)
        self.optimizer.configure(in_effect["learning_rate"] * scale, in_effect["momentum"])
