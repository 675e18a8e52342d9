"""Expired access tokens for tests of token refresh in clients (the demo client, the web page).

Contract: `expired_copy(token, key)` returns an access token for the same user and session as
`token`, signed with the same key and issuer/audience defaults, whose expiry is an hour in the past,
so the API answers it with 401 `token_expired` (not `invalid_token`).
"""

from __future__ import annotations

import time

import jwt

from core.config import Settings
from core.security import ALGORITHM, encode_token


def expired_copy(token: str, key: str) -> str:
    claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"verify_aud": False})
    defaults = Settings.model_fields
    expired, _ = encode_token(
        subject=claims["sub"],
        token_type="access",
        session_id=claims["sid"],
        ttl_seconds=60,
        key=key,
        issuer=str(defaults["jwt_issuer"].default),
        audience=str(defaults["jwt_audience"].default),
        now=int(time.time()) - 3600,
    )
    return expired
