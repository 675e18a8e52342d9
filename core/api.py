"""FastAPI app factory, the one error shape, request-size limits, and shared dependencies.

Contract:
- `create_app(*routers)` returns an app with every router included, the error handlers below, and
  the HTTP edge. Lambda handler modules and local_server.py both build their app with it.
- Every error response has the body `{"error": {"code": str, "message": str, "details"?: any}}`:
  `AppError` subclasses carry their status; request validation answers 422 (400 for malformed
  JSON); unknown routes 404; anything unexpected 500 without internals.
- The HTTP edge (`core.edge.install`): real client addresses behind trusted proxies, security headers,
  duplicate framing headers refused, one body limit decided by the route (413 before a body is held or
  parsed; `core.edge.upload_route` marks uploads), 408 for slow bodies. /docs and /redoc are
  self-hosted and only served when DOCS_ENABLED (`core.edge.docs`).
- `CurrentUser` resolves the Bearer access token to a `Principal` (401 with WWW-Authenticate otherwise);
  `Principal.caller` is the `core.services.policy.Caller` that services charge and limit.
- `AdminUser` is a `CurrentUser` whose account is an active admin (403 `forbidden` otherwise,
  `account_disabled` for a disabled account; 401 without credentials): the dependency of every /admin
  route.
- `PolicyDep` is `core.services.policy.Policy.of(settings)`: handlers pass its parts to the services,
  which apply them. `limit_per_ip(rule)` / `limit_per_user(rule)` are route dependencies counting a
  request against a `policy.RateRule` (429 rate_limited with Retry-After, before the handler runs).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

import core
from core import edge, runtime
from core.config import Settings, get_settings
from core.edge.docs import docs_router
from core.errors import AppError, Forbidden, Unauthorized, error_body
from core.services import accounts, api_keys, limits, sessions, users
from core.services.policy import Caller, Policy, RateRule
from core.storage import BlobStore, KVStore
from core.tts.base import Engine

log = logging.getLogger("chatterbox_api")


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
        }
    },
}


def error_response(
    status: int, code: str, message: str, *, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        if exc.status >= 500:
            log.warning("%s: %s", exc.code, exc.message)
        return error_response(exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "malformed_json", "Request body is not valid JSON")
        content_type = request.headers.get("content-type", "")
        whole_body = any(tuple(e.get("loc", ())) == ("body",) for e in errors)
        form = content_type.startswith(("multipart/", "application/x-www-form-urlencoded"))
        if whole_body and request.method in ("POST", "PUT", "PATCH") and "json" not in content_type and not form:
            return error_response(
                415, "unsupported_media_type", "Send the request body as JSON (Content-Type: application/json)"
            )
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in errors
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(p for p in first["loc"] if p not in ("body", "query", "path")) or "request"
        return error_response(422, "validation_error", f"{where}: {first['msg']}", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(exc.status_code, code, message, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "Internal server error")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette lists only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return sorted(methods)


def create_app(*routers: APIRouter, title: str | None = None) -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title=title or settings.app_name,
        version=core.__version__,
        description="Multi-user text-to-speech: accounts, voice cloning, synthesis and an audio library.",
        responses={"default": {"description": "Error", "content": {"application/json": {"schema": ERROR_SCHEMA}}}},
        docs_url=None,  # FastAPI's pages load their assets from a CDN: core.edge.docs serves its own
        redoc_url=None,
    )
    _install_error_handlers(app)
    for router in routers:
        app.include_router(router)
    if settings.docs_on and app.openapi_url:
        app.include_router(docs_router(openapi_url=app.openapi_url))
    edge.install(app)
    return app


# -- dependencies ------------------------------------------------------------------------------
# The accessors below are `async def` on purpose: they only return a process singleton, and FastAPI
# would otherwise send each sync dependency through the thread pool (one hop per dependency per request).
async def get_store() -> KVStore:
    return runtime.store()


async def get_blobs() -> BlobStore:
    return runtime.blobs()


async def get_engine() -> Engine:
    return runtime.engine()


StoreDep = Annotated[KVStore, Depends(get_store)]
EngineDep = Annotated[Engine, Depends(get_engine)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]


async def settings_dependency() -> Settings:
    return get_settings()


SettingsDep = Annotated[Settings, Depends(settings_dependency)]


async def policy_dependency(settings: SettingsDep) -> Policy:
    return Policy.of(settings)


PolicyDep = Annotated[Policy, Depends(policy_dependency)]

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /auth/login, or an API key (cbx_...)")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, through a session (JWT) or an API key (then api_key_id is set)."""

    user_id: str
    session_id: str | None = None
    api_key_id: str | None = None

    @property
    def caller(self) -> Caller:
        return Caller(user_id=self.user_id, api_key_id=self.api_key_id)


async def current_principal(
    store: StoreDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Async on purpose: a JWT check on a local store (one SQLite point read, a few µs) runs inline,
    saving a thread-pool round trip per request; network stores and API keys (which write a usage
    count) go through the thread pool so the event loop never waits on I/O or a write lock."""
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Not authenticated", code="not_authenticated", headers={"WWW-Authenticate": "Bearer"})
    token = credentials.credentials
    if api_keys.looks_like_key(token):
        user_id, key_id = await run_in_threadpool(api_keys.authenticate, store, token=token)
        return Principal(user_id=user_id, api_key_id=key_id)
    if getattr(store, "local_reads", False):
        claims = sessions.authenticate_access(store, settings, token=token)
    else:
        claims = await run_in_threadpool(sessions.authenticate_access, store, settings, token=token)
    return Principal(user_id=claims.sub, session_id=claims.sid)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def session_principal(principal: CurrentUser) -> Principal:
    """Account management (API keys, account deletion) needs a login session, not an API key."""
    if principal.session_id is None:
        raise Forbidden("This needs a login session; API keys cannot manage the account", code="session_required")
    return principal


SessionUser = Annotated[Principal, Depends(session_principal)]


def admin_principal(principal: CurrentUser, store: StoreDep, settings: SettingsDep) -> Principal:
    """An admin's principal: the caller's profile is read (one point read; admin routes only) and must
    have role `admin` (403 forbidden otherwise) and be enabled (403 account_disabled). A user listed in
    ADMIN_USERNAMES is promoted here on first use (serverless deploys have no start-up hook)."""
    user = accounts.promote_listed(store, settings, user=users.get_user(store, user_id=principal.user_id))
    users.require_admin(user)
    return principal


AdminUser = Annotated[Principal, Depends(admin_principal)]


def client_ip(request: Request) -> str:
    """The client address: the peer, or behind trusted proxies (FORWARDED_ALLOW_IPS) the address they
    report (`core.edge.proxies`); under Mangum the peer is API Gateway's source IP."""
    return request.client.host if request.client else "unknown"


def limit_per_ip(rule: RateRule) -> Any:
    """A route dependency: at most `rule`'s limit of requests per client IP per window."""

    def dependency(request: Request, store: StoreDep, settings: SettingsDep) -> None:
        limits.hit(store, rate=rule.of(settings), key=client_ip(request))

    return Depends(dependency)


def limit_per_user(rule: RateRule) -> Any:
    """A route dependency: at most `rule`'s limit of requests per authenticated user per window."""

    def dependency(principal: CurrentUser, store: StoreDep, settings: SettingsDep) -> None:
        limits.hit(store, rate=rule.of(settings), key=principal.user_id)

    return Depends(dependency)
