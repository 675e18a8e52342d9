"""Models of the account endpoints: register, login, refresh, logout, profile, profile edit, password change.

Contract: field limits here are the API's documented validation rules; violations answer 422.
`RegisterRequest.email` is normalised by core.emails (the same function login uses): NFKC, IDNA,
lower-cased domain; the policy checks (mixed scripts) run in core.services.users with their own codes.
Response models present records (core.records) one way: `UserOut.of(user)`, `Registered.of(user)` (the
original contract's `message` and `username` beside ours); never the password hash.
The refresh token may come in the JSON body (`RefreshRequest`) or, as the original server's signature has it,
as a `refresh_token` query parameter: `refresh_token_of(body, query)` picks the body's when both are sent
(401 `not_authenticated` when neither is, as any route called without its credential).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from core import emails
from core.errors import Unauthorized
from core.records.users import User

Username = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"),
]
Password = Annotated[str, Field(min_length=8, max_length=128)]


def _normalized_email(value: str) -> str:
    return emails.normalize_email(value).address  # InvalidEmail is a ValueError: 422 validation_error


EmailAddress = Annotated[
    str,
    Field(max_length=emails.MAX_EMAIL_CHARS, json_schema_extra={"format": "email"}),
    AfterValidator(_normalized_email),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterRequest(Strict):
    username: Username = Field(description="3-32 characters: letters, digits, _ . - (starting with a letter or digit)")
    email: EmailAddress = Field(
        description="stored normalised (NFKC, IDNA domain); one account per mailbox: a +tag does not make another"
    )
    password: Password = Field(description="8-128 characters (longer than 72 bytes is fine: argon2)")
    full_name: FullName | None = None


class LoginRequest(Strict):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)] = Field(
        description="username or email"
    )
    password: Annotated[str, Field(min_length=1, max_length=128)]


FullName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


class ProfileUpdate(Strict):
    """PATCH /profile: only the fields sent change; `full_name: null` clears the name."""

    full_name: FullName | None = None
    email: EmailAddress | None = Field(default=None, description="unique by mailbox, like registration's")


class PasswordChange(Strict):
    current_password: Annotated[str, Field(min_length=1, max_length=128)]
    new_password: Password = Field(description="8-128 characters, like registration's")


MAX_TOKEN_CHARS = 4096
RefreshToken = Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_CHARS)]
REGISTERED = "User registered successfully"


class RefreshRequest(Strict):
    refresh_token: RefreshToken


def refresh_token_of(body: RefreshRequest | None, query: str | None) -> str:
    """The refresh token from the JSON body, else from the `refresh_token` query parameter (401: neither)."""
    token = body.refresh_token if body is not None else query
    if token is None:  # no credential at all: 401, like any route called without one
        raise Unauthorized(
            "No refresh token: send it in the JSON body or as the refresh_token query parameter",
            code="not_authenticated",
        )
    return token


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_expires_in: int


class UserOut(BaseModel):
    id: str
    username: str
    email: str
    full_name: str | None
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        """The public attributes of `user` (its fields above: never the password hash)."""
        return UserOut.model_validate(user, from_attributes=True)


class Registered(UserOut):
    message: str = Field(default=REGISTERED, description="the original contract's confirmation")

    @classmethod
    def of(cls, user: User) -> Registered:
        return cls.model_validate({**UserOut.of(user).model_dump(), "message": REGISTERED})


class Message(BaseModel):
    message: str
