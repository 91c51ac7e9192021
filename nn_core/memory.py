"""Giving memory back to the system once what held it has gone.

CPython frees a dropped session's arrays and objects, but glibc's allocator keeps the freed heap
pages (small objects come from its arenas, and numpy's medium arrays too) in the process: the
server's RSS stays at its peak though nothing uses it. ``malloc_trim(0)`` returns the free pages at
the top and inside the arenas. Elsewhere than glibc nothing is done.
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


def release_memory() -> bool:
    """Collect unreachable cycles, then hand free heap pages back to the system; True if trimmed."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
