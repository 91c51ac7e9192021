"""The Compare page's presets: named sets of variants (rows of settings changed), over the post's
settings or Train's."""

from __future__ import annotations

from dataclasses import dataclass

from nn_core import Hyperparams


@dataclass(frozen=True)
class Preset:
    """Rows of (name, settings changed); ``base``: "post" (the post's settings) or "train" (Train's);
    ``ladder``: each step is measured against the row before it, else against the first row."""

    name: str
    about: str
    rows: tuple[tuple[str, dict], ...]
    base: str = "train"
    ladder: bool = False


PART_1 = {"batch_size": 60_000, "optimizer": "sgd", "init": "normal", "learning_rate": 1.0}
PRESETS = (
    Preset("The post's three changes",
           "The post's story, seed 138, 9 epochs: Part 1's full-batch gradient descent from N(0, 1) weights, then "
           "each of its three changes in turn. The last row is the post's run (Train's default).",
           (("Part 1: full batch, N(0,1)", PART_1),
            ("+ mini-batches of 128", PART_1 | {"batch_size": 128}),
            ("+ momentum (β 0.9, lr 4)", PART_1 | {"batch_size": 128, "optimizer": "momentum", "momentum": 0.9,
                                                  "learning_rate": 4.0}),
            ("+ N(0, 1/n) weights", {})),
           base="post", ladder=True),
    Preset("Optimizers",
           "Each optimizer at a learning rate that suits it (measured with 64 sigmoid units: RMSProp and Adam "
           "take about a thousand times smaller steps), β 0.9, on Train's other settings.",
           (("SGD, lr 1", {"optimizer": "sgd", "learning_rate": 1.0}),
            ("momentum, lr 4", {"optimizer": "momentum", "learning_rate": 4.0, "momentum": 0.9}),
            ("Nesterov, lr 4", {"optimizer": "nesterov", "learning_rate": 4.0, "momentum": 0.9}),
            ("RMSProp, lr 0.003", {"optimizer": "rmsprop", "learning_rate": 0.003, "momentum": 0.9}),
            ("Adam, lr 0.003", {"optimizer": "adam", "learning_rate": 0.003, "momentum": 0.9}))),
    Preset("Initialisations", "The four ways the weights can start, on Train's other settings.",
           (("zeros", {"init": "zeros"}), ("N(0, 1)", {"init": "normal"}), ("N(0, 1/n) (lecun)", {"init": "lecun"}),
            ("N(0, 2/n) (He)", {"init": "he"}))),
    Preset("Depth", "One to four hidden layers of Train's width, on Train's other settings.",
           tuple((f"{k} hidden layer{'s' * (k > 1)}", {"layers": k}) for k in range(1, 5)), ladder=True),
    Preset("Overfitting",
           "1,000 training images, 512 hidden units, 50 epochs, learning rate 1: a network that memorises its "
           "images; then each remedy on its own.",
           (("1,000 images, 512 units", {}), ("+ dropout 0.5", {"dropout": 0.5}), ("+ L2 0.001", {"l2": 0.001}),
            ("+ augmentation", {"augment": "on"}), ("+ early stopping (patience 5)", {"early_stop": 5})),
           base="post"),
    Preset("Schedules",
           "The post's run with its constant learning rate of 4, then the same rate under a schedule: halved every "
           "3 epochs, annealed along a half cosine, and one cycle (a warm-up over the first 30% of the run, then "
           "a half cosine down). Same seed, so every variant trains on the same batches in the same order.",
           (("constant (the post)", {}), ("step: x0.5 every 3 epochs", {"schedule": "step"}),
            ("cosine", {"schedule": "cosine"}), ("one-cycle", {"schedule": "one-cycle"})),
           base="post"),
)
OVERFITTING = {"train_size": 1000, "hidden_units": 512, "epochs": 50, "learning_rate": 1.0}
BY_PRESET = {preset.name: preset for preset in PRESETS}


def preset_variants(preset: Preset, train: Hyperparams) -> list[tuple[str, Hyperparams]]:
    """The preset's rows as (name, settings): its changes over the post's settings or Train's."""
    base = Hyperparams() if preset.base == "post" else train
    common = OVERFITTING if preset.name == "Overfitting" else {}
    return [(name, Hyperparams(**(base.as_dict() | common | changes))) for name, changes in preset.rows]
