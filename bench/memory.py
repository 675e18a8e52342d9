"""Memory: peak RSS of the local server over many Piper syntheses, and of the Chatterbox worker.

1. Piper server: `uvicorn local_server:app` (one worker); a client sends N syntheses (POST /synthesize
   of short texts of varied length, formats cycling wav/mp3/ogg/flac, each file downloaded), and the
   server's RSS is read from /proc/<pid>/status after every request and sampled every 50 ms; the
   kernel's high-water mark (VmHWM) gives the exact peak. Bars: peak <= 512 MiB (Render's smallest
   plan) and RSS after N <= RSS after the warm-up (50 syntheses) + 16 MiB. Baseline: a process that
   only holds raw Piper (`PiperVoice`) and synthesizes the same texts.
2. Chatterbox worker (report the figure): our RunPod worker process (handlers/runpod_worker.py: load,
   prepare a voice, synthesize jobs with it) on the random-weight test checkpoint at REDUCED T3 depth,
   versus plain `ChatterboxTTS.from_local` + `generate(audio_prompt_path=...)` on the same checkpoint.
   In the full run, the worker also loads a full-depth (30-layer) random checkpoint, built once and
   cached (3 GB on disk; skip with --skip-full-depth).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import PYTHON, ROOT
from bench.engine_worker import Worker
from bench.machine import RssSampler, proc_status_mib
from bench.results import Figure, Profile, Result, Table, ratio
from bench.servers import Server, temp_dir
from bench.stats import linear_fit
from bench.texts import text_of_length
from tests.support.users import create_at

LIMIT_MIB = 512.0
GROWTH_MIB = 16.0
STEP_MIB = 8.0
FORMATS = ("wav", "mp3", "ogg", "flac")
TEXTS = tuple(text_of_length(n) for n in (40, 70, 110, 170, 260))
FULL_DEPTH_LAYERS = 30


def _piper_server(profile: Profile, result: Result) -> None:
    import httpx

    total, mark = profile.pick((200, 50), (30, 10), (4, 2))
    raw_runs = profile.pick(50, 15, 4)
    after: list[float] = []
    steps: list[str] = []
    with temp_dir("mem") as tmp, Server("local_server:app", tmp / "data") as server:
        headers = create_at(server.url, "bench")["headers"]
        idle = proc_status_mib(server.pid)
        with (
            RssSampler(server.pid) as sampler,
            httpx.Client(base_url=server.url, headers=headers, timeout=120) as client,
        ):
            for index in range(total):
                body = {"text": TEXTS[index % len(TEXTS)], "format": FORMATS[index % len(FORMATS)]}
                before = after[-1] if after else idle
                made = client.post("/synthesize", json=body)
                made.raise_for_status()
                posted = proc_status_mib(server.pid)
                client.get(f"/audio/{made.json()['audio_id']}").raise_for_status()
                after.append(proc_status_mib(server.pid))
                if index and max(posted - before, after[-1] - posted) > STEP_MIB:
                    steps.append(
                        f"#{index + 1} ({len(body['text'])} chars, {body['format']}): POST {posted - before:+.0f}, "
                        f"GET {after[-1] - posted:+.0f} MiB"
                    )
                if (index + 1) % 50 == 0:
                    print(f"  {index + 1} syntheses, RSS {after[-1]:.0f} MiB", file=sys.stderr)
        peak = max(proc_status_mib(server.pid, "VmHWM"), sampler.peak)
        threads = _threads(server.pid)
    every = max(1, total // 10)
    trajectory = ", ".join(f"{after[i]:.0f}" for i in range(every - 1, total, every))
    result.diagnostics.append(
        f"Server RSS every {every} syntheses (MiB): {trajectory}; "
        f"threads at the end: {threads}. Steps over {STEP_MIB:.0f} MiB after the first synthesis: "
        + ("; ".join(steps) if steps else "none")
        + "."
    )
    with Worker("raw") as worker, RssSampler(worker.pid) as raw_sampler:
        for index in range(raw_runs):
            worker.call(TEXTS[index % len(TEXTS)])
        raw_peak = max(proc_status_mib(worker.pid, "VmHWM"), raw_sampler.peak)
        raw_end = proc_status_mib(worker.pid)
    growth = after[-1] - after[mark - 1]
    tail = list(range(mark, total))
    slope = linear_fit([float(i) for i in tail], [after[i] for i in tail])[0] * 100 if len(tail) > 2 else 0.0
    result.tables.append(
        Table(
            "local server RSS (MiB)",
            [
                "idle",
                "after 1",
                f"after {mark}",
                f"after {total}",
                "peak (VmHWM)",
                "slope after warm-up",
                f"raw Piper process: peak / after {raw_runs}",
            ],
            [
                [
                    idle,
                    after[0],
                    after[mark - 1],
                    after[-1],
                    peak,
                    f"{slope:+.2f} MiB per 100",
                    f"{raw_peak:.0f} / {raw_end:.0f}",
                ]
            ],
        )
    )
    result.figures.append(
        Figure(
            f"local server peak RSS over {total} Piper syntheses",
            peak,
            "MiB",
            raw_peak,
            "process holding raw Piper",
            ratio(peak, raw_peak),
            f"<= {LIMIT_MIB:.0f} MiB",
            peak <= LIMIT_MIB,
        )
    )
    result.figures.append(
        Figure(
            f"RSS growth from {mark} to {total} syntheses",
            growth,
            "MiB",
            after[mark - 1],
            f"RSS after {mark}",
            ratio(after[-1], after[mark - 1]),
            f"<= +{GROWTH_MIB:.0f} MiB",
            growth <= GROWTH_MIB,
        )
    )


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def _probe(args: list[str], timeout: float = 1800) -> dict[str, dict[str, float]]:
    out = subprocess.run(
        [PYTHON, "-m", "bench.memory_probe", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    stages = {}
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            stages[data.pop("stage")] = data
    if out.returncode != 0 or "done" not in stages:
        raise RuntimeError(f"memory probe {args[0]} failed:\n{out.stderr[-3000:]}")
    return stages


def _full_depth(result: Result) -> None:
    from tests.support.chatterbox_ckpt import checkpoint_path, is_complete

    path = checkpoint_path(layers=FULL_DEPTH_LAYERS)
    free_gib = shutil.disk_usage(path.parent if path.parent.exists() else Path(tempfile.gettempdir())).free / 1024**3
    available = _mem_available_gib()
    if not is_complete(path) and (free_gib < 8 or available < 12):
        result.notes.append(
            f"Full-depth load not measured (free disk {free_gib:.0f} GiB, available memory {available:.0f} GiB); "
            "FACTS.md records 6.9 GB RSS to load the full-size checkpoint on this kind of machine."
        )
        return
    started = time.perf_counter()
    code = f"from tests.support.chatterbox_ckpt import ensure_checkpoint; ensure_checkpoint(layers={FULL_DEPTH_LAYERS})"
    subprocess.run([PYTHON, "-c", code], cwd=ROOT, check=True, capture_output=True)
    built = time.perf_counter() - started
    stages = _probe(["worker", str(path), "0"])
    result.params["full_depth_checkpoint_ready_s"] = round(built, 1)
    result.tables.append(
        Table(
            f"our worker, FULL-depth random checkpoint ({FULL_DEPTH_LAYERS} layers): RSS by stage (MiB)",
            ["stage", "RSS", "peak so far", "t s"],
            [[name, s["rss_mib"], s["hwm_mib"], s["t_s"]] for name, s in stages.items()],
        )
    )
    result.figures.append(
        Figure(
            "Chatterbox worker peak RSS, full depth (load + prepare a voice)",
            stages["done"]["hwm_mib"],
            "MiB",
            6.9e9 / 1024**2,
            "FACTS.md: 6.9 GB to load",
            ratio(stages["done"]["hwm_mib"], 6.9e9 / 1024**2),
            note="random weights in the real layout; no synthesis at full depth (time)",
        )
    )


def _mem_available_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def _chatterbox(profile: Profile, result: Result) -> None:
    from tests.support.chatterbox_ckpt import TEST_T3_LAYERS, ensure_checkpoint

    jobs = profile.pick(2, 1, 1)
    checkpoint = ensure_checkpoint()
    ours = _probe(["worker", str(checkpoint), str(jobs)])
    rows: list[list[Any]] = [["our worker", n, s["rss_mib"], s["hwm_mib"], s["t_s"]] for n, s in ours.items()]
    plain: dict[str, dict[str, float]] | None = None
    if profile.name != "quick":
        plain = _probe(["plain", str(checkpoint), str(jobs), str(TEST_T3_LAYERS)])
        rows += [["plain ChatterboxTTS", n, s["rss_mib"], s["hwm_mib"], s["t_s"]] for n, s in plain.items()]
    result.tables.append(
        Table(
            f"Chatterbox processes, REDUCED-depth random checkpoint (T3 {TEST_T3_LAYERS} of 30 layers): RSS (MiB)",
            ["process", "stage", "RSS", "peak so far", "t s"],
            rows,
        )
    )
    peak = ours["done"]["hwm_mib"]
    base = plain["done"]["hwm_mib"] if plain else None
    result.figures.append(
        Figure(
            f"Chatterbox worker peak RSS, reduced depth ({TEST_T3_LAYERS} layers), {jobs} job(s)",
            peak,
            "MiB",
            base,
            "plain ChatterboxTTS + generate(audio_prompt_path)" if plain else "",
            ratio(peak, base) if base else None,
            note="reduced-depth random checkpoint: not the production figure",
        )
    )
    if jobs > 1:
        first, last = ours["job 1"]["rss_mib"], ours[f"job {jobs}"]["rss_mib"]
        result.figures.append(
            Figure(
                f"Chatterbox worker RSS growth, job 1 -> job {jobs}",
                last - first,
                "MiB",
                first,
                "RSS after job 1",
                ratio(last, first),
            )
        )
    if profile.name == "full" and "--skip-full-depth" not in profile.flags:
        _full_depth(result)
    else:
        result.notes.append(
            "Full-depth load not measured in this run; FACTS.md records 6.9 GB RSS to load the full-size "
            "checkpoint on this kind of machine."
        )


def run(profile: Profile) -> Result:
    result = Result("memory", "Memory: local server with Piper, Chatterbox worker", profile.name)
    result.params = {"limit_mib": LIMIT_MIB, "growth_mib": GROWTH_MIB, "texts_chars": [len(t) for t in TEXTS]}
    _piper_server(profile, result)
    _chatterbox(profile, result)
    return result
