"""Speech engines behind one protocol (core.tts.base) and the factory that picks one from Settings.

Contract: `make_engine(settings)` returns the engine named by TTS_ENGINE without loading any model
(engines load lazily on first use). Importing core.tts stays light: Piper's module loads onnxruntime
and its voices on first use, so it is imported here; the Chatterbox and RunPod modules load numpy at
import, so they are imported inside the factory, only when chosen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.tts.piper import PiperEngine

if TYPE_CHECKING:
    from core.config import Settings
    from core.tts.base import Engine


def make_engine(settings: Settings) -> Engine:
    if settings.tts_engine == "chatterbox":
        from core.tts.chatterbox import ChatterboxEngine

        return ChatterboxEngine(checkpoint_dir=settings.chatterbox_checkpoint_dir, device=settings.chatterbox_device)
    if settings.tts_engine == "runpod":
        from core.tts.runpod import RunPodEngine

        return RunPodEngine.from_settings(settings)
    return PiperEngine(voices_dir=settings.piper_voices_dir)
