"""`python -m core.admin promote|demote|list` on the store Settings configure: SQLite (DATA_DIR) and
DynamoDB (the moto server, as STORAGE_BACKEND=dynamodb with an endpoint URL configures it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core import runtime
from core.admin import main
from core.services import users


def _register(name: str) -> str:
    return users.register(
        runtime.store(), username=name, email=f"{name}@example.com", password="x" * 12, full_name=None
    ).id


def test_promote_list_demote(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    alice, _ = _register("Alice"), _register("bob")
    assert main(["promote", "alice"]) == 0
    promoted = json.loads(capsys.readouterr().out)
    assert (promoted["id"], promoted["role"]) == (alice, "admin")
    assert main(["promote", "ALICE@example.com"]) == 0  # idempotent, by email too
    capsys.readouterr()
    assert main(["list"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["username"] for a in listed] == ["Alice"]
    assert main(["demote", "alice"]) == 0
    assert json.loads(capsys.readouterr().out)["role"] == "user"
    assert users.get_user(runtime.store(), user_id=alice).role == "user"


def test_an_unknown_account_exits_2(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["promote", "nobody"]) == 2
    assert "nobody" in capsys.readouterr().err


def test_runs_as_a_module() -> None:
    """The documented entry point: `python -m core.admin` (a fresh process on this test's DATA_DIR)."""
    _register("carol")
    done = subprocess.run(
        [sys.executable, "-m", "core.admin", "promote", "carol"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["role"] == "admin"
