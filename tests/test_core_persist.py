"""Model files: a round trip, and uploads that must be refused without unpickling anything."""

import io
import json

import numpy as np
import pytest

from nn_core import Hyperparams, Model, ModelFileError, load_model, model_bytes, save_model
from nn_core.persist import FORMAT


@pytest.fixture
def model():
    return Model.initialize(32, np.random.default_rng(3), "tanh")


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def valid_arrays(model, hparams):
    return dict(format=np.array(FORMAT), hyperparams=np.array(json.dumps(hparams.as_dict())),
                metrics=np.array("{}"), **{k: v.copy() for k, v in model.arrays().items()})


def test_round_trip(tmp_path, model):
    hparams = Hyperparams(hidden_units=32, activation="tanh", learning_rate=0.5)
    path = tmp_path / "model.npz"
    save_model(path, model, hparams, {"test_accuracy": 0.9})
    loaded, loaded_hparams, metrics = load_model(path)
    assert np.array_equal(loaded.flat, model.flat) and loaded.activation == "tanh"
    assert loaded_hparams == hparams and metrics == {"test_accuracy": 0.9}
    again, _, _ = load_model(model_bytes(model, hparams))
    assert np.array_equal(again.W1, model.W1)


def test_wrong_keys_are_refused(model):
    arrays = valid_arrays(model, Hyperparams(hidden_units=32))
    del arrays["b2"]
    with pytest.raises(ModelFileError, match="missing b2"):
        load_model(npz_bytes(**arrays))
    with pytest.raises(ModelFileError, match="unexpected extra"):
        load_model(npz_bytes(extra=np.zeros(1), **valid_arrays(model, Hyperparams(hidden_units=32))))


def test_wrong_shapes_and_dtypes_are_refused(model):
    arrays = valid_arrays(model, Hyperparams(hidden_units=64))  # says 64 units, arrays have 32
    with pytest.raises(ModelFileError, match=r"'W1' has shape \(784, 32\), expected \(784, 64\)"):
        load_model(npz_bytes(**arrays))
    arrays = valid_arrays(model, Hyperparams(hidden_units=32))
    arrays["W2"] = arrays["W2"].astype(np.float64)
    with pytest.raises(ModelFileError, match="'W2' has dtype float64"):
        load_model(npz_bytes(**arrays))
    arrays = valid_arrays(model, Hyperparams(hidden_units=32))
    arrays["b1"][0] = np.nan
    with pytest.raises(ModelFileError, match="NaN"):
        load_model(npz_bytes(**arrays))


def test_object_array_is_refused_without_unpickling(model):
    arrays = valid_arrays(model, Hyperparams(hidden_units=32))
    arrays["W1"] = np.array([{"evil": True}], dtype=object)
    with pytest.raises(ModelFileError, match="cannot read model file"):
        load_model(npz_bytes(**arrays))


def test_garbage_and_bad_metadata_are_refused(model):
    with pytest.raises(ModelFileError, match="not a valid .npz"):
        load_model(b"this is not a zip file")
    arrays = valid_arrays(model, Hyperparams(hidden_units=32))
    arrays["hyperparams"] = np.array('{"hidden_units": 32, "learning_rate": -1}')
    with pytest.raises(ModelFileError, match="learning rate"):
        load_model(npz_bytes(**arrays))
    arrays["hyperparams"] = np.array('{"bogus": 1}')
    with pytest.raises(ModelFileError, match="bad hyperparameters"):
        load_model(npz_bytes(**arrays))
