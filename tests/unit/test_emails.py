"""core.emails: the one normalisation of addresses (register and login) and the mixed-script policy."""

from __future__ import annotations

import unicodedata

import pytest
import regex  # type: ignore[import-untyped]  # the Unicode Script property, for the check below
from hypothesis import given, settings
from hypothesis import strategies as st

from core import emails


@pytest.mark.parametrize(
    "raw",
    [
        "alice@bücher.de",
        "Alice@Bücher.DE",
        "alice@xn--bcher-kva.de",
        "ALICE@XN--BCHER-KVA.DE",
        "alice+news@bücher.de",
        "ａｌｉｃｅ＠ｂüｃｈｅｒ．ｄｅ",  # fullwidth forms, as an IME types them
        "  alice@bücher.de ",
    ],
)
def test_equivalent_forms_share_one_mailbox(raw: str) -> None:
    assert emails.normalize_email(raw).mailbox == "alice@xn--bcher-kva.de"


def test_address_keeps_case_and_tag_with_a_unicode_domain() -> None:
    email = emails.normalize_email("Alice+News@XN--BCHER-KVA.de")
    assert email.address == "Alice+News@bücher.de"
    assert email.mailbox == "alice@xn--bcher-kva.de"
    assert email.legacy_key == "alice+news@bücher.de"  # how claims were keyed before mailboxes


def test_nfc_and_nfd_spellings_are_one_mailbox() -> None:
    composed, decomposed = "\u00e9mile@example.com", "e\u0301mile@example.com"
    assert emails.normalize_email(composed) == emails.normalize_email(decomposed)
    assert emails.normalize_email(decomposed).address == composed


@pytest.mark.parametrize(("raw", "mailbox"), [("+tag@example.com", "+tag@example.com"), ("a+b+c@x.org", "a@x.org")])
def test_only_a_non_empty_base_loses_its_tag(raw: str, mailbox: str) -> None:
    assert emails.normalize_email(raw).mailbox == mailbox


@pytest.mark.parametrize("raw", ["", "not-an-email", "a@b", "a@@b.com", "x" * 320 + "@example.com", "a@" + "b" * 330])
def test_invalid_addresses_raise_a_value_error(raw: str) -> None:
    with pytest.raises(emails.InvalidEmail):
        emails.normalize_email(raw)
    assert issubclass(emails.InvalidEmail, ValueError)


@pytest.mark.parametrize(
    ("raw", "part", "found"),
    [
        ("\u0430lice@example.com", "\u0430lice", {"LATIN", "CYRILLIC"}),  # Cyrillic a among Latin letters
        ("p\u0430yp\u0430l@example.com", "p\u0430yp\u0430l", {"LATIN", "CYRILLIC"}),
        ("b\u03bfb@example.com", "b\u03bfb", {"LATIN", "GREEK"}),  # Greek omicron
        ("bob@ex\u0430mple.com", "ex\u0430mple", {"LATIN", "CYRILLIC"}),  # a look-alike domain label
    ],
)
def test_mixed_scripts_are_found(raw: str, part: str, found: set[str]) -> None:
    assert emails.mixed_script(emails.normalize_email(raw)) == (part, frozenset(found))


@pytest.mark.parametrize(
    "raw",
    [
        "alice.smith-2@example.com",
        "\u0438\u0432\u0430\u043d@\u043f\u043e\u0447\u0442\u0430.\u0440\u0444",  # all Cyrillic
        "\u5c71\u7530\u305f\u308d\u3046\u30fc@example.jp",  # Han + Hiragana + ー
        "tanaka\u7530\u4e2d\u30bf\u30ca\u30ab@example.jp",  # Latin + Han + Katakana
        "kim\uae40@example.kr",  # Latin + Hangul
        "\u00e9mile@b\u00fccher.de",
    ],
)
def test_single_script_and_cjk_combinations_pass(raw: str) -> None:
    assert emails.mixed_script(emails.normalize_email(raw)) is None


# The policy names a letter's script by the first word of its Unicode name; check that against the
# Unicode Script_Extensions property itself (the `regex` module's \p{scx=...}) for whole blocks.
_SCRIPT_NAMES = {
    "LATIN": "Latin",
    "GREEK": "Greek",
    "COPTIC": "Coptic",
    "CYRILLIC": "Cyrillic",
    "ARMENIAN": "Armenian",
    "HEBREW": "Hebrew",
    "ARABIC": "Arabic",
    "DEVANAGARI": "Devanagari",
    "THAI": "Thai",
    "CJK": "Han",
    "HIRAGANA": "Hiragana",
    "KATAKANA": "Katakana",
    "HANGUL": "Hangul",
    "BOPOMOFO": "Bopomofo",
}
_BLOCKS = [
    (0x0041, 0x024F),  # Basic Latin .. Latin Extended-B
    (0x0370, 0x052F),  # Greek, Cyrillic, Cyrillic Supplement
    (0x0530, 0x06FF),  # Armenian, Hebrew, Arabic
    (0x0900, 0x097F),  # Devanagari
    (0x0E00, 0x0E7F),  # Thai
    (0x1E00, 0x1FFF),  # Latin Extended Additional, Greek Extended
    (0x3040, 0x312F),  # Hiragana, Katakana, Bopomofo
    (0x4E00, 0x4FFF),  # part of CJK Unified Ideographs
    (0xAC00, 0xAD00),  # part of Hangul Syllables
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms (NFKC maps them)
]


def test_script_of_each_letter_matches_the_unicode_script_property() -> None:
    checked = 0
    for low, high in _BLOCKS:
        for code in range(low, high + 1):
            for char in unicodedata.normalize("NFKC", chr(code)):
                found = emails.scripts(char)
                if not unicodedata.category(char).startswith("L"):
                    assert found == frozenset(), hex(code)
                    continue
                if not found:
                    assert regex.match(r"[\p{Script=Common}\p{Script=Inherited}]", char), hex(code)
                    continue
                (name,) = found
                assert regex.match(rf"\p{{Script_Extensions={_SCRIPT_NAMES[name]}}}", char), (hex(code), name)
                checked += 1
    assert checked > 2500


@given(st.text(max_size=80) | st.emails() | st.from_regex(r"[^@]{0,20}[@＠][^@]{0,30}", fullmatch=True))
@settings(max_examples=150, deadline=None)
def test_any_text_normalises_or_raises_invalid_email(text: str) -> None:
    """Login passes any string through this: nothing else may escape (it would be a 500)."""
    try:
        email = emails.normalize_email(text)
    except emails.InvalidEmail:
        return
    assert emails.normalize_email(email.address).mailbox == email.mailbox  # stable once normalised
    emails.mixed_script(email)
