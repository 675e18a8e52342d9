"""Typed records for tests and benchmarks, built through the records' own constructors.

`audio_record(user_id=, audio_id=, **fields)` is `AudioRecord.new` with plausible defaults (a 1 s wav
made by piper's `default` voice, 2026-01-01); any field of `AudioRecord.new` can be given to override one.
"""

from __future__ import annotations

from typing import Any

from core.records.audio import AudioRecord

AUDIO_DEFAULTS: dict[str, Any] = {
    "text": "A stored sentence.",
    "voice_id": "default",
    "engine": "piper",
    "format": "wav",
    "extension": "wav",
    "sample_rate": 22050,
    "duration": 1.0,
    "size_bytes": 0,
    "speed": 1.0,
    "pitch": 1.0,
    "options_ignored": (),
    "created_at": "2026-01-01T00:00:00.000Z",
    "api_key_id": None,
}


def audio_record(*, user_id: str, audio_id: str, **fields: Any) -> AudioRecord:
    return AudioRecord.new(user_id=user_id, audio_id=audio_id, **{**AUDIO_DEFAULTS, **fields})
