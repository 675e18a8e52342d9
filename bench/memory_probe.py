"""Chatterbox processes whose memory the memory benchmark reads: run in a fresh interpreter each.

Run: `python -m bench.memory_probe worker CHECKPOINT JOBS` or `... plain CHECKPOINT JOBS LAYERS`.
- worker: our RunPod worker process as deployed (handlers/runpod_worker.py, CHATTERBOX_CHECKPOINT_DIR
  and CHATTERBOX_DEVICE=cpu from the environment): the model is loaded once (`engine()`, as `main()`
  does), one prepare_voice job stores a custom voice, then JOBS synthesize jobs speak with its
  conditionals (JOBS=0: load and prepare only).
- plain: the library as a user would call it: `ChatterboxTTS.from_local` (T3 depth LAYERS), then JOBS
  calls of `generate(text, audio_prompt_path=clip)`.
Each stage prints one JSON line {"stage", "rss_mib", "hwm_mib", "t_s"} (from /proc/self/status);
the last line has stage "done". torch runs with one intra-op thread (as in bench.chatterbox_voice).
Nothing here is imported by the product.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

TEXT = "Hello, this is my own cloned voice, reading one short sentence for the benchmark."
_STARTED = time.perf_counter()


def report(stage: str) -> None:
    from bench.machine import proc_status_mib

    print(
        json.dumps(
            {
                "stage": stage,
                "rss_mib": round(proc_status_mib("self", "VmRSS"), 1),
                "hwm_mib": round(proc_status_mib("self", "VmHWM"), 1),
                "t_s": round(time.perf_counter() - _STARTED, 2),
            }
        ),
        flush=True,
    )


def _clip_wav() -> bytes:
    import soundfile as sf

    from tests.support.chatterbox_ckpt import synthetic_voice

    buffer = io.BytesIO()
    sf.write(buffer, synthetic_voice(seconds=4.0), 24000, format="WAV")
    return buffer.getvalue()


def worker(checkpoint: Path, jobs: int) -> None:
    os.environ["CHATTERBOX_CHECKPOINT_DIR"] = str(checkpoint)
    os.environ["CHATTERBOX_DEVICE"] = "cpu"
    from handlers import runpod_worker

    report("imported")
    _one_thread()
    runpod_worker.engine()
    report("loaded")
    clip = base64.b64encode(_clip_wav()).decode()
    prepared = runpod_worker.handler({"input": {"action": "prepare_voice", "voice": {"reference_base64": clip}}})
    if "error" in prepared:
        raise RuntimeError(prepared["error"])
    report("voice prepared")
    voice = {"conditionals_base64": prepared["conditionals_base64"]}
    for index in range(jobs):
        job = {"input": {"text": TEXT, "voice": voice, "options": {"seed": index}, "format": "wav"}}
        out = runpod_worker.handler(job)
        if "error" in out:
            raise RuntimeError(out["error"])
        report(f"job {index + 1}")


def plain(checkpoint: Path, jobs: int, layers: int) -> None:
    import tempfile

    import torch
    from chatterbox.tts import ChatterboxTTS

    from core.tts.chatterbox_checkpoint import t3_depth

    report("imported")
    _one_thread()
    with t3_depth(layers):
        model = ChatterboxTTS.from_local(checkpoint, "cpu")
    report("loaded")
    with tempfile.NamedTemporaryFile(suffix=".wav") as clip:
        clip.write(_clip_wav())
        clip.flush()
        for index in range(jobs):
            torch.manual_seed(index)
            model.generate(TEXT, audio_prompt_path=clip.name)
            report(f"job {index + 1}")


def _one_thread() -> None:
    """One torch thread: on the shared 2-core machine two OpenMP threads thrash (see chatterbox_voice)."""
    import torch

    torch.set_num_threads(1)


def main(argv: list[str]) -> None:
    kind, checkpoint, jobs = argv[0], Path(argv[1]), int(argv[2])
    if kind == "worker":
        worker(checkpoint, jobs)
    else:
        plain(checkpoint, jobs, int(argv[3]))
    report("done")


if __name__ == "__main__":
    main(sys.argv[1:])
