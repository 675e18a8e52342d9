"""Growth: Piper synthesis time against text length, and list latency against history size.

1. Text length (100..5,000 characters): our `PiperEngine` (sentence splitting, Piper, joining, WAV
   encoding) in a process of its own (bench.engine_worker), lengths in shuffled order, repeated while
   a time budget lasts. A least-squares line through the per-length medians gives the per-character
   cost and R². Bar (linear): R² >= 0.98 and the per-character cost of the longest text <= 1.2 x that
   of the 1,000-character text.
2. History size (10..10,000 audio records of one user, inserted straight into the sqlite store through
   core.storage, no synthesis): latency of GET /audio?limit=20 (newest page), GET /audio with a
   cursor to the oldest page, and GET /voices on the local server, sequential requests on one
   keep-alive connection, interleaved. Bar (flat): p50 at 10,000 <= 1.5 x p50 at 10, per endpoint.
   The store queries behind them are also timed in-process, and the plans of the SQL the store runs
   are recorded.
"""

from __future__ import annotations

import functools
import random
import sys
import time
from typing import Any

from bench.engine_worker import Worker
from bench.fixtures import direct_user, insert_history
from bench.results import Figure, Profile, Result, Table, ratio
from bench.servers import Server, temp_dir
from bench.stats import linear_fit, median, per_call_us, percentile
from bench.texts import text_of_length

LINEAR_R2 = 0.98
LINEAR_RATIO = 1.2
FLAT_RATIO = 1.5


def _text_length(profile: Profile, result: Result) -> None:
    lengths = profile.pick([100, 250, 500, 1000, 2000, 3500, 5000], [100, 500, 1000, 2000], [100, 300])
    max_reps, budget_s = profile.pick((3, 150.0), (1, 0.0), (1, 0.0))
    samples: dict[int, list[float]] = {n: [] for n in lengths}
    audio: dict[int, float] = {}
    rng = random.Random(5)
    with Worker("engine") as worker:
        started = time.perf_counter()
        for rep in range(max_reps):
            elapsed = time.perf_counter() - started
            if rep and elapsed + elapsed / rep > budget_s:
                break
            order = list(lengths)
            rng.shuffle(order)
            for n in order:
                seconds, audio[n] = worker.call(text_of_length(n))
                samples[n].append(seconds)
            print(f"  text lengths, repeat {rep + 1} done", file=sys.stderr)
    # The line is fitted to the median of each length: single runs on this shared machine carry
    # outliers that would say more about the neighbours' load than about the engine.
    xs = [float(n) for n in lengths]
    ys = [median(samples[n]) * 1e3 for n in lengths]
    slope, intercept, r2 = linear_fit(xs, ys)
    per_char = {n: median(samples[n]) * 1e3 / n for n in lengths}
    reference = 1000 if 1000 in lengths else lengths[0]
    longest = lengths[-1]
    result.tables.append(
        Table(
            "our PiperEngine, own process: time against text length",
            ["chars", "runs", "median ms", "ms per char", "audio s", "real-time factor", "line fit ms"],
            [
                [
                    n,
                    len(samples[n]),
                    median(samples[n]) * 1e3,
                    per_char[n],
                    audio[n],
                    median(samples[n]) / audio[n] if audio[n] else None,
                    slope * n + intercept,
                ]
                for n in lengths
            ],
        )
    )
    r = ratio(per_char[longest], per_char[reference])
    result.figures.append(
        Figure(
            f"synthesis per character at {longest:,} chars",
            per_char[longest],
            "ms/char",
            per_char[reference],
            f"per character at {reference:,} chars",
            r,
            f"R² >= {LINEAR_R2} and ratio <= {LINEAR_RATIO}",
            r2 >= LINEAR_R2 and r <= LINEAR_RATIO,
            f"line: {slope:.3f} ms/char + {intercept:.0f} ms, R² = {r2:.4f}",
        )
    )


def _history(profile: Profile, result: Result) -> None:
    import httpx

    from core.records import keys
    from core.services import voices
    from core.storage.base import encode_cursor
    from core.tts.piper import PiperEngine

    sizes = profile.pick([10, 100, 1000, 10000], [10, 100, 1000, 10000], [10, 100])
    requests = profile.pick(200, 60, 10)
    rows: list[list[Any]] = []
    store_rows: list[list[Any]] = []
    p50: dict[str, dict[int, float]] = {}
    with temp_dir("growth") as tmp:
        data_dir = tmp / "data"
        user = direct_user(data_dir)
        engine = PiperEngine()
        pk = keys.user_pk(user.user_id)
        with (
            Server("local_server:app", data_dir) as server,
            httpx.Client(base_url=server.url, headers=user.headers, timeout=60) as client,
        ):
            have = 0
            for size in sizes:
                insert_history(user.store, user.user_id, size - have)
                have = size
                oldest = user.store.query(pk, sk_prefix=keys.AUDIO, limit=21).items
                deep = encode_cursor(oldest[min(20, len(oldest) - 1)]["sk"])
                paths = {
                    "GET /audio?limit=20": ("/audio", {"limit": "20"}),
                    "GET /audio?limit=20&cursor=(oldest page)": ("/audio", {"limit": "20", "cursor": deep}),
                    "GET /voices": ("/voices", {}),
                }
                for path, params in paths.values():
                    client.get(path, params=params).raise_for_status()
                latencies: dict[str, list[float]] = {name: [] for name in paths}
                for _ in range(requests):
                    for name, (path, params) in paths.items():
                        started = time.perf_counter()
                        client.get(path, params=params).raise_for_status()
                        latencies[name].append((time.perf_counter() - started) * 1e3)
                store_us = {
                    "audio query (newest 20)": per_call_us(
                        lambda: user.store.query(pk, sk_prefix=keys.AUDIO, limit=20, descending=True)
                    ),
                    "voices.list_voices": per_call_us(
                        lambda: voices.list_voices(user.store, engine, user_id=user.user_id)
                    ),
                }
                for name, values in latencies.items():
                    p50.setdefault(name, {})[size] = percentile(values, 50)
                    rows.append([size, name, percentile(values, 50), percentile(values, 90), len(values)])
                store_rows.append([size, *store_us.values()])
                print(f"  history {size} done", file=sys.stderr)
        result.diagnostics += _query_plans(user.store, pk, deep)
    result.tables.append(
        Table("list latency against history size (ms)", ["items", "endpoint", "p50", "p90", "n"], rows)
    )
    result.tables.append(
        Table(
            "the same store work in-process (µs per call)",
            ["items", "store.query AUDIO# newest 20", "voices.list_voices"],
            store_rows,
        )
    )
    small, large = sizes[0], sizes[-1]
    for name, by_size in p50.items():
        r = ratio(by_size[large], by_size[small])
        result.figures.append(
            Figure(
                f"{name} p50 at {large:,} items",
                by_size[large],
                "ms",
                by_size[small],
                f"p50 at {small} items",
                r,
                f"ratio <= {FLAT_RATIO}",
                r <= FLAT_RATIO,
            )
        )


def _query_plans(store: Any, pk: str, deep: str) -> list[str]:
    """The plan and cost of the SQL that SqliteStore actually runs for each list query (captured with
    sqlite's trace callback, bound values expanded), at the largest history."""
    from core.records import keys

    conn = store._conn()  # a benchmark may look inside: the plan is what explains the figures
    queries = {
        "GET /voices (VOICE#, ascending)": {"sk_prefix": keys.VOICE, "limit": 100},
        "GET /audio newest page (AUDIO#, descending)": {"sk_prefix": keys.AUDIO, "limit": 20, "descending": True},
        "GET /audio oldest page (AUDIO#, descending, cursor)": {
            "sk_prefix": keys.AUDIO,
            "limit": 20,
            "descending": True,
            "cursor": deep,
        },
    }
    out = []
    for label, kwargs in queries.items():
        seen: list[str] = []
        conn.set_trace_callback(seen.append)
        try:
            store.query(pk, **kwargs)
        finally:
            conn.set_trace_callback(None)
        sql = next((q for q in seen if q.lstrip().upper().startswith("SELECT")), None)
        if sql is None:
            continue
        plan = "; ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        took = per_call_us(functools.partial(store.query, pk, **kwargs), seconds=0.2)
        out.append(f"{label}: sqlite plan `{plan}`; {took / 1e3:.2f} ms per query at the largest history.")
    return out


def run(profile: Profile) -> Result:
    result = Result("growth", "Growth: synthesis vs text length, lists vs history size", profile.name)
    result.params = {"linear_bar": f"R² >= {LINEAR_R2}, ratio <= {LINEAR_RATIO}", "flat_bar": FLAT_RATIO}
    _text_length(profile, result)
    _history(profile, result)
    return result
