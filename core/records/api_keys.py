"""API-key records: the listing a user sees, the lookup a request authenticates against, a new key.

Contract:
- `ApiKey` is the listing item `USER#<uid>` / `APIKEY#<kid>`: id, name, prefix (the key's first
  characters), created_at, last_used_at, requests, characters, and `owned_keys` ([pk, sk] pairs of
  the items it owns outside the user's partition: its lookup), which the account deletion and the
  maintenance sweep remove with it. `ApiKey.new` fills `owned_keys`; `from_item` keeps what is stored.
- `ApiKeyLookup` is `APIKEY#<kid>` / `APIKEY`: key_id, user_id and hash (SHA-256 of the secret; the
  secret itself is never stored).
- `CreatedKey` is a new key's listing plus its token, the only time the token is ever returned.
- `from_item(r.to_item()) == r` for each.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.records import keys
from core.records.keys import Key
from core.storage import Item


@dataclass(frozen=True)
class ApiKey:
    user_id: str
    id: str
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None = None
    requests: int = 0
    characters: int = 0
    owned_keys: tuple[Key, ...] = ()

    @property
    def key(self) -> Key:
        return keys.api_key_listing(self.user_id, self.id)

    @classmethod
    def new(cls, *, user_id: str, key_id: str, name: str, prefix: str, created_at: str) -> ApiKey:
        """A key never used yet, owning its lookup item (removed with the account)."""
        return cls(
            user_id=user_id,
            id=key_id,
            name=name,
            prefix=prefix,
            created_at=created_at,
            owned_keys=(keys.api_key_lookup(key_id),),
        )

    def to_item(self) -> Item:
        pk, sk = self.key
        return {
            "pk": pk,
            "sk": sk,
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "requests": self.requests,
            "characters": self.characters,
            "owned_keys": [[opk, osk] for opk, osk in self.owned_keys],
        }

    @classmethod
    def from_item(cls, item: Item) -> ApiKey:
        last_used = item.get("last_used_at")
        return cls(
            user_id=keys.user_id_of(str(item["pk"])),
            id=str(item["id"]),
            name=str(item["name"]),
            prefix=str(item["prefix"]),
            created_at=str(item["created_at"]),
            last_used_at=None if last_used is None else str(last_used),
            requests=int(item.get("requests") or 0),
            characters=int(item.get("characters") or 0),
            owned_keys=tuple((str(opk), str(osk)) for opk, osk in item.get("owned_keys") or []),
        )


@dataclass(frozen=True)
class ApiKeyLookup:
    key_id: str
    user_id: str
    hash: str

    @property
    def key(self) -> Key:
        return keys.api_key_lookup(self.key_id)

    def to_item(self) -> Item:
        pk, sk = self.key
        return {"pk": pk, "sk": sk, "user_id": self.user_id, "hash": self.hash}

    @classmethod
    def from_item(cls, item: Item) -> ApiKeyLookup:
        return cls(
            key_id=str(item["pk"]).removeprefix(keys.APIKEY),
            user_id=str(item["user_id"]),
            hash=str(item["hash"]),
        )


@dataclass(frozen=True)
class CreatedKey:
    """A key just created: its listing and the token (`cbx_<key_id>_<secret>`), shown this once."""

    record: ApiKey
    token: str
