"""The one way a page follows what trains on the workers: Train's run, Compare's variants, Sweep's grid,
the fine-tuning and the drawn classes' run each have a panel (their Start and Stop, their progress, their
live view) drawn as a fragment that reruns itself every ``POLL_SECONDS`` while the session's job trains in
the background (``st.fragment(run_every=...)``), and not at all otherwise. A poll reads the job's
progress and never waits for it; a click on Start or Stop reruns the panel alone.

The whole page reruns only where it shows something new: once after Start, so that the panel is drawn
again polling and the page's settings locked (``started``), and once when the job has ended, for its
results (``ended``). A job of ``LocalBackend`` (AppTest's) trains in the polling thread instead, a slice
per rerun of the whole script (``next_slice``).
"""

from __future__ import annotations

from typing import Callable, NoReturn

import streamlit as st

from .liveview import POLL_SECONDS


def polled_panel(key: str, panel: Callable, polling: bool, *args) -> None:
    """Draw ``panel(*args)`` as the fragment ``key``, rerunning every POLL_SECONDS while ``polling``."""
    st.fragment(panel, run_every=POLL_SECONDS if polling else None, key=key)(*args)


def started(in_background: bool) -> None:
    """After Start (in the panel): a job on the workers wants the whole page once, drawn polling."""
    if in_background:
        st.rerun()


def next_slice(in_background: bool) -> None:
    """The end of a poll of a job that goes on: on the workers nothing (the fragment polls again); in the
    polling thread, the next slice now."""
    if not in_background:
        st.rerun()


def ended() -> NoReturn:
    """The job ended in this poll: the whole page, with its results."""
    st.rerun()
