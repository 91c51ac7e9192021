"""What one server shares between all its sessions: the read-only dataset and the BLAS setting."""

from __future__ import annotations

import streamlit as st

from nn_core import LocalBackend, Mnist, load_mnist


@st.cache_resource
def one_blas_thread():
    """Pin BLAS to one thread for the whole server, once. Sessions train in threads of one process;
    a per-run limit would be entered and restored by concurrent sessions in any order, leaving some
    chunks on two threads that then wait on each other for a shared core."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


@st.cache_resource(show_spinner="Loading MNIST (once per server)…")
def mnist() -> Mnist:
    """The four MNIST arrays as uint8, one read-only copy for all sessions."""
    return load_mnist().read_only()


@st.cache_resource
def local_backend() -> LocalBackend:
    """Training in this server's process, on the shared dataset."""
    return LocalBackend(mnist())
