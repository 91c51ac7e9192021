"""A from-scratch NumPy multilayer perceptron for MNIST (no Streamlit here: the app imports us)."""

from .data import DataError, Mnist, load_mnist, scale_pixels
from .evaluation import evaluate
from .model import ACTIVATIONS, Model
from .persist import (ModelData, ModelFileError, SavedModel, check_model_fits, load_model, load_model_file, model_bytes,
                      save_model)
from .runs import LocalBackend, LocalRun, Progress
from .settings import SETTINGS, Hyperparams, Setting
from .run_events import ChunkStats, Diverged, EpochStats, RunStatus
from .run_state import RunResult
from .training import Trainer

__all__ = [
    "ACTIVATIONS", "ChunkStats", "DataError", "Diverged", "EpochStats", "Hyperparams", "LocalBackend", "LocalRun",
    "Mnist", "Model", "ModelData", "ModelFileError", "Progress", "RunResult", "RunStatus", "SETTINGS", "SavedModel",
    "Setting", "Trainer", "check_model_fits", "evaluate", "load_mnist", "load_model", "load_model_file", "model_bytes",
    "save_model", "scale_pixels",
]
