"""Learning-rate schedules: the rate of each batch as a factor of the run's learning rate.

``factor(name, t, ...)`` is a pure function of the batch number ``t`` (0-based, over the whole run), so a
run stopped and resumed, or replayed, steps with the same rates. A learning rate changed while the run
trains replaces the rate the factor multiplies, from its batch on: the schedule goes on over it.

- constant: 1 (the post's).
- step: ``decay ** floor(epoch / step_epochs)``: the rate drops by ``decay`` every ``step_epochs`` epochs.
- exponential: ``decay ** epoch``, epoch fractional: the same drop per epoch, spread over its batches.
- cosine: ``(1 + cos(pi t / T)) / 2``: from the full rate down towards 0 over the run's T batches.
- one-cycle (Smith, 2018): a linear warm-up from 1/25 of the rate to all of it over the first ``warmup``
  of the run, then a half cosine down to 1/2500 of it at the last batch.
"""

from __future__ import annotations

import math

import numpy as np

SCHEDULES = ("constant", "step", "exponential", "cosine", "one-cycle")
ONE_CYCLE_START = 25.0  # one-cycle begins at rate / 25 (fast.ai's div)
ONE_CYCLE_END = 2500.0  # and ends at rate / 2500 (fast.ai's div 25 times its final_div 100)


def factor(name: str, t: int, batches_per_epoch: int, total_batches: int, decay: float = 0.5,
           step_epochs: int = 3, warmup: float = 0.3) -> float:
    """The factor of batch ``t`` (0-based) of a run of ``total_batches``."""
    if name == "constant":
        return 1.0
    epoch = t / batches_per_epoch  # epochs trained before this batch, fractional
    if name == "step":
        return decay ** (int(t // batches_per_epoch) // step_epochs)
    if name == "exponential":
        return decay ** epoch
    progress = t / total_batches  # 0 at the first batch, just under 1 at the last
    if name == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if name == "one-cycle":
        low, end = 1 / ONE_CYCLE_START, 1 / ONE_CYCLE_END
        if progress < warmup:
            return low + (1 - low) * progress / warmup
        down = (progress - warmup) / (1 - warmup)
        return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * down))
    raise ValueError(f"unknown schedule {name!r}; choose from {', '.join(SCHEDULES)}")


def curve(name: str, batches_per_epoch: int, total_batches: int, points: int = 200, **params) -> tuple:
    """(batch numbers, factors) at up to ``points`` batches spread over the run: the schedule's chart."""
    ts = np.unique(np.linspace(0, total_batches - 1, min(points, total_batches)).round().astype(int))
    return ts, np.array([factor(name, int(t), batches_per_epoch, total_batches, **params) for t in ts])


def describe(name: str, decay: float = 0.5, step_epochs: int = 3, warmup: float = 0.3) -> str:
    """The schedule in words, for captions and exported code."""
    return {
        "constant": "a constant learning rate",
        "step": f"the learning rate times {decay:g} every {step_epochs} epoch{'s' if step_epochs > 1 else ''}",
        "exponential": f"the learning rate times {decay:g} per epoch, batch by batch",
        "cosine": "the learning rate annealed to 0 along a half cosine",
        "one-cycle": f"one cycle: warm-up from 1/{ONE_CYCLE_START:g} of the rate over the first {warmup:.0%} of "
                     f"the run, then a half cosine down to 1/{ONE_CYCLE_END:g} of it",
    }[name]
