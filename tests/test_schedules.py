"""Learning-rate schedules: each factor is its formula, the default stays the post's constant rate, a
schedule reaches the optimizer batch by batch, and a rate changed mid-run is multiplied by it and replays."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from nn_core import Hyperparams, Mnist, Trainer
from nn_core.schedules import SCHEDULES, curve, factor
from nn_core.training import Change


def subset(data: Mnist, n: int) -> Mnist:
    return Mnist(data.train_images[:n], data.train_labels[:n], data.test_images[:2000], data.test_labels[:2000])


def test_each_schedule_is_its_formula():
    bpe, total = 100, 900  # 9 epochs
    assert factor("constant", 500, bpe, total) == 1.0
    assert [factor("step", t, bpe, total, decay=0.5, step_epochs=3) for t in (0, 299, 300, 599, 600, 899)] == \
        [1, 1, 0.5, 0.5, 0.25, 0.25]
    assert factor("exponential", 150, bpe, total, decay=0.8) == pytest.approx(0.8**1.5)
    assert factor("cosine", 0, bpe, total) == 1.0 and factor("cosine", 450, bpe, total) == pytest.approx(0.5)
    assert 0 < factor("cosine", 899, bpe, total) < 1e-4
    warm = [factor("one-cycle", t, bpe, total, warmup=0.3) for t in (0, 135, 270)]
    assert warm == pytest.approx([1 / 25, (1 / 25 + 1) / 2, 1.0])
    assert factor("one-cycle", 899, bpe, total, warmup=0.3) < 2e-3
    with pytest.raises(ValueError, match="unknown schedule"):
        factor("linear", 0, bpe, total)


def test_the_chart_s_curve_spans_the_run():
    ts, factors = curve("cosine", 469, 9 * 469)
    assert ts[0] == 0 and ts[-1] == 9 * 469 - 1 and len(ts) == 200
    assert np.all(np.diff(factors) <= 0)


@pytest.mark.parametrize("schedule", [s for s in SCHEDULES if s != "constant"])
def test_the_optimizer_steps_with_the_schedule_s_rate(mnist, schedule):
    data = subset(mnist, 1000)
    hp = Hyperparams(epochs=4, batch_size=100, schedule=schedule, step_epochs=1, lr_decay=0.7)
    trainer = Trainer(data, hp)
    seen = []
    while not trainer.finished:
        X, y = trainer.next_batch()
        t = trainer.total_batches_done
        trainer.step(X, y)
        seen.append((t, trainer.learning_rate))
        if trainer.epoch_complete:
            trainer.end_epoch()
    for t, lr in seen:
        assert lr == pytest.approx(4.0 * factor(schedule, t, 10, 40, 0.7, 1, 0.3)), (t, lr)


def run_all(trainer):
    while not trainer.finished:
        trainer.run(max_batches=37)
    return trainer


def test_a_changed_rate_is_multiplied_by_the_schedule_and_replays(mnist):
    data = subset(mnist, 3000)
    hp = Hyperparams(epochs=3, schedule="cosine")
    live = Trainer(data, hp)
    live.run(max_batches=30)
    live.change("learning_rate", 1.0)
    t = live.total_batches_done
    live.run(max_batches=1)
    assert live.learning_rate == pytest.approx(1.0 * factor("cosine", t, live.batches_per_epoch, live.total_batches))
    # stopped and resumed from its state (as a worker would), it goes on to the same bits
    resumed = Trainer.resume(data, pickle.loads(pickle.dumps(live.state())))
    run_all(resumed)
    replay = run_all(Trainer(data, hp, changes=(Change(30, "learning_rate", 1.0),)))
    assert np.array_equal(replay.model.flat, resumed.model.flat)
    plain = run_all(Trainer(data, hp))
    assert not np.array_equal(plain.model.flat, replay.model.flat)


def test_the_default_run_has_no_schedule(mnist):
    assert Hyperparams().schedule == "constant"
    trainer = Trainer(subset(mnist, 1000), Hyperparams(epochs=1))
    run_all(trainer)
    assert trainer.learning_rate == 4.0


def test_train_draws_the_schedule_before_a_run():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from ui.state import setting_key

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception and any("constant rate" in c.value for c in at.caption)
    charts = len(at.get("plotly_chart"))
    at.selectbox(key=setting_key("sched")).set_value("one-cycle").run()
    assert not at.exception
    assert any("warm-up from 1/25 of the rate over the first 30%" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == charts + 1  # the rate of every batch, drawn


def test_inside_shows_the_step_s_rate_as_the_schedule_gives_it():
    from tests.test_inside_page import open_page, press

    at = open_page({"sched": "one-cycle", "epochs": 1})
    press(at, "Step 10")
    expected = 4.0 * factor("one-cycle", 9, 469, 469)  # the tenth step's (batch 9) warm-up rate
    notes = [c.value for c in at.caption if "this step's rate" in c.value]
    assert notes and f"this step's rate α = {expected:.4g} (one-cycle schedule, from 4)" in notes[0], notes
    assert any(f"{expected:g}" in latex.value for latex in at.latex)  # the worked update's α


def test_the_cost_chart_shows_the_scheduled_rate_on_its_batch_axis(mnist):
    """During the run and after it, the cost chart carries the rate of every batch on an axis of its own;
    a run at the post's constant rate has no such trace (its chart is as before)."""
    import json
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from nn_core import LocalBackend
    from ui.schedule import rates
    from ui.state import Lab, setting_key

    small = subset(mnist, 2000)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "streamlit_app.py"), default_timeout=120)
    at.session_state["lab"] = Lab(backend=LocalBackend(small))
    at.session_state[setting_key("sched")] = "one-cycle"
    at.session_state[setting_key("epochs")] = 2
    at.run()
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception

    def cost_chart():
        view = json.loads(next(c for c in at.get("bidi_component") if c.key == "train_live").proto.json)
        return view["charts"]["cost"]["figure"]

    cost = cost_chart()
    rate = [trace for trace in cost["data"] if trace.get("yaxis") == "y2"]
    assert len(rate) == 1 and cost["layout"]["yaxis2"]["overlaying"] == "y"
    ts, expected = rates(Hyperparams(schedule="one-cycle", epochs=2), (), 16)
    from tests.test_evaluate_page import decode

    shown = np.asarray(decode(rate[0]["y"]), np.float64)
    np.testing.assert_allclose(shown, expected)
    assert shown.max() == pytest.approx(4.0, rel=0.01) and shown[0] == pytest.approx(4.0 / 25)
    at.session_state[setting_key("sched")] = "constant"
    at.run()
    next(b for b in at.button if b.label == "Train").click().run()
    assert not any(trace.get("yaxis") == "y2" for trace in cost_chart()["data"])
