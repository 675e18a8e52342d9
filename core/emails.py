"""Email addresses: one normalisation shared by registration and login, and the address policy.

Contract:
- `normalize_email(raw)` returns an `Email` or raises `InvalidEmail` (a ValueError). It applies, in order:
  NFKC (fullwidth and other compatibility forms become their plain letters: `ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ`
  is `alice@example.com`), then email-validator's syntax check and normalisation (NFC local part,
  IDNA domain, lower-cased domain; no DNS lookups).
  - `Email.address` is what is stored and shown: the normalised address with its local part's case and
    its `+tag` as given, the domain in Unicode form (`alice+news@bücher.de`).
  - `Email.mailbox` is the uniqueness key: the local part without its `+tag` (RFC 5233 sub-addressing:
    everything from the first `+` on, unless the local part starts with `+`), lower-cased, `@`, the
    domain in ASCII (IDNA/punycode) form. One mailbox = one account: `Alice+news@Bücher.de`,
    `alice@xn--bcher-kva.de` and `ａｌｉｃｅ@bücher.de` all have mailbox `alice@xn--bcher-kva.de`.
    Provider-specific rules (Gmail's dots, other tag separators) are not applied.
  - `Email.legacy_key` is the key claims were stored under before this module existed (email-validator's
    normalised form, lower-cased, without NFKC; None when the text is only valid after NFKC), so
    accounts registered earlier are still found.
- `fold_login(login)` is the NFKC form of a submitted login (username or email): it contains `@`
  exactly when the login names an email, and a fullwidth username finds its ASCII account.
- `mixed_script(email)` returns (part, its scripts) for the first part of the address (local part, then
  each domain label) whose letters come from more than one script, or None. Allowed combinations follow
  UTS #39's "highly restrictive" level: one script, or Latin with Han + Hiragana + Katakana, with Han +
  Bopomofo, or with Han + Hangul. Registration refuses the others (`аlice@example.com`, a Cyrillic `а`
  among Latin letters) with 422 `email_mixed_script`; login never refuses, it just finds no account.
  A letter's script is the first word of its Unicode name (LATIN, CYRILLIC, GREEK, CJK ...), which
  matches the Unicode Script_Extensions property after NFKC (tests check it over the blocks of 14 scripts).
  Whole-script look-alikes (an all-Cyrillic `асе` for `ace`) are not detected.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

MAX_EMAIL_CHARS = 320  # 64 local + @ + 255 domain: longer input is refused before any parsing
MIXED_SCRIPT_CODE = "email_mixed_script"
_ALLOWED_SCRIPT_SETS = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
)
# Letters whose name starts with one of these belong to no single script (Common): ー, modifier letters.
_NEUTRAL_PREFIXES = ("KATAKANA-HIRAGANA", "MODIFIER", "IDEOGRAPHIC")


class InvalidEmail(ValueError):
    """Not an email address (syntax, length, domain); the message says why."""


@dataclass(frozen=True)
class Email:
    address: str
    mailbox: str
    legacy_key: str | None
    local: str
    domain: str


def fold_login(login: str) -> str:
    """A submitted login in NFKC, stripped: fullwidth `＠` and letters become `@` and ASCII letters."""
    return unicodedata.normalize("NFKC", login).strip()


def _validate(raw: str) -> tuple[str, str, str, str]:
    """(normalised address, local part, Unicode domain, ASCII domain) from email-validator."""
    from email_validator import EmailNotValidError, validate_email  # imported on first use: light cold starts

    try:
        parts = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"value is not a valid email address: {exc}") from exc
    return parts.normalized, parts.local_part, parts.domain, parts.ascii_domain or parts.domain


def _mailbox(local: str, ascii_domain: str) -> str:
    base, plus, _tag = local.partition("+")
    return f"{(base if plus and base else local).lower()}@{ascii_domain.lower()}"


def normalize_email(raw: str) -> Email:
    """The one normalisation of an email address, for registration and for login (see the module contract)."""
    text = raw.strip()
    if not text or len(text) > MAX_EMAIL_CHARS:
        raise InvalidEmail(f"value is not a valid email address: 1 to {MAX_EMAIL_CHARS} characters")
    address, local, domain, ascii_domain = _validate(unicodedata.normalize("NFKC", text))
    try:
        legacy: str | None = _validate(text)[0].lower()
    except InvalidEmail:
        legacy = None
    return Email(address=address, mailbox=_mailbox(local, ascii_domain), legacy_key=legacy, local=local, domain=domain)


def _script(char: str) -> str | None:
    if not unicodedata.category(char).startswith("L"):
        return None  # digits, punctuation, marks: shared by every script
    name = unicodedata.name(char, "")
    if not name or name.startswith(_NEUTRAL_PREFIXES):
        return None
    return name.split(" ", 1)[0]


def scripts(text: str) -> frozenset[str]:
    """The scripts of the letters in `text` (first word of each letter's Unicode name)."""
    return frozenset(s for s in map(_script, text) if s is not None)


def mixed_script(email: Email) -> tuple[str, frozenset[str]] | None:
    """(part, its scripts) for the first part of the address that mixes scripts, else None."""
    for part in (email.local, *email.domain.split(".")):
        found = scripts(part)
        if len(found) > 1 and not any(found <= allowed for allowed in _ALLOWED_SCRIPT_SETS):
            return part, found
    return None
