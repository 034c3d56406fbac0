"""Timing helpers shared by the benchmarks (each benchmark is also a script of its own)."""
from __future__ import annotations

import time


def best_of(fn, repeats: int) -> float:
    """The shortest of `repeats` wall-clock runs of fn(), in seconds (the least disturbed one)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
