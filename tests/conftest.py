"""Shared fixtures: an isolated DATA_DIR per test, the combined app, users, an engine seam, AWS-protocol
servers.

Every test runs with DATA_DIR in its own tmp directory and fresh process singletons, so no test sees
another's data. AWS credentials are fake and point nowhere unless a test starts a loopback server.
`users` is the user factory of tests/support/users.py on the `client`; `install_engine(engine)` puts an
engine (e.g. tests/support/fake_engine.FakeEngine) in place through `runtime.use_engine` until the test
ends; `backend` runs a test once on SQLite and once on a DynamoDB table of the moto server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core import runtime
from tests.support import servers
from tests.support.clock import pinned_clock as pinned_clock  # the fixture, for every test module
from tests.support.fake_engine import EngineSeam
from tests.support.stores import make_dynamo
from tests.support.users import Users

__all__ = ["Users"]  # test modules import the factory's type from here or from tests.support.users


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("SWEEP_INTERVAL_MINUTES", "0")  # no background sweep unless a test asks for one
    for name in ("SECRET_KEY", "STORAGE_BACKEND", "BLOB_BACKEND", "TTS_ENGINE", "SQLITE_PATH", "BLOB_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    runtime.reset()
    yield data
    runtime.reset()


@pytest.fixture
def client() -> Iterator[TestClient]:
    import local_server

    with TestClient(local_server.app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with servers.moto_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The store the runtime (and so `client`) uses, per parameter: the default SQLite file, or a fresh
    table on the moto DynamoDB server. Request it before `client`."""
    if request.param == "dynamodb":
        url = request.getfixturevalue("moto_url")
        monkeypatch.setenv("STORAGE_BACKEND", "dynamodb")
        monkeypatch.setenv("DYNAMODB_TABLE", make_dynamo(url).table)
        monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", url)
        runtime.reset()
    return str(request.param)


@pytest.fixture
def users(client: TestClient) -> Users:
    return Users(client)


@pytest.fixture
def install_engine() -> Iterator[EngineSeam]:
    """`install_engine(engine)` makes `runtime.engine()` return `engine` for the rest of the test."""
    with ExitStack() as stack:
        yield EngineSeam(stack)
