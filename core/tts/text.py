"""Text preparation for engines: validation, whitespace normalisation and sentence chunking.

Contract: `check_text(text)` refuses (ValidationFailed 422, code "invalid_text", details {code_point,
position}) the first character that is a C0 or C1 control character (U+0000-U+001F, U+007F-U+009F)
other than tab, line feed and carriage return (CR and CRLF line ends are newlines too), or a lone
surrogate (not encodable as UTF-8); `position` is its 0-based index in the text as given.
`split_sentences(text, max_chars)` returns non-empty chunks, in order, each at most
`max_chars` long, whose concatenation (with single spaces) holds every word of the input. It cuts at
sentence ends (. ! ? … and their CJK forms, followed by space), packs short sentences together up to
`max_chars`, and splits an over-long sentence at clause marks (, ; : —) and then at spaces; a single
word longer than `max_chars` is cut hard.
"""

from __future__ import annotations

import re

from core.errors import ValidationFailed

_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])[\"'”’)\]]*\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+")
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def check_text(text: str) -> None:
    """Refuse control characters and lone surrogates (see the module contract)."""
    found = _INVALID.search(text)
    if found is None:
        return
    char, position = found.group(), found.start()
    what = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    code_point = f"U+{ord(char):04X}"
    raise ValidationFailed(
        f"text: character {code_point} at position {position} is {what} (of those, only tab and newlines are allowed)",
        code="invalid_text",
        details={"code_point": code_point, "position": position},
    )


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
