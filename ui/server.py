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
from dataclasses import dataclass

import streamlit as st

from nn_core import Mnist, load_mnist
from nn_core.data import load_shared, share
from nn_core import cluster
from nn_core.cluster import ClusterUnusable, SchedulerAddressError
from nn_core.jobs import DaskBackend, ProcessBackend
from nn_core.memory import release_memory

SCHEDULER_VARIABLE = "NN_LAB_SCHEDULER"


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


def _expire_closed_sessions(runtime) -> None:
    """Forget the closed tabs' sessions whose TTL has passed. Streamlit keeps them in a TTL cache that
    reaps expired entries only when it is next written (the next new tab): until then every model,
    map and figure of the last visitors stays in memory however long ago they left. Run on the event
    loop, whose thread is the only one that touches the session manager."""
    cache = getattr(getattr(runtime._session_mgr, "_session_storage", None), "_cache", None)
    expire = getattr(cache, "expire", None)
    if callable(expire):
        expire()


@st.cache_resource
def memory_janitor() -> threading.Thread:
    """Once per server: a thread that frees an ended session's memory and gives it back to the system.
    Streamlit drops a session ``server.disconnectedSessionTTL`` seconds after its tab has gone (.streamlit/
    config.toml), once told to (``_expire_closed_sessions``); Python then frees its runs, maps and
    figures, but the allocator keeps the pages (nn_core.memory): each time the server holds fewer
    sessions than before, they are released."""
    def watch() -> None:
        from streamlit.runtime import Runtime

        before = None
        while True:
            time.sleep(JANITOR_SECONDS)
            if not Runtime.exists():
                continue
            runtime = Runtime.instance()
            try:
                runtime._get_async_objs().eventloop.call_soon_threadsafe(_expire_closed_sessions, runtime)
                time.sleep(0.5)  # its turn on the event loop
                now = runtime._session_mgr.num_sessions()
            except Exception:  # noqa: BLE001  (Streamlit's internals moved: trim on every look)
                now = -1
            if before is None or now < before or now == -1:
                release_memory()
            before = now

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
