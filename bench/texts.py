"""Deterministic English texts of a requested length for the synthesis benchmarks.

Contract: `text_of_length(n)` returns plain English prose of exactly `n` characters or slightly
fewer (cut at a word boundary, ending with a period), made by cycling the sentences below, so every
length has the same mix of words and punctuation. `SENTENCE` is one ordinary sentence.
"""

from __future__ import annotations

SENTENCE = "The quick brown fox jumps over the lazy dog, and then it runs back home before dark."

_SENTENCES = (
    "Our service turns written text into natural sounding speech in a few seconds.",
    "Each account keeps a private library of the audio it has generated, newest first.",
    "You can clone a voice from a short recording and use it for every later request.",
    "Long documents are split at sentence boundaries, spoken piece by piece, and joined again.",
    "The weather was calm on Tuesday morning, so the ferry left the harbour right on time.",
    "A careful listener will notice the pauses between sentences, which sound quite natural.",
    "Numbers such as twenty three or one hundred and five are read out in full.",
    "When the server is busy, requests wait their turn instead of failing at random.",
    "Please remember to bring your umbrella, because the forecast promises heavy rain tonight.",
    "She opened the old wooden box and found a letter written by her grandmother.",
)


def text_of_length(chars: int) -> str:
    if chars < 2:
        raise ValueError("chars must be at least 2")
    parts: list[str] = []
    length = 0
    index = 0
    while length < chars:
        sentence = _SENTENCES[index % len(_SENTENCES)]
        parts.append(sentence)
        length += len(sentence) + 1
        index += 1
    text = " ".join(parts)
    if len(text) <= chars:
        return text
    cut = text[: chars - 1].rsplit(" ", 1)[0].rstrip(",.;:")
    return cut + "."
