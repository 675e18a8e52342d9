"""Baseline of the API-overhead benchmark: a bare FastAPI endpoint that only decodes a JWT.

GET /whoami verifies the Bearer token with PyJWT (HS256, issuer, audience, the same key and claims
our tokens carry) and returns its subject; 401 otherwise. No store, no session check, no engine.
The endpoint is a plain `def` like ours, so both run in Starlette's thread pool.
Serve: `uvicorn bench.baseline_jwt_app:app` with SECRET_KEY (and optionally JWT_ISSUER/JWT_AUDIENCE).
"""

from __future__ import annotations

import os
from typing import Annotated

import jwt
from fastapi import FastAPI, Header, HTTPException

KEY = os.environ.get("SECRET_KEY", "")
ISSUER = os.environ.get("JWT_ISSUER", "chatterbox-tts-api")
AUDIENCE = os.environ.get("JWT_AUDIENCE", "chatterbox-tts-api")

app = FastAPI(title="baseline-jwt")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/whoami")
def whoami(authorization: Annotated[str, Header()] = "") -> dict[str, str]:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status_code=401, detail="Not authenticated")
    try:
        claims = jwt.decode(token, KEY, algorithms=["HS256"], issuer=ISSUER, audience=AUDIENCE)
    except jwt.PyJWTError as exc:
        raise HTTPException(status_code=401, detail="Invalid token") from exc
    return {"sub": str(claims["sub"])}
