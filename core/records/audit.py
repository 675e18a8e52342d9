"""The admin audit record: who did what to which account, when, and what changed.

Contract: an `AuditRecord` is stored as `AUDIT` / `ENTRY#<id>` (core.records.keys.audit_entry), `id` a
`core.services.clock.sortable_id`, so a descending query lists the log newest first. Attributes: id, at
(ISO-8601 UTC), actor_id and actor_username (the admin), action (one of `ACTIONS`), target_id and
target_username (the account acted on; kept after the account is deleted) and changes ({field: {"from":
old, "to": new}} of what the action changed; empty for a deletion). `from_item(r.to_item()) == r`.
Audit records are written in the same transaction as the change they describe (core.services.admin),
and are never updated or deleted by the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.records import keys
from core.records.keys import Key
from core.storage import Item

AuditAction = Literal["user.update", "user.delete"]
ACTIONS: tuple[AuditAction, ...] = ("user.update", "user.delete")


@dataclass(frozen=True)
class AuditRecord:
    id: str
    at: str
    actor_id: str
    actor_username: str
    action: AuditAction
    target_id: str
    target_username: str
    changes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> Key:
        return keys.audit_entry(self.id)

    def to_item(self) -> Item:
        pk, sk = self.key
        return {
            "pk": pk,
            "sk": sk,
            "id": self.id,
            "at": self.at,
            "actor_id": self.actor_id,
            "actor_username": self.actor_username,
            "action": self.action,
            "target_id": self.target_id,
            "target_username": self.target_username,
            "changes": {name: dict(change) for name, change in self.changes.items()},
        }

    @classmethod
    def from_item(cls, item: Item) -> AuditRecord:
        action = str(item["action"])
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        changes = item.get("changes") or {}
        return cls(
            id=str(item["id"]),
            at=str(item["at"]),
            actor_id=str(item["actor_id"]),
            actor_username=str(item["actor_username"]),
            action="user.delete" if action == "user.delete" else "user.update",
            target_id=str(item["target_id"]),
            target_username=str(item["target_username"]),
            changes={str(name): dict(change) for name, change in changes.items()},
        )
