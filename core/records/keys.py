"""Every key of the single table and of the blob store, spelled once.

Contract: each record kind's partition key (pk), sort key (sk) and blob keys are built only by the
functions below; services, records, the maintenance sweep and tests use them instead of spelling a
prefix. Keys are plain strings:

- `USER#<uid>` is a user's partition: `PROFILE` (the account), `SESSION#<sid>`, `APIKEY#<kid>` (the
  listing), `VOICE#<vid>`, `AUDIO#<aid>`, `USAGE#<yyyymmdd>`, `HOLD#<id>`.
- Uniqueness claims: `USERNAME#<lower>` / `USERNAME`, `EMAIL#<mailbox>` / `EMAIL`.
- `APIKEY#<kid>` / `APIKEY`: an API key's lookup item (user id and secret hash).
- `AUDIT` / `ENTRY#<sortable id>`: the admin audit log, one partition, newest last in sk order.
- Counters: `RATE#<bucket>#<key>` / `W#<window>`, `LOGINFAIL#<subject>` / `COUNT`.
- Blobs: `voices/<uid>/<vid>/reference.flac`, `voices/<uid>/<vid>/<voice_format>.bin`,
  `audio/<uid>/<aid>.<ext>`; `USER_BLOB_AREAS` names the top folders that hold a user's blobs.
"""

from __future__ import annotations

Key = tuple[str, str]

USER = "USER#"
PROFILE = "PROFILE"
SESSION = "SESSION#"
APIKEY = "APIKEY#"
APIKEY_LOOKUP_SK = "APIKEY"
VOICE = "VOICE#"
AUDIO = "AUDIO#"
USAGE = "USAGE#"
HOLD = "HOLD#"
TOTALS = "TOTALS"
AUDIT = "AUDIT"
AUDIT_ENTRY = "ENTRY#"
USERNAME = "USERNAME#"
USERNAME_SK = "USERNAME"
EMAIL = "EMAIL#"
EMAIL_SK = "EMAIL"
RATE = "RATE#"
WINDOW = "W#"
LOGINFAIL = "LOGINFAIL#"
LOGINFAIL_SK = "COUNT"
USER_BLOB_AREAS = ("audio", "voices")


def user_pk(user_id: str) -> str:
    return f"{USER}{user_id}"


def user_id_of(pk: str) -> str:
    """The user id of a `USER#<uid>` partition key."""
    return pk.removeprefix(USER)


def profile(user_id: str) -> Key:
    return user_pk(user_id), PROFILE


def session(user_id: str, session_id: str) -> Key:
    return user_pk(user_id), f"{SESSION}{session_id}"


def api_key_listing(user_id: str, key_id: str) -> Key:
    return user_pk(user_id), f"{APIKEY}{key_id}"


def api_key_lookup(key_id: str) -> Key:
    return f"{APIKEY}{key_id}", APIKEY_LOOKUP_SK


def voice(user_id: str, voice_id: str) -> Key:
    return user_pk(user_id), f"{VOICE}{voice_id}"


def audio(user_id: str, audio_id: str) -> Key:
    return user_pk(user_id), f"{AUDIO}{audio_id}"


def usage(user_id: str, day: str) -> Key:
    return user_pk(user_id), f"{USAGE}{day}"


def hold(user_id: str, hold_id: str) -> Key:
    return user_pk(user_id), f"{HOLD}{hold_id}"


def totals(user_id: str) -> Key:
    return user_pk(user_id), TOTALS


def audit_entry(entry_id: str) -> Key:
    return AUDIT, f"{AUDIT_ENTRY}{entry_id}"


def username_claim(username: str) -> Key:
    return f"{USERNAME}{username.lower()}", USERNAME_SK


def email_claim(mailbox: str) -> Key:
    return f"{EMAIL}{mailbox}", EMAIL_SK


def rate_window(bucket: str, key: str, window: int) -> Key:
    return f"{RATE}{bucket}#{key}", f"{WINDOW}{window}"


def login_failures(subject: str) -> Key:
    return f"{LOGINFAIL}{subject}", LOGINFAIL_SK


# -- blobs -------------------------------------------------------------------------------------
def voice_reference_blob(user_id: str, voice_id: str) -> str:
    return f"voices/{user_id}/{voice_id}/reference.flac"


def voice_conditionals_blob(user_id: str, voice_id: str, voice_format: str) -> str:
    return f"voices/{user_id}/{voice_id}/{voice_format}.bin"


def audio_blob(user_id: str, audio_id: str, extension: str) -> str:
    return f"audio/{user_id}/{audio_id}.{extension}"
