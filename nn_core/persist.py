"""Save and load trained models as ``.npz``: arrays only, never pickle.

A file holds W1 b1 W2 b2 (float32), the hyperparameters as one JSON string, and the final
metrics as another. Loading reads with ``allow_pickle=False`` and checks every key, shape and
dtype, so an upload from a stranger is either a valid model or a clear ``ModelFileError``.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .loop import Hyperparams
from .model import CLASSES, INPUTS, Model

FORMAT = "nn_core.mlp.v1"
ARRAY_KEYS = ("W1", "b1", "W2", "b2")
KEYS = set(ARRAY_KEYS) | {"format", "hyperparams", "metrics"}
MAX_HIDDEN = 4096  # refuse absurd sizes before allocating anything


class ModelFileError(ValueError):
    """The file is not a model saved by this project (or is damaged)."""


def save_model(target: str | Path | BinaryIO, model: Model, hparams: Hyperparams, metrics: dict | None = None) -> None:
    """Write the model to a path or a binary file object."""
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


def _text(npz, key) -> str:
    value = npz[key]
    if value.dtype.kind != "U" or value.shape != ():
        raise ModelFileError(f"'{key}' must be a text scalar, got {value.dtype} of shape {value.shape}")
    return str(value)


def load_model(source: str | Path | BinaryIO | bytes) -> tuple[Model, Hyperparams, dict]:
    """Read (model, hyperparameters, metrics); raise ModelFileError on anything unexpected."""
    if isinstance(source, (str, Path)):
        source = Path(source).read_bytes()
    elif not isinstance(source, (bytes, bytearray)):
        source = source.read()
    if not source.startswith(b"PK"):  # np.load would take any other bytes for a pickle
        raise ModelFileError("not a valid .npz model file (an .npz file is a zip archive)")
    try:
        with np.load(io.BytesIO(source), allow_pickle=False) as npz:
            keys = set(npz.files)
            if keys != KEYS:
                missing, extra = sorted(KEYS - keys), sorted(keys - KEYS)
                raise ModelFileError(
                    "not a model file of this app:"
                    + (f" missing {', '.join(missing)}" if missing else "")
                    + (f" unexpected {', '.join(extra)}" if extra else ""))
            if _text(npz, "format") != FORMAT:
                raise ModelFileError(f"unknown format {_text(npz, 'format')!r}, expected {FORMAT!r}")
            try:
                hp_dict = json.loads(_text(npz, "hyperparams"))
                hparams = Hyperparams(**hp_dict).validate()
                metrics = json.loads(_text(npz, "metrics"))
            except (TypeError, ValueError) as error:
                raise ModelFileError(f"bad hyperparameters or metrics: {error}") from None
            if not isinstance(metrics, dict):
                raise ModelFileError("metrics must be a JSON object")
            H = hparams.hidden_units
            if H > MAX_HIDDEN:
                raise ModelFileError(f"hidden units {H} exceeds the limit of {MAX_HIDDEN}")
            expected = {"W1": (INPUTS, H), "b1": (H,), "W2": (H, CLASSES), "b2": (CLASSES,)}
            arrays = {}
            for key, shape in expected.items():
                array = npz[key]
                if array.dtype != np.float32:
                    raise ModelFileError(f"'{key}' has dtype {array.dtype}, expected float32")
                if array.shape != shape:
                    raise ModelFileError(f"'{key}' has shape {array.shape}, expected {shape}")
                if not np.all(np.isfinite(array)):
                    raise ModelFileError(f"'{key}' contains NaN or infinite values")
                arrays[key] = array
    except ModelFileError:
        raise
    except ValueError as error:  # includes "Object arrays cannot be loaded when allow_pickle=False"
        raise ModelFileError(f"cannot read model file: {error}") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise ModelFileError(f"not a valid .npz model file ({type(error).__name__}: {error})") from None
    model = Model.from_arrays(**arrays, activation=hparams.activation)
    return model, hparams, metrics
