"""RunPod serverless worker: Chatterbox synthesis jobs on a GPU (the far side of `core.tts.runpod`).

Contract:
- Importing this module has no side effects: no model load, no torch import, no server start.
  Run it as `python -m handlers.runpod_worker` from the repository root (the image's CMD).
  `runpod.serverless.start` runs only under `__main__`, after the model has been loaded once (a
  worker loads Chatterbox once, then serves many jobs with it).
- The model is a process-wide lazy singleton (`engine()`): `core.tts.chatterbox.ChatterboxEngine`
  built from Settings (CHATTERBOX_CHECKPOINT_DIR, unset: the Hugging Face cache; CHATTERBOX_DEVICE,
  default "auto"); the engine reads T3's depth from the checkpoint itself.
- A job (`handler`) is `core.tts.worker.handle`: its input is `core.schemas.worker.JobInput` (the
  accepted input is documented there), its outputs and error outputs are documented in core.tts.worker.
  Reference clips are decoded under MAX_UPLOAD_DECODED_SAMPLES, as uploads to the API are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from core.config import get_settings
from core.tts import worker
from core.tts.chatterbox import ChatterboxEngine

log = logging.getLogger("runpod_worker")

_engine: ChatterboxEngine | None = None
_engine_lock = threading.Lock()


def engine() -> ChatterboxEngine:
    """The worker's Chatterbox engine, built and loaded on first use (then reused for every job)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                settings = get_settings()
                built = ChatterboxEngine(settings.chatterbox_checkpoint_dir, device=settings.chatterbox_device)
                built.load()
                _engine = built
    return _engine


def handler(job: Mapping[str, Any]) -> dict[str, Any]:
    """RunPod entry: one job in, its output (or {"error": ...}) out. Never raises."""
    return worker.handle(job.get("input"), load=engine, max_samples=get_settings().max_upload_decoded_samples)


def main() -> None:
    import runpod  # the serverless SDK: only when run as the worker, never on import

    logging.basicConfig(level=logging.INFO)
    started = time.perf_counter()
    engine()  # load once, before the first job
    log.info("chatterbox loaded in %.1f s", time.perf_counter() - started)
    runpod.serverless.start({"handler": handler})


if __name__ == "__main__":
    main()
