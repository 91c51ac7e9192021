"""Save and load trained models as ``.npz``: arrays only, never pickle.

A file holds W1 b1 W2 b2 (float32; and W3 b3 ... for each further hidden layer), the hyperparameters
as one JSON string (files saved before depth existed lack ``layers``, ``init`` and ``optimizer``, which
then take their defaults: one hidden layer, the post's), and the final
metrics as another. Loading reads the zip itself: every member's declared size, then each ``.npy``
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

from .model import INPUTS, MAX_LAYERS, Model, layout
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


class ModelFileError(ValueError):
    """The file is not a model saved by this project (or is damaged)."""


def save_model(target: str | Path | BinaryIO, model: Model, hparams: Hyperparams, metrics: dict | None = None) -> None:
    """Write the model to a path or a binary file object; refuses settings it could not load again."""
    hparams.validate()
    if model.shape_key != (hparams.hidden_units, hparams.activation, hparams.layers):
        raise ValueError(f"the model has {model.describe()}, its settings say {hparams.hidden_units} "
                         f"{hparams.activation} units in {hparams.layers} layer(s)")
    np.savez_compressed(
        target,
        format=np.array(FORMAT),
        hyperparams=np.array(json.dumps(hparams.as_dict())),
        metrics=np.array(json.dumps(metrics or {})),
        **{k: np.asarray(v, dtype=np.float32) for k, v in model.arrays().items()},
    )


def model_bytes(model: Model, hparams: Hyperparams, metrics: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    save_model(buffer, model, hparams, metrics)
    return buffer.getvalue()


def _members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by key, after checking their names and declared sizes."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ModelFileError(f"not a model file of this app: {len(infos)} members")
    members = {info.filename.removesuffix(".npy"): info for info in infos}
    depth = sum(1 for key in members if key.startswith("W")) - 1
    keys = KEYS_BY_DEPTH.get(depth, KEYS)
    if set(members) != keys:
        missing, extra = sorted(keys - set(members)), sorted(key[:40] for key in set(members) - keys)
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


def _array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, kind: str, shape: tuple | None) -> np.ndarray:
    """A model file's member: float32 (kind "f4") of ``shape``, or (kind "U") a text scalar of at
    most MAX_TEXT_CHARACTERS."""
    def check(dtype, found_shape):
        if kind == "U":
            if dtype.kind != "U" or found_shape != () or dtype.itemsize > 4 * MAX_TEXT_CHARACTERS:
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


def load_model(source: str | Path | BinaryIO | bytes) -> tuple[Model, Hyperparams, dict]:
    """Read (model, hyperparameters, metrics); raise ModelFileError on anything unexpected."""
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
            expected = dict(layout(hparams.hidden_units, hparams.layers))
            if set(expected) | TEXT_KEYS != set(members):
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
    return model, hparams, metrics
