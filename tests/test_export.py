"""Exported runs (nn_core.export): each script is run in a subprocess from an empty folder, on the repo's
MNIST files, and its printed figures compared with the lab's own Trainer on the same settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest

from nn_core.data import DATA_DIR
from nn_core.export import ExportError, notebook, notebook_text, refusal, script
from nn_core.settings import Hyperparams
from nn_core.training import Change, EpochStats, Trainer
from ui.state import setting_key

SCRIPT_TIMEOUT = 600  # seconds; a default run takes ~5 s alone on this shared machine


def run_script(code: str, folder, *args: str) -> subprocess.CompletedProcess:
    path = folder / "run.py"
    path.write_text(code)
    return subprocess.run([sys.executable, str(path), "--data", str(DATA_DIR), *args], cwd=folder,
                          capture_output=True, text=True, timeout=SCRIPT_TIMEOUT)


def exported_figures(hparams: Hyperparams, folder, changes=(), said: list | None = None) -> list[dict]:
    """The exported script's --json figures; what it wrote to stderr is appended to ``said``."""
    done = run_script(script(hparams, changes), folder, "--json")
    assert done.returncode == 0, done.stderr
    if said is not None:
        said.append(done.stderr)
    return [json.loads(line) for line in done.stdout.splitlines()]


def lab_figures(mnist, hparams: Hyperparams, changes=()) -> list[EpochStats]:
    trainer = Trainer(mnist, hparams, changes=tuple(changes))
    while not trainer.finished:
        trainer.run(max_batches=500)
    return trainer.epochs


def assert_same(exported: list[dict], lab: list[EpochStats]) -> None:
    """The same epochs with the same test figures: bit for bit (the export's claim, stricter than 0.1 points)."""
    assert [row["epoch"] for row in exported] == [stats.epoch for stats in lab]
    for row, stats in zip(exported, lab):
        assert abs(row["test_accuracy"] - stats.test_accuracy) < 0.001  # the bound: 0.1 points
        assert (row["test_accuracy"], row["test_cost"], row["train_cost"]) == (
            stats.test_accuracy, stats.test_cost, stats.train_cost), f"epoch {stats.epoch}"


@pytest.fixture
def empty(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_the_default_run_prints_the_posts_figures_as_the_lab_does(mnist, empty):
    code = script(Hyperparams())
    assert len(code.splitlines()) <= 125  # short enough to read at once
    body = code.split('"""', 2)[2].lower()  # the code after the header
    assert "adam" not in body and "dropout" not in body and "def split" not in body  # only the branches it uses
    done = run_script(code, empty)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 10 and lines[-1] == "Done."
    assert "test cost = 0.080080, test accuracy = 97.62%" in lines[8]
    lab = lab_figures(mnist, Hyperparams())
    for line, stats in zip(lines, lab):  # every epoch's printed figures, as the lab's CLI prints them
        assert line.startswith(f"Epoch {stats.epoch}: training cost = {stats.train_cost:.6f}, test cost = "
                               f"{stats.test_cost:.6f}, test accuracy = {stats.test_accuracy:.2%} (")
    assert list(empty.iterdir()) == [empty / "run.py"]  # it wrote nothing beside itself


def test_a_deep_relu_adam_run_with_l2_and_dropout(mnist, empty):
    hp = Hyperparams(layers=2, hidden_units=32, activation="relu", optimizer="adam", learning_rate=0.002,
                     l2=1e-4, dropout=0.2, init="he", epochs=2)
    code = script(hp)
    assert "velocity" not in code  # no momentum code
    assert_same(exported_figures(hp, empty), lab_figures(mnist, hp))


def test_a_run_with_recorded_changes(mnist, empty):
    hp = Hyperparams(epochs=2)
    changes = (Change(300, "learning_rate", 0.5), Change(600, "momentum", 0.5))
    assert_same(exported_figures(hp, empty, changes), lab_figures(mnist, hp, changes))


def test_a_small_subset_with_label_noise_and_early_stopping(mnist, empty):
    hp = Hyperparams(train_size=2000, label_noise=0.2, early_stop=1, epochs=8, batch_size=32)
    said = []
    exported, lab = exported_figures(hp, empty, said=said), lab_figures(mnist, hp)
    assert_same(exported, lab)
    assert len(lab) == 3  # early stopping ended the lab's run after epoch 3, the best being epoch 2
    assert "Stopped early after epoch 3: the validation cost was lowest at epoch 2" in said[0]
    assert [row["validation_cost"] for row in exported] == [stats.validation_cost for stats in lab]


@pytest.mark.parametrize("hp", [
    Hyperparams(optimizer="sgd", learning_rate=1.0, activation="tanh", train_size=1000, epochs=2),
    Hyperparams(optimizer="nesterov", init="normal", train_size=1000, epochs=2),
    Hyperparams(optimizer="rmsprop", learning_rate=0.001, momentum=0.9, layers=3, train_size=1000, epochs=2),
    Hyperparams(batch_size=60_000, optimizer="sgd", learning_rate=2.0, dropout=0.1, epochs=1),  # passes of 4096
    Hyperparams(augment="on", train_size=1000, epochs=2),
    Hyperparams(augment="on", batch_size=8192, train_size=10_000, epochs=1),  # augmented pass by pass
], ids=["sgd-tanh", "nesterov-normal", "rmsprop-3-layers", "full-batch", "augment", "augment-passes"])
def test_other_optimizers_and_shapes(mnist, empty, hp):
    assert_same(exported_figures(hp, empty), lab_figures(mnist, hp))


@pytest.mark.parametrize("hp, changes", [
    (Hyperparams(schedule="cosine", optimizer="sgd", learning_rate=1.0, l2=1e-4, train_size=2000, epochs=2),
     (Change(20, "learning_rate", 0.5),)),  # SGD folds the scheduled rate into its gradient; a change under it
    (Hyperparams(schedule="one-cycle", warmup=0.4, train_size=2000, epochs=2), ()),
    (Hyperparams(schedule="step", step_epochs=1, lr_decay=0.3, train_size=2000, epochs=2), ()),
    (Hyperparams(schedule="exponential", lr_decay=0.7, optimizer="adam", learning_rate=0.003, train_size=2000,
                 epochs=2), ()),
], ids=["cosine-sgd-changed", "one-cycle", "step", "exponential-adam"])
def test_a_scheduled_run_steps_with_the_lab_s_rates(mnist, empty, hp, changes):
    code = script(hp, changes)
    assert "def schedule(t, per_epoch, total):" in code and ("import math" in code) == (hp.schedule in ("cosine",
                                                                                                     "one-cycle"))
    assert_same(exported_figures(hp, empty, changes), lab_figures(mnist, hp, changes))


def test_each_branch_alone_and_all_together_is_tidy_numpy_and_stdlib_code():
    """Each optimizer with no optional branch, each one alone, and all together (every line is longest then):
    valid Python, lines of at most 120 characters, importing only NumPy and the standard library, with exactly
    the branches its settings use (the runs above execute a sample of these)."""
    import ast

    allowed = {"argparse", "gzip", "json", "math", "os", "sys", "time", "pathlib", "numpy"}
    branches = {"l2": {"l2": 1e-4}, "dropout": {"dropout": 0.2}, "augment": {"augment": "on"},
                "subset": {"train_size": 1000, "early_stop": 2, "label_noise": 0.1}, "passes": {"batch_size": 60_000},
                "changes": {}, "schedule": {"schedule": "one-cycle"}}
    for optimizer in ("momentum", "sgd", "nesterov", "rmsprop", "adam"):
        for used in [(), *((name,) for name in branches), tuple(branches)]:
            settings = {key: value for name in used for key, value in branches[name].items()}
            hp = Hyperparams(optimizer=optimizer, layers=2, activation="relu", **settings)
            changes = (Change(3, "momentum", 0.5),) if "changes" in used else ()
            augment, dropout, l2 = "augment" in used, "dropout" in used, "l2" in used
            code = script(hp, changes)
            tree = ast.parse(code)
            imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                        for alias in node.names}
            imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
            assert imported <= allowed, (hp, imported)
            assert max(len(line) for line in code.splitlines()) <= 120, hp
            assert ("def augment" in code) == augment and ("CHANGES" in code) == bool(changes)
            assert ("dropout_rng" in code) == dropout and ("L2" in code) == l2
            assert ("def split" in code) == ("subset" in used) and ("PASS_ROWS" in code) == ("passes" in used)
            assert ("def schedule" in code) == ("schedule" in used)


def test_a_run_it_cannot_express_is_refused_saying_why():
    with pytest.raises(ExportError, match="another model"):
        script(Hyperparams(), origin="run #1")
    assert refusal(Hyperparams()) is None


def test_the_notebook_is_valid_and_holds_the_scripts_code(empty):
    hp = Hyperparams(train_size=1000, epochs=2, dropout=0.1)
    nb = notebook(hp, data_dir=str(DATA_DIR))
    nbformat.validate(nb)
    nbformat.validate(nbformat.reads(notebook_text(hp), as_version=4))
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    assert len(code) == 4  # data, network, training loop, plot
    for name in ("def forward(", "def backward(", "def step(", "def train("):
        assert name in script(hp) and any(name in source for source in code)
    try:  # executed by a Jupyter kernel where the tests' environment has one
        import ipykernel  # noqa: F401
        from nbclient import NotebookClient
    except ImportError:
        NotebookClient = None
    if NotebookClient is not None:
        executed = notebook(hp, data_dir=str(DATA_DIR))
        executed.cells[-1].source += "\nprint(json.dumps(history))"
        NotebookClient(executed, timeout=SCRIPT_TIMEOUT, kernel_name="python3",
                       resources={"metadata": {"path": str(empty)}}).execute()
        printed = "".join(output.get("text", "") for output in executed.cells[-1].outputs
                          if output.output_type == "stream")
    else:  # its code cells in order, as one program
        program = empty / "notebook.py"
        program.write_text("\n\n".join(code).replace("plt.show()", "pass") + "\nprint(json.dumps(history))\n")
        done = subprocess.run([sys.executable, str(program)], cwd=empty, capture_output=True, text=True,
                              timeout=SCRIPT_TIMEOUT, env={**os.environ, "MPLBACKEND": "Agg"})
        assert done.returncode == 0, done.stderr
        printed = done.stdout
    history = json.loads(printed.splitlines()[-1])
    assert history == exported_figures(hp, empty)


def test_the_script_reads_unpacked_idx_files(empty, tmp_path):
    import gzip

    unpacked = tmp_path / "raw"
    unpacked.mkdir()
    for packed in DATA_DIR.glob("*.gz"):
        (unpacked / packed.name.removesuffix(".gz")).write_bytes(gzip.decompress(packed.read_bytes()))
    path = empty / "run.py"
    path.write_text(script(Hyperparams(train_size=500, epochs=1)))
    done = subprocess.run([sys.executable, str(path), "--data", str(unpacked)], cwd=empty, capture_output=True,
                          text=True, timeout=SCRIPT_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Epoch 1: training cost = ")


def cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nn_core.train", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(DATA_DIR.parent.parent)})


def test_the_cli_writes_the_script_of_its_flags_without_training(empty):
    done = cli("--hidden", "32", "--optimizer", "adam", "--lr", "0.001", "--export-script", "run", cwd=empty)
    assert done.returncode == 0, done.stderr
    assert "Epoch" not in done.stdout  # nothing trained
    assert (empty / "run.py").read_text() == script(Hyperparams(hidden_units=32, optimizer="adam", learning_rate=0.001))


def test_the_cli_refuses_a_bad_path_in_one_line(empty):
    done = cli("--export-script", str(empty / "missing" / "run.py"), cwd=empty)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "missing does not exist" in done.stderr and list(empty.iterdir()) == []


# --- the app's buttons (AppTest; runs trained on the first 2,000 training images, as in test_train_page)

@pytest.fixture
def app(mnist):
    from streamlit.testing.v1 import AppTest

    from nn_core import LocalBackend, Mnist
    from ui.state import Lab

    small = Mnist(mnist.train_images[:2000], mnist.train_labels[:2000], mnist.test_images, mnist.test_labels)
    at = AppTest.from_file(str(DATA_DIR.parent.parent / "streamlit_app.py"), default_timeout=60)
    at.session_state["lab"] = Lab(backend=LocalBackend(small))
    return at


def download_labels(at) -> list[str]:
    return [button.proto.label for button in at.get("download_button") if button.proto.label.startswith("Download as")]


def test_the_buttons_follow_the_shown_run_and_name_what_cannot_be_exported(app):
    app.query_params["epochs"] = "1"
    at = app.run()
    assert download_labels(at) == []  # no run yet
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert download_labels(at) == ["Download as Python", "Download as notebook"]
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception, at.exception
    assert download_labels(at) == ["Download as Python", "Download as notebook"]  # the active model's run
    # a fine-tuning (a run the app marks with its origin): no buttons, a sentence saying why
    at.switch_page("pages/train.py").run()
    at.session_state["lab"].runs[0].origin = "fine-tuned from #1 on 20 of your digits"
    at.run()
    assert not at.exception, at.exception
    assert download_labels(at) == []
    assert any("not available" in caption.value and "another model" in caption.value for caption in at.caption)
