"""Save and load trained models as ``.npz``: arrays only, never pickle.

A file holds W1 b1 W2 b2 (float32; and W3 b3 ... for each further hidden layer), the hyperparameters
as one JSON string (files saved before depth existed lack ``layers``, ``init`` and ``optimizer``, which
then take their defaults: one hidden layer, the post's), and the final
metrics as another, and (since #32) the data set it reads as a third: its class names, name, key and image
size (a file without it reads MNIST's ten digits, as every file saved before did). Loading reads the zip
itself: every member's declared size, then each ``.npy``
header's dtype and shape, are checked before its data is decompressed or any array allocated, and
object arrays are refused, never unpickled. An upload from a stranger is either a valid model or a
clear ``ModelFileError``, within a bounded amount of memory.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from dataclasses import dataclass

from .data import DIGITS, IMAGE_SIDE
from .dataset_bounds import MAX_NAME
from .model import INPUTS, MAX_CLASSES, MAX_LAYERS, MIN_CLASSES, Model, layout
from .settings import BY_NAME, Hyperparams

FORMAT = "nn_core.mlp.v1"
TEXT_KEYS = {"format", "hyperparams", "metrics"}
# The members of a file of each depth: its text members and W1 b1 ... W(L+1) b(L+1).
KEYS_BY_DEPTH = {layers: TEXT_KEYS | {name for name, _ in layout(1, layers)} for layers in range(1, MAX_LAYERS + 1)}
KEYS = KEYS_BY_DEPTH[1]
MAX_HIDDEN = BY_NAME["hidden_units"].high  # refuse absurd sizes before allocating anything
# No member of a valid file decompresses to more than W1 at MAX_HIDDEN units plus its .npy header.
MAX_MEMBER_BYTES = INPUTS * MAX_HIDDEN * 4 + 4096
MAX_TEXT_CHARACTERS = 4096  # format, hyperparams and metrics are a few hundred characters
MAX_MEMBERS = 4 * len(KEYS_BY_DEPTH[MAX_LAYERS])  # a few unexpected members are named in the message; many are not read
DATA_KEY = "dataset"  # the member naming the data set the model reads (absent: MNIST's digits)
MAX_DATA_CHARACTERS = 16_384  # 62 class names of at most 40 characters, escaped as JSON, and a name


@dataclass(frozen=True)
class ModelData:
    """The data set a model reads, as its file records it: the class names (the output units', in
    order), the data set's name and key ("" the shipped MNIST) and the images' side in pixels."""

    classes: tuple[str, ...] = DIGITS
    name: str = "MNIST"
    key: str = ""
    image_side: int = IMAGE_SIDE

    @classmethod
    def of(cls, data) -> "ModelData":
        """The record of a data set (``nn_core.data.DataSet``), or ``data`` itself if it is one."""
        if isinstance(data, ModelData):
            return data
        return cls(tuple(data.classes), data.name, data.key)

    def describe(self) -> str:
        """E.g. "26 classes of EMNIST letters"."""
        return f"{len(self.classes)} classes of {self.name}"

    def as_dict(self) -> dict:
        return {"classes": list(self.classes), "name": self.name, "key": self.key, "image_side": self.image_side}

    @classmethod
    def from_dict(cls, values) -> "ModelData":
        """A file's record, checked: ValueError saying what is wrong."""
        if not isinstance(values, dict) or set(values) != {"classes", "name", "key", "image_side"}:
            raise ValueError("the data set must be an object with classes, name, key and image_side")
        classes, name, key, side = values["classes"], values["name"], values["key"], values["image_side"]
        if not isinstance(classes, list) or not all(isinstance(c, str) and len(c) <= MAX_NAME for c in classes):
            raise ValueError(f"the classes must be a list of names of at most {MAX_NAME} characters")
        if not MIN_CLASSES <= len(classes) <= MAX_CLASSES or len(set(classes)) != len(classes):
            raise ValueError(f"a model reads {MIN_CLASSES} to {MAX_CLASSES} classes of distinct names, "
                             f"not {len(classes)}")
        if not (isinstance(name, str) and len(name) <= MAX_NAME and isinstance(key, str) and len(key) <= 64):
            raise ValueError("the data set's name and key must be short texts")
        if side != IMAGE_SIDE:
            raise ValueError(f"the model reads images of {side!r} pixels a side; this lab's are {IMAGE_SIDE}")
        return cls(tuple(classes), name, key, side)


MNIST_DATA = ModelData()


def fits(saved: ModelData, data) -> bool:
    """A model of the data set ``saved`` can read ``data``: the same data set (its key), or one of the
    same name and classes (a data set of drawings with more examples of the same classes)."""
    data = ModelData.of(data)
    return saved.image_side == data.image_side and (
        (saved.key == data.key and saved.classes == data.classes)
        or (saved.name == data.name and saved.classes == data.classes and bool(saved.key) and bool(data.key)))


def check_model_fits(saved: ModelData, data) -> None:
    """Refuse (ModelFileError, one sentence naming both) loading a model of one data set with another,
    e.g. "this model reads 26 classes of EMNIST letters; the session's data set is MNIST (10 classes)"."""
    data = ModelData.of(data)
    if fits(saved, data):
        return
    model, session = saved.describe(), f"{data.name} ({len(data.classes)} classes)"
    if saved.name == data.name:  # the same name, other classes: say which
        model += f" ({', '.join(saved.classes)})"[:200]
        session = f"{data.name} ({len(data.classes)} classes: {', '.join(data.classes)})"[:200]
    raise ModelFileError(f"this model reads {model}; the session's data set is {session}")


class ModelFileError(ValueError):
    """The file is not a model saved by this project (or is damaged)."""


def save_model(target: str | Path | BinaryIO, model: Model, hparams: Hyperparams, metrics: dict | None = None,
               data=None) -> None:
    """Write the model to a path or a binary file object, with the data set it reads (``data``: a
    DataSet or a ModelData; None: MNIST); refuses settings it could not load again."""
    hparams.validate()
    if model.shape_key != (hparams.hidden_units, hparams.activation, hparams.layers):
        raise ValueError(f"the model has {model.describe()}, its settings say {hparams.hidden_units} "
                         f"{hparams.activation} units in {hparams.layers} layer(s)")
    record = MNIST_DATA if data is None else ModelData.of(data)
    if len(record.classes) != model.classes:
        raise ValueError(f"the model reads {model.classes} classes, its data set {record.name} has "
                         f"{len(record.classes)}")
    ModelData.from_dict(record.as_dict())  # what a load would refuse, refused now
    np.savez_compressed(
        target,
        format=np.array(FORMAT),
        hyperparams=np.array(json.dumps(hparams.as_dict())),
        metrics=np.array(json.dumps(metrics or {})),
        dataset=np.array(json.dumps(record.as_dict(), ensure_ascii=False)),
        **{k: np.asarray(v, dtype=np.float32) for k, v in model.arrays().items()},
    )


def model_bytes(model: Model, hparams: Hyperparams, metrics: dict | None = None, data=None) -> bytes:
    buffer = io.BytesIO()
    save_model(buffer, model, hparams, metrics, data)
    return buffer.getvalue()


def _members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by key, after checking their names and declared sizes."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ModelFileError(f"not a model file of this app: {len(infos)} members")
    members = {info.filename.removesuffix(".npy"): info for info in infos}
    depth = sum(1 for key in members if key.startswith("W")) - 1
    keys = KEYS_BY_DEPTH.get(depth, KEYS)
    if set(members) - {DATA_KEY} != keys:  # the data set's member is optional (older files lack it)
        found = set(members) - {DATA_KEY}
        missing, extra = sorted(keys - found), sorted(key[:40] for key in found - keys)
        raise ModelFileError("not a model file of this app:" + (f" missing {', '.join(missing)}" if missing else "")
                             + (f" unexpected {', '.join(extra)}" if extra else ""))
    for key, info in members.items():
        if info.file_size > MAX_MEMBER_BYTES:
            raise ModelFileError(f"'{key}' would unpack to {info.file_size:,} bytes, more than a model holds")
    return members


def read_npy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, check, error: type[ValueError]) -> np.ndarray:
    """One ``.npy`` member. ``check(dtype, shape)`` returns what is wrong with its header, or None;
    the data is read only after the header passed (raising ``error`` with the key and the problem)."""
    key = info.filename.removesuffix(".npy")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(member)
        problem = check(dtype, shape)
        if problem:
            raise error(f"'{key}' {problem}")
        size = dtype.itemsize * int(np.prod(shape))
        data = member.read(size)
    if len(data) != size:
        raise error(f"'{key}' is truncated")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran_order else "C")


def _array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, kind: str, shape: tuple | None,
           characters: int = MAX_TEXT_CHARACTERS) -> np.ndarray:
    """A model file's member: float32 (kind "f4") of ``shape``, or (kind "U") a text scalar of at
    most ``characters``."""
    def check(dtype, found_shape):
        if kind == "U":
            if dtype.kind != "U" or found_shape != () or dtype.itemsize > 4 * characters:
                return f"must be a short text, got {dtype} of shape {found_shape}"
        elif dtype != np.dtype(np.float32):
            return f"has dtype {dtype}, expected float32"
        elif found_shape != shape:
            return f"has shape {found_shape}, expected {shape}"
        return None

    return read_npy(archive, info, check, ModelFileError)


def _settings_and_metrics(archive, members) -> tuple[Hyperparams, dict]:
    def text(key):
        return str(_array(archive, members[key], "U", None))

    if text("format") != FORMAT:
        raise ModelFileError(f"unknown format {text('format')[:40]!r}, expected {FORMAT!r}")
    try:
        hparams = Hyperparams(**json.loads(text("hyperparams"))).validate()
        return hparams, _numbers(json.loads(text("metrics")))
    except (TypeError, ValueError, RecursionError) as error:
        raise ModelFileError(f"bad hyperparameters or metrics: {error}") from None


def _numbers(metrics) -> dict[str, float]:
    """The metrics' finite numbers (a file's other metrics are dropped, not trusted)."""
    if not isinstance(metrics, dict):
        raise ValueError("metrics must be a JSON object")
    return {str(key)[:40]: float(value) for key, value in metrics.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e300}


def _model_data(archive, members) -> ModelData:
    if DATA_KEY not in members:
        return MNIST_DATA
    try:
        return ModelData.from_dict(json.loads(str(_array(archive, members[DATA_KEY], "U", None, MAX_DATA_CHARACTERS))))
    except (TypeError, ValueError, RecursionError) as error:
        raise ModelFileError(f"bad data set record: {str(error)[:200]}") from None


@dataclass(frozen=True, eq=False)
class SavedModel:
    """A model file's contents: the model, its settings, its final figures and the data set it reads."""

    model: Model
    hparams: Hyperparams
    metrics: dict
    data: ModelData


def load_model(source: str | Path | BinaryIO | bytes) -> tuple[Model, Hyperparams, dict]:
    """Read (model, hyperparameters, metrics); raise ModelFileError on anything unexpected. (The data set
    the model reads: ``load_model_file``.)"""
    saved = load_model_file(source)
    return saved.model, saved.hparams, saved.metrics


def load_model_file(source: str | Path | BinaryIO | bytes) -> SavedModel:
    """Read a model file whole, with the data set its model reads (a file saved before data sets were
    recorded: MNIST's digits); raise ModelFileError on anything unexpected."""
    if isinstance(source, (str, Path)):
        source = Path(source).read_bytes()
    elif not isinstance(source, (bytes, bytearray)):
        source = source.read()
    if not source.startswith(b"PK"):
        raise ModelFileError("not a valid .npz model file (an .npz file is a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(source)) as archive:
            members = _members(archive)
            hparams, metrics = _settings_and_metrics(archive, members)
            record = _model_data(archive, members)
            expected = dict(layout(hparams.hidden_units, hparams.layers, len(record.classes)))
            if set(expected) | TEXT_KEYS != set(members) - {DATA_KEY}:
                raise ModelFileError(f"the settings say {hparams.layers} hidden layer(s), the file holds "
                                     f"{sum(1 for key in members if key.startswith('W')) - 1}")
            arrays = {key: _array(archive, members[key], "f4", shape) for key, shape in expected.items()}
    except ModelFileError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, NotImplementedError, RuntimeError,
            MemoryError, OverflowError, SyntaxError) as error:  # a damaged header, archive or member
        raise ModelFileError(f"not a valid .npz model file ({type(error).__name__}: {str(error)[:200]})") from None
    for key, array in arrays.items():
        if not np.all(np.isfinite(array)):
            raise ModelFileError(f"'{key}' contains NaN or infinite values")
    model = Model.from_arrays(**arrays, activation=hparams.activation)
    return SavedModel(model, hparams, metrics, record)
