"""Email addresses through the API: one normalisation for register and login, one account per mailbox,
look-alikes mapped (fullwidth) or refused (mixed scripts), and accounts stored before all this still work."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import runtime, security
from core.records import keys
from core.records.users import Claim, User
from core.services.clock import sortable_id
from tests.support import users
from tests.support.users import PASSWORD


def register(client: TestClient, username: str, email: str) -> Any:
    """The factory's registration of `username` with `email` exactly as given; the response, any status."""
    return users.register(client, username, email=email)


def login(client: TestClient, name: str) -> int:
    """The status of a login by `name` (a username or any spelling of an email) with the right password."""
    return users.login(client, name).status_code


@pytest.mark.parametrize(
    "form",
    [
        "max@xn--bcher-kva.de",  # punycode
        "MAX@BÜCHER.DE",
        "max+newsletter@bücher.de",
        "ｍａｘ＠ｂüｃｈｅｒ．ｄｅ",  # fullwidth
        " max@bücher.de ",
    ],
)
def test_login_by_any_equivalent_form_of_the_address(client: TestClient, form: str) -> None:
    created = register(client, "max", "Max@Bücher.de")
    assert created.status_code == 200
    assert created.json()["email"] == "Max@bücher.de"
    assert login(client, form) == 200


def test_login_matches_an_nfd_spelling_of_an_nfc_registration(client: TestClient) -> None:
    assert register(client, "emile", "\u00e9mile@example.com").status_code == 200
    assert login(client, "e\u0301mile@example.com") == 200


@pytest.mark.parametrize("second", ["alice@example.com", "ALICE+other@example.com", "ａｌｉｃｅ@example.com"])
def test_one_account_per_mailbox(client: TestClient, second: str) -> None:
    first = register(client, "alice", "alice+news@example.com")
    assert first.status_code == 200
    assert first.json()["email"] == "alice+news@example.com"  # stored as given
    again = register(client, "alice2", second)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"


@pytest.mark.parametrize(
    ("email", "part"),
    [
        ("\u0430lice@example.com", "\u0430lice"),
        ("bob@ex\u0430mple.com", "ex\u0430mple"),
        ("r\u03bfot@example.com", "r\u03bfot"),
    ],
)
def test_mixed_script_addresses_are_refused(client: TestClient, email: str, part: str) -> None:
    response = register(client, "homoglyph", email)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "email_mixed_script"
    assert part in error["message"]
    assert error["details"][0]["loc"] == ["email"]
    assert register(client, "homoglyph", "plain@example.com").status_code == 200  # nothing was claimed


def test_invalid_addresses_keep_the_validation_error_shape(client: TestClient) -> None:
    response = register(client, "nobody", "not-an-email")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert any("email" in d["loc"] for d in response.json()["error"]["details"])


# -- accounts registered before mailbox keys --------------------------------------------------------
def _old_account(username: str, email: str) -> str:
    """An account as the previous code stored it: `EMAIL#<normalised address, lower-cased>`."""
    store, user_id = runtime.store(), sortable_id()
    user = User(
        id=user_id,
        username=username,
        email=email,
        full_name=None,
        password_hash=security.hash_password(PASSWORD),
        created_at="2026-01-01T00:00:00.000Z",
    )
    store.put(user.to_item())
    store.put(Claim.username(username, user_id=user_id).to_item())
    store.put(Claim.email(email.lower(), user_id=user_id).to_item())
    return user_id


def claim_owner(mailbox: str) -> str | None:
    """The user id the email claim under `mailbox` points at (None: no claim)."""
    item = runtime.store().get(*keys.email_claim(mailbox))
    return None if item is None else Claim.from_item(item).user_id


def test_old_claims_are_honoured_and_moved_to_the_mailbox_key_on_login(client: TestClient) -> None:
    user_id = _old_account("olduser", "Old+tag@bücher.de")
    # Before its first login, the exact old address cannot be registered again.
    taken = register(client, "newcomer", "old+tag@xn--bcher-kva.de")
    assert taken.status_code == 409
    assert login(client, "OLD+TAG@xn--bcher-kva.de") == 200  # punycode: the old login missed this
    assert claim_owner("old+tag@bücher.de") is None
    assert claim_owner("old@xn--bcher-kva.de") == user_id
    assert login(client, "old@bücher.de") == 200
    assert register(client, "newcomer", "old+other@bücher.de").status_code == 409


def test_old_duplicates_of_one_mailbox_keep_working_and_delete_only_their_own_claims(client: TestClient) -> None:
    first = _old_account("first", "bob+a@example.com")
    second = _old_account("second", "bob+b@example.com")
    assert login(client, "bob+a@example.com") == 200  # moves its claim to EMAIL#bob@example.com
    tokens = users.login(client, "bob+b@example.com")
    assert tokens.status_code == 200  # its old claim stays: the mailbox key is taken
    assert claim_owner("bob@example.com") == first
    assert claim_owner("bob+b@example.com") == second
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    assert client.delete("/profile", headers=headers).status_code == 204
    assert claim_owner("bob+b@example.com") is None
    assert claim_owner("bob@example.com") == first
    assert login(client, "bob@example.com") == 200
