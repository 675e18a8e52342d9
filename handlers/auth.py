"""Account endpoints: POST /auth/register, /auth/login, /auth/refresh, /auth/logout, /auth/password.

Lambda entry: `handlers.auth.handler`. Thin: parses and answers; core.services decide.
Register answers 200 (the original contract's status) with the account, `message` and `username`. Refresh takes
the refresh token in the JSON body or as a `refresh_token` query parameter (the original server's signature);
the body's is used when both are sent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from mangum import Mangum

from core.api import SessionUser, SettingsDep, StoreDep, create_app, limit_per_ip
from core.schemas.auth import (
    MAX_TOKEN_CHARS,
    LoginRequest,
    Message,
    PasswordChange,
    RefreshRequest,
    Registered,
    RegisterRequest,
    TokenPair,
    refresh_token_of,
)
from core.services import accounts, sessions, users
from core.services.policy import LOGIN, REGISTER

router = APIRouter(prefix="/auth", tags=["auth"])


def _pair(tokens: sessions.IssuedTokens) -> TokenPair:
    return TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        refresh_expires_in=tokens.refresh_expires_in,
    )


@router.post("/register", response_model=Registered, dependencies=[limit_per_ip(REGISTER)])
def register(body: RegisterRequest, store: StoreDep) -> Registered:
    user = users.register(
        store, username=body.username, email=str(body.email), password=body.password, full_name=body.full_name
    )
    return Registered.of(user)


@router.post("/login", response_model=TokenPair, dependencies=[limit_per_ip(LOGIN)])
def login(body: LoginRequest, store: StoreDep, settings: SettingsDep) -> TokenPair:
    return _pair(sessions.login(store, settings, login=body.username, password=body.password))


@router.post("/refresh", response_model=TokenPair)
def refresh(
    store: StoreDep,
    settings: SettingsDep,
    body: Annotated[RefreshRequest | None, Body(description="the refresh token (or the query parameter)")] = None,
    refresh_token: Annotated[
        str | None,
        Query(min_length=1, max_length=MAX_TOKEN_CHARS, description="original form; prefer the body"),
    ] = None,
) -> TokenPair:
    token = refresh_token_of(body, refresh_token)
    return _pair(sessions.rotate(store, settings, refresh_token=token))


@router.post("/logout", response_model=Message)
def logout(body: RefreshRequest, store: StoreDep, settings: SettingsDep) -> Message:
    sessions.end(store, settings, refresh_token=body.refresh_token)
    return Message(message="Logged out")


@router.post("/password", response_model=TokenPair)
def change_password(body: PasswordChange, principal: SessionUser, store: StoreDep, settings: SettingsDep) -> TokenPair:
    """Change the password: every other session ends; the caller gets a new token pair (login's shape)."""
    tokens = accounts.change_password(
        store,
        settings,
        user_id=principal.user_id,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return _pair(tokens)


app = create_app(router)
handler = Mangum(app, lifespan="off")
