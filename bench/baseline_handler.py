"""Baseline of the cold-start benchmark: a bare FastAPI + Mangum hello-world Lambda handler.

What a user would deploy with no application code at all: one route, the same Mangum settings as
our handlers (`lifespan="off"`). Entry: `bench.baseline_handler.handler`; event: GET /hello.
"""

from __future__ import annotations

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI(title="baseline")


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"message": "hello world"}


handler = Mangum(app, lifespan="off")
