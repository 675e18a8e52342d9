"""Fixtures of the unit layer: `store`, each test once on SQLite (a file) and once on DynamoDB (moto);
`chatterbox_checkpoint` and `chatterbox_engine`, the random-weight Chatterbox checkpoint
(tests/support/chatterbox_ckpt.py) and one engine loaded from it, shared by the unit modules that use
them (the model loads once, ~3.2 GB RSS; skipped where chatterbox is not installed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.storage import KVStore
from tests.support.chatterbox_ckpt import ensure_checkpoint
from tests.support.stores import file_or_dynamo

if TYPE_CHECKING:
    from core.tts.chatterbox import ChatterboxEngine


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    yield from file_or_dynamo(request, tmp_path)


@pytest.fixture(scope="package")
def chatterbox_checkpoint() -> Path:
    pytest.importorskip("chatterbox.tts")
    return ensure_checkpoint()


@pytest.fixture(scope="package")
def chatterbox_engine(chatterbox_checkpoint: Path) -> ChatterboxEngine:
    from core.tts.chatterbox import ChatterboxEngine

    engine = ChatterboxEngine(chatterbox_checkpoint, device="cpu")
    engine.load()  # the 2-layer T3 loads as is: the engine reads the depth from the checkpoint
    return engine
