"""The epoch evaluator: an epoch's figures (train, test, validation, true labels under noise, health),
or, with ``defer_evaluation``, the epoch's parameters kept in ``pending`` for ``evaluate`` elsewhere
(an idle worker), beside the next epoch's training: the same figures."""

from __future__ import annotations

import time

import numpy as np

from .. import health
from ..evaluation import evaluate
from ..model import Model
from ..run_events import EpochStats, PendingEpoch
from .base import Component
from .batches import Batches, fixed_sample


class EpochEvaluator(Component):
    def __init__(self, hp, batches: Batches, threads: int | None, train_sample: int | None, defer: bool, penalty):
        self.hp, self.batches, self.threads, self.train_sample, self.defer = hp, batches, threads, train_sample, defer
        self.penalty = penalty  # flat -> the L2 penalty, or None without one
        self.pending: list[PendingEpoch] = []  # epochs trained whose evaluation is deferred
        self._health_sample = None  # float images the health is measured on, made at the first epoch's end

    def end_epoch(self, run, grad_norm: np.ndarray) -> EpochStats | None:
        """The finished epoch's figures, or None once it is added to ``pending`` (not the last epoch's,
        nor when early stopping needs the figures now)."""
        before = [e.train_seconds for e in run.epochs[-1:]] + [p.train_seconds for p in self.pending[-1:]]
        epoch_seconds = run.train_seconds - max(before, default=0.0)
        epoch, split = run.epoch + 1, self.batches.split
        validating = split is not None and split.validation_rows is not None
        if self.defer and epoch != self.hp.epochs and not validating:
            self.pending.append(PendingEpoch(epoch, run.model.flat.copy(), grad_norm, run.train_seconds, epoch_seconds))
            return None
        return self.measure(run.model, epoch, grad_norm, run.train_seconds, epoch_seconds)

    def evaluate(self, pending: PendingEpoch) -> EpochStats:
        hp = self.hp
        model = Model.of(pending.params, hp.hidden_units, hp.activation, hp.layers)
        with np.errstate(all="ignore"):
            return self.measure(model, pending.epoch, pending.grad_norm, pending.train_seconds, pending.epoch_seconds)

    def _evaluate(self, model: Model, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
        return evaluate(model, images, labels, threads=self.threads)

    def measure(self, model: Model, epoch: int, grad_norm: np.ndarray, train_seconds: float,
                epoch_seconds: float) -> EpochStats:
        """An epoch's figures for ``model``: train (on the sample, or all after the last epoch), test,
        validation, the labels' truth under noise, and the network's health."""
        eval_start = time.perf_counter()
        data, split, samples = self.batches.data, self.batches.split, self.batches.samples
        last = epoch == self.hp.epochs
        sample = None if last or self.train_sample is None or self.train_sample >= samples else self.train_sample
        positions = slice(None) if sample is None else fixed_sample(samples, sample)
        train_images, train_labels = self.batches.training_set(positions)
        train_cost, train_accuracy = self._evaluate(model, train_images, train_labels)
        test_cost, test_accuracy = self._evaluate(model, data.test_images, data.test_labels)
        figures = {}
        if split is not None and split.noisy:  # the same images, against their true labels
            true_labels = data.train_labels[split.train_rows[positions]]
            figures["train_accuracy_true"] = self._evaluate(model, train_images, true_labels)[1]
        if split is not None and split.validation_rows is not None:
            rows = split.validation_rows
            cost, accuracy = self._evaluate(model, data.train_images[rows], data.train_labels[rows])
            figures.update(validation_cost=cost, validation_accuracy=accuracy)
        state = health.measure(model, self.health_sample(), grad_norm)
        return EpochStats(
            epoch=epoch, train_cost=train_cost, test_cost=test_cost, train_accuracy=train_accuracy,
            test_accuracy=test_accuracy, train_seconds=train_seconds, epoch_seconds=epoch_seconds,
            eval_seconds=time.perf_counter() - eval_start, train_sample=sample, health=state,
            l2_penalty=self.penalty(model.flat) if self.penalty else 0.0, **figures)

    def health_sample(self) -> np.ndarray:
        """The fixed training images (float, in [0, 1]) the health's saturation is measured on."""
        if self._health_sample is None:
            samples = self.batches.samples
            images, _ = self.batches.training_set(fixed_sample(samples, min(health.SAMPLE, samples)))
            self._health_sample = images.astype(np.float32) * np.float32(self.batches.input_scale)
        return self._health_sample

    def state_dict(self) -> dict:
        return {"pending": tuple(self.pending)}

    def load_state_dict(self, state) -> None:
        self.pending = list(state.pending)
