"""Models of the status endpoints: GET / (what runs) and GET /health (each dependency's check)."""

from __future__ import annotations

from pydantic import BaseModel


class StatusOut(BaseModel):
    name: str
    version: str
    engine: str
    environment: str
    docs: str


class HealthOut(BaseModel):
    status: str
    checks: dict[str, str]
