"""What the training loop calls on each component of a run, and when.

The loop calls every hook in the order the components were built (``Trainer.__post_init__``):

- ``on_batch_start(run)`` before a batch's gradient is computed;
- ``on_gradient(run, grad, grad_scale, cost)`` once the batch's cost and gradient (times ``grad_scale``)
  are known, before the optimizer's step; returns the cost (a penalty may add to it). A component
  may end the run there (divergence): the loop then stops before the next component and the step;
- ``on_epoch_end(run, stats)`` after an epoch, once ``run.epoch`` counts it (``stats`` None when its
  evaluation is deferred); ``on_train_end(run)`` once every epoch (or early stopping) has ended it;
- ``state_dict()``: its part of ``RunState``, copied, by field (a key with no field of its own lands in
  ``RunState.extra``); ``load_state_dict(state)`` takes it back.
"""

from __future__ import annotations

import numpy as np

from ..model import layout


class Component:
    def on_batch_start(self, run) -> None:
        pass

    def on_gradient(self, run, grad: np.ndarray, grad_scale: float, cost: float) -> float:
        return cost

    def on_epoch_end(self, run, stats) -> None:
        pass

    def on_train_end(self, run) -> None:
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state) -> None:
        pass


def weight_slices(hidden_units: int, layers: int) -> list[slice]:
    """Where each weight matrix (biases excluded) sits in the flat parameter vector."""
    offsets = np.cumsum([0] + [int(np.prod(shape)) for _, shape in layout(hidden_units, layers)])
    return [slice(offsets[k], offsets[k + 1]) for k in range(0, 2 * (layers + 1), 2)]
