"""HTTP responses shared by the handlers: a streamed body closed deterministically, and the stream headers.

Contract of `AudioStreamResponse(chunks, close=..., ...)`: a StreamingResponse over a sync iterator of
bytes. Each `next(chunks)` runs in the thread pool, one at a time, and only after the previous chunk was
handed to the server, so the iterator's producer can count a chunk as sent when it is asked for the next
one. When the client goes away (ASGI `http.disconnect`, or a send that fails on servers of ASGI spec
2.4), no further `next()` is started once the disconnect is known, and whatever way the response ends
(complete, disconnect, failure, cancellation) `chunks.close()` (if it has one) and then `close()` run in
the thread pool, shielded from cancellation, after the last `next()` has returned: the producer is
closed at once, never left to the garbage collector. (Starlette alone leaves a sync iterator
suspended on disconnect.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Protocol

import anyio
import anyio.lowlevel
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from core.schemas.speech import audio_url


class StreamInfo(Protocol):
    audio_id: str
    sample_rate: int
    options_ignored: list[str]


def stream_headers(audio: StreamInfo) -> dict[str, str]:
    """Headers of a streamed synthesis: the library record it becomes, the rate, ignored options."""
    return {
        "X-Audio-Id": audio.audio_id,
        "X-Audio-Url": audio_url(audio.audio_id),
        "X-Sample-Rate": str(audio.sample_rate),
        "X-Options-Ignored": ",".join(audio.options_ignored),
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
    }


_END = b""


class AudioStreamResponse(StreamingResponse):
    def __init__(
        self,
        chunks: Iterator[bytes],
        *,
        close: Callable[[], None],
        media_type: str,
        headers: Mapping[str, str] | None = None,
        status_code: int = 200,
    ) -> None:
        self._source = chunks
        self._close = close
        self._gone = False
        super().__init__(self._pull(), status_code=status_code, headers=headers, media_type=media_type)

    def _next(self) -> bytes | None:
        for chunk in self._source:
            if chunk:
                return chunk
        return None

    async def _pull(self) -> AsyncIterator[bytes]:
        while not self._gone:
            chunk = await anyio.to_thread.run_sync(self._next)  # resumes the producer: the last chunk was sent
            if chunk is None:
                return
            yield chunk
            await anyio.lowlevel.checkpoint()  # a disconnect the server already knows of is seen first

    async def listen_for_disconnect(self, receive: Receive) -> None:
        await super().listen_for_disconnect(receive)
        self._gone = True

    def _shut(self) -> None:
        try:
            closer = getattr(self._source, "close", None)
            if callable(closer):
                closer()
        finally:
            self._close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._shut)
