"""Issue 29, item 8: flags, links and values boxes take plain ASCII decimal numbers only.

Python's int() and float() also read "4_0" as 40, full-width "６４" and Arabic-Indic "٦٤" as 64, and
surrounding whitespace; the lab checks the text first, in one place (``nn_core.settings``)."""

import pytest

from nn_core import cli, sweep
from nn_core.settings import BY_NAME, SETTINGS
from ui import exercise as ex
from ui.links import parse_link_value
from ui.sweep import parse_values

ODD = ["4_0", "６４", "٦٤", "1_000", " 64", "64 ", "\t8", "inf", "nan", "0x10", "1e", "4.0.0", "", "−4"]


@pytest.mark.parametrize("text", ODD)
def test_every_setting_refuses_odd_number_text(text):
    for name in ("hidden_units", "learning_rate", "epochs", "momentum"):
        with pytest.raises(ValueError):
            BY_NAME[name].parse(text)


def test_plain_decimals_and_what_the_lab_writes_still_parse():
    assert BY_NAME["learning_rate"].parse("4") == 4.0
    assert BY_NAME["learning_rate"].parse("0.5") == 0.5
    assert BY_NAME["learning_rate"].parse(".5") == 0.5
    assert BY_NAME["learning_rate"].parse("1e-05") == 1e-5
    assert BY_NAME["hidden_units"].parse("64") == 64
    for setting in SETTINGS:  # every value a slider offers round-trips through its link text
        if setting.slider is not None and not setting.step_slider:
            for value in setting.slider:
                assert setting.parse(setting.format(value)) == value


@pytest.mark.parametrize("argv", [["--lr", "4_0"], ["--hidden", "６４"], ["--epochs", "٣"], ["--threads", "1_0"]])
def test_the_train_command_refuses_them_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.parse_args(argv)
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0]


@pytest.mark.parametrize("argv", [["--lr", "4", "4_0"], ["--seeds", "２"], ["--workers", "1_0"], ["--timeout", "３0"]])
def test_the_sweep_command_refuses_them(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        sweep.parse_args(argv)
    assert stop.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_sweep_values_box_refuses_them():
    assert parse_values("learning_rate", "4, 0.5") == [4.0, 0.5]
    for text in ("4, 4_0", "６４", "64, ٦٤"):
        with pytest.raises(ValueError):
            parse_values("hidden_units" if "4_0" not in text else "learning_rate", text)


def test_a_link_refuses_them():
    with pytest.raises(ValueError):
        parse_link_value(BY_NAME["hidden_units"], "６４")
    with pytest.raises(ValueError):
        parse_link_value(BY_NAME["learning_rate"], "4_0")
    exercise, notices = ex.parse({"ex_target": "９７", "ex_max_epochs": "３", "ex_lock": "hidden:６４"})
    assert exercise.target is None and exercise.maxima == {} and exercise.locks == {}
    assert len(notices) == 3
    exercise, notices = ex.parse({"ex_target": "97.5", "ex_max_epochs": "3"})
    assert exercise.target == 97.5 and exercise.maxima == {"epochs": 3} and notices == []
