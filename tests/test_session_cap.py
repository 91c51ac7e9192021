"""One cap for every run a session keeps (ui.state.MAX_RUNS): Train's history and the runs of its sweep
that are not in it count together, and "Use this model" pressed twice for the same run of a sweep adds
it to the history once. AppTest, on a 2,000-image subset."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, LocalBackend, Mnist, Trainer
from ui.state import MAX_RUNS, Lab

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


@pytest.fixture(scope="module")
def small(mnist):
    return Mnist(mnist.train_images[:2000], mnist.train_labels[:2000], mnist.test_images, mnist.test_labels)


@pytest.fixture(scope="module")
def one_run(small):
    """An ended run, to fill a history with (the cap counts entries, whatever they hold)."""
    trainer = Trainer(small, Hyperparams(hidden_units=16, epochs=1))
    trainer.run()
    return trainer.result()


def sweep_page(small, runs: list) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lab"] = Lab(backend=LocalBackend(small), runs=list(runs))
    at.run()
    at.switch_page("pages/sweep.py").run()
    assert not at.exception and at.title[0].value == "Sweep"
    return at


def test_use_this_model_twice_keeps_the_run_once(small):
    at = sweep_page(small, [])
    at.text_input(key="sweep_values_learning_rate").set_value("0.4, 4").run()
    at.number_input(key="sweep_seeds").set_value(1).run()
    at.button(key="sweep_start").click().run()
    assert not at.exception and at.session_state["lab"].sweep.finished
    for _ in range(3):
        at.selectbox(key="sweep_pick").set_value(1).run()
        at.button(key="sweep_adopt").click().run()
        assert any("Run #1 in Train's history" in s.value for s in at.success), [s.value for s in at.success]
    at.selectbox(key="sweep_pick").set_value(0).run()
    at.button(key="sweep_adopt").click().run()
    lab = at.session_state["lab"]
    assert len(lab.runs) == 2 and lab.runs[0] is lab.sweep.results[1] and lab.runs[1] is lab.sweep.results[0]
    assert lab.active == 1
    at.selectbox(key="sweep_pick").set_value(1).run()  # the first again: active again, not a third entry
    at.button(key="sweep_adopt").click().run()
    assert len(lab.runs) == 2 and lab.active == 0
    assert lab.kept() == 2  # adopted runs are the sweep's own: counted once


def test_history_and_sweep_share_one_cap(small, one_run):
    history = MAX_RUNS - 6
    at = sweep_page(small, [one_run] * history)
    at.text_input(key="sweep_values_learning_rate").set_value("0.4, 4").run()  # x 2 seeds: 4 runs
    assert not at.warning and not at.button(key="sweep_start").disabled
    at.button(key="sweep_start").click().run()
    lab = at.session_state["lab"]
    assert not at.exception and lab.sweep.finished and len(lab.sweep.results) == 4
    assert lab.kept() == history + 4 and not lab.full
    # a new sweep replaces the last one's runs: 6 fit, 8 do not
    at.text_input(key="sweep_values_learning_rate").set_value("0.4, 1, 4").run()
    assert not at.warning and not at.button(key="sweep_start").disabled
    at.text_input(key="sweep_values_learning_rate").set_value("0.4, 1, 2, 4").run()
    assert any("can keep only 6 more" in w.value and f"at most {MAX_RUNS} runs in all" in w.value
               for w in at.warning), [w.value for w in at.warning]
    assert at.button(key="sweep_start").disabled
    # two more runs in the history: with the sweep's four, the session is full, and Train says so
    lab.runs += [one_run] * 2
    at.switch_page("pages/train.py").run()
    assert not at.exception and lab.full
    assert at.button(key="train_start").disabled
    assert any(f"keeps {MAX_RUNS} runs" in w.value for w in at.warning), [w.value for w in at.warning]


def test_a_comparison_counts_toward_the_cap(small, one_run):
    """Compare refuses more variants than the session can still keep, and says how many it can."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lab"] = Lab(backend=LocalBackend(small), runs=[one_run] * (MAX_RUNS - 2))
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    variants = len(at.session_state["compare_table"])
    assert variants > 2
    assert any(f"These {variants} variants are more runs than this session can still keep (2)" in e.value
               for e in at.error), [e.value for e in at.error]
    assert at.button(key="compare_start").disabled
