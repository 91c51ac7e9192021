"""Model files: a round trip, and uploads that must be refused without unpickling anything."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nn_core import Hyperparams, Model, ModelFileError, load_model, model_bytes, save_model
from nn_core.persist import FORMAT

ROOT = Path(__file__).resolve().parent.parent


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
    with pytest.raises(ModelFileError, match="'W1' has dtype object, expected float32"):
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


def _npy_header(shape, descr="<f4") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def hostile_file(model, hparams, w1_member: bytes, compression=zipfile.ZIP_BZIP2) -> bytes:
    """A valid model file but for its W1 member."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for key, array in valid_arrays(model, hparams).items():
            if key == "W1":
                archive.writestr("W1.npy", w1_member)
            else:
                member = io.BytesIO()
                np.save(member, array)
                archive.writestr(f"{key}.npy", member.getvalue())
    return buffer.getvalue()


def peak_rss_mb_of(code: str) -> float:
    """Run ``code`` in a fresh interpreter; the growth of its peak RSS (MB) while it ran."""
    script = ("import resource, sys; before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n" + code +
              "\nprint((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    return float(result.stdout.strip().splitlines()[-1])


LOAD = """
from nn_core import ModelFileError, load_model
data = open(sys.argv[1] if len(sys.argv) > 1 else {path!r}, 'rb').read()
try:
    load_model(data)
except ModelFileError as error:
    print(error)
else:
    raise SystemExit('accepted')
"""


def test_a_header_declaring_a_huge_array_is_refused_before_allocating(model, tmp_path):
    # 784 x 1,027,176 float32 is 3.2 GB; the member holds a header and a few bytes of data
    data = hostile_file(model, Hyperparams(hidden_units=32), _npy_header((784, 1027176)) + b"\0" * 64)
    assert len(data) < 10_000
    with pytest.raises(ModelFileError, match=r"'W1' has shape \(784, 1027176\), expected \(784, 32\)"):
        load_model(data)
    path = tmp_path / "bomb.npz"
    path.write_bytes(data)
    assert peak_rss_mb_of(LOAD.format(path=str(path))) < 50


def test_a_member_that_unpacks_beyond_any_model_is_refused_unread(model, tmp_path):
    # 200 MB of zeros, deflated to a fraction of a MB: refused from the zip's declared size
    member = _npy_header((784, 64000)) + bytes(784 * 64000 * 4)
    data = hostile_file(model, Hyperparams(hidden_units=32), member, zipfile.ZIP_DEFLATED)
    assert len(data) < 1_000_000
    with pytest.raises(ModelFileError, match="would unpack to 200,704,128 bytes"):
        load_model(data)
    path = tmp_path / "bomb.npz"
    path.write_bytes(data)
    assert peak_rss_mb_of(LOAD.format(path=str(path))) < 50


@pytest.mark.parametrize("member", [b"not an npy file at all", _npy_header((784, 32), "|O"),
                                    _npy_header((784, 32)) + b"\0" * 100])
def test_a_damaged_or_pickled_member_is_a_clear_error(model, member):
    with pytest.raises(ModelFileError):
        load_model(hostile_file(model, Hyperparams(hidden_units=32), member))


@pytest.mark.parametrize("hyperparams", ["[" * 100_000, '{"seed": 1e999}', '{"seed": %d}' % 10**100,
                                         '{"batch_size": %d}' % 10**30, '{"learning_rate": true}'])
def test_hostile_settings_are_refused(model, hyperparams):
    arrays = valid_arrays(model, Hyperparams(hidden_units=32))
    arrays["hyperparams"] = np.array(hyperparams)
    with pytest.raises(ModelFileError):
        load_model(npz_bytes(**arrays))


def test_odd_metrics_are_dropped_not_trusted(model):
    arrays = valid_arrays(model, Hyperparams(hidden_units=32))
    arrays["metrics"] = np.array(json.dumps({"train_seconds": 10**400, "test_accuracy": 0.9, "note": "hi"})
                                 .replace(str(10**400), "1" + "0" * 400))
    _, _, metrics = load_model(npz_bytes(**arrays))
    assert metrics == {"test_accuracy": 0.9}


def test_saving_refuses_settings_a_load_would_refuse(model, tmp_path):
    with pytest.raises(ValueError, match="seed must be an integer"):
        save_model(tmp_path / "m.npz", model, Hyperparams(hidden_units=32, seed=10**100))
    with pytest.raises(ValueError, match="the model has 32 tanh units"):
        save_model(tmp_path / "m.npz", model, Hyperparams(hidden_units=64))


# --- the data set a model reads (#32) ---------------------------------------------------------

LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")


def letters_data(key="0123456789abcdef"):
    from nn_core.persist import ModelData

    return ModelData(LETTERS, "EMNIST letters", key)


def test_a_model_file_records_its_data_sets_classes_and_refuses_another_in_one_sentence():
    from nn_core import check_model_fits, load_model_file
    from nn_core.persist import MNIST_DATA

    model = Model.initialize(16, np.random.default_rng(1), classes=26)
    saved = load_model_file(model_bytes(model, Hyperparams(hidden_units=16), {"test_accuracy": 0.7}, letters_data()))
    assert saved.model.classes == 26 and np.array_equal(saved.model.flat, model.flat)
    assert saved.data == letters_data() and saved.data.image_side == 28 and saved.metrics == {"test_accuracy": 0.7}
    check_model_fits(saved.data, letters_data())  # the same data set
    check_model_fits(saved.data, letters_data(key="another key"))  # more examples of the same classes
    with pytest.raises(ModelFileError) as refused:
        check_model_fits(saved.data, MNIST_DATA)
    assert str(refused.value) == ("this model reads 26 classes of EMNIST letters; the session's data set is "
                                  "MNIST (10 classes)")
    with pytest.raises(ModelFileError, match="reads 10 classes of MNIST; the session's data set is EMNIST letters"):
        check_model_fits(load_model_file(model_bytes(*mnist_model())).data, letters_data())


def mnist_model():
    return Model.initialize(16, np.random.default_rng(2)), Hyperparams(hidden_units=16)


def test_a_file_without_a_data_set_reads_mnists_digits(model):
    from nn_core import load_model_file
    from nn_core.persist import MNIST_DATA

    saved = load_model_file(npz_bytes(**valid_arrays(model, Hyperparams(hidden_units=32, activation="tanh"))))
    assert saved.data == MNIST_DATA and saved.model.classes == 10
    with pytest.raises(ValueError, match="reads 10 classes, its data set EMNIST letters has 26"):
        model_bytes(model, Hyperparams(hidden_units=32, activation="tanh"), data=letters_data())


@pytest.mark.parametrize("record", ['{"classes": ["a"], "name": "x", "key": "", "image_side": 28}',
                                    '{"classes": ["a", "a"], "name": "x", "key": "", "image_side": 28}',
                                    '{"classes": ["a", "b"], "name": "x", "key": "", "image_side": 32}',
                                    '{"classes": [1, 2], "name": "x", "key": "", "image_side": 28}',
                                    '{"classes": ["a", "b"], "name": "x"}', '[' * 10_000, '"' + "x" * 20_000 + '"'],
                         ids=["one class", "twice a name", "32 pixels", "numbers", "missing keys", "deep", "long"])
def test_a_hostile_data_set_record_is_refused(record):
    model = Model.initialize(8, np.random.default_rng(0), classes=2)
    arrays = valid_arrays(model, Hyperparams(hidden_units=8))
    arrays["dataset"] = np.array(record)
    with pytest.raises(ModelFileError):
        load_model(npz_bytes(**arrays))


def test_a_record_whose_classes_disagree_with_the_output_layer_is_refused():
    model = Model.initialize(8, np.random.default_rng(0), classes=3)
    arrays = valid_arrays(model, Hyperparams(hidden_units=8))
    arrays["dataset"] = np.array(json.dumps({"classes": list("abcd"), "name": "x", "key": "k", "image_side": 28}))
    with pytest.raises(ModelFileError, match=r"'W2' has shape \(8, 3\), expected \(8, 4\)"):
        load_model(npz_bytes(**arrays))
