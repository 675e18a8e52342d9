"""One typed exception hierarchy for the whole service.

Contract: services, storage and engines raise `AppError` subclasses; `core.api` maps every one to an
HTTP response of the single error shape `{"error": {"code", "message", "details"?}}` (built by
`error_body`) with the status and headers the class carries; the HTTP edge (`core.edge`), which answers
before a route runs, renders the same classes through the same `error_body`. Nothing else in the code
base chooses an HTTP status for an error.
"""

from __future__ import annotations

from typing import Any, ClassVar


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The one error shape: `{"error": {"code": str, "message": str, "details"?: any}}`."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


class AppError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details = details
        self.headers = headers or {}


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str = "Not authenticated", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class RequestTimeout(AppError):
    status = 408
    code = "request_timeout"


class Conflict(AppError):
    status = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))
        self.headers["Retry-After"] = str(self.retry_after)


class EngineError(AppError):
    """The speech engine failed on a job it accepted."""

    status = 502
    code = "engine_error"


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"


class StorageUnavailable(ServiceUnavailable):
    code = "storage_unavailable"


class EngineUnavailable(ServiceUnavailable):
    code = "engine_unavailable"


# Storage-level outcomes that services translate into the errors above.
class ConditionFailed(Exception):
    """A conditional write found the item in another state than required."""


class TransactionConflict(Exception):
    """A transaction was cancelled; `reasons` has one entry per operation (None where it passed)."""

    def __init__(self, reasons: list[str | None]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons
