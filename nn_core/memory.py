"""Giving memory back to the system once what held it has gone.

CPython frees a dropped session's arrays and objects, but glibc's allocator keeps the freed heap
pages (small objects come from its arenas, and numpy's medium arrays too) in the process: the
server's RSS stays at its peak though nothing uses it. ``malloc_trim(0)`` returns the free pages at
the top and inside the arenas. Elsewhere than glibc nothing is done.

glibc also gives each new thread a heap (an "arena") of its own, up to eight per core, and a
Streamlit server starts a thread for every script run: each session's pages then allocate in a new
arena, and what stays live in each (a few objects that outlive a page) pins its pages, so every wave
of visitors left more arenas partly full. And glibc raises its mmap threshold each time a large
block is freed (up to 32 MB), after which arrays that were mapped and unmapped whole are carved out
of the arenas instead. ``limit_arenas`` sets both for the server (``mallopt``): two arenas, and a
fixed threshold of 128 KiB (glibc's starting value), so arrays above it go back to the system when
freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

_libc = None


def _malloc_trim():
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        except OSError:
            _libc = False
    return getattr(_libc, "malloc_trim", None) if _libc else None


M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # mallopt's parameters (malloc.h)
ARENAS = 2
MMAP_THRESHOLD = 128 * 1024


def limit_arenas(arenas: int = ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """At most ``arenas`` malloc arenas from now on, and blocks of ``mmap_threshold`` bytes or more
    mapped on their own (a fixed threshold); True if glibc took both."""
    _malloc_trim()  # loads the C library
    mallopt = getattr(_libc, "mallopt", None) if _libc else None
    if mallopt is None:
        return False
    return bool(mallopt(M_ARENA_MAX, arenas)) & bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold))


def release_memory() -> bool:
    """Collect unreachable cycles, then hand free heap pages back to the system; True if trimmed."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
