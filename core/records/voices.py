"""The cloned-voice record: one user's voice, its store item and its blobs.

Contract: a `Voice` is stored as `USER#<uid>` / `VOICE#<vid>` (`core.records.keys.voice`) with the
attributes id, name, description, created_at, duration, reference_key, conditionals ({voice_format:
blob key}) and blob_keys (every blob it owns, deleted with it). Its blobs are
`voices/<uid>/<vid>/reference.flac` (the normalised reference clip) and
`voices/<uid>/<vid>/<voice_format>.bin` (conditionals prepared by a cloning engine), named only by
`core.records.keys`. `from_item(v.to_item()) == v`; attributes an older item lacks read as empty.
Records are immutable: `with_conditionals` returns the record with one more prepared format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core.records import keys


@dataclass(frozen=True)
class Voice:
    id: str
    user_id: str
    name: str
    description: str | None
    created_at: str  # ISO 8601, UTC
    duration: float | None  # reference clip length in seconds
    reference_key: str
    conditionals: Mapping[str, str] = field(default_factory=dict, hash=False)  # voice_format -> blob key
    blob_keys: tuple[str, ...] = ()

    @classmethod
    def new(
        cls,
        *,
        user_id: str,
        voice_id: str,
        name: str,
        description: str | None,
        created_at: str,
        duration: float,
        voice_format: str | None,
    ) -> Voice:
        """A new voice: its reference clip, plus conditionals in `voice_format` when one is prepared."""
        reference = keys.voice_reference_blob(user_id, voice_id)
        conditionals = (
            {}
            if voice_format is None
            else {voice_format: keys.voice_conditionals_blob(user_id, voice_id, voice_format)}
        )
        return cls(
            id=voice_id,
            user_id=user_id,
            name=name,
            description=description,
            created_at=created_at,
            duration=round(duration, 3),
            reference_key=reference,
            conditionals=conditionals,
            blob_keys=(reference, *conditionals.values()),
        )

    @property
    def key(self) -> keys.Key:
        return keys.voice(self.user_id, self.id)

    def conditionals_key(self, voice_format: str) -> str | None:
        """The blob of this voice's prepared conditionals in `voice_format`, if it has one."""
        return self.conditionals.get(voice_format)

    def conditionals_blob(self, voice_format: str) -> str:
        """Where this voice's conditionals in `voice_format` are (or would be) stored."""
        return keys.voice_conditionals_blob(self.user_id, self.id, voice_format)

    def with_conditionals(self, voice_format: str) -> Voice:
        """This voice with conditionals in `voice_format` stored at `conditionals_blob(voice_format)`."""
        key = self.conditionals_blob(voice_format)
        return replace(
            self,
            conditionals={**self.conditionals, voice_format: key},
            blob_keys=tuple(sorted({*self.blob_keys, key})),
        )

    def to_item(self) -> dict[str, Any]:
        pk, sk = self.key
        return {
            "pk": pk,
            "sk": sk,
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "created_at": self.created_at,
            "duration": self.duration,
            "reference_key": self.reference_key,
            "conditionals": dict(self.conditionals),
            "blob_keys": list(self.blob_keys),
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Voice:
        duration = item.get("duration")
        return cls(
            id=str(item["id"]),
            user_id=keys.user_id_of(str(item["pk"])),
            name=str(item["name"]),
            description=item.get("description"),
            created_at=str(item["created_at"]),
            duration=None if duration is None else float(duration),
            reference_key=str(item["reference_key"]),
            conditionals={str(k): str(v) for k, v in (item.get("conditionals") or {}).items()},
            blob_keys=tuple(str(k) for k in item.get("blob_keys") or ()),
        )
