"""Password hashing and JWT handling (pure functions)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import bcrypt
import jwt
import pytest

from core import security
from core.errors import Unauthorized

KEY = "k" * 48
ARGS: dict[str, Any] = {"key": KEY, "issuer": "iss", "audience": "aud"}


def make(token_type: security.TokenType = "access", ttl: int = 60, **overrides: object) -> str:  # noqa: S107
    token, _ = security.encode_token(subject="u1", token_type=token_type, session_id="s1", ttl_seconds=ttl, **ARGS)
    if not overrides:
        return token
    payload = jwt.decode(token, options={"verify_signature": False})
    payload.update(overrides)
    return jwt.encode(payload, KEY, algorithm="HS256")


def test_argon2_is_default_and_verifies() -> None:
    hashed = security.hash_password("hunter2hunter2")
    assert hashed.startswith("$argon2")
    assert security.verify_password("hunter2hunter2", hashed) == (True, None)
    assert security.verify_password("wrong", hashed) == (False, None)
    assert security.verify_password("x", "not-a-hash") == (False, None)


def test_bcrypt_hash_verifies_and_is_upgraded() -> None:
    legacy = bcrypt.hashpw(b"old-password", bcrypt.gensalt(rounds=4)).decode()
    ok, new_hash = security.verify_password("old-password", legacy)
    assert ok
    assert new_hash is not None
    assert new_hash.startswith("$argon2")
    assert security.verify_password("old-password", new_hash) == (True, None)


def test_token_roundtrip_claims() -> None:
    claims = security.decode_token(make(), expected_type="access", **ARGS)
    assert (claims.sub, claims.type, claims.sid) == ("u1", "access", "s1")
    assert claims.exp - claims.iat == 60
    payload = jwt.decode(make(), options={"verify_signature": False})
    assert set(payload) == set(security.REQUIRED_CLAIMS)


def _unsigned(payload: dict[str, object], alg: str = "none") -> str:
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(payload)}."


@pytest.mark.parametrize(
    ("token_factory", "code"),
    [
        (lambda: make(ttl=-60), "token_expired"),
        (lambda: make(nbf=int(time.time()) + 3600), "invalid_token"),
        (lambda: make(iss="evil"), "invalid_token"),
        (lambda: make(aud="other"), "invalid_token"),
        (lambda: make("refresh"), "wrong_token_type"),
        (lambda: jwt.encode({"sub": "u1"}, KEY, algorithm="HS256"), "invalid_token"),
        (
            lambda: jwt.encode(jwt.decode(make(), options={"verify_signature": False}), "x" * 48, algorithm="HS256"),
            "invalid_token",
        ),
        (
            lambda: jwt.encode(jwt.decode(make(), options={"verify_signature": False}), KEY, algorithm="HS512"),
            "invalid_token",
        ),
        (lambda: _unsigned(jwt.decode(make(), options={"verify_signature": False})), "invalid_token"),
        (lambda: make()[:-4] + "AAAA", "invalid_token"),
        (lambda: "garbage", "invalid_token"),
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "issuer",
        "audience",
        "wrong-type",
        "missing-claims",
        "wrong-secret",
        "hs512",
        "alg-none",
        "tampered-signature",
        "garbage",
    ],
)
def test_bad_tokens_are_refused(token_factory: object, code: str) -> None:
    with pytest.raises(Unauthorized) as info:
        security.decode_token(token_factory(), expected_type="access", **ARGS)  # type: ignore[operator]
    assert info.value.code == code
    assert info.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_tampered_payload_is_refused() -> None:
    header, _, signature = make().split(".")
    forged = _unsigned({"sub": "admin"}).split(".")[1]
    with pytest.raises(Unauthorized):
        security.decode_token(f"{header}.{forged}.{signature}", expected_type="access", **ARGS)
