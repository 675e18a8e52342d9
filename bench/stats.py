"""Statistics and timing helpers of the benchmarks (median, percentiles, a least-squares line, per-call
time). Nothing here asserts a timing: the benchmarks compare figures against baselines they measure."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares line: (slope, intercept, r_squared)."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx if sxx else 0.0
    intercept = mean_y - slope * mean_x
    ss_tot = sum((y - mean_y) ** 2 for y in ys)
    ss_res = sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys, strict=True))
    return slope, intercept, (1.0 - ss_res / ss_tot) if ss_tot else 1.0


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """(seconds, return value) of one call."""
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def per_call_us(fn: Callable[[], Any], *, seconds: float = 0.3) -> float:
    """Mean microseconds per call of `fn`, calling it repeatedly for about `seconds` (after one warm-up)."""
    fn()
    calls = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()
        calls += 1
    return (time.perf_counter() - started) / max(calls, 1) * 1e6
