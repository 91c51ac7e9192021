"""A from-scratch NumPy multilayer perceptron for MNIST (no Streamlit here: the app imports us)."""

from .data import DataError, Mnist, load_mnist, load_mnist_float, scale_pixels
from .loop import ChunkStats, Diverged, EpochStats, Hyperparams, RunResult, Trainer, evaluate, train
from .model import ACTIVATIONS, Model
from .persist import ModelFileError, load_model, model_bytes, save_model

__all__ = [
    "ACTIVATIONS", "ChunkStats", "DataError", "Diverged", "EpochStats", "Hyperparams", "Mnist", "Model",
    "ModelFileError", "RunResult", "Trainer", "evaluate", "load_mnist", "load_mnist_float", "load_model",
    "model_bytes", "save_model", "scale_pixels", "train",
]
