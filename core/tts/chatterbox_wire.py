"""What the Chatterbox engine, the RunPod proxy and the RunPod worker agree on, written once.

Contract: a voice prepared by `ChatterboxEngine.prepare_voice` (here or on the worker) is bytes in
the `VOICE_FORMAT` layout (chatterbox's `Conditionals.save`, a conds.pt file), stored under that name
and usable by either engine. Both engines offer the same built-in voices, `builtin_voices(where)`: the
original ids (`core.tts.builtin_voices`: `default` is the checkpoint's conds.pt, `female_default` and
`male_default` are cloned from the bundled reference clips `REFERENCE_CLIPS/<id>.flac`, which
`infra/scripts/make_reference_clips.py` made with Piper), then `DEFAULT_VOICE_ID` (conds.pt under its
old id). `CHECKPOINT_VOICES` are the ids spoken with conds.pt. Both speak at `SAMPLE_RATE` Hz (S3Gen's
output rate). Changing a value here changes the wire format between the API and deployed workers:
deploy both together.
"""

from __future__ import annotations

from pathlib import Path

from core.tts import builtin_voices as original
from core.tts.base import BuiltinVoice

VOICE_FORMAT = "chatterbox-conds-v1"
DEFAULT_VOICE_ID = "chatterbox-default"
DEFAULT_VOICE_NAME = "Chatterbox default"
SAMPLE_RATE = 24_000
REFERENCE_CLIPS = Path(__file__).resolve().parent / "voices"
CHECKPOINT_VOICES = (original.DEFAULT, DEFAULT_VOICE_ID)
CLIP_VOICES = (original.FEMALE, original.MALE)

_PIPER = "Piper en_US-joe-medium (male)"
_CLIPS = {
    original.FEMALE: f"{_PIPER} changed by {original.GENDER_CHANGE}",
    original.MALE: f"{_PIPER} as shipped",
}


def builtin_voices(where: str = "") -> list[BuiltinVoice]:
    """The built-in voices of the Chatterbox engine and its RunPod proxy (`where`: e.g. ", on RunPod GPUs")."""
    checkpoint = f"the voice bundled with the Chatterbox checkpoint (conds.pt){where}"
    voices = [BuiltinVoice(original.DEFAULT, "Default", description=f"Default voice: {checkpoint}")]
    for voice_id, name in ((original.FEMALE, "Female"), (original.MALE, "Male")):
        clip = f"{voice_id}.flac"
        description = f"{name} voice: Chatterbox cloning the bundled clip {clip}, {_CLIPS[voice_id]}{where}"
        voices.append(BuiltinVoice(voice_id, name, description=description))
    old_id = f"The same voice as {original.DEFAULT}: {checkpoint}"
    voices.append(BuiltinVoice(DEFAULT_VOICE_ID, DEFAULT_VOICE_NAME, description=old_id))
    return voices
