"""Service status: GET / (name, version, engine) and GET /health (store check; 503 when down).

Lambda entry: `handlers.status.handler`. Never loads the speech engine: it reports the configured
engine and whether it is loaded in this process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from mangum import Mangum

import core
from core import runtime
from core.api import SettingsDep, create_app
from core.errors import AppError
from core.schemas.status import HealthOut, StatusOut

router = APIRouter(tags=["status"])


@router.get("/", response_model=StatusOut)
def root(settings: SettingsDep) -> StatusOut:
    return StatusOut(
        name=settings.app_name,
        version=core.__version__,
        engine=settings.tts_engine,
        environment=settings.app_env,
        docs="/docs",
    )


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
def health() -> Any:
    checks: dict[str, str] = {}
    probes: dict[str, Callable[[], None]] = {
        "store": lambda: runtime.store().ping(),
        "blobs": lambda: runtime.blobs().ping(),
    }
    for name, probe in probes.items():
        try:
            probe()
            checks[name] = "ok"
        except AppError as exc:
            checks[name] = f"error: {exc.message}"
        except Exception as exc:  # a health check reports; it never raises
            checks[name] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    body = HealthOut(status="ok" if healthy else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


app = create_app(router)
handler = Mangum(app, lifespan="off")
