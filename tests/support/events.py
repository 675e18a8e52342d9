"""Lambda events for handler tests, built from the real event JSON under tests/events/.

Contract: `http_event(method, path, ...)` returns a deep copy of the HTTP API v2 sample (the shape
`sam local generate-event apigateway http-api-proxy` produces) with method, path, query, headers
and body set; `invoke(handler, event)` calls a Mangum handler with a minimal Lambda context and
returns (status, headers, body bytes), decoding base64 bodies.
"""

from __future__ import annotations

import base64
import copy
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

EVENTS = Path(__file__).resolve().parents[1] / "events"


@cache
def _sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


class LambdaContext:
    function_name = "test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def http_event(
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    body: bytes | None = None,
    sample: str = "http_api_v2.json",
) -> dict[str, Any]:
    event = copy.deepcopy(_sample(sample))
    event["rawPath"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["rawQueryString"] = urlencode(query or {})
    event["queryStringParameters"] = dict(query) if query else None
    event["cookies"] = []
    event["pathParameters"] = None
    event["headers"] = {
        "host": event["requestContext"]["domainName"],
        **{k.lower(): v for k, v in (headers or {}).items()},
    }
    if json_body is not None:
        body = json.dumps(json_body).encode()
        event["headers"]["content-type"] = "application/json"
    if body is None:
        event["body"] = None
        event["isBase64Encoded"] = False
    else:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
        event["headers"]["content-length"] = str(len(body))
    return event


def invoke(handler: Any, event: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    response = handler(event, LambdaContext())
    raw = response.get("body") or ""
    payload = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    return int(response["statusCode"]), headers, payload
