"""Hostile texts: peak RSS of the default server (Piper) over the texts of issue 10, and what each costs.

A fresh `uvicorn local_server:app` (Piper, default Settings: MAX_AUDIO_SECONDS_PER_REQUEST 360) gets, in
order, POST /synthesize (wav) of: 200 emoji separated by spaces (399 characters), 100 CJK ideographs, one
5,000-character word, 5,000 characters of ordinary English prose, and the same prose at speed 0.5. For
each: the answer (200 with the stored audio's duration, or the refusal code with the estimate), the
server's RSS after it, and the kernel's high-water mark (VmHWM) so far; RSS is also sampled every 50 ms.
Bar: the peak stays under 512 MiB (Render's smallest plan). Baseline: the server's RSS once idle with the
model loaded (after a one-word synthesis). Before issue 10's fix the emoji text alone took a fresh server
from 68 MB to 2.9 GB (one onnxruntime call of 106 s of audio, its arena never given back); that is not
re-run here (it would take 2.9 GB of a shared machine).
"""

from __future__ import annotations

import time

from bench.machine import RssSampler, proc_status_mib
from bench.results import Figure, Profile, Result, Table
from bench.servers import Server, temp_dir
from bench.texts import text_of_length
from tests.support.users import create_at

LIMIT_MIB = 512.0


def texts(profile: Profile) -> list[tuple[str, str, float]]:
    scale = profile.pick(1, 1, 10)  # smoke: a tenth of each text
    return [
        ("200 emoji separated by spaces", " ".join(["\U0001f600"] * (200 // scale)), 1.0),
        ("100 CJK ideographs", "".join(chr(0x4E00 + 37 * i) for i in range(100 // scale)), 1.0),
        ("one 5,000-character word", "abcdefghij" * (500 // scale), 1.0),
        ("5,000 characters of prose", text_of_length(5000 // scale), 1.0),
        ("5,000 characters of prose at speed 0.5", text_of_length(5000 // scale), 0.5),
    ]


def run(profile: Profile) -> Result:
    import httpx

    result = Result("abuse_memory", "Hostile texts: server memory and audio cost", profile.name)
    rows: list[list[object]] = []
    with temp_dir("abuse") as tmp, Server("local_server:app", tmp / "data") as server:
        headers = create_at(server.url, "bench")["headers"]
        with httpx.Client(base_url=server.url, headers=headers, timeout=900) as client:
            client.post("/synthesize", json={"text": "Ready.", "format": "wav"}).raise_for_status()
            idle = proc_status_mib(server.pid)
            with RssSampler(server.pid) as sampler:
                for name, text, speed in texts(profile):
                    started = time.perf_counter()
                    answer = client.post("/synthesize", json={"text": text, "format": "wav", "speed": speed})
                    took = time.perf_counter() - started
                    body = answer.json()
                    if answer.status_code == 200:
                        outcome = f"200: {body['duration']:.1f} s of audio"
                    else:
                        error = body["error"]
                        outcome = f"{answer.status_code} {error['code']} {error.get('details') or ''}"
                    rss, hwm = proc_status_mib(server.pid), proc_status_mib(server.pid, "VmHWM")
                    rows.append([name, len(text), speed, outcome, f"{took:.1f}", rss, hwm])
            peak = max(proc_status_mib(server.pid, "VmHWM"), sampler.peak)
            end = proc_status_mib(server.pid)
    result.tables.append(
        Table(
            "each text through POST /synthesize, in order",
            ["text", "chars", "speed", "answer", "wall s", "RSS after (MiB)", "VmHWM so far (MiB)"],
            rows,
        )
    )
    result.figures.append(
        Figure(
            "server peak RSS over the hostile texts",
            peak,
            "MiB",
            idle,
            "same server idle, model loaded",
            peak / idle if idle else None,
            f"<= {LIMIT_MIB:.0f} MiB",
            peak <= LIMIT_MIB,
        )
    )
    result.notes.append(f"RSS at the end: {end:.0f} MiB (idle with the model loaded: {idle:.0f} MiB).")
    return result
