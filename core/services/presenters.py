"""Turns stored records into API response models (one place, shared by handlers)."""

from __future__ import annotations

from core.schemas.speech import AudioOut
from core.storage import Item


def audio_out(item: Item) -> AudioOut:
    return AudioOut(
        audio_id=item["audio_id"],
        duration=item["duration"],
        sample_rate=item["sample_rate"],
        format=item["format"],
        characters=item["characters"],
        engine=item["engine"],
        voice_id=item["voice_id"],
        created_at=item["created_at"],
        size_bytes=item["size_bytes"],
        text=item["text"],
        speed=item["speed"],
        pitch=item["pitch"],
        options_ignored=item.get("options_ignored") or [],
        url=f"/audio/{item['audio_id']}",
    )
