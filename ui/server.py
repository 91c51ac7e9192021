"""What one server shares between all its sessions: the read-only dataset, the BLAS setting, and
the backend that trains every session's runs.

Runs train in worker processes on this machine (one per core) unless a Dask scheduler is named, in
the environment variable ``NN_LAB_SCHEDULER`` or as ``scheduler = "tcp://host:8786"`` in
``.streamlit/secrets.toml``. A malformed address, or a cluster that cannot be used (nothing or not Dask
answering within nn_core.cluster.CONNECT_SECONDS, no worker there, workers that cannot run nn_core),
is reported on the Train page, and the local workers take over.
"""

from __future__ import annotations

import os
import threading
import time
import logging
import weakref
from dataclasses import dataclass

import streamlit as st

from nn_core import Mnist, load_mnist
from nn_core.data import load_shared, share
from nn_core import cluster
from nn_core.cluster import ClusterUnusable, SchedulerAddressError
from nn_core.jobs import DaskBackend, ProcessBackend
from nn_core.memory import limit_arenas, release_memory

SCHEDULER_VARIABLE = "NN_LAB_SCHEDULER"
_LOGGER = logging.getLogger(__name__)


@st.cache_resource
def one_blas_thread():
    """Pin BLAS to one thread for the whole server, once. Sessions train in threads of one process;
    a per-run limit would be entered and restored by concurrent sessions in any order, leaving some
    chunks on two threads that then wait on each other for a shared core.

    threadpoolctl (3.8, pinned in requirements.txt) makes the first thread to set OpenBLAS's limit its only
    "controlling thread" until released, and keeps that thread object: here a session's script
    thread, which holds the session's state (every model of it) long after the session ended. The
    limit stays; the control is released."""
    from threadpoolctl import OpenBLASController, threadpool_limits

    limits = threadpool_limits(limits=1, user_api="blas")
    OpenBLASController.clear_controlling_thread(force=True)
    return limits


SMALL_UPLOAD_MB = 5  # every uploader but the Data page's (.streamlit/config.toml's maxUploadSize is its 50)
JANITOR_SECONDS = 5.0  # how often the server looks for sessions that have ended
_listed: dict[str, weakref.ref] = {}  # the sessions the server listed at the janitor's last look, by id


def _expire_closed_sessions(runtime) -> None:
    """Forget the closed tabs' sessions whose TTL has passed. Streamlit keeps them in a TTL cache that
    reaps expired entries only when it is next written (the next new tab): until then every model,
    map and figure of the last visitors stays in memory however long ago they left."""
    cache = getattr(getattr(runtime._session_mgr, "_session_storage", None), "_cache", None)
    expire = getattr(cache, "expire", None)
    if callable(expire):
        expire()


def empty_ended_session(session) -> None:
    """Shut down a session that the server no longer lists and drop what it still holds. Streamlit
    shuts down a closed tab's session only if it cannot be resumed: one kept for a reconnect and then
    expired is never shut down, so its media and download buttons' files and callables (Train's
    model file, the export's code, which keep the run) stay in the server's media file manager. And
    Streamlit's own loop keeps the last session it sent messages to in a local variable until it
    sends to another (Runtime._loop_coroutine's ``active_session_info``): once the last tab has closed,
    that session's state (the Lab: runs, models, snapshots, maps, figures, a comparison, a fine-tuning
    mix), its fragments (each keeps its arguments, e.g. Evaluate's map its run) and its messages never
    sent would stay. Shutting down twice does nothing."""
    session.shutdown()
    session.session_state.clear()
    fragments = getattr(session, "_fragment_storage", None)
    if fragments is not None:
        fragments.clear()
    session.flush_browser_queue()


def _forget_ended_sessions(runtime) -> None:
    """On the event loop (the only thread that touches the session manager): expire the closed tabs'
    sessions, then empty every session listed at the last look and no longer (closed, expired)."""
    _expire_closed_sessions(runtime)
    listed = {info.session.id: info.session for info in runtime._session_mgr.list_sessions()}
    ended = [_listed.pop(session_id)() for session_id in list(_listed) if session_id not in listed]
    for session in filter(None, ended):
        try:
            empty_ended_session(session)
        except Exception:  # noqa: BLE001  (one session that cannot be emptied leaves the others to be)
            _LOGGER.exception("could not empty an ended session")
    if ended:  # a shut-down session's download files are only marked at first, then deleted by the next call
        runtime.media_file_mgr.remove_orphaned_files()
    _listed.update({session_id: weakref.ref(session) for session_id, session in listed.items()
                    if session_id not in _listed})


def forget_shared_caches() -> None:
    """Once no session is left: empty the caches sessions share that hold their data (Train's health
    figures by run so far, ui.health, at most 32), so that the last visitors' leave nothing."""
    from . import health

    health._live_specs.cache_clear()


def _sessions_after_look(runtime) -> int:
    """Forget the ended sessions (on the event loop) and count those left; -1 if that failed."""
    done = threading.Event()

    def look() -> None:
        try:
            _forget_ended_sessions(runtime)
        finally:
            done.set()

    try:
        runtime._get_async_objs().eventloop.call_soon_threadsafe(look)
        if not done.wait(60):
            return -1
        return runtime._session_mgr.num_sessions()
    except Exception:  # noqa: BLE001  (Streamlit's internals moved: trim on every look)
        return -1


@st.cache_resource
def memory_janitor() -> threading.Thread:
    """Once per server: a thread that frees an ended session's memory and gives it back to the system.
    Streamlit drops a session ``server.disconnectedSessionTTL`` seconds after its tab has gone (.streamlit/
    config.toml), once told to (``_expire_closed_sessions``); what it still holds is dropped
    (``empty_ended_session``), Python frees its runs, maps and figures, but the allocator keeps the
    pages (nn_core.memory): each time the server holds fewer sessions than before, they are released.
    The allocator is also told to keep fewer arenas and to map large arrays on their own (nn_core.memory.
    limit_arenas), so that what is freed can be given back and is reused by the next sessions."""
    def watch() -> None:
        from streamlit.runtime import Runtime

        before = None
        while True:
            time.sleep(JANITOR_SECONDS)
            if not Runtime.exists():
                continue
            now = _sessions_after_look(Runtime.instance())
            if before is None or now < before or now == -1:
                if now == 0:
                    forget_shared_caches()
                release_memory()
            before = now

    limit_arenas()  # before the sessions' script threads make arenas of their own
    thread = threading.Thread(target=watch, name="memory janitor", daemon=True)
    thread.start()
    return thread


@st.cache_resource(show_spinner="Loading MNIST (once per server)…")
def mnist() -> Mnist:
    """The four MNIST arrays as uint8, one read-only copy for all sessions and the training workers:
    verified, written once uncompressed, and mapped from there by every process."""
    return load_shared(share(load_mnist()))


@dataclass(frozen=True)
class Training:
    backend: ProcessBackend | DaskBackend
    where: str  # said on the Train page
    problem: str | None = None  # why the named cluster is not used


def scheduler_address() -> str | None:
    address = os.environ.get(SCHEDULER_VARIABLE, "").strip()
    if not address:
        try:
            address = str(st.secrets.get("scheduler", "")).strip()
        except Exception:  # no secrets file, or one that does not parse: no scheduler named
            address = ""
    return address or None


def session_alive(session_id: str) -> bool | None:
    """Whether a session is still connected to its browser tab: the backend's watchdog stops the runs
    of a session that has gone (Streamlit has no hook for a session's end). None where there is no
    server to ask (AppTest's runtime): then the watchdog goes by how long ago the run was polled."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    there = Runtime.instance()._session_mgr.is_active_session(session_id)
    return there if isinstance(there, bool) else None


@st.cache_resource(show_spinner="Starting the training workers (once per server)…")
def training() -> Training:
    """The server's backend, made once: the named Dask cluster, else local worker processes."""
    address, problem = scheduler_address(), None
    if address is not None:
        try:
            backend = DaskBackend(mnist(), address, cluster.CONNECT_SECONDS)
            backend.owner_alive = session_alive
            workers = backend.workers
            return Training(backend, f"Runs train on the Dask cluster at {address} "
                                     f"({workers} worker{'s' * (workers != 1)}).")
        except (ClusterUnusable, SchedulerAddressError) as error:
            problem = f"{error}. Runs train on this server's own worker processes instead."
    backend = ProcessBackend(mnist())
    backend.owner_alive = session_alive
    threading.Thread(target=backend.warm_up, name="warm-up workers", daemon=True).start()
    return Training(backend, f"Runs train in {backend.workers} worker process{'es' * (backend.workers > 1)} "
                             "on this server.", problem)
