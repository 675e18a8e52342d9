"""Command line for roles: `python -m core.admin promote|demote <username>` and `python -m core.admin list`.

Contract: works on the store Settings configure (STORAGE_BACKEND: SQLite, or DynamoDB with
DYNAMODB_TABLE / DYNAMODB_ENDPOINT_URL and the usual AWS credentials), the same environment as the
server. `promote` gives an existing account (username, any case, or its email) the `admin` role and
`demote` gives it back `user`; both are idempotent, print the account as one JSON object on stdout and
exit 0; an unknown account exits 2 and a storage failure 1, with the message on stderr. `list` prints
one JSON object per admin account (reading every profile: a scan, fine for an operator's command).
The first admin: register the account through the API, then `promote` it. `with_listed_admins` wraps
an ASGI lifespan so the local server promotes the accounts ADMIN_USERNAMES names when it starts
(serverless deploys promote them on first use instead: `core.api.AdminUser`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

from core import runtime
from core.config import get_settings
from core.errors import AppError
from core.records import keys
from core.records.users import Role, User
from core.services import accounts, users
from core.storage import KVStore

log = logging.getLogger("core.admin")


def _out(user: User) -> str:
    fields = {"id": user.id, "username": user.username, "email": user.email}
    return json.dumps({**fields, "role": user.role, "is_active": user.is_active}, sort_keys=True)


def admins(store: KVStore) -> Iterator[User]:
    """Every account with role admin (scans the table)."""
    cursor: str | None = None
    while True:
        page = store.scan(pk_prefix=keys.user_pk(""), limit=500, cursor=cursor)
        for item in page.items:
            if item.get("sk") == keys.PROFILE and item.get("role") == "admin":
                yield User.from_item(item)
        if page.cursor is None:
            return
        cursor = page.cursor


def set_role(store: KVStore, *, username: str, role: Role) -> User:
    user = users.find_by_login(store, login=username)
    if user is None:
        raise LookupError(f"no account named {username!r}")
    return accounts.set_role(store, user_id=user.id, role=role)


def with_listed_admins(inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An ASGI lifespan that promotes the ADMIN_USERNAMES accounts, then runs `inner`."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        settings = get_settings()
        if settings.admin_username_set:
            try:
                promoted = accounts.promote_all_listed(runtime.store(), settings)
            except AppError as exc:  # the server still starts; listed users are promoted on first use
                log.warning("could not promote ADMIN_USERNAMES at start-up: %s", exc.message)
            else:
                if promoted:
                    log.info("promoted to admin from ADMIN_USERNAMES: %s", ", ".join(promoted))
        async with inner(app) as state:
            yield state

    return lifespan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, role_help in (("promote", "make an account an admin"), ("demote", "make an admin a regular user")):
        command = commands.add_parser(name, help=role_help)
        command.add_argument("username", help="the account's username (any case) or email")
    commands.add_parser("list", help="list the admin accounts")
    args = parser.parse_args(argv)
    store = runtime.store()
    try:
        if args.command == "list":
            for user in admins(store):
                print(_out(user))
            return 0
        role: Role = "admin" if args.command == "promote" else "user"
        print(_out(set_role(store, username=args.username, role=role)))
    except LookupError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except AppError as exc:
        print(f"{args.command} failed: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
