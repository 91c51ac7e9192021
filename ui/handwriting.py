"""The Draw page's "my digits": label a drawing, keep a set of them, and fine-tune the active model
on them as a run of its own (progress and Stop like any run; the result joins the history)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from nn_core import RunStatus
from nn_core.handwriting import MAX_DRAWINGS, MIN_DRAWINGS, DigitSet, DigitSetError, Tuning, fine_tuning
from nn_core.preprocess import SIDE

from . import datasets, runs, server
from .images import enlarge, png, tile
from .state import (DRAW_CANVAS_ROUND, DRAW_DOWNLOAD, DRAW_FIELD, DRAW_REMOVE, DRAW_REMOVE_PICK, DRAW_TUNE,
                    DRAW_TUNE_STOP, DRAW_UPLOAD, full_message, lab)
from .text import plain
from .polling import ended, next_slice, polled_panel, started
from .training import progress_text

TUNE_PANEL = "draw_tune_panel"  # its fragment's key

THUMB_ZOOM = 2  # 28 px -> 56 px
THUMBS_PER_DIGIT = 24  # shown per digit; the count gives the rest


def label_buttons() -> None:
    """"Add this drawing to my digits as" 0-9: a click keeps the input the network just read."""
    st.markdown("**Add this drawing to my digits as**")
    row = st.container(horizontal=True, gap="small")
    for digit in range(10):
        if row.button(str(digit), key=f"draw_label_{digit}", disabled=lab().digits.full):
            add_drawing(digit)


def add_drawing(digit: int) -> None:
    session = lab()
    field = st.session_state.get(DRAW_FIELD)
    if field is None:  # no reading yet (cannot happen from the buttons, which follow a reading)
        return
    session.digits = session.digits.add(field, digit)
    st.session_state[DRAW_CANVAS_ROUND] += 1  # a new, empty canvas for the next drawing
    st.rerun()  # the whole page: "My digits" below shows the new drawing


def strip(images: np.ndarray) -> bytes:
    """Thumbnails (k, 784) uint8 side by side with a grey gap, enlarged, as a lossless PNG."""
    return png(enlarge(tile(images.reshape(-1, SIDE, SIDE), columns=len(images), gap=1, background=96), THUMB_ZOOM))


def my_digits_section() -> None:
    session = lab()
    digits = session.digits
    st.subheader("My digits")
    if not len(digits):
        st.caption("Drawings you label with the buttons above collect here (only in this session, up to "
                   f"{MAX_DRAWINGS}); fine-tune the network on them to teach it your handwriting.")
    else:
        counts = digits.counts()
        st.caption(f"{len(digits)} drawing{'s' * (len(digits) != 1)}: "
                   + ", ".join(f"{count}× {digit}" for digit, count in enumerate(counts) if count))
        for digit in range(10):
            mine = digits.images[digits.labels == digit]
            if len(mine):
                more = f" (the first {THUMBS_PER_DIGIT} shown)" if len(mine) > THUMBS_PER_DIGIT else ""
                st.image(strip(mine[:THUMBS_PER_DIGIT]), caption=f"{digit}: {len(mine)}{more}", output_format="PNG")
        remove_one(digits)
    files_row(digits)


def remove_one(digits: DigitSet) -> None:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    choice = left.selectbox("Drawing to remove", range(len(digits)), key=DRAW_REMOVE_PICK,
                            format_func=lambda i: f"#{i + 1}: a {digits.labels[i]}")
    if right.button("Remove", key=DRAW_REMOVE) and choice is not None and choice < len(digits):
        lab().digits = digits.remove(choice)
        st.rerun()


def files_row(digits: DigitSet) -> None:
    left, right = st.columns(2)
    left.download_button("Download my digits (.npz)", data=digits.to_bytes, file_name="my-digits.npz",
                         mime="application/octet-stream", key=DRAW_DOWNLOAD, on_click="ignore",
                         disabled=not len(digits), help="28x28 images and labels as plain arrays (no pickle).")
    upload = right.file_uploader("Add drawings from a file (.npz)", type=["npz"], key=DRAW_UPLOAD,
                                 max_upload_size=server.SMALL_UPLOAD_MB)
    if upload is not None:
        added, message = add_uploaded(upload)
        (st.success if added else st.error)(message)


def add_uploaded(upload) -> tuple[bool, str]:
    """Add an uploaded set's drawings (once per file): whether it was added, and a message."""
    session = lab()
    seen = session.digit_uploads.get(upload.file_id)
    if seen is not None:
        return seen
    name = plain(upload.name, 80)
    try:
        added = DigitSet.from_bytes(upload.getvalue())
    except DigitSetError as error:
        outcome = False, f"{name} was not added: {plain(str(error))}. Your digits are unchanged."
    else:
        if not len(added):  # a set saved empty: a valid file, but nothing to add
            outcome = False, f"{name} holds no drawings, so nothing was added. Your digits are unchanged."
            session.digit_uploads[upload.file_id] = outcome
            return outcome
        try:
            session.digits = session.digits.extend(added)  # refuses more than MAX_DRAWINGS in all
            outcome = True, f"{name}: added {len(added)} drawing{'s' * (len(added) != 1)}."
        except ValueError:
            outcome = False, (f"{name} was not added: with its {len(added)} drawings you would have more than "
                              f"{MAX_DRAWINGS}. Your digits are unchanged.")
    session.digit_uploads[upload.file_id] = outcome
    return outcome


def start_tuning() -> str | None:
    """Start fine-tuning the active model on my digits; a reason if it cannot start."""
    session = lab()
    digits, base = session.digits, session.active_run
    if not datasets.current().is_mnist:  # my digits are MNIST's ten classes, mixed with MNIST's images
        return "Fine-tuning on your digits works on MNIST: choose MNIST on the Data page first."
    if len(digits) < MIN_DRAWINGS:
        return (f"Too few digits to learn from: you have {len(digits)}, fine-tuning needs at least "
                f"{MIN_DRAWINGS} (three of each digit you want it to learn works well).")
    if session.full:
        return full_message()
    with st.spinner("Making variations of your drawings…"):
        plan = fine_tuning(base.hparams, digits)
    run = runs.start_run(plan.hparams, initial=base.model, mix=plan.mix)
    session.tuning = Tuning.start(run, session.active, base.model, plan, digits)
    return None


def report(session, tuning: Tuning) -> str:
    """What fine-tuning changed, in one message (it says "fine-tuned")."""
    (check_before, own_before), (check_after, own_after) = tuning.before, tuning.after
    run, hp = session.runs[tuning.index], tuning.plan.hparams
    before, after = session.scores.get(tuning.base), session.scores.get(tuning.index)
    test = (f" Test accuracy on MNIST's 10,000 test images: {before.accuracy:.2%} before, {after.accuracy:.2%} "
            "after." if before and after else "")
    ended = "" if run.status == RunStatus.DONE else f" (it {run.status} after {len(run.batch_costs):,} batches)"
    return (f"Run #{tuning.index + 1} is run #{tuning.base + 1} fine-tuned on your {len(tuning.own)} drawings"
            f"{ended}, and is now the active model. {hp.epochs} epochs of {hp.optimizer} at learning rate "
            f"{hp.learning_rate:g} (half the base run's) on all of MNIST's training images plus "
            f"{tuning.variations:,} variations of your "
            f"drawings. On {check_after.total} other variations of your drawings, which training never saw, it "
            f"reads {check_after.fraction:.0%} right (before: {check_before.fraction:.0%}). Your drawings "
            f"themselves, which it trained on: {own_after.right} of {own_after.total} (before: "
            f"{own_before.right}).{test}")


def show_report(session, tuning: Tuning) -> None:
    run = session.runs[tuning.index]
    if run.status == RunStatus.DIVERGED:
        st.error(f"Fine-tuning diverged, so run #{tuning.index + 1} is kept only for its curve and the active "
                 f"model is unchanged. {run.diverged.message}")
    else:
        st.success(report(session, tuning))


def fine_tune_panel() -> None:
    """Fine-tune on my digits, with progress and Stop, then what changed: a fragment that reruns itself
    every POLL_SECONDS while the fine-tuning trains on the workers."""
    session = lab()
    tuning = session.tuning
    running = tuning is not None and tuning.index is None and session.current is tuning.run
    polling = running and tuning.run.trains_in_background
    polled_panel(TUNE_PANEL, _fine_tune_panel, polling)


def _fine_tune_panel() -> None:
    session = lab()
    tuning = session.tuning
    running = tuning is not None and tuning.index is None and session.current is tuning.run
    left, right = st.columns(2)
    start = left.button("Fine-tune on my digits", type="primary", key=DRAW_TUNE, width="stretch",
                        disabled=session.current is not None)
    stop = right.button("Stop", key=DRAW_TUNE_STOP, disabled=not running, width="stretch",
                        help="End fine-tuning now and keep the model trained so far.")
    if session.current is not None and not running:
        st.caption("A run is training on Train: fine-tuning can start when it has ended.")
    if start and not running:
        problem = start_tuning()
        if problem:
            st.warning(problem)
            return
        tuning, running = session.tuning, True
        started(tuning.run.trains_in_background)
    if not running:
        if tuning is not None and tuning.index is not None:
            show_report(session, tuning)
        return
    if stop:
        tuning.run.stop()
    # on workers: read, never waited for; in the polling thread (LocalBackend: tests): a slice of training
    progress = tuning.run.progress() if tuning.run.trains_in_background else tuning.run.poll()
    if progress.finished:
        runs.collect_ended()
        ended()  # the fine-tuned model is the active one
    st.progress(progress.total_batches_done / progress.total_batches,
                text="Fine-tuning · " + progress_text(progress, session.current_started))
    next_slice(tuning.run.trains_in_background)
