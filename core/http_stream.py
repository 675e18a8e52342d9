"""The HTTP side of a streamed synthesis, shared by every endpoint that streams audio.

Contract: `stream_headers(audio)` returns the response headers of a streamed `synthesis.AudioStream`:
`X-Audio-Id` and `X-Audio-Url` (the library record, which exists once the body is complete),
`X-Sample-Rate`, `X-Options-Ignored` (comma-separated), `Cache-Control: no-store` and
`X-Accel-Buffering: no` (a proxy such as nginx must pass the chunks on as they come).
"""

from __future__ import annotations

from core.services import synthesis


def stream_headers(audio: synthesis.AudioStream) -> dict[str, str]:
    return {
        "X-Audio-Id": audio.audio_id,
        "X-Audio-Url": f"/audio/{audio.audio_id}",
        "X-Sample-Rate": str(audio.sample_rate),
        "X-Options-Ignored": ",".join(audio.options_ignored),
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
    }
