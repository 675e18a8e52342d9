"""core.services.voices driven directly on an in-memory SQLite store: the `Voice` record's item and keys,
create / list / resolve / delete, and conditionals prepared later by a cloning engine.

`ToneEngine` below is a test double of the engine protocol: no real engine here can both clone and
count its `prepare_voice` calls cheaply (Chatterbox is slow and needs its checkpoint; Piper cannot
clone). It is local to this module; tests/support/fake_engine.py is the shared one being built.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest

from core.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from core.records import keys
from core.records.voices import Voice
from core.services import voices
from core.services.limits import Rate
from core.services.policy import MediaPolicy
from core.storage import BlobStore, KVStore
from core.tts import codecs
from core.tts.base import (
    Audio,
    BuiltinVoice,
    Capabilities,
    CloningUnsupported,
    SynthesisOptions,
    VoiceSpec,
    prose_seconds,
)
from tests.unit.services.conftest import add_user

BUILTIN = BuiltinVoice(id="tone", name="Tone", description="A tone")
FORMAT = "tone-conds-v1"


class ToneEngine:
    """A typed engine double: tones for speech; with `can_clone`, conditionals = a digest of the clip."""

    def __init__(self, *, can_clone: bool) -> None:
        self._caps = Capabilities(
            name="tone-clone" if can_clone else "tone",
            can_clone=can_clone,
            sample_rate=24000,
            max_chars=400,
            voice_format=FORMAT if can_clone else None,
        )
        self.prepared = 0

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    def voices(self) -> list[BuiltinVoice]:
        return [BUILTIN]

    def synthesize(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Audio:
        return Audio(np.zeros(int(self.estimate_seconds(text, options) * 24000), dtype=np.float32), 24000)

    def stream(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Iterator[Audio]:
        yield self.synthesize(text, voice, options)

    def prepare_voice(self, reference: Audio) -> bytes:
        if not self._caps.can_clone:
            raise CloningUnsupported("this engine cannot clone")
        self.prepared += 1
        return f"conds:{len(reference.samples)}@{reference.sample_rate}".encode()

    def estimate_seconds(self, text: str, options: SynthesisOptions) -> float:
        return prose_seconds(text, options)


def clip(seconds: float = 4.0) -> bytes:
    """A voiced-sounding reference clip (a modulated 220 Hz tone) as WAV bytes."""
    t = np.arange(int(24000 * seconds)) / 24000
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    return codecs.encode(Audio(tone.astype(np.float32), 24000), "wav")


MEDIA = MediaPolicy(max_decoded_samples=10_000_000, decode_slots=1, conversions=Rate("conversions", 3600, 0))


def create(store: KVStore, blobs: BlobStore, engine: ToneEngine, user_id: str, data: bytes | None = None) -> Voice:
    return voices.create(
        store,
        blobs,
        engine,
        user_id=user_id,
        name="Mine",
        description="my voice",
        data=clip() if data is None else data,
        policy=MEDIA,
    )


def blob_keys(blobs: BlobStore) -> set[str]:
    return {info.key for info in blobs.listing()}


def test_voice_record_round_trips_and_names_its_keys() -> None:
    voice = Voice.new(
        user_id="u1",
        voice_id="v1",
        name="Mine",
        description=None,
        created_at="2026-01-01T00:00:00.000Z",
        duration=4.00049,
        voice_format=FORMAT,
    )
    assert voice.key == keys.voice("u1", "v1")
    assert voice.reference_key == keys.voice_reference_blob("u1", "v1")
    assert voice.conditionals == {FORMAT: keys.voice_conditionals_blob("u1", "v1", FORMAT)}
    assert voice.blob_keys == (voice.reference_key, voice.conditionals[FORMAT])
    assert voice.duration == 4.0
    item = voice.to_item()
    assert (item["pk"], item["sk"]) == voice.key
    assert Voice.from_item(item) == voice
    assert Voice.from_item({**item, "duration": 4}).duration == 4.0  # DynamoDB gives integral floats as int
    older = {k: v for k, v in item.items() if k not in ("conditionals", "blob_keys", "duration")}
    assert Voice.from_item(older) == replace(voice, conditionals={}, blob_keys=(), duration=None)


def test_with_conditionals_adds_a_format_without_changing_the_record() -> None:
    voice = Voice.new(
        user_id="u1", voice_id="v1", name="n", description=None, created_at="t", duration=4.0, voice_format=None
    )
    prepared = voice.with_conditionals(FORMAT)
    assert voice.conditionals == {}
    assert voice.blob_keys == (voice.reference_key,)
    assert prepared.conditionals_key(FORMAT) == keys.voice_conditionals_blob("u1", "v1", FORMAT)
    assert set(prepared.blob_keys) == {voice.reference_key, prepared.conditionals[FORMAT]}
    assert prepared.with_conditionals(FORMAT) == prepared  # idempotent


def test_create_stores_the_record_and_its_blobs(store: KVStore, blobs: BlobStore, user_id: str) -> None:
    engine = ToneEngine(can_clone=True)
    voice = create(store, blobs, engine, user_id)
    assert (voice.user_id, voice.name, voice.description) == (user_id, "Mine", "my voice")
    assert voice.duration == pytest.approx(4.0, abs=0.05)
    assert voices.get_custom(store, user_id=user_id, voice_id=voice.id) == voice
    assert blob_keys(blobs) == set(voice.blob_keys) == {voice.reference_key, voice.conditionals[FORMAT]}
    reference = codecs.decode(blobs.get(voice.reference_key), max_duration_s=61)
    assert reference.sample_rate == codecs.REFERENCE_RATE
    assert engine.prepared == 1
    assert voices.list_voices(store, engine, user_id=user_id) == [BUILTIN, voice]
    assert voices.list_voices(store, engine, user_id=add_user(store, "bob")) == [BUILTIN]


def test_a_clip_too_short_or_an_account_gone_leaves_nothing(store: KVStore, blobs: BlobStore, user_id: str) -> None:
    engine = ToneEngine(can_clone=True)
    with pytest.raises(ValidationFailed) as short:
        create(store, blobs, engine, user_id, clip(seconds=1.0))
    assert short.value.code == "audio_too_short"
    with pytest.raises(Unauthorized) as gone:
        create(store, blobs, engine, "no-profile")
    assert gone.value.code == "account_deleted"
    assert blob_keys(blobs) == set()
    assert voices.list_voices(store, engine, user_id="no-profile") == [BUILTIN]


def test_resolve_names_builtins_and_reads_stored_conditionals(store: KVStore, blobs: BlobStore, user_id: str) -> None:
    engine = ToneEngine(can_clone=True)
    voice = create(store, blobs, engine, user_id)
    resolve = voices.resolve
    assert resolve(store, blobs, engine, user_id=user_id, voice_id=None) == VoiceSpec(builtin_id=BUILTIN.id)
    assert resolve(store, blobs, engine, user_id=user_id, voice_id=BUILTIN.id) == VoiceSpec(builtin_id=BUILTIN.id)
    spec = resolve(store, blobs, engine, user_id=user_id, voice_id=voice.id)
    assert spec.conditionals == blobs.get(voice.conditionals[FORMAT])
    assert engine.prepared == 1  # read, not prepared again
    bob = add_user(store, "bob")
    for other, voice_id in ((bob, voice.id), (user_id, "not-an-id"), (user_id, "0" * 26)):
        with pytest.raises(NotFound) as missing:
            resolve(store, blobs, engine, user_id=other, voice_id=voice_id)
        assert missing.value.code == "voice_not_found"


def test_a_voice_made_without_cloning_is_prepared_once_when_a_cloning_engine_uses_it(
    store: KVStore, blobs: BlobStore, user_id: str
) -> None:
    plain, cloning = ToneEngine(can_clone=False), ToneEngine(can_clone=True)
    voice = create(store, blobs, plain, user_id)
    assert voice.conditionals == {}
    assert voice.blob_keys == (voice.reference_key,)
    with pytest.raises(CloningUnsupported):
        voices.resolve(store, blobs, plain, user_id=user_id, voice_id=voice.id)
    first = voices.resolve(store, blobs, cloning, user_id=user_id, voice_id=voice.id)
    again = voices.resolve(store, blobs, cloning, user_id=user_id, voice_id=voice.id)
    assert cloning.prepared == 1
    assert first == again
    stored = voices.get_custom(store, user_id=user_id, voice_id=voice.id)
    assert stored == voice.with_conditionals(FORMAT)
    assert blobs.get(stored.conditionals[FORMAT]) == first.conditionals


def test_delete_removes_the_record_and_every_blob(store: KVStore, blobs: BlobStore, user_id: str) -> None:
    engine = ToneEngine(can_clone=True)
    voice, kept = create(store, blobs, engine, user_id), create(store, blobs, engine, user_id)
    assert voices.delete(store, blobs, engine, user_id=user_id, voice_id=voice.id) == voice  # what was deleted
    assert voices.list_voices(store, engine, user_id=user_id) == [BUILTIN, kept]
    assert blob_keys(blobs) == set(kept.blob_keys)
    with pytest.raises(NotFound):
        voices.delete(store, blobs, engine, user_id=user_id, voice_id=voice.id)
    with pytest.raises(Forbidden) as builtin:
        voices.delete(store, blobs, engine, user_id=user_id, voice_id=BUILTIN.id)
    assert builtin.value.code == "builtin_voice"
