"""One lower bound on the learning rate, checked wherever a rate comes in (#25: a model file at 5e-324
loaded, then fine-tuning it failed on a rate of 0.0)."""

import io
import json

import numpy as np
import pytest

from nn_core import Hyperparams, Model, ModelFileError, load_model
from nn_core.cli import parse_args
from nn_core.handwriting import DigitSet, fine_tuning
from nn_core.persist import FORMAT
from nn_core.settings import BY_NAME, MIN_LEARNING_RATE
from nn_core.training import Change
from ui.links import parse_link_value
from ui.sweep import parse_values

LR = BY_NAME["learning_rate"]
TOO_SMALL = ["5e-324", "1e-300", "9e-7", "0", "-1"]


def model_file(learning_rate: float) -> bytes:
    model = Model.initialize(32, np.random.default_rng(3), "tanh")
    hparams = Hyperparams(hidden_units=32, activation="tanh").as_dict() | {"learning_rate": learning_rate}
    buffer = io.BytesIO()
    np.savez(buffer, format=np.array(FORMAT), hyperparams=np.array(json.dumps(hparams)), metrics=np.array("{}"),
             **model.arrays())
    return buffer.getvalue()


@pytest.mark.parametrize("text", TOO_SMALL)
def test_a_rate_below_the_bound_is_refused_on_every_way_in(text, capsys):
    with pytest.raises(ValueError, match="learning rate must be"):
        LR.parse(text)
    with pytest.raises(ValueError, match="learning rate"):
        Hyperparams(learning_rate=float(text)).validate()
    with pytest.raises(SystemExit) as exit_:  # python -m nn_core.train --lr ...
        parse_args(["--lr", text])
    assert exit_.value.code == 2 and "learning rate must be" in capsys.readouterr().err
    with pytest.raises(ValueError, match="Learning rate"):  # the Sweep page's values box
        parse_values("learning_rate", f"0.1, {text}")
    with pytest.raises(ValueError):  # a link
        parse_link_value(LR, text)
    with pytest.raises(ValueError, match="learning rate"):  # a change while a run trains
        Change(10, "learning_rate", float(text)).check()
    with pytest.raises(ModelFileError, match="learning rate"):  # a model file
        load_model(model_file(float(text)))


def test_the_bound_itself_is_taken_and_fine_tuning_a_model_there_works():
    assert LR.parse("1e-6") == MIN_LEARNING_RATE and LR.requirement() == "a number in [1e-06, 1000]"
    _, hparams, _ = load_model(model_file(MIN_LEARNING_RATE))
    assert hparams.learning_rate == MIN_LEARNING_RATE
    digits = DigitSet.empty()
    for label in range(3):
        digits = digits.add(np.full(784, 0.5), label)
    assert fine_tuning(hparams, digits).hparams.learning_rate == MIN_LEARNING_RATE  # not half of it
    assert fine_tuning(Hyperparams(), digits).hparams.learning_rate == 2.0  # the post's run: half, as before
    assert min(LR.slider) >= MIN_LEARNING_RATE
