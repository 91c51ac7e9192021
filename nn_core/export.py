"""A run as code to take home: one short, self-contained NumPy script (``script``) or a Jupyter notebook
(``notebook``) that trains the run's network again and prints the lab's figures.

The code is generated for the run it exports: only the branches the run uses (a momentum run has no Adam
code), the seed post's equations as comments at the lines that compute them. Its arithmetic is the lab's
(float32, the same operations in the same order as ``nn_core.model``, ``nn_core.optim`` and the loop
of ``nn_core.training``, on one BLAS thread), so the same NumPy gives the same numbers, bit for bit:
the post's run prints 97.62% and test cost 0.080080. A setting the script cannot reproduce exactly
is refused with ``ExportError`` naming it, never exported approximately.

This module assembles the parts: ``nn_core.export_code`` writes the constants, data and network,
``nn_core.export_loop`` the training loop and its learning-rate schedule.
"""

from __future__ import annotations

import re
import textwrap

from . import export_code, export_loop
from .components.batches import PASS_ROWS
from .settings import SETTINGS, Hyperparams
from .trainset import batches_per_epoch


class ExportError(ValueError):
    """A run the export cannot express exactly; the message names the setting."""


def refusal(hparams: Hyperparams, changes=(), origin: str | None = None, mix=None, data=None) -> str | None:
    """Why this run cannot be exported, in one sentence naming the setting; None if it can. ``data``: the
    data set it trained on (a DataSet, or its key as ``RunResult.data_key`` keeps it; None: MNIST)."""
    key = data if isinstance(data, str) or data is None else data.key
    if key:
        name = "" if isinstance(data, str) else f" ({data.name})"
        return (f"This run trained on a data set of the session's own{name}, which the script cannot load: only "
                "runs on MNIST can be exported.")
    if origin is not None or mix is not None:
        return ("This run started from another model (a fine-tuning) and trained on a set of its own, which a "
                "script cannot rebuild: only runs trained from scratch on MNIST can be exported.")
    for change in changes:
        if change.name not in ("learning_rate", "momentum"):
            return f"A change of {change.name} while the run trained cannot be exported."
    return None


def _check(hparams: Hyperparams, changes, origin, mix, data=None) -> None:
    hparams.validate()
    reason = refusal(hparams, changes, origin, mix, data)
    if reason:
        raise ExportError(reason)


def settings_lines(hparams: Hyperparams) -> list[str]:
    """``name=value`` for every setting (a schedule's only when the rate is scheduled), a few per line."""
    unused = set() if hparams.schedule != "constant" else {"schedule", "lr_decay", "step_epochs", "warmup"}
    words = [f"{s.name}={s.format(getattr(hparams, s.name))}" for s in SETTINGS if s.name not in unused]
    return textwrap.wrap(" ".join(words), 108)


def _title(hp: Hyperparams) -> str:
    widths = "-".join(["784"] + [str(hp.hidden_units)] * hp.layers + ["10"])
    post = " (the seed post's run)" if hp == Hyperparams() else ""
    return f"MNIST, a {widths} {hp.activation} network trained with {hp.optimizer}{post}"


def _header(hp: Hyperparams, changes, batches_per_epoch: int, notebook: bool) -> str:
    lines = [_title(hp) + ": a run of the NN lab, exported.", "", "Settings: " + settings_lines(hp)[0]]
    lines += ["  " + line for line in settings_lines(hp)[1:]]
    for change in changes:
        lines.append(f"Changed while it trained: {change.name} = {change.value:g} from batch {change.batch} "
                     f"(epoch {change.batch / batches_per_epoch:.1f})")
    if not notebook:
        lines.append("Run: python run.py --data DIR [--json]   (DIR: MNIST's four IDX files, .gz or not)")
    lines += ["Arithmetic: the lab's (float32, same order of operations, one BLAS thread): its numbers to the bit."]
    if hp.batch_size > PASS_ROWS:
        lines.append(f"A batch of more than {PASS_ROWS} images is computed in passes of {PASS_ROWS} rows whose "
                     "gradients are summed, as in the lab.")
    lines.append("Row-major: X (m, 784) @ W1 (784, H); the post's (column-major) W1 is this W1.T.")
    return "\n".join(lines)


def _sections(hp: Hyperparams, changes) -> dict[str, str]:
    """The code, in named parts: constants, data, network (forward, backward, step, evaluate), train."""
    s = {"constants": export_code.constants(hp, changes), "data": export_code.data(hp),
         "network": export_code.network(hp), "train": export_loop.train(hp, changes)}
    if hp.schedule != "constant":
        s["network"] = s["network"] + "\n\n" + export_loop.schedule_function(hp)
    return s


def _imports(hp: Hyperparams, script: bool) -> str:
    modules = ["gzip", "json", "os", "time"] + (["argparse"] if script else [])
    if hp.schedule in ("cosine", "one-cycle"):
        modules.append("math")
    if hp.early_stop:
        modules.append("sys")
    lines = [f"import {m}" for m in sorted(modules)] + ["from pathlib import Path", ""]
    lines += ['# One BLAS thread, set before NumPy loads: the lab trains on one, and the bits of a run depend on it.',
              'for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):',
              '    os.environ.setdefault(_name, "1")',
              "import numpy as np  # noqa: E402"]
    return "\n".join(lines) + "\n"


_MAIN = '''
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder of MNIST's four IDX files (.gz or not)")
    parser.add_argument("--json", action="store_true", help="one JSON object per epoch")
    args = parser.parse_args()
    train(load(args.data), args.json)
    if not args.json:
        print("Done.")
'''


def script(hparams: Hyperparams = Hyperparams(), changes=(), origin: str | None = None, mix=None,
           data=None) -> str:
    """The run as one self-contained Python file (NumPy and the standard library), run as
    ``python run.py --data DIR [--json]``. ExportError if a setting cannot be exported exactly, or the
    run trained on a data set other than MNIST (``data``, as ``refusal`` takes it)."""
    _check(hparams, changes, origin, mix, data)
    s = _sections(hparams, tuple(changes))
    header = _header(hparams, changes, batches_per_epoch(hparams), notebook=False)
    parts = ['"""' + header + '\n"""\n' + _imports(hparams, True), s["constants"], s["data"], s["network"], s["train"],
             _MAIN]
    text = "\n\n".join(part.strip("\n") + "\n" for part in parts)
    return re.sub(r"\n{3,}", "\n\n", text)  # one blank line between functions: short enough to read at once


def notebook(hparams: Hyperparams = Hyperparams(), changes=(), origin: str | None = None, mix=None,
             data_dir: str = "data/mnist", data=None):
    """The same code as a Jupyter notebook (an ``nbformat`` v4 node): cells for the data, the network,
    the training loop and a cost plot. ``data_dir``: where its first code cell looks for MNIST."""
    import nbformat.v4 as v4

    _check(hparams, changes, origin, mix, data)
    s = _sections(hparams, tuple(changes))
    header = _header(hparams, changes, batches_per_epoch(hparams), notebook=True)
    title, _, rest = header.partition("\n")
    cells = [
        v4.new_markdown_cell(f"# {title}\n\n" + "\n".join(f"    {line}" if line else "" for line in rest.splitlines())),
        v4.new_markdown_cell("## Data\nMNIST's four IDX files (`.gz` or not) from `DATA`."),
        v4.new_code_cell(_imports(hparams, False) + "\n" + s["constants"] + "\n" + s["data"].strip("\n")
                         + f"\n\n\nDATA = {data_dir!r}\ndata = load(DATA)"),
        v4.new_markdown_cell("## Network\nForward, backward, the optimizer's step, and the evaluation."),
        v4.new_code_cell(s["network"].strip("\n")),
        v4.new_markdown_cell("## Training loop\nOne line per epoch, as the lab's command line prints."),
        v4.new_code_cell(s["train"].strip("\n") + "\n\n\nhistory, params = train(data)"),
        v4.new_markdown_cell("## Cost\nThe training and test cost after each epoch."),
        v4.new_code_cell(_PLOT.strip("\n")),
    ]
    nb = v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"},
                                                "language_info": {"name": "python"}})
    return nb


_PLOT = '''
try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("matplotlib is not installed: no plot")
if plt is not None:
    epochs = [row["epoch"] for row in history]
    plt.plot(epochs, [row["train_cost"] for row in history], marker="o", label="training cost")
    plt.plot(epochs, [row["test_cost"] for row in history], marker="o", label="test cost")
    plt.xlabel("epoch")
    plt.ylabel("cross-entropy")
    plt.legend()
    plt.show()
'''


def notebook_text(hparams: Hyperparams = Hyperparams(), changes=(), origin: str | None = None, mix=None,
                  data_dir: str = "data/mnist", data=None) -> str:
    """The notebook as ``.ipynb`` text."""
    import nbformat

    return nbformat.writes(notebook(hparams, changes, origin, mix, data_dir, data))
