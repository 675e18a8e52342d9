"""API keys for programs: created (shown once), listed, revoked; stored hashed; scoped to their user.

Contract:
- A key reads `cbx_<key_id>_<secret>`: key_id (26 chars) addresses the record, secret is 32 random
  bytes (url-safe). Only SHA-256(secret) is stored (a high-entropy secret needs no slow hash); it is
  compared in constant time.
- Items: `APIKEY#<key_id>` / `APIKEY` (lookup: user_id, hash, revoked) and `USER#<uid>` / `APIKEY#<key_id>`
  (listing: name, prefix, created_at, last_used_at, requests, characters), written in one transaction
  that also checks the user's profile (`owned.put_owned`): a deleted account gets no key (401).
- `authenticate` returns (user_id, key_id) for a live key of an existing user and counts the use;
  anything else raises Unauthorized without saying which part was wrong.
- A user may hold at most MAX_KEYS live keys.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from core.errors import Conflict, NotFound, Unauthorized
from core.services.clock import sortable_id, utcnow_iso
from core.services.owned import put_owned
from core.services.users import PROFILE_SK, user_pk
from core.storage import MUST_EXIST, MUST_NOT_EXIST, Delete, Item, KVStore, Put

PREFIX = "cbx_"
MAX_KEYS = 20
_KEY = re.compile(r"^cbx_([0-9a-v]{26})_([A-Za-z0-9_-]{43})$")


def looks_like_key(token: str) -> bool:
    return token.startswith(PREFIX)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _public(item: Item) -> dict[str, Any]:
    return {k: item.get(k) for k in ("id", "name", "prefix", "created_at", "last_used_at", "requests", "characters")}


def list_keys(store: KVStore, *, user_id: str) -> list[dict[str, Any]]:
    page = store.query(user_pk(user_id), sk_prefix="APIKEY#", limit=MAX_KEYS + 5)
    return [_public(item) for item in page.items if item.get("id")]


def create(store: KVStore, *, user_id: str, name: str) -> dict[str, Any]:
    if len(list_keys(store, user_id=user_id)) >= MAX_KEYS:
        raise Conflict(f"At most {MAX_KEYS} API keys per user; revoke one first", code="too_many_keys")
    key_id = sortable_id()
    secret = secrets.token_urlsafe(32)
    token = f"{PREFIX}{key_id}_{secret}"
    listing: Item = {
        "pk": user_pk(user_id),
        "sk": f"APIKEY#{key_id}",
        "id": key_id,
        "name": name,
        "prefix": token[:12],
        "created_at": utcnow_iso(),
        "last_used_at": None,
        "requests": 0,
        "characters": 0,
        "owned_keys": [[f"APIKEY#{key_id}", "APIKEY"]],  # removed with the account
    }
    lookup: Item = {"pk": f"APIKEY#{key_id}", "sk": "APIKEY", "user_id": user_id, "hash": _digest(secret)}
    put_owned(store, listing, cond=MUST_NOT_EXIST, extra=[Put(lookup, cond=MUST_NOT_EXIST)])
    return {**_public(listing), "key": token}


def revoke(store: KVStore, *, user_id: str, key_id: str) -> None:
    if not re.fullmatch(r"[0-9a-v]{26}", key_id):
        raise NotFound("API key not found", code="api_key_not_found")
    listing = store.get(user_pk(user_id), f"APIKEY#{key_id}")
    if listing is None:
        raise NotFound("API key not found", code="api_key_not_found")
    store.transact(
        [Delete(f"APIKEY#{key_id}", "APIKEY"), Delete(user_pk(user_id), f"APIKEY#{key_id}", cond=MUST_EXIST)]
    )


def authenticate(store: KVStore, *, token: str) -> tuple[str, str]:
    match = _KEY.match(token)
    lookup = store.get(f"APIKEY#{match.group(1)}", "APIKEY") if match else None
    expected = lookup["hash"] if lookup else _digest("no-such-key")
    ok = hmac.compare_digest(expected, _digest(match.group(2) if match else token))
    if not (lookup and ok):
        raise Unauthorized("Invalid API key", code="invalid_api_key")
    user_id, key_id = str(lookup["user_id"]), match.group(1) if match else ""
    if store.get(user_pk(user_id), PROFILE_SK) is None:
        raise Unauthorized("Invalid API key", code="invalid_api_key")
    record_use(store, user_id=user_id, key_id=key_id)
    return user_id, key_id


def record_use(store: KVStore, *, user_id: str, key_id: str, characters: int = 0) -> None:
    """Count a request (and synthesized characters) against the key; a revoked key is left alone."""
    if store.get(user_pk(user_id), f"APIKEY#{key_id}") is None:
        return
    attr, amount = ("characters", characters) if characters else ("requests", 1)
    store.increment(user_pk(user_id), f"APIKEY#{key_id}", attr, amount, set_attrs={"last_used_at": utcnow_iso()})
