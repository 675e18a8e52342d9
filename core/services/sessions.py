"""Sessions and tokens: login issues a pair, refresh rotates it, logout revokes it, requests check it.

Contract:
- A session is one refresh-token family, stored as `USER#<uid>` / `SESSION#<sid>` with status
  (active | revoked), the jti of its one current refresh token, and a ttl at that token's expiry.
- Access and refresh tokens carry the session id (`sid`); an access token is accepted only while its
  user's profile and its session exist and the session is active, so logout, theft detection and
  account deletion take effect at once (one point read per request).
- `rotate` accepts only the session's current refresh token, swapping it for a new pair with a
  conditional write, so of two concurrent uses at most one wins. Presenting any other (retired)
  refresh token of the family revokes the family: a stolen token stops working for thief and owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Settings
from core.errors import ConditionFailed, Unauthorized
from core.security import TokenClaims, TokenType, decode_token, encode_token, new_id
from core.services.clock import utcnow_iso
from core.services.users import user_pk
from core.storage import Cond, Item, KVStore


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


def _session_key(user_id: str, session_id: str) -> tuple[str, str]:
    return user_pk(user_id), f"SESSION#{session_id}"


def _issue(settings: Settings, *, user_id: str, session_id: str) -> tuple[IssuedTokens, TokenClaims]:
    key = settings.signing_key()
    access_ttl = settings.access_token_expire_minutes * 60
    refresh_ttl = settings.refresh_token_expire_days * 86400

    def token(kind: TokenType, ttl: int) -> tuple[str, TokenClaims]:
        return encode_token(
            subject=user_id,
            token_type=kind,
            session_id=session_id,
            ttl_seconds=ttl,
            key=key,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )

    access, _ = token("access", access_ttl)
    refresh, claims = token("refresh", refresh_ttl)
    return IssuedTokens(access, refresh, access_ttl, refresh_ttl), claims


def start(store: KVStore, settings: Settings, *, user_id: str) -> IssuedTokens:
    session_id = new_id()
    tokens, refresh = _issue(settings, user_id=user_id, session_id=session_id)
    pk, sk = _session_key(user_id, session_id)
    store.put(
        {
            "pk": pk,
            "sk": sk,
            "status": "active",
            "current_jti": refresh.jti,
            "created_at": utcnow_iso(),
            "ttl": refresh.exp,
        },
        cond=Cond(exists=False),
    )
    return tokens


def login(store: KVStore, settings: Settings, *, login: str, password: str) -> IssuedTokens:
    """Check credentials under the per-username lockout, then start a session.

    A locked name answers 429 whether or not it exists, after the same hashing work as a real check.
    """
    from core.errors import RateLimited
    from core.security import dummy_verify
    from core.services import limits, users

    locked_for = limits.login_locked(store, username=login, max_failures=settings.login_lockout_failures)
    if locked_for is not None:
        dummy_verify(password)
        raise RateLimited(
            "Too many failed logins for this account; try again later", code="login_locked", retry_after=locked_for
        )
    try:
        user = users.authenticate(store, login=login, password=password)
    except Unauthorized:
        if settings.login_lockout_failures > 0:
            limits.login_failed(store, username=login, window_s=settings.login_lockout_minutes * 60)
        raise
    limits.login_succeeded(store, username=login)
    return start(store, settings, user_id=user["id"])


def _decode(settings: Settings, token: str, expected: TokenType) -> TokenClaims:
    return decode_token(
        token,
        expected_type=expected,
        key=settings.signing_key(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def _revoke(store: KVStore, session: Item) -> None:
    store.put({**session, "status": "revoked", "revoked_at": utcnow_iso()})


def rotate(store: KVStore, settings: Settings, *, refresh_token: str) -> IssuedTokens:
    claims = _decode(settings, refresh_token, "refresh")
    pk, sk = _session_key(claims.sub, claims.sid)
    session = store.get(pk, sk)
    if session is None or session.get("status") != "active":
        raise Unauthorized("Session has ended; log in again", code="session_revoked")
    if store.get(pk, "PROFILE") is None:
        raise Unauthorized("Account no longer exists", code="invalid_token")
    if session.get("current_jti") != claims.jti:
        _revoke(store, session)
        raise Unauthorized("Refresh token was already used; the session is revoked", code="refresh_reused")
    tokens, new_refresh = _issue(settings, user_id=claims.sub, session_id=claims.sid)
    try:
        store.put(
            {**session, "current_jti": new_refresh.jti, "ttl": new_refresh.exp, "rotated_at": utcnow_iso()},
            cond=Cond(equals={"current_jti": claims.jti, "status": "active"}),
        )
    except ConditionFailed as exc:
        # Another request rotated this token first: this one is a reuse of a retired token.
        latest = store.get(pk, sk)
        if latest is not None:
            _revoke(store, latest)
        raise Unauthorized("Refresh token was already used; the session is revoked", code="refresh_reused") from exc
    return tokens


def end(store: KVStore, settings: Settings, *, refresh_token: str) -> None:
    """Logout: revoke the token's whole family (idempotent for an already revoked session)."""
    claims = _decode(settings, refresh_token, "refresh")
    pk, sk = _session_key(claims.sub, claims.sid)
    session = store.get(pk, sk)
    if session is None:
        raise Unauthorized("Session has ended; log in again", code="session_revoked")
    if session.get("status") == "active":
        _revoke(store, session)


def authenticate_access(store: KVStore, settings: Settings, *, token: str) -> TokenClaims:
    """Claims of a valid access token whose session is active and whose user still exists."""
    claims = _decode(settings, token, "access")
    pk, sk = _session_key(claims.sub, claims.sid)
    session = store.get(pk, sk)
    if session is None or session.get("status") != "active":
        raise Unauthorized("Session has ended; log in again", code="session_revoked")
    return claims
