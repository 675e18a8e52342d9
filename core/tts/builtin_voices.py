"""The original design's built-in voice ids, which every engine offers, and how each is made, written once.

Contract: `DEFAULT`, `FEMALE` and `MALE` ("default", "female_default", "male_default") are voice ids
that every engine lists first, in that order (`ORIGINAL_IDS`), besides its own ids, which keep working.
`DEFAULT` is the voice used when a request names none (POST /synthesize's `voice_id`, OpenAI's voice
names). Where an engine has no female voice of its own, `FEMALE` is derived from a male voice by
Praat's "Change gender" (`core.tts.effects.change_gender`) with FORMANT_SHIFT and PITCH_MEDIAN_HZ;
`GENDER_CHANGE` says so in the voices' descriptions. Importing this module imports nothing heavy.
"""

from __future__ import annotations

DEFAULT = "default"
FEMALE = "female_default"
MALE = "male_default"
ORIGINAL_IDS = (DEFAULT, FEMALE, MALE)

FORMANT_SHIFT = 1.2  # vocal tract ~17 % shorter: formants up by a fifth
PITCH_MEDIAN_HZ = 210.0  # a typical adult female speaking pitch (men ~85-155 Hz, women ~165-255 Hz)
GENDER_CHANGE = f"Praat's Change gender: formant shift {FORMANT_SHIFT:g}, pitch median {PITCH_MEDIAN_HZ:g} Hz"
