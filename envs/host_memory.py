"""Keeping freed host memory for reuse, so large CPU tensors are not returned to the kernel and faulted back in.

glibc's malloc serves every block above 32 MB (a paper-size SimPLe activation at batch 16 is 52 MB) with its
own ``mmap`` and gives it back on ``free``; the next step's tensor of the same size then pays a page fault per
4 KB, which on these machines costs more than the layer's arithmetic. Telling malloc to use its heap for every
block and never trim it makes the freed blocks reusable: SimPLe training on the CPU runs about 1.2x faster
(``benchmarks/world_model_speed.py`` measures both). jemalloc or tcmalloc preloaded (``LD_PRELOAD``) do the
same for a whole process tree, but have to be installed and set before Python starts.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)


@functools.cache
def keep_freed_memory() -> bool:
    """Make this process's malloc keep freed blocks (no ``mmap`` per large block, no trimming). Process-wide and
    for the process's lifetime; its resident memory then stays at its peak. Returns False (and changes
    nothing) where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
