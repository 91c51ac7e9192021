"""Train page: pick settings, press Train, watch the costs fall live, keep every run of the session.

Training runs in a fragment that trains a short chunk, redraws its progress and charts, and reruns
itself, so Stop and every other widget answer while a run is going (a plain loop ignores clicks).
The running ``nn_core.Trainer`` lives in ``st.session_state["trainer"]``; a finished run becomes a
``RunResult`` in this session's history (``pages.common``).

Settings live in the URL (``?hidden=64&lr=4&beta=0.9&batch=128&epochs=9&seed=138&act=sigmoid``):
read once when a session opens, written back whenever a setting changes.

For tests only: ``st.session_state["train_subset"] = n`` (set before the first run, e.g. by AppTest)
trains on the first n training images (the test set stays whole), so a test run takes a blink.
"""

from __future__ import annotations

import math
import time

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from nn_core import (ACTIVATIONS, Hyperparams, Mnist, ModelFileError, RunResult, Trainer, evaluate, load_model,
                     model_bytes)
from pages.charts import accuracy_figure, runs_test_cost_figure, training_cost_figure
from pages.common import active_run, add_run, mnist, runs

DEFAULTS = Hyperparams()  # the seed post's run
# Training per fragment run, in this thread's CPU time: the rerun between chunks costs a roughly fixed
# amount of CPU, so chunks measured in wall time shrink when sessions share the server's cores and
# the reruns then eat most of it (4 sessions at once: 3.9x the CPU per run of one alone). Alone, a
# chunk is ~0.4 s and Stop answers within about half a second; MAX_CHUNK_WALL bounds the wait when busy.
CHUNK_CPU_SECONDS = 0.4
MAX_CHUNK_WALL = 1.5
PLOT_CONFIG = {"displayModeBar": False}

# Slider values. Learning rates are 7 per decade (1, 1.5, 2, 3, 4, 6, 8), nearly even on a log scale,
# from 0.001 to 1000; 1000 diverges on purpose. Written from decimal text so they print cleanly.
LEARNING_RATES = [float(f"{m}e{e}") for e in range(-3, 3) for m in (1, 1.5, 2, 3, 4, 6, 8)] + [1000.0]
HIDDEN_UNITS = [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
MAX_SEED = 2**31 - 1


def _number(value) -> str:
    return f"{value:g}"


def _parse_choice(options):
    """A URL value that must print exactly like one of the slider's options."""
    by_text = {_number(option) if not isinstance(option, str) else option: option for option in options}

    def parse(text: str):
        if text not in by_text:
            raise ValueError(f"not one of the slider's values ({', '.join(by_text)})")
        return by_text[text]
    return parse


def _parse_int(low: int, high: int):
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"outside {low}-{high}")
        return value
    return parse


def _parse_momentum(text: str) -> float:
    value = round(float(text), 2)  # the slider moves in steps of 0.01
    if not 0 <= value <= 0.99:
        raise ValueError("outside 0-0.99")
    return value


# Each setting: URL key (also its widget key) -> (Hyperparams field, parser of the URL text).
SETTINGS = {
    "hidden": ("hidden_units", _parse_choice(HIDDEN_UNITS)),
    "lr": ("learning_rate", _parse_choice(LEARNING_RATES)),
    "beta": ("momentum", _parse_momentum),
    "batch": ("batch_size", _parse_choice(BATCH_SIZES)),
    "epochs": ("epochs", _parse_int(1, 50)),
    "seed": ("seed", _parse_int(0, MAX_SEED)),
    "act": ("activation", _parse_choice(list(ACTIVATIONS))),
}


def read_settings_from_url() -> None:
    """Once per session: seed the widgets from the URL; a bad value keeps the default, with a warning."""
    if st.session_state.get("settings_read_from_url"):
        return
    st.session_state["settings_read_from_url"] = True
    problems = []
    for key, (field, parse) in SETTINGS.items():
        if key not in st.query_params:
            continue
        text = st.query_params[key]
        try:
            st.session_state[key] = parse(text)
        except ValueError as error:
            problems.append(f"`{key}={text}` ({error}); using the default {getattr(DEFAULTS, field)!r}")
    st.session_state["url_problems"] = problems


def write_settings_to_url(hparams: Hyperparams) -> None:
    """Put the current settings in the URL, so the address bar is a shareable link to them."""
    for key, (field, _) in SETTINGS.items():
        value = getattr(hparams, field)
        text = value if isinstance(value, str) else _number(value)
        if st.query_params.get(key) != text:
            st.query_params[key] = text


def settings_form() -> Hyperparams:
    """The sliders; their values persist across reruns and page switches (session-scoped state)."""
    for key, (field, _) in SETTINGS.items():
        st.session_state.setdefault(key, getattr(DEFAULTS, field))
    keep = {"persist_state": "session"}
    hidden_units = st.select_slider("Hidden units", HIDDEN_UNITS, key="hidden", **keep,
                                    help="Width of the one hidden layer (the post uses 64).")
    learning_rate = st.select_slider("Learning rate", LEARNING_RATES, key="lr", format_func=_number, **keep,
                                     help="Log scale. The post uses 4; 1000 diverges, to show what too high does.")
    momentum = st.slider("Momentum (beta)", 0.0, 0.99, step=0.01, key="beta", **keep,
                         help="Weight of the previous step in each update (0 = plain gradient descent).")
    batch_size = st.select_slider("Batch size", BATCH_SIZES, key="batch", **keep,
                                  help="Images per gradient step.")
    epochs = st.slider("Epochs", 1, 50, key="epochs", **keep, help="Passes over the 60,000 training images.")
    seed = st.number_input("Seed", 0, MAX_SEED, step=1, key="seed", **keep,
                           help="Same seed, same settings: the same run, weight for weight.")
    activation = st.selectbox("Hidden activation", list(ACTIVATIONS), key="act", **keep)
    return Hyperparams(hidden_units=hidden_units, learning_rate=learning_rate, momentum=momentum,
                       batch_size=batch_size, epochs=epochs, seed=int(seed), activation=activation)


def training_data() -> Mnist:
    """The shared dataset, or (tests only) its first ``train_subset`` training images."""
    data = mnist()
    subset = st.session_state.get("train_subset")
    if not subset:
        return data
    return Mnist(train_images=data.train_images[:subset], train_labels=data.train_labels[:subset],
                 test_images=data.test_images, test_labels=data.test_labels)


def scores_by_run() -> dict[int, tuple[float, float]]:
    """(test cost, test accuracy) of each run's final model, by run index, measured when it was added
    (a stopped run's model is newer than its last completed epoch, an upload has no epochs)."""
    return st.session_state.setdefault("test_scores", {})


def keep_run(result: RunResult) -> int:
    """Add a finished run to the history. A diverged run is kept for its curve but never made active."""
    usable = result.status != "diverged"
    index = add_run(result, activate=usable)
    if usable:
        data = mnist()
        scores_by_run()[index] = evaluate(result.model, data.test_images, data.test_labels)
    st.session_state.setdefault("compare", []).append(index)
    return index


def run_label(index: int) -> str:
    run = runs()[index]
    hp = run.hparams
    score = scores_by_run().get(index)
    accuracy = f"{score[1]:.2%}" if score else "no score"
    return (f"#{index + 1} {run.status} · {accuracy} · H {hp.hidden_units}, lr {hp.learning_rate:g}, "
            f"beta {hp.momentum:g}, batch {hp.batch_size}, {hp.activation}")


# --- training ---------------------------------------------------------------------------------

def start_training(hparams: Hyperparams) -> None:
    st.session_state["trainer"] = Trainer(training_data(), hparams)
    st.session_state["train_started"] = time.perf_counter()


def train_chunk(trainer: Trainer) -> None:
    """Train for CHUNK_CPU_SECONDS of this session's CPU time (at most MAX_CHUNK_WALL seconds)."""
    cpu_start, wall_start = time.thread_time(), time.perf_counter()
    while (not trainer.finished and time.thread_time() - cpu_start < CHUNK_CPU_SECONDS
           and time.perf_counter() - wall_start < MAX_CHUNK_WALL):
        trainer.run(max_seconds=0.05)


def rerun_panel() -> None:
    """Run the training fragment again. A fragment that runs inside a full-page rerun (after a click
    outside it) may not rerun alone; the whole page reruns then, which is slower but equivalent."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def progress_text(trainer: Trainer) -> str:
    done, total = trainer.total_batches_done, trainer.total_batches
    elapsed = time.perf_counter() - st.session_state.get("train_started", time.perf_counter())
    eta = f"{elapsed / done * (total - done):.1f} s" if done else "measuring…"
    return (f"Epoch {min(trainer.epoch + 1, trainer.hparams.epochs)}/{trainer.hparams.epochs} · "
            f"batch {trainer.batch}/{trainer.batches_per_epoch} · {done:,}/{total:,} batches · ETA {eta}")


def show_curves(history, batch_costs, batches_per_epoch: int, hparams: Hyperparams, diverged=None) -> None:
    left, right = st.columns(2)
    left.plotly_chart(training_cost_figure(history, batch_costs, batches_per_epoch, hparams, diverged),
                      config=PLOT_CONFIG)
    right.plotly_chart(accuracy_figure(history, hparams.epochs), config=PLOT_CONFIG)


def show_result(index: int) -> None:
    """The outcome of a finished run: what happened, its figures, and its curves."""
    run = runs()[index]
    done = len(run.batch_costs)
    if run.status == "diverged":
        previous = active_run()
        kept = (f"The active model is still run #{st.session_state['active_run'] + 1}."
                if previous is not None else "No model is active yet.")
        st.error(f"Run #{index + 1} diverged. {run.diverged.message} {kept}")
    elif run.status == "stopped":
        epoch, batch = divmod(done, run.batches_per_epoch)
        st.warning(f"Run #{index + 1} stopped by you after {epoch} full epochs and {batch} batches "
                   f"({done:,} batches). The model trained so far is kept and active.")
    else:
        st.success(f"Run #{index + 1} finished: {len(run.history)} epoch{'s' if len(run.history) != 1 else ''}. It is the active model, "
                   "used by the Evaluate and Draw pages.")
    score = scores_by_run().get(index)
    if score is not None:
        cost, accuracy = score
        a, b, c = st.columns(3)
        a.metric("Test accuracy", f"{accuracy:.2%}")
        b.metric("Test cost", f"{cost:.4f}")
        c.metric("Training time", f"{run.train_seconds:.1f} s",
                 help="Time spent in gradient steps; the evaluation after each epoch is not counted.")
    show_curves(run.history, run.batch_costs, run.batches_per_epoch, run.hparams, run.diverged)


@st.fragment
def training_panel(hparams: Hyperparams) -> None:
    """Train / Stop, then either a chunk of live training or the last run's result."""
    trainer: Trainer | None = st.session_state.get("trainer")
    left, right = st.columns(2)
    train_clicked = left.button("Train", type="primary", key="train", disabled=trainer is not None,
                                width="stretch")
    stop_clicked = right.button("Stop", key="stop", disabled=trainer is None, width="stretch",
                                help="End the run now and keep the model trained so far.")
    if train_clicked and trainer is None:
        start_training(hparams)
        trainer = st.session_state["trainer"]
    if trainer is None:
        last = st.session_state.get("last_trained")
        if last is None:
            st.info("Press **Train** to train the network with these settings (about 3 seconds with the "
                    "post's defaults). Moving a slider changes the next run, not the last result.")
        else:
            show_result(last)
        return

    if stop_clicked:
        trainer.stop()
    if not trainer.finished:
        train_chunk(trainer)
    if trainer.finished:
        # Bookkeeping first, with no st.* call in between, so a click cannot interrupt it halfway.
        del st.session_state["trainer"]
        st.session_state["last_trained"] = index = keep_run(trainer.result())
        show_result(index)  # at once, here; the full rerun below takes longer to reach the fragment
        st.rerun()  # the whole page: history, active model and download change
    st.progress(trainer.total_batches_done / trainer.total_batches, text=progress_text(trainer))
    show_curves(trainer.history, trainer.batch_costs[: trainer.total_batches_done], trainer.batches_per_epoch,
                trainer.hparams)
    rerun_panel()


# --- history and model files ------------------------------------------------------------------

def sync_widget(widget_key: str, value) -> None:
    """Show ``value`` in a widget whose truth is kept elsewhere (set before the widget is drawn)."""
    st.session_state[widget_key] = value


def pick_active() -> None:
    st.session_state["active_run"] = st.session_state["active_pick"]


def pick_compared() -> None:
    st.session_state["compare"] = list(st.session_state["compare_pick"])


def history_section() -> None:
    history = runs()
    st.subheader("Run history")
    if not history:
        st.caption("Runs of this session appear here (only you see them).")
        return
    scores = scores_by_run()
    rows = []
    for index, run in enumerate(history):
        hp, last = run.hparams, run.final
        score = scores.get(index)
        rows.append({
            "run": index + 1, "status": run.status,
            "active": "✓" if index == st.session_state["active_run"] else "",
            "hidden": hp.hidden_units, "lr": hp.learning_rate, "beta": hp.momentum, "batch": hp.batch_size,
            "epochs": f"{len(run.history)}/{hp.epochs}", "seed": hp.seed, "activation": hp.activation,
            "train cost": last.train_cost if last else None,
            "test cost": score[0] if score else None,
            "test accuracy": 100 * score[1] if score else None,
            "time (s)": run.train_seconds,
        })
    st.dataframe(rows, hide_index=True, column_config={
        "lr": st.column_config.NumberColumn(format="%g"),
        "train cost": st.column_config.NumberColumn(format="%.4f"),
        "test cost": st.column_config.NumberColumn(format="%.4f"),
        "test accuracy": st.column_config.NumberColumn(format="%.2f%%"),
        "time (s)": st.column_config.NumberColumn(format="%.1f"),
    })

    indices = list(range(len(history)))
    labels = [run_label(i) for i in indices]  # a plain list: widgets may format options outside the script
    sync_widget("active_pick", st.session_state["active_run"])
    st.selectbox("Active model (used by Evaluate and Draw)", indices, key="active_pick", format_func=labels.__getitem__,
                 on_change=pick_active, placeholder="none yet")
    sync_widget("compare_pick", [i for i in st.session_state.setdefault("compare", []) if i in indices])
    chosen = st.multiselect("Compare the test cost of runs", indices, key="compare_pick", format_func=labels.__getitem__,
                            on_change=pick_compared)
    curves = [(f"#{i + 1} {history[i].status}", history[i]) for i in chosen if history[i].history]
    if curves:
        st.plotly_chart(runs_test_cost_figure(curves), config=PLOT_CONFIG)


def model_files_section() -> None:
    st.subheader("Model file")
    run = active_run()
    left, right = st.columns(2)
    with left:
        if run is None:
            st.caption("Train or upload a model to download it.")
        else:
            index = st.session_state["active_run"]
            st.download_button(
                "Download active model (.npz)", key="download",
                data=lambda: model_bytes(run.model, run.hparams, run.metrics()),
                file_name=f"mnist-mlp-run{index + 1}-h{run.hparams.hidden_units}.npz",
                mime="application/octet-stream", on_click="ignore",
                help="Weights, settings and final metrics as plain arrays (no pickle).")
    with right:
        upload = st.file_uploader("Upload a model (.npz) to make it active", type=["npz"], key="upload")
        if upload is not None:
            add_uploaded(upload)


def add_uploaded(upload) -> None:
    """Make an uploaded model active, once per file; a bad file changes nothing and says why."""
    done = st.session_state.setdefault("uploads_added", {})  # file_id -> run index
    if upload.file_id in done:
        st.success(f"{upload.name} is run #{done[upload.file_id] + 1}.")
        return
    try:
        model, hparams, metrics = load_model(upload.getvalue())
    except ModelFileError as error:
        st.error(f"{upload.name} is not a model this app can use: {error}. Nothing was changed.")
        return
    seconds = metrics.get("train_seconds", 0.0)
    result = RunResult(hparams=hparams, model=model, history=[], batch_costs=np.empty(0, np.float32),
                       batches_per_epoch=math.ceil(len(mnist().train_images) / hparams.batch_size),
                       status="uploaded", train_seconds=float(seconds) if isinstance(seconds, (int, float)) else 0.0)
    index = keep_run(result)
    done[upload.file_id] = index
    st.success(f"{upload.name} is now the active model (run #{index + 1}, test accuracy "
               f"{scores_by_run()[index][1]:.2%}).")


# --- the page ---------------------------------------------------------------------------------

st.title("Train")
st.caption("A 784-H-10 network, trained from scratch with NumPy on the 60,000 MNIST training images and "
           "scored on the 10,000 test images. The defaults are the seed post's run.")
mnist()  # load once per server, with a spinner the first time

read_settings_from_url()
for problem in st.session_state.pop("url_problems", []):  # shown once, when the link is opened
    st.warning(f"Ignored a setting in the link: {problem}.")

settings_column, panel_column = st.columns([1, 2.4], gap="large")
with settings_column:
    hparams = settings_form()
write_settings_to_url(hparams)
panel = panel_column.container()

st.divider()
history_section()
model_files_section()

# The training fragment comes last in the script, drawn into its place above: when it reruns the
# whole page (see rerun_panel) everything else has already been drawn.
with panel:
    training_panel(hparams)
