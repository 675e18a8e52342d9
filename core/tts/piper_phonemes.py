"""Piper's cost model: seconds of audio from phonemes, and phonemes cut into bounded model calls.

Contract (pure functions over Piper phonemes, lists of one-character strings as `PiperVoice.phonemize`
returns them, one list per sentence; importing this module imports nothing heavy):
- `seconds(sentences)` estimates the audio one Piper call per sentence gives at length_scale 1: a weight
  per phoneme (punctuation, spaces and stress/length marks weigh differently from sounds) plus a constant
  per model call. Fitted by least squares on en_US-joe-medium (cut in calls of 150 phonemes) over English
  prose, GPL text, emoji, CJK ideographs, digits, one long word and punctuation runs: the total of each
  text within -4..+6 % of the real duration (5,000 characters of prose: 266 s real, 272 s estimated).
- `blocks(sentences, max_seconds)` cuts every sentence into blocks, in order and losing nothing, whose
  estimate is at most `max_seconds` (a single phoneme heavier than that stands alone): at the last clause
  mark (, ; : followed by a space) past the block's first half, else at the last space, else hard (a word
  longer than a block). Every block is one onnxruntime call, so no call produces more than about
  `max_seconds` of audio, whatever the text (emoji and ideographs read as words, one 5,000-letter word).
"""

from __future__ import annotations

from collections.abc import Sequence

PUNCTUATION = frozenset(",.;:!?")
CLAUSE_MARKS = frozenset(",;:")
MARKS = frozenset("ˈˌː")  # stress and length marks
SECONDS_PER_SOUND = 0.059
SECONDS_PER_SPACE = 0.0059
SECONDS_PER_PUNCTUATION = 0.2409
SECONDS_PER_MARK = 0.0309
SECONDS_PER_CALL = 0.0483


def weight(phoneme: str) -> float:
    """Estimated seconds one phoneme adds to a Piper call's audio."""
    if phoneme == " ":
        return SECONDS_PER_SPACE
    if phoneme in PUNCTUATION:
        return SECONDS_PER_PUNCTUATION
    if phoneme in MARKS:
        return SECONDS_PER_MARK
    return SECONDS_PER_SOUND


def block_seconds(phonemes: Sequence[str]) -> float:
    """Estimated seconds of one model call on `phonemes`."""
    return SECONDS_PER_CALL + sum(weight(phoneme) for phoneme in phonemes)


def seconds(sentences: Sequence[Sequence[str]]) -> float:
    """Estimated seconds of `sentences`, one call per non-empty sentence."""
    return sum(block_seconds(sentence) for sentence in sentences if sentence)


def _cut(phonemes: Sequence[str], start: int, end: int) -> int:
    """Where to end the block phonemes[start:end] that cannot grow: after a clause mark or a space."""
    half = start + (end - start) // 2
    space = None
    for index in range(end - 1, start, -1):
        if phonemes[index] == " ":
            if index > half and phonemes[index - 1] in CLAUSE_MARKS:
                return index + 1
            space = space if space is not None else index + 1
    return space if space is not None else end


def blocks(sentences: Sequence[Sequence[str]], max_seconds: float) -> list[list[str]]:
    """Every sentence cut into calls of at most `max_seconds` (see the module contract)."""
    out: list[list[str]] = []
    budget = max_seconds - SECONDS_PER_CALL
    for sentence in sentences:
        start, index, total = 0, 0, 0.0
        while index < len(sentence):
            cost = weight(sentence[index])
            if total + cost > budget and index > start:
                end = _cut(sentence, start, index)
                out.append(list(sentence[start:end]))
                start, index, total = end, end, 0.0
                continue
            total += cost
            index += 1
        if start < len(sentence):
            out.append(list(sentence[start:]))
    return [block for block in out if any(phoneme != " " for phoneme in block)]
