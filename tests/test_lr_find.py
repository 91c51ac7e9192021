"""The learning-rate range test: a rising rate, stopped where the cost explodes, and a suggested rate
that the run then trains well with, on the post's network and on a deep ReLU network with Adam."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from nn_core import Hyperparams, Mnist, Trainer
from nn_core import lr_find

DEEP_ADAM = Hyperparams(layers=4, activation="relu", optimizer="adam", init="he")


def subset(data: Mnist, n: int) -> Mnist:
    return Mnist(data.train_images[:n], data.train_labels[:n], data.test_images, data.test_labels)


def test_the_rate_is_multiplied_by_the_same_factor_at_every_batch():
    lrs = lr_find.rates(100, 1e-4, 10.0)
    assert lrs[0] == pytest.approx(1e-4) and lrs[-1] == pytest.approx(10.0)
    ratios = lrs[1:] / lrs[:-1]
    np.testing.assert_allclose(ratios, ratios[0])


@pytest.fixture(scope="module")
def post_test(mnist):
    return list(lr_find.steps(mnist, Hyperparams()))


def test_the_test_stops_where_the_cost_explodes(post_test):
    last, lowest = post_test[-1], min(s.smoothed for s in post_test[:-1])
    assert len(post_test) < lr_find.STEPS  # it did not need to go all the way to END_LR
    assert last.smoothed > lr_find.EXPLODED * lowest or not np.isfinite(last.cost)
    assert [s.step for s in post_test] == list(range(1, len(post_test) + 1))
    assert post_test[0].learning_rate == pytest.approx(lr_find.START_LR)


def test_the_post_s_network_trains_well_at_the_suggested_rate(mnist, post_test):
    suggestion = lr_find.suggest(post_test)
    assert suggestion.minimum_lr > suggestion.learning_rate > 0.5
    assert "fastest" in suggestion.rule
    trainer = Trainer(mnist, Hyperparams(learning_rate=suggestion.learning_rate))
    while not trainer.finished:
        trainer.run(max_batches=500)
    assert trainer.status == "done"
    assert abs(trainer.epochs[-1].test_accuracy - 0.9762) <= 0.005, (suggestion, trainer.epochs[-1])


def test_a_deep_relu_network_with_adam_gets_a_far_smaller_rate_that_trains(mnist, post_test):
    post = lr_find.suggest(post_test)
    deep = lr_find.suggest(list(lr_find.steps(mnist, DEEP_ADAM)))
    assert deep.learning_rate * 100 <= post.learning_rate, (deep, post)
    trainer = Trainer(subset(mnist, 12_000), Hyperparams(**{**DEEP_ADAM.as_dict(), "learning_rate": deep.learning_rate,
                                                             "epochs": 2}))
    while not trainer.finished:
        trainer.run(max_batches=500)
    assert trainer.status == "done" and trainer.epochs[-1].test_accuracy > 0.9


def test_no_suggestion_from_a_curve_that_never_fell():
    flat = [lr_find.Step(k, 1e-5 * 1.1**k, 2.3, 2.3) for k in range(1, 30)]
    assert lr_find.suggest(flat) is None


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "nn_core.lr_find", *args], capture_output=True, text=True,
                          timeout=300)


def test_the_command_line_prints_each_step_then_the_suggestion():
    done = run_cli("--json", "--hidden", "32", "--steps", "80")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["step"] for line in lines[:-1]] == list(range(1, len(lines)))
    assert lines[-1]["suggested_lr"] > 0 and lines[-1]["steps"] == len(lines) - 1 and 0 < lines[-1]["epochs"] < 1


@pytest.mark.parametrize("args, words", [(["--steps", "5"], "steps must be an integer in [20, 1000]"),
                                         (["--start-lr", "2"], "start rate must be a number in"),
                                         (["--start-lr", "0.1", "--end-lr", "0.5"], "more than ten times"),
                                         (["--lr-typo", "1"], "unrecognized arguments")])
def test_bad_flags_exit_2_with_one_line(args, words, capsys):
    with pytest.raises(SystemExit) as exited:
        lr_find.main(args)
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    assert words in err and len(err.strip().splitlines()) == 1, err
