"""Data set-up for benchmarks, written straight into the sqlite store through core.storage/services.

Contract: `direct_user(data_dir)` registers one user in the sqlite store under `data_dir` (the same
file a server started with that DATA_DIR uses) and opens a session: it returns the store, the user
id, the settings and a valid access token. `audio_item` builds a record shaped exactly like the ones
`core.services.synthesis` writes (without a blob), and `insert_history` adds many of them quickly
in transactions of 25. Nothing here synthesizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.servers import SECRET_KEY
from tests.support.users import PASSWORD


@dataclass
class DirectUser:
    store: Any  # core.storage.sqlite.SqliteStore
    settings: Any  # core.config.Settings
    user_id: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def fresh_refresh_token(self) -> str:
        from core.services import sessions

        return sessions.start(self.store, self.settings, user_id=self.user_id).refresh_token


def direct_user(data_dir: Path, username: str = "bench") -> DirectUser:
    from pydantic import SecretStr

    from core.config import Settings
    from core.services import sessions, users
    from core.storage.sqlite import SqliteStore

    settings = Settings(data_dir=data_dir, secret_key=SecretStr(SECRET_KEY), app_env="development")
    store = SqliteStore(settings.resolved_sqlite_path)
    user = users.register(
        store, username=username, email=f"{username}@example.com", password=PASSWORD, full_name="Bench"
    )
    tokens = sessions.start(store, settings, user_id=user.id)
    return DirectUser(store, settings, user.id, tokens.access_token)


def audio_item(user_id: str, *, text: str = "A stored sentence for the history benchmark.") -> dict[str, Any]:
    from core.services.clock import sortable_id, utcnow_iso
    from tests.support.records import audio_record

    record = audio_record(
        user_id=user_id, audio_id=sortable_id(), text=text, duration=2.5, size_bytes=110_294, created_at=utcnow_iso()
    )
    return record.to_item()


def insert_history(store: Any, user_id: str, count: int) -> None:
    """Add `count` audio records (no blobs) to the user's library."""
    from core.storage import MUST_NOT_EXIST, Put

    batch: list[Put] = []
    for _ in range(count):
        batch.append(Put(audio_item(user_id), cond=MUST_NOT_EXIST))
        if len(batch) == 25:
            store.transact(batch)
            batch = []
    if batch:
        store.transact(batch)
