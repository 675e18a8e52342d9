"""Writes the Chatterbox built-in voices' reference clips, core/tts/voices/{female,male}_default.flac.

Run once from the repository root: `.venv/bin/python infra/scripts/make_reference_clips.py`. Each clip is
REFERENCE_TEXT spoken by the Piper engine (`core.tts.piper`): `male_default` is en_US-joe-medium as
shipped, `female_default` the same voice through Praat's Change gender (`core.tts.builtin_voices`),
written as 16-bit FLAC at Piper's 22050 Hz. The Chatterbox engine clones them (`prepare_voice`).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.tts import builtin_voices, codecs  # noqa: E402
from core.tts.base import SynthesisOptions, VoiceSpec  # noqa: E402
from core.tts.chatterbox_wire import REFERENCE_CLIPS  # noqa: E402
from core.tts.piper import PiperEngine  # noqa: E402

# ~7 s: varied vowels and consonants, a question and a statement, as a cloning reference wants.
REFERENCE_TEXT = (
    "Hello, and thank you for calling. The quick brown fox jumps over the lazy dog. "
    "Could you please read the weather report for Thursday morning?"
)


def main() -> None:
    engine = PiperEngine()
    for voice_id in (builtin_voices.FEMALE, builtin_voices.MALE):
        audio = engine.synthesize(REFERENCE_TEXT, VoiceSpec(builtin_id=voice_id), SynthesisOptions())
        path = REFERENCE_CLIPS / f"{voice_id}.flac"
        path.write_bytes(codecs.encode(audio, "flac"))
        print(f"{path.relative_to(ROOT)}: {audio.duration:.2f} s, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
