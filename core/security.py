"""Password hashing and JWT encoding/decoding: pure functions, no storage.

Contract:
- Passwords: passlib CryptContext (the maintained `libpass` distribution) with argon2 as the
  default scheme; bcrypt hashes still verify and are reported as needing an upgrade, so login can
  re-hash them. `verify_password` returns (ok, new_hash_or_None). `dummy_verify` burns the time of
  one verification (for unknown users, so timing does not reveal whether a username exists).
- Tokens: HS256 only (pinned on decode: "none", RS*/ES* and any other alg are refused), claims
  sub, type ("access" | "refresh"), jti, sid (session = refresh family), iat, nbf, exp, iss, aud.
  `decode_token` raises `Unauthorized` for anything that is not a valid token of the expected type.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from core.errors import Unauthorized

if TYPE_CHECKING:
    from passlib.context import CryptContext

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]
REQUIRED_CLAIMS = ["sub", "type", "jti", "sid", "iat", "nbf", "exp", "iss", "aud"]


@lru_cache(maxsize=1)
def _context() -> CryptContext:
    from passlib.context import CryptContext  # loaded on the first hash: the read-only handlers never pay for it

    return CryptContext(schemes=["argon2", "bcrypt"], deprecated="auto")


def hash_password(password: str) -> str:
    return str(_context().hash(password))


def verify_password(password: str, hashed: str) -> tuple[bool, str | None]:
    """(valid, replacement hash when the stored one uses a deprecated scheme or parameters)."""
    try:
        ok, new_hash = _context().verify_and_update(password, hashed)
    except (ValueError, TypeError):
        return False, None
    return bool(ok), new_hash


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def dummy_verify(password: str) -> None:
    _context().verify(password, _dummy_hash())


def new_id(nbytes: int = 16) -> str:
    return secrets.token_hex(nbytes)


@dataclass(frozen=True)
class TokenClaims:
    sub: str
    type: TokenType
    jti: str
    sid: str
    iat: int
    exp: int

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> TokenClaims:
        return cls(
            sub=str(payload["sub"]),
            type=payload["type"],
            jti=str(payload["jti"]),
            sid=str(payload["sid"]),
            iat=int(payload["iat"]),
            exp=int(payload["exp"]),
        )


def encode_token(
    *,
    subject: str,
    token_type: TokenType,
    session_id: str,
    ttl_seconds: int,
    key: str,
    issuer: str,
    audience: str,
    jti: str | None = None,
    now: int | None = None,
) -> tuple[str, TokenClaims]:
    issued = int(time.time()) if now is None else now
    claims = TokenClaims(
        sub=subject, type=token_type, jti=jti or new_id(), sid=session_id, iat=issued, exp=issued + ttl_seconds
    )
    payload = {
        "sub": claims.sub,
        "type": claims.type,
        "jti": claims.jti,
        "sid": claims.sid,
        "iat": claims.iat,
        "nbf": claims.iat,
        "exp": claims.exp,
        "iss": issuer,
        "aud": audience,
    }
    import jwt  # pyjwt pulls in `cryptography` (~40 ms): paid by the first token, not by every cold start

    return jwt.encode(payload, key, algorithm=ALGORITHM), claims


def decode_token(token: str, *, expected_type: TokenType, key: str, issuer: str, audience: str) -> TokenClaims:
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("Invalid token", code="invalid_token")
        payload = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            options={"require": REQUIRED_CLAIMS},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Token has expired", code="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid token", code="invalid_token") from exc
    if payload.get("type") != expected_type:
        raise Unauthorized(
            f"Expected a{'n' if expected_type == 'access' else ''} {expected_type} token", code="wrong_token_type"
        )
    try:
        return TokenClaims.from_payload(payload)
    except (KeyError, TypeError, ValueError) as exc:
        raise Unauthorized("Invalid token", code="invalid_token") from exc
