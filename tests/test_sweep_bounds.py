"""Sweeps refuse grids and values boxes beyond their bounds from the counts, before building anything
(#25: a grid of 26 million runs was built before being refused)."""

import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from nn_core import Hyperparams
from nn_core import sweep as cli_sweep
from nn_core.settings import MAX_SEED
from nn_core.sweep import MAX_RUNS, grid, grid_size, parse_args

ROOT = Path(__file__).resolve().parent.parent


def values(flag: str, count: int) -> list[str]:
    return [flag, *map(str, range(1, count + 1))]


@pytest.mark.parametrize("argv, said", [
    (values("--hidden", 512) + values("--batch-size", 1024) + values("--epochs", 50),
     "--hidden has 512 values, more than the 200"),  # the issue's: refused before any value is parsed
    (values("--hidden", 200) + values("--batch-size", 200) + values("--epochs", 50),
     "the grid has 2,000,000 runs, more than the 200"),  # each list allowed, their product counted, not built
    (values("--hid", 300), "--hidden has 300 values"),  # an abbreviated flag is the same flag
])
def test_a_huge_grid_is_refused_from_its_counts_in_little_memory(argv, said, capsys):
    tracemalloc.start()
    try:
        with pytest.raises(SystemExit) as exit_:
            parse_args(argv)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert exit_.value.code == 2
    assert said in capsys.readouterr().err
    assert peak < 2_000_000, f"{peak:,} bytes allocated to refuse it"  # 2 million Hyperparams: ~1 GB


def test_the_command_refuses_it_with_status_2_and_one_line():
    argv = values("--hidden", 512) + values("--batch-size", 1024) + values("--epochs", 50)
    result = subprocess.run([sys.executable, "-m", "nn_core.sweep", *argv], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and not result.stdout
    assert result.stderr.splitlines() == ["python -m nn_core.sweep: error: --hidden has 512 values, more than "
                                          "the 200 runs a sweep takes"]


@pytest.mark.parametrize("chosen, seeds", [
    ({"hidden_units": [16, 32, 16], "learning_rate": [0.1, 1.0]}, 3),
    ({"seed": [1, 2, 3], "epochs": [1]}, 2),  # seeds 1-4: overlapping points are one run
    ({"seed": [MAX_SEED - 1, MAX_SEED]}, 5),  # clamped at the largest seed
    ({}, 1),
])
def test_the_count_is_the_grid_built(chosen, seeds):
    assert grid_size(Hyperparams(), chosen, seeds) == len(grid(Hyperparams(), chosen, seeds))


def test_the_largest_grid_passes():
    args = parse_args(values("--hidden", 40) + ["--lr", "0.1", "1", "4", "8", "16", "--seeds", "1"])
    assert len(args.grid) == MAX_RUNS


def test_ctrl_c_while_the_arguments_are_read_is_quiet(monkeypatch, capsys):
    def interrupted(argv=None):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli_sweep, "parse_args", interrupted)
    assert cli_sweep.main([]) == 130
    assert capsys.readouterr().err == "interrupted: nothing saved\n"


# --- the Sweep page ---------------------------------------------------------------------------------

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def sweep_first(mnist):
    """A session whose first page is Sweep, opened from a link with ``query``."""
    from streamlit.testing.v1 import AppTest

    from nn_core import LocalBackend, Mnist
    from ui.state import Lab

    def open_(query: dict) -> AppTest:
        small = Mnist(mnist.train_images[:2000], mnist.train_labels[:2000], mnist.test_images, mnist.test_labels)
        at = AppTest.from_file(APP, default_timeout=120)
        at.session_state["lab"] = Lab(backend=LocalBackend(small))
        for key, value in query.items():
            at.query_params[key] = value
        at.switch_page("pages/sweep.py").run()
        assert not at.exception and at.title[0].value == "Sweep"
        return at
    return open_


def test_a_link_opened_on_sweep_sets_its_settings_there_and_on_train(sweep_first):
    at = sweep_first({"lr": "0.1", "hidden": "32", "act": "https://evil.example"})
    (warning,) = at.warning
    assert "act\\=https" in warning.value  # the bad one said, as text
    assert at.session_state["train_lr"] == 0.1 and at.session_state["train_hidden"] == 32  # the sweep's base
    for key in list(at.query_params):  # a page switch leaves the link behind
        del at.query_params[key]
    at.switch_page("pages/train.py").run()
    assert not at.exception and not at.warning  # said once, where it was opened
    shown = {w.key: w.value for w in (*at.select_slider, *at.selectbox)}
    assert shown["train_lr"] == 0.1 and shown["train_hidden"] == 32 and shown["train_act"] == "sigmoid"


@pytest.mark.parametrize("text, said", [
    (", ".join(["4"] * 61 + ["0.4", "1000"]), "63 values, more than the"),  # 0.4 and 1000 were dropped silently
    (", ".join(["4"] * 61 + ["banana"]), "62 values, more than the"),  # banana was never read
    ("4, banana", "expected a number in [1e-06, 1000], got 'banana'"),
    ("0.1, 5e-324", "learning rate must be a number in [1e-06, 1000]"),
    ("1" * 100_000, "100,000 characters long"),
])
def test_the_values_box_refuses_with_the_reason(sweep_first, text, said):
    from ui.sweep import parse_values

    with pytest.raises(ValueError, match="Learning rate") as refused:
        parse_values("learning_rate", text)
    assert said in str(refused.value)
    if "banana" in text and len(text) < 20:  # and on the page: said, and nothing can start
        at = sweep_first({})
        at.text_input(key="sweep_values_learning_rate").set_value(text).run()
        assert any("banana" in e.value for e in at.error) and at.button(key="sweep_start").disabled


def test_the_time_estimate_follows_what_each_setting_costs():
    """The Sweep page's estimate (calibrated by benchmarks/sweep_estimate.py) grows with what a run
    computes: it ignored the training set's size, augmentation and dropout, and was ~3x low."""
    from ui.sweep import estimated_seconds, run_seconds

    base = Hyperparams(epochs=3)
    cost = {name: run_seconds(Hyperparams(**(base.as_dict() | changed))) for name, changed in {
        "base": {}, "small set": {"train_size": 1000}, "augment": {"augment": "on"}, "dropout": {"dropout": 0.5},
        "3 layers": {"layers": 3}, "wide": {"hidden_units": 256}, "tiny batches": {"batch_size": 16}}.items()}
    assert cost["small set"] < cost["base"] / 5  # the test set is still read after every epoch
    assert cost["augment"] > 2 * cost["base"] and cost["dropout"] > cost["base"]
    assert cost["base"] < cost["3 layers"] < cost["wide"] and cost["tiny batches"] > 2 * cost["base"]
    runs = [base] * 6 + [Hyperparams(**(base.as_dict() | {"hidden_units": 512}))]
    assert estimated_seconds(runs, 2) == pytest.approx(sum(map(run_seconds, runs)) / 2)
    assert estimated_seconds(runs[-1:], 2) == run_seconds(runs[-1])  # one run is not shared out
