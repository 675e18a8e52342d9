"""Sessions and tokens: login issues a pair, refresh rotates it, logout revokes it, requests check it.

Contract:
- A session is one refresh-token family, a `core.records.sessions.Session` stored as `USER#<uid>` /
  `SESSION#<sid>` with status (active | suspended | revoked), the claims of the pair it issued last (`current_jti` =
  its refresh token's jti, `refresh_iat`, `access_jti`, `access_iat`, `access_exp`; never the tokens),
  a ttl at that refresh token's expiry and, once rotated, `previous_jti` and `rotated_ms` (the
  rotation's `clock` time). `get_session` reads one; the functions below never hand out store items.
- Access and refresh tokens carry the session id (`sid`); an access token is accepted only while its
  session exists and is active, so logout, theft detection, a password change and account deletion take
  effect at once (one point read per request: the session's). A disabled account's sessions are
  `suspended` (core.services.signout, when core.services.accounts.set_active disables it): its access
  and refresh tokens answer 403 account_disabled without a profile read per request. `rotate` also reads
  the profile (it did already) and refuses a disabled account.
- `rotate` swaps the session's current refresh token for a new pair with a conditional write, so of
  concurrent uses one rotates. The session then keeps the new pair's claims (jti, iat, exp of both
  tokens; never the tokens) and the retired token's jti: within REFRESH_REUSE_GRACE_SECONDS of the
  rotation, presenting that previous token again (a retry, a second tab, a concurrent loser) returns
  the SAME pair, re-encoded (HS256 is deterministic), as the OAuth 2.0 Security BCP allows. After the
  window, or with any older token of the family, reuse revokes the family: a stolen token stops
  working for thief and owner. `clock` (epoch seconds, float) dates the rotations; tests replace it.
- `login` counts the attempt against the account's lockout counter before verifying the password
  (core.services.limits): one counter per account whatever name form is used (username in any case,
  the email in any equivalent form), one per unknown name, with identical answers and the same
  hashing work either way. A success resets the counter. Two names of one account share its counter,
  so once it is locked they show as linked (the price of one counter per account). A disabled account
  is refused (403 account_disabled) only after its password checked out, so a wrong password learns
  nothing. After writing the new session, login reads the profile again: a disable or password change
  that ran meanwhile either revoked this session or is seen here (the session is then revoked).
  `check_password` is the same counted check for a signed-in user (a password change).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from core.config import Settings
from core.errors import ConditionFailed, RateLimited, Unauthorized
from core.records import keys
from core.records.sessions import Session
from core.records.users import User
from core.security import TokenClaims, TokenType, decode_token, dummy_verify, encode_token, new_id
from core.services import limits, signout, users
from core.services.clock import utcnow_iso
from core.storage import Cond, KVStore

clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    session_id: str


def _token(
    settings: Settings, kind: TokenType, *, user_id: str, session_id: str, ttl: int, jti: str | None, iat: int | None
) -> tuple[str, TokenClaims]:
    return encode_token(
        subject=user_id,
        token_type=kind,
        session_id=session_id,
        ttl_seconds=ttl,
        key=settings.signing_key(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        jti=jti,
        now=iat,
    )


def _issue(settings: Settings, *, user_id: str, session_id: str) -> tuple[IssuedTokens, TokenClaims, TokenClaims]:
    access_ttl = settings.access_token_expire_minutes * 60
    refresh_ttl = settings.refresh_token_expire_days * 86400
    ids = {"user_id": user_id, "session_id": session_id}
    access, access_claims = _token(settings, "access", ttl=access_ttl, jti=None, iat=None, **ids)
    refresh, refresh_claims = _token(settings, "refresh", ttl=refresh_ttl, jti=None, iat=None, **ids)
    return IssuedTokens(access, refresh, access_ttl, refresh_ttl, session_id), access_claims, refresh_claims


def _reissue(settings: Settings, session: Session) -> IssuedTokens:
    """The session's last pair again, byte for byte, from its stored claims."""
    now = int(time.time())
    ids = {"user_id": session.user_id, "session_id": session.id}
    access, _ = _token(
        settings,
        "access",
        ttl=session.access_exp - session.access_iat,
        jti=session.access_jti,
        iat=session.access_iat,
        **ids,
    )
    refresh, _ = _token(
        settings,
        "refresh",
        ttl=session.ttl - session.refresh_iat,
        jti=session.current_jti,
        iat=session.refresh_iat,
        **ids,
    )
    return IssuedTokens(access, refresh, max(0, session.access_exp - now), max(0, session.ttl - now), session.id)


def get_session(store: KVStore, *, user_id: str, session_id: str) -> Session | None:
    item = store.get(*keys.session(user_id, session_id))
    return None if item is None else Session.from_item(item)


def start(store: KVStore, settings: Settings, *, user_id: str) -> IssuedTokens:
    tokens, access, refresh = _issue(settings, user_id=user_id, session_id=new_id())
    session = Session.start(access=access, refresh=refresh, created_at=utcnow_iso())
    store.put(session.to_item(), cond=Cond(exists=False))
    return tokens


def _checked(store: KVStore, settings: Settings, *, subject: str, user: User | None, password: str) -> User:
    locked_for = limits.login_attempt(
        store,
        subject=subject,
        max_attempts=settings.login_lockout_failures,
        window_s=settings.login_lockout_minutes * 60,
    )
    if locked_for is not None:
        dummy_verify(password)
        raise RateLimited(
            "Too many failed logins for this account; try again later", code="login_locked", retry_after=locked_for
        )
    user = users.verify_login(store, user=user, password=password)
    if settings.login_lockout_failures > 0:
        limits.login_succeeded(store, subject=subject)
    return user


def check_password(store: KVStore, settings: Settings, *, user: User, password: str) -> User:
    """`user` when `password` is theirs (a password change), counted under the account's login lockout."""
    return _checked(store, settings, subject=f"id:{user.id}", user=user, password=password)


def login(store: KVStore, settings: Settings, *, login: str, password: str) -> IssuedTokens:
    """Count the attempt under the account's lockout, then check the password and start a session.

    A locked account or name answers 429 whether or not it exists, after the same hashing work as a check.
    """
    user = users.find_by_login(store, login=login)
    subject = f"id:{user.id}" if user is not None else f"name:{users.login_name(login)}"
    user = users.require_active(_checked(store, settings, subject=subject, user=user, password=password))
    tokens = start(store, settings, user_id=user.id)
    # A disable or a password change may have fanned out over the sessions between the check above and
    # the write: read the profile again, so such a change either sees this session or is seen here.
    latest = users.find_profile(store, user_id=user.id)
    if latest is None or not latest.is_active or latest.password_hash != user.password_hash:
        signout.end_one(store, user_id=user.id, session_id=tokens.session_id)
        if latest is not None and not latest.is_active:
            raise users.account_disabled()
        raise Unauthorized("Incorrect username or password", code="invalid_credentials")
    return tokens


def _decode(settings: Settings, token: str, expected: TokenType) -> TokenClaims:
    return decode_token(
        token,
        expected_type=expected,
        key=settings.signing_key(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def _revoke(store: KVStore, session: Session) -> None:
    store.put(session.revoked(at=utcnow_iso()).to_item())


def _reused(store: KVStore, settings: Settings, session: Session, claims: TokenClaims) -> IssuedTokens:
    """A refresh token that is not the session's current one: its previous one within the grace
    window gets the same pair again; anything else revokes the family."""
    if (
        session.previous_jti == claims.jti
        and session.rotated_ms is not None
        and clock() * 1000 - session.rotated_ms < settings.refresh_reuse_grace_seconds * 1000
    ):
        return _reissue(settings, session)
    _revoke(store, session)
    raise Unauthorized("Refresh token was already used; the session is revoked", code="refresh_reused")


def _ended() -> Unauthorized:
    return Unauthorized("Session has ended; log in again", code="session_revoked")


def _live(session: Session | None) -> Session:
    """`session` when active; 403 account_disabled when suspended; 401 session_revoked otherwise."""
    if session is not None and session.status == "suspended":
        raise users.account_disabled()
    if session is None or not session.active:
        raise _ended()
    return session


def rotate(store: KVStore, settings: Settings, *, refresh_token: str) -> IssuedTokens:
    claims = _decode(settings, refresh_token, "refresh")
    session = _live(get_session(store, user_id=claims.sub, session_id=claims.sid))
    user = users.find_profile(store, user_id=claims.sub)
    if user is None:
        raise Unauthorized("Account no longer exists", code="invalid_token")
    users.require_active(user)
    if session.current_jti != claims.jti:
        return _reused(store, settings, session, claims)
    tokens, access, refresh = _issue(settings, user_id=claims.sub, session_id=claims.sid)
    rotated = session.rotated(access=access, refresh=refresh, rotated_ms=int(clock() * 1000), rotated_at=utcnow_iso())
    try:
        store.put(rotated.to_item(), cond=Cond(equals={"current_jti": claims.jti, "status": "active"}))
    except ConditionFailed:
        # Another request changed the session first: it rotated this token (then this is a reuse within
        # the grace window: the same pair), or it revoked the session.
        latest = _live(get_session(store, user_id=claims.sub, session_id=claims.sid))
        return _reused(store, settings, latest, claims)
    return tokens


def end(store: KVStore, settings: Settings, *, refresh_token: str) -> None:
    """Logout: revoke the token's whole family (idempotent for an already revoked session)."""
    claims = _decode(settings, refresh_token, "refresh")
    session = get_session(store, user_id=claims.sub, session_id=claims.sid)
    if session is None:
        raise _ended()
    if session.status != "revoked":
        _revoke(store, session)


def authenticate_access(store: KVStore, settings: Settings, *, token: str) -> TokenClaims:
    """Claims of a valid access token whose session is active and whose user still exists."""
    claims = _decode(settings, token, "access")
    _live(get_session(store, user_id=claims.sub, session_id=claims.sid))
    return claims
