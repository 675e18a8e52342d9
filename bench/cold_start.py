"""Cold start of every light Lambda handler versus a bare FastAPI + Mangum hello-world handler.

For each module in handlers/ (except runpod_worker), a fresh `python -c` process imports the module
and answers one Lambda HTTP API v2 event through `handler(event, context)`; the wall time of the
whole process (interpreter start included) is measured from the parent. The baseline
(bench/baseline_handler.py, GET /hello) runs the same way in the same rounds, in shuffled order.
Each process also reports which heavy packages were in sys.modules after the import and after the
event. Bar: median wall time <= 1.5 x the baseline's, and neither torch nor onnxruntime imported.

Events (a real request each, against a sqlite store prepared under a temp DATA_DIR): status GET
/health; auth POST /auth/refresh with a fresh refresh token; profile GET /profile; voices GET
/voices; audio GET /audio?limit=20; synthesize POST /synthesize with blank text (auth, engine
construction and validation, answered 422 before any synthesis). A first real synthesis through the
synthesize handler is measured too, without a bar: it must import onnxruntime to speak.
Handlers without a known event get a generic authenticated request: their first GET route without
path parameters, else their first route with an empty JSON body (answered with a 4xx).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench import PYTHON, ROOT
from bench.cold_start_events import BASELINE, REAL_SYNTH, Target, event_for, expected_status, handler_modules
from bench.fixtures import direct_user, insert_history
from bench.results import Figure, Profile, Result, Table, ratio
from bench.servers import bench_env, temp_dir
from bench.stats import median

BAR = 1.5
MUST_NOT = ("torch", "onnxruntime")
HEAVY = ("torch", "chatterbox", "onnxruntime", "piper", "perth", "scipy", "parselmouth", "librosa")

CHILD = """
import time
t0 = time.perf_counter()
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
t1 = time.perf_counter()
after_import = sorted({n.split('.')[0] for n in sys.modules})
class Context:
    function_name = 'bench'
    memory_limit_in_mb = 512
    aws_request_id = 'bench'
    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:bench'
    def get_remaining_time_in_millis(self):
        return 30000
with open(sys.argv[2]) as handle:
    event = json.load(handle)
response = module.handler(event, Context())
t2 = time.perf_counter()
after_event = sorted({n.split('.')[0] for n in sys.modules})
print(json.dumps({'import_s': t1 - t0, 'event_s': t2 - t1, 'status': response['statusCode'],
                  'after_import': after_import, 'after_event': after_event}))
"""


def _run_child(target: Target, event_path: Path, env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    out = subprocess.run(
        [PYTHON, "-c", CHILD, target.module, str(event_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"{target.label} failed:\n{out.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    data["wall_s"] = wall
    return data


def _importtime(target: Target, event_path: Path, env: dict[str, str]) -> dict[str, tuple[int, str | None]]:
    """module -> (self µs, nearest project module that imported it) for one cold process."""
    out = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", CHILD, target.module, str(event_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    parent: dict[str, str] = {}
    pending: dict[int, list[str]] = defaultdict(list)
    self_us: dict[str, int] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        head, _cumulative, rest = line.split("|", 2)
        name_part = rest[1:]
        level = (len(name_part) - len(name_part.lstrip(" "))) // 2
        name = name_part.strip()
        self_us[name] = int(head.replace("import time:", "").strip())
        for child in pending.pop(level + 1, []):
            parent[child] = name
        pending[level].append(name)

    def via(name: str) -> str | None:
        seen = name
        while seen in parent:
            seen = parent[seen]
            if seen.split(".")[0] in ("core", "handlers", "bench", "local_server"):
                return seen
        return None

    return {name: (us, via(name)) for name, us in self_us.items()}


def _explain(worst: str, handler_times: dict[str, tuple[int, str | None]], base: set[str]) -> list[str]:
    by_package: dict[str, int] = defaultdict(int)
    importers: dict[str, set[str]] = defaultdict(set)
    for name, (us, importer) in handler_times.items():
        if name in base or name.split(".")[0] in ("core", "handlers"):
            continue
        top = name.split(".")[0]
        by_package[top] += us
        importers[top].add(importer or "(during the event)")
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])[:10]
    total = sum(by_package.values()) / 1e3
    parts = [f"{pkg} {us / 1e3:.0f} ms (via {', '.join(sorted(importers[pkg])[:3])})" for pkg, us in ranked]
    own = sorted(
        ((name, us) for name, (us, _) in handler_times.items() if name.split(".")[0] in ("core", "handlers")),
        key=lambda kv: -kv[1],
    )
    own_parts = [f"{name} {us / 1e3:.0f} ms" for name, us in own[:6]]
    return [
        f"{worst}: {total:.0f} ms of import time (-X importtime, self times) go to packages the baseline "
        f"never imports: " + "; ".join(parts) + ".",
        f"{worst}: the project's own modules take {sum(us for _, us in own) / 1e3:.0f} ms to execute at import "
        "(building pydantic models, FastAPI routes and the app): " + "; ".join(own_parts) + ".",
    ]


def run(profile: Profile) -> Result:
    rounds = profile.pick(7, 2, 1)
    synth_rounds = profile.pick(3, 1, 0)
    result = Result("cold_start", "Cold start of the light Lambda handlers", profile.name)
    modules = handler_modules()
    result.params = {"rounds": rounds, "real_synthesis_rounds": synth_rounds, "handlers": modules, "bar": BAR}
    targets = [Target(BASELINE, BASELINE, 200)] + [Target(m, m, expected_status(m)) for m in modules]
    samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rng = random.Random(6)
    with temp_dir("cold") as tmp:
        data_dir = tmp / "data"
        user = direct_user(data_dir)
        insert_history(user.store, user.user_id, 20)
        env = bench_env(data_dir)
        for index in range(max(rounds, synth_rounds)):
            order = list(targets) if index < rounds else []
            if index < synth_rounds:
                order.append(Target(REAL_SYNTH, "handlers.synthesize", 200))
            rng.shuffle(order)
            for target in order:
                event_path = tmp / "event.json"
                event_path.write_text(json.dumps(event_for(target, user)))
                sample = _run_child(target, event_path, env)
                expected = target.expect
                if sample["status"] != expected and (expected is not None or sample["status"] >= 500):
                    raise RuntimeError(f"{target.label}: status {sample['status']}, expected {expected or '< 500'}")
                samples[target.label].append(sample)
            print(f"  round {index + 1} done", file=sys.stderr)
        base_wall = median([s["wall_s"] for s in samples[BASELINE]])
        rows: list[list[Any]] = []
        misses: list[tuple[float, Target]] = []
        for target in [*targets, Target(REAL_SYNTH, "handlers.synthesize", 200)]:
            runs = samples.get(target.label)
            if not runs:
                continue
            wall = median([s["wall_s"] for s in runs])
            heavy_import = sorted(set(runs[-1]["after_import"]) & set(HEAVY))
            heavy_event = sorted(set(runs[-1]["after_event"]) & set(HEAVY))
            rows.append(
                [
                    target.label,
                    wall * 1e3,
                    min(s["wall_s"] for s in runs) * 1e3,
                    median([s["import_s"] for s in runs]) * 1e3,
                    median([s["event_s"] for s in runs]) * 1e3,
                    runs[-1]["status"],
                    ", ".join(heavy_import) or "none",
                    ", ".join(heavy_event) or "none",
                ]
            )
            if target.label == BASELINE:
                continue
            r = ratio(wall, base_wall)
            forbidden = sorted(set(runs[-1]["after_event"]) & set(MUST_NOT))
            real = target.label == REAL_SYNTH
            passed = None if real else (r <= BAR and not forbidden)
            note = f"imports {', '.join(forbidden)}" if forbidden else "no torch/onnxruntime"
            if real:
                note = "first real synthesis (loads onnxruntime + the Piper voice); no bar"
            result.figures.append(
                Figure(
                    f"cold start {target.label}",
                    wall * 1e3,
                    "ms",
                    base_wall * 1e3,
                    "FastAPI+Mangum hello world",
                    r,
                    "" if real else f"ratio <= {BAR}, no torch/onnxruntime",
                    passed,
                    note,
                )
            )
            if passed is False:
                misses.append((r, target))
        result.tables.append(
            Table(
                f"process wall time, median of {rounds} (ms)",
                [
                    "target",
                    "wall p50",
                    "wall min",
                    "import",
                    "first event",
                    "status",
                    "heavy after import",
                    "heavy after event",
                ],
                rows,
            )
        )
        worst = (
            max(misses, key=lambda m: m[0])[1]
            if misses
            else max(targets[1:], key=lambda t: median([s["wall_s"] for s in samples[t.label]]))
        )
        event_path = tmp / "event.json"
        event_path.write_text(json.dumps(event_for(Target(BASELINE, BASELINE, 200), user)))
        base_names = set(_importtime(Target(BASELINE, BASELINE, 200), event_path, env))
        event_path.write_text(json.dumps(event_for(worst, user)))
        result.diagnostics += _explain(worst.label, _importtime(worst, event_path, env), base_names)
    result.notes.append(
        "Wall time is the whole process (interpreter start, imports, app construction, one event through "
        "Mangum) measured by the parent; `import` and `first event` are measured inside the child."
    )
    return result
