"""Speech engines behind one protocol (core.tts.base) and the factory that picks one from Settings.

Contract: `make_engine(settings)` returns the engine named by TTS_ENGINE without loading any model
(engines load lazily on first use); engine modules are imported only here, inside the function, so
importing core.tts stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    from core.tts.piper import PiperEngine

    return PiperEngine(voices_dir=settings.piper_voices_dir)
