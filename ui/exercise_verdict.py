"""The verdict on a run against an exercise's goal and limits (the exercise: ui/exercise_link.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from nn_core import SETTINGS, Hyperparams, RunResult, RunStatus
from nn_core.settings import BY_NAME

from .exercise_link import NEVER_LEARNS_BELOW, Exercise


@dataclass(frozen=True)
class Verdict:
    reached: bool
    text: str  # numbers and the spec's labels only: safe as Markdown


def lineage(runs: list[RunResult], bases: Mapping[int, int], index: int) -> list[RunResult] | None:
    """Run ``index`` and the runs it was trained on top of (a fine-tuning's base, its base's...),
    newest first; None when one of them is an uploaded model, whose training the lab cannot know."""
    chain, seen = [], set()
    while index is not None and index not in seen:
        seen.add(index)
        run = runs[index]
        if run.status == RunStatus.UPLOADED:
            return None
        chain.append(run)
        index = bases.get(index)
    return chain


def epochs_trained(run: RunResult) -> int:
    """The epochs a run trained, one it stopped part-way through included."""
    begun = math.ceil(len(run.batch_costs) / run.batches_per_epoch) if run.batches_per_epoch else 0
    return max(len(run.epochs), begun)


def history_breaks(exercise: Exercise, chain: list[RunResult]) -> list[str]:
    """Why a run with this history (``lineage``) breaks the exercise: any run in it off a lock or above
    a limit, a locked setting changed while one trained, or more epochs in all than the limit."""
    broken = []
    for run in chain:
        broken += exercise.breaks(run.hparams) + [f"{BY_NAME[c.name].label.lower()} was changed while it trained"
                                                  for c in run.changes if c.name in exercise.locks]
    highest = exercise.maxima.get("epochs")
    total = sum(epochs_trained(run) for run in chain)
    if len(chain) > 1 and highest is not None and total > highest:
        broken.append(f"it trained {total} epochs in all, counting the run{'s' * (len(chain) > 2)} it was "
                      f"fine-tuned from, and the exercise allows at most {highest}")
    return list(dict.fromkeys(broken))


def verdict(exercise: Exercise, runs: list[RunResult], accuracies: dict[int, float], index: int,
            bases: Mapping[int, int] | None = None) -> Verdict | None:
    """The verdict on run ``index`` of a session's history (``accuracies``: the scored runs' test
    accuracy, 0-1; ``bases``: a fine-tuned run's index to its base run's), or None when the exercise
    sets no goal. Only a run the exercise's limits allow counts, its whole history counted: a
    fine-tuning adds its epochs to its base's, and an uploaded model (trained who knows how) never counts."""
    run = runs[index]
    chain = lineage(runs, bases or {}, index)
    if chain is None:
        return Verdict(False, "This run does not count: it is, or was trained from, an uploaded model, whose "
                              "training the lab cannot check against the exercise's limits. Train one here.")
    broken = history_breaks(exercise, chain)
    if broken:
        return Verdict(False, f"This run does not count: {'; '.join(broken)}.")
    if exercise.goal == "rescue":
        return _rescue(runs, index)
    if exercise.goal == "never_learns":
        return _never_learns(runs, accuracies, index)
    if exercise.target is None:
        return None
    if run.status == RunStatus.DIVERGED:
        return Verdict(False, f"Not reached: the run diverged, so it has no test accuracy (the target is "
                              f"{exercise.target:g}%).")
    if index not in accuracies:
        return Verdict(False, f"Not reached: the run has no test accuracy (the target is {exercise.target:g}%).")
    accuracy = accuracies[index] * 100
    if accuracy >= exercise.target:
        return Verdict(True, f"Goal reached: {accuracy:.2f}% test accuracy, the target was {exercise.target:g}%.")
    return Verdict(False, f"Not reached yet: {accuracy:.2f}% test accuracy is {exercise.target - accuracy:.2f} "
                          f"percentage points below the target of {exercise.target:g}%.")


def differing(before: Hyperparams, after: Hyperparams) -> list[str]:
    """The settings (by name) in which two runs' settings differ."""
    return [s.name for s in SETTINGS if getattr(before, s.name) != getattr(after, s.name)]


def _rescue(runs: list[RunResult], index: int) -> Verdict:
    run = runs[index]
    if run.status == RunStatus.DIVERGED:
        return Verdict(False, "Diverged. Now rescue it: change the learning rate alone and train again.")
    diverged = [i for i in range(index) if runs[i].status == RunStatus.DIVERGED]
    if not diverged:
        return Verdict(False, "Not yet: first make a run diverge (its cost blows up), then rescue it.")
    if run.status != RunStatus.DONE:
        return Verdict(False, "Not yet: a rescue must run to its end.")
    others = [c for c in run.changes if c.name != "learning_rate"]
    for i in reversed(diverged):
        if differing(runs[i].hparams, run.hparams) == ["learning_rate"] and not others:
            s = BY_NAME["learning_rate"]
            return Verdict(True, f"Goal reached: run #{i + 1} diverged at learning rate "
                                 f"{s.format(runs[i].hparams.learning_rate)}; this run, the same but for a learning "
                                 f"rate of {s.format(run.hparams.learning_rate)}, finished.")
    last = diverged[-1]
    changed = [BY_NAME[name].label.lower() for name in differing(runs[last].hparams, run.hparams)
               if name != "learning_rate"] + [BY_NAME[c.name].label.lower() for c in others]
    if not changed:
        return Verdict(False, f"Not yet: this run has the diverged run #{last + 1}'s learning rate too; change it.")
    return Verdict(False, f"Not yet: besides the learning rate this run changed {', '.join(dict.fromkeys(changed))} "
                          f"from the diverged run #{last + 1}. Change the learning rate alone.")


def _never_learns(runs: list[RunResult], accuracies: dict[int, float], index: int) -> Verdict:
    run = runs[index]
    init = run.hparams.init
    if run.status == RunStatus.DIVERGED:
        return Verdict(False, "This run diverged: that is a learning rate too high, not an initialisation that "
                              "never learns. Keep the learning rate and try the initialisations.")
    if run.status != RunStatus.DONE or index not in accuracies:
        return Verdict(False, "Not yet: let the run finish to see what it learns.")
    accuracy = accuracies[index]
    learning = [accuracies[i] for i in range(len(runs)) if i in accuracies and runs[i].hparams.init != init
                and differing(runs[i].hparams, run.hparams) == ["init"]]
    if init == "zeros" and accuracy < NEVER_LEARNS_BELOW:
        against = (f", {max(learning) - accuracy:.1%} below the best other initialisation with the same settings "
                   f"({max(learning):.2%})" if learning else "")
        return Verdict(True, f"Goal reached: from zeros the run ends at {accuracy:.2%}{against}. Every hidden unit "
                             "starts identical, gets the same update and stays identical: the layer learns like "
                             "a single unit.")
    if accuracy < NEVER_LEARNS_BELOW:
        return Verdict(False, f"Not this one: {init} ended at {accuracy:.2%}, but with better settings it learns. "
                              "Look for the initialisation no setting can rescue.")
    return Verdict(False, f"Not this one: {init} learns ({accuracy:.2%}). Try another initialisation.")
