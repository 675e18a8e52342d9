"""Text preparation for engines: whitespace normalisation and sentence chunking.

Contract: `split_sentences(text, max_chars)` returns non-empty chunks, in order, each at most
`max_chars` long, whose concatenation (with single spaces) holds every word of the input. It cuts at
sentence ends (. ! ? … and their CJK forms, followed by space), packs short sentences together up to
`max_chars`, and splits an over-long sentence at clause marks (, ; : —) and then at spaces; a single
word longer than `max_chars` is cut hard.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])[\"'”’)\]]*\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+")


def normalize(text: str) -> str:
    return " ".join(text.split())


def _split_long(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    out: list[str] = []
    for piece in _pack(_CLAUSE_END.split(sentence), max_chars, _words):
        out.append(piece)
    return out


def _words(clause: str, max_chars: int) -> list[str]:
    if len(clause) <= max_chars:
        return [clause]
    words: list[str] = []
    for word in clause.split(" "):
        while len(word) > max_chars:
            words.append(word[:max_chars])
            word = word[max_chars:]
        if word:
            words.append(word)
    return _pack(words, max_chars, None)


def _pack(parts: list[str], max_chars: int, refine: object) -> list[str]:
    chunks: list[str] = []
    current = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        pieces = refine(part, max_chars) if callable(refine) else [part]
        for piece in pieces:
            if not current:
                current = piece
            elif len(current) + 1 + len(piece) <= max_chars:
                current = f"{current} {piece}"
            else:
                chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks


def split_sentences(text: str, max_chars: int) -> list[str]:
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    clean = normalize(text)
    if not clean:
        return []
    return _pack(_SENTENCE_END.split(clean), max_chars, _split_long)
