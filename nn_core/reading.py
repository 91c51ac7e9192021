"""A run read in words, from its own figures: whether it generalises or memorises, and how it was
regularised. Nothing here is written in advance: every number in a sentence is the run's."""

from __future__ import annotations

from .settings import FULL_BATCH, Hyperparams

RISE = 0.02  # a test cost this far (relative) above its lowest counts as risen
GAP = 0.10  # train and test costs this far apart (absolute, in nats) count as a gap


def _available(data) -> int:
    """The training images of ``data`` (a DataSet; None: MNIST's 60,000)."""
    return FULL_BATCH if data is None else len(data.train_labels)


def _labels(data) -> str:
    return "digits" if data is None or data.is_mnist else "classes"


def training_images(hparams: Hyperparams, trained_on: int | None = None, data=None) -> str:
    """"all 60,000 training images" or "1,000 training images" (less a validation set, if held out);
    ``data``: the data set trained on (None: MNIST)."""
    available = _available(data)
    if trained_on is not None and trained_on < available:
        return f"its {trained_on:,} training images"
    return f"all {available:,} training images" if hparams.train_size >= available else \
        f"its {hparams.train_size:,} training images"


def regularisation(hparams: Hyperparams) -> str:
    """The run's regularisation in words, e.g. "dropout 0.5, L2 0.001", or "none"."""
    parts = []
    if hparams.l2:
        parts.append(f"L2 {hparams.l2:g}")
    if hparams.dropout:
        parts.append(f"dropout {hparams.dropout:g}")
    if hparams.augment == "on":
        parts.append("augmentation")
    if hparams.early_stop:
        parts.append(f"early stopping (patience {hparams.early_stop})")
    return ", ".join(parts) if parts else "none"


def training_set(hparams: Hyperparams, data=None) -> str:
    """What a model was trained on, in words, for Evaluate's caption (``data``: its data set; None: MNIST)."""
    available = _available(data)
    used = min(hparams.train_size, available)
    held = f"; the last {min(5000, used // 5):,} held out for validation" if hparams.early_stop else ""
    noise = (f"; {hparams.label_noise:.0%} of its labels replaced by random {_labels(data)}"
             if hparams.label_noise else "")
    size = f"all {available:,} training images" if hparams.train_size >= available else \
        f"{hparams.train_size:,} training images (a fixed, class-balanced subset)"
    return f"{size}{held}{noise}; regularisation: {regularisation(hparams)}"


def gap_reading(epochs, hparams: Hyperparams, best_epoch: int | None = None, stopped_early: bool = False,
                data=None) -> str:
    """One line on the train/test gap of a run's epochs (EpochStats), from its own figures (``data``: the
    data set trained on; None: MNIST)."""
    if not epochs:
        return ""
    tests = [e.test_cost for e in epochs]
    trains = [e.train_cost for e in epochs]
    lowest = min(range(len(tests)), key=tests.__getitem__)
    last = epochs[-1]
    gap = last.test_cost - last.train_cost
    images = training_images(hparams, data=data)
    if stopped_early and best_epoch:
        return (f"Early stopping ended the run at epoch {last.epoch}: the validation cost was lowest at epoch "
                f"{best_epoch}, so the model kept is epoch {best_epoch}'s (test cost "
                f"{epochs[best_epoch - 1].test_cost:.3f}, {gap:+.3f} from train to test at the end).")
    rising = len(epochs) - 1 - lowest
    if rising >= 2 and last.test_cost > tests[lowest] * (1 + RISE) and trains[-1] < trains[lowest]:
        return (f"Test cost has risen for {rising} epochs (lowest {tests[lowest]:.3f} at epoch {lowest + 1}, now "
                f"{last.test_cost:.3f}) while train cost fell to {last.train_cost:.3f}: the network is memorising "
                f"{images}.")
    if gap > GAP and last.train_accuracy - last.test_accuracy > 0.02:
        return (f"Train and test have drifted apart: cost {last.train_cost:.3f} against {last.test_cost:.3f}, "
                f"accuracy {last.train_accuracy:.1%} against {last.test_accuracy:.1%}; test cost is still at its "
                "lowest, but more epochs would start memorising." if lowest == len(epochs) - 1 else
                f"Train and test have drifted apart: cost {last.train_cost:.3f} against {last.test_cost:.3f}, "
                f"accuracy {last.train_accuracy:.1%} against {last.test_accuracy:.1%}.")
    return (f"Train and test costs are close ({last.train_cost:.3f} and {last.test_cost:.3f}, a gap of {gap:+.3f}): "
            f"the network generalises from {images}.")


def noise_reading(epoch, hparams: Hyperparams, data=None) -> str:
    """With label noise: whether the network learns the noise (from an epoch's figures), else ""."""
    if not hparams.label_noise or epoch.train_accuracy_true is None:
        return ""
    verdict = ("it is learning the noise (memorising wrong labels)" if epoch.train_accuracy > epoch.train_accuracy_true
               else f"it reads the true {_labels(data)}, not the noise")
    return (f"Train figures are on the noisy labels ({hparams.label_noise:.0%} replaced): it agrees with "
            f"{epoch.train_accuracy:.1%} of them and with {epoch.train_accuracy_true:.1%} of the true labels: "
            f"{verdict}.")
