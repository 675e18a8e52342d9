"""API keys for programs: created (shown once), listed, revoked; stored hashed; scoped to their user.

Contract:
- A key reads `cbx_<key_id>_<secret>`: key_id (26 chars) addresses the record, secret is 32 random
  bytes (url-safe). Only SHA-256(secret) is stored (a high-entropy secret needs no slow hash); it is
  compared in constant time.
- Records (core.records.api_keys): the lookup `ApiKeyLookup` (`APIKEY#<key_id>` / `APIKEY`: user_id,
  hash) and the listing `ApiKey` (`USER#<uid>` / `APIKEY#<key_id>`: name, prefix, created_at,
  last_used_at, requests, characters; it owns the lookup), written in one transaction that also checks
  the user's profile (`owned.put_owned`): a deleted account gets no key (401). Revoking deletes both.
- `create` returns a `CreatedKey` (the listing and the token, shown this once); `list_keys` the
  listings in key-id order (creation time, to the millisecond).
- `authenticate` returns (user_id, key_id) for a live key of an existing user and counts the use;
  a disabled account's key answers 403 account_disabled (it works again once the account is enabled);
  anything else raises Unauthorized without saying which part was wrong.
- A user may hold at most MAX_KEYS live keys.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from core.errors import Conflict, NotFound, Unauthorized
from core.records import keys
from core.records.api_keys import ApiKey, ApiKeyLookup, CreatedKey
from core.services import users
from core.services.clock import sortable_id, utcnow_iso
from core.services.owned import put_owned
from core.storage import MUST_EXIST, MUST_NOT_EXIST, Delete, KVStore, Put

PREFIX = "cbx_"
MAX_KEYS = 20
_KEY = re.compile(r"^cbx_([0-9a-v]{26})_([A-Za-z0-9_-]{43})$")
_KEY_ID = re.compile(r"[0-9a-v]{26}")


def looks_like_key(token: str) -> bool:
    return token.startswith(PREFIX)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def list_keys(store: KVStore, *, user_id: str) -> list[ApiKey]:
    page = store.query(keys.user_pk(user_id), sk_prefix=keys.APIKEY, limit=MAX_KEYS + 5)
    return [ApiKey.from_item(item) for item in page.items if item.get("id")]


def create(store: KVStore, *, user_id: str, name: str) -> CreatedKey:
    if len(list_keys(store, user_id=user_id)) >= MAX_KEYS:
        raise Conflict(f"At most {MAX_KEYS} API keys per user; revoke one first", code="too_many_keys")
    key_id = sortable_id()
    secret = secrets.token_urlsafe(32)
    token = f"{PREFIX}{key_id}_{secret}"
    listing = ApiKey.new(user_id=user_id, key_id=key_id, name=name, prefix=token[:12], created_at=utcnow_iso())
    lookup = ApiKeyLookup(key_id=key_id, user_id=user_id, hash=_digest(secret))
    put_owned(store, listing, cond=MUST_NOT_EXIST, extra=[Put(lookup.to_item(), cond=MUST_NOT_EXIST)])
    return CreatedKey(record=listing, token=token)


def revoke(store: KVStore, *, user_id: str, key_id: str) -> None:
    if not _KEY_ID.fullmatch(key_id) or store.get(*keys.api_key_listing(user_id, key_id)) is None:
        raise NotFound("API key not found", code="api_key_not_found")
    store.transact(
        [Delete(*keys.api_key_lookup(key_id)), Delete(*keys.api_key_listing(user_id, key_id), cond=MUST_EXIST)]
    )


def _lookup(store: KVStore, key_id: str) -> ApiKeyLookup | None:
    item = store.get(*keys.api_key_lookup(key_id))
    return None if item is None else ApiKeyLookup.from_item(item)


def authenticate(store: KVStore, *, token: str) -> tuple[str, str]:
    """(user_id, key_id) of a live key of an existing user, its use counted; else Unauthorized."""
    match = _KEY.match(token)
    lookup = _lookup(store, match.group(1)) if match else None
    expected = lookup.hash if lookup else _digest("no-such-key")
    ok = hmac.compare_digest(expected, _digest(match.group(2) if match else token))
    if not (lookup and ok):
        raise Unauthorized("Invalid API key", code="invalid_api_key")
    user = users.find_profile(store, user_id=lookup.user_id)
    if user is None:
        raise Unauthorized("Invalid API key", code="invalid_api_key")
    users.require_active(user)
    record_use(store, user_id=lookup.user_id, key_id=lookup.key_id)
    return lookup.user_id, lookup.key_id


def record_use(store: KVStore, *, user_id: str, key_id: str, characters: int = 0) -> None:
    """Count a request (and synthesized characters) against the key; a revoked key is left alone."""
    pk, sk = keys.api_key_listing(user_id, key_id)
    if store.get(pk, sk) is None:
        return
    attr, amount = ("characters", characters) if characters else ("requests", 1)
    store.increment(pk, sk, attr, amount, set_attrs={"last_used_at": utcnow_iso()})
