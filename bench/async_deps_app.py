"""What-if variant of the local server for the API-overhead benchmark: async cheap dependencies.

The combined app of local_server.py with one difference: the shared dependency markers of core.api
(StoreDep, BlobsDep, EngineDep, SettingsDep, CurrentUser) point at `async def` versions making the
same calls, swapped BEFORE the handler modules build their routes. FastAPI runs a plain `def`
dependency in the thread pool (one hop per request each) and an `async def` one on the event loop,
so this variant measures what the thread-pool hops cost. Endpoints stay plain `def`.
(FastAPI's `dependency_overrides` would not do: it re-inspects each override's signature on every
request, which costs more than the hops it saves.) Product code is not modified; the swap happens
only in a server process started with `uvicorn bench.async_deps_app:app`.
"""

from __future__ import annotations

import inspect
import sys
from typing import Annotated, Any, cast

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials

from core import api, runtime
from core.config import Settings, get_settings
from core.storage import BlobStore, KVStore

if "local_server" in sys.modules or "handlers.voices" in sys.modules:
    raise RuntimeError("bench.async_deps_app must be imported before the handler modules")


async def async_store() -> KVStore:
    return runtime.store()


async def async_blobs() -> BlobStore:
    return runtime.blobs()


async def async_engine() -> Any:
    return runtime.engine()


async def async_settings() -> Settings:
    return get_settings()


async def async_principal(
    store: api.StoreDep,
    settings: api.SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(api._bearer)],
) -> api.Principal:
    # The same check; its one sqlite point read (~10 µs) runs on the event loop. (If core.api has
    # made current_principal async itself, this simply awaits it: the what-if is then the product.)
    principal: Any = api.current_principal(store, settings, credentials)
    if inspect.isawaitable(principal):
        principal = await principal
    return cast(api.Principal, principal)


def _swap(marker: Any, call: Any) -> None:
    object.__setattr__(marker.__metadata__[0], "dependency", call)  # Depends is a frozen dataclass


_swap(api.StoreDep, async_store)
_swap(api.BlobsDep, async_blobs)
_swap(api.EngineDep, async_engine)
_swap(api.SettingsDep, async_settings)
_swap(api.CurrentUser, async_principal)

import local_server  # noqa: E402 - after the swap, on purpose

app = local_server.app
