"""Running calls really at the same time, for race tests.

Contract: `parallel(n, call)` runs `call(0) .. call(n-1)` on n threads released together by a barrier
and returns their results in index order (an exception in any call is raised here).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def parallel(n: int, call: Callable[[int], T]) -> list[T]:
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))
