"""The admin API (/admin, issue 12) over HTTP: who may call it, listing, usage, changes, deletion, audit,
and the last-admin rule. The listing and deletion run on SQLite and on the DynamoDB-protocol server.

Admins are made by writing the role into the User record (`make_admin`): the roles command is another
slice's. Where a voice is needed the engine is tests/support/fake_engine's FakeEngine(can_clone=True):
Piper cannot clone and Chatterbox is too slow to load here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from threading import Barrier
from typing import Any

from fastapi.testclient import TestClient

from core import runtime
from core.records import keys
from core.records.users import User as Account
from core.services import users as accounts
from core.storage import KVStore
from tests.conftest import Users
from tests.support import speech
from tests.support.fake_engine import EngineSeam, FakeEngine
from tests.support.users import PASSWORD

User = dict[str, Any]
ROUTES = [
    ("GET", "/admin/users", None),
    ("GET", "/admin/users/{id}", None),
    ("PATCH", "/admin/users/{id}", {"is_active": False}),
    ("DELETE", "/admin/users/{id}", None),
    ("GET", "/admin/audit", None),
]


def register(store: KVStore, username: str) -> Account:
    email = f"{username}@example.com"
    return accounts.register(store, username=username, email=email, password=PASSWORD, full_name=None)


def make_admin(user: User) -> User:
    store = runtime.store()
    store.put(replace(accounts.get_user(store, user_id=user["id"]), role="admin").to_item())
    return user


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def call(client: TestClient, method: str, path: str, user: User | None, body: Any = None) -> Any:
    headers = user["headers"] if user else {}
    return client.request(method, path, headers=headers, json=body)


def test_every_route_refuses_anonymous_callers_users_and_disabled_admins(client: TestClient, users: Users) -> None:
    root, admin, plain = make_admin(users.create("root")), make_admin(users.create("admin")), users.create("plain")
    disable = client.patch(f"/admin/users/{admin['id']}", headers=root["headers"], json={"is_active": False})
    assert disable.status_code == 200
    key = client.post("/api-keys", headers=plain["headers"], json={"name": "k"}).json()["key"]
    with_key = {"headers": {"Authorization": f"Bearer {key}"}}
    for method, route, body in ROUTES:
        path = route.format(id=plain["id"])
        assert call(client, method, path, None, body).status_code == 401
        for caller in (plain, with_key):
            refused = call(client, method, path, caller, body)
            assert (refused.status_code, code(refused)) == (403, "forbidden"), (method, path)
        disabled = call(client, method, path, admin, body)
        assert (disabled.status_code, code(disabled)) == (403, "account_disabled"), (method, path)
    assert client.get(f"/admin/users/{plain['id']}", headers=root["headers"]).json()["is_active"] is True


def test_listing_pages_through_every_account_and_filters_by_prefix(
    backend: str, client: TestClient, users: Users
) -> None:
    admin = make_admin(users.create("root"))
    names = ("alice", "Alfred", "albert", "bob", "carol")  # registered directly: they need no login here
    made = {n: register(runtime.store(), n).id for n in names} | {"root": admin["id"]}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/admin/users", headers=admin["headers"], params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [u["id"] for u in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made.values())  # each account once
    one = client.get("/admin/users", headers=admin["headers"], params={"prefix": "root"}).json()["items"]
    assert [(u["username"], u["role"], u["is_active"], u["quota_chars_per_day"]) for u in one] == [
        ("root", "admin", True, None)
    ]
    assert "password_hash" not in one[0]
    for prefix in ("AL", "al", "Al"):
        found = client.get("/admin/users", headers=admin["headers"], params={"prefix": prefix}).json()
        assert sorted(u["username"] for u in found["items"]) == ["Alfred", "albert", "alice"]
    assert client.get("/admin/users", headers=admin["headers"], params={"prefix": "zz"}).json() == {
        "items": [],
        "next_cursor": None,
    }
    bad = client.get("/admin/users", headers=admin["headers"], params={"cursor": "not-a-cursor"})
    assert (bad.status_code, code(bad)) == (400, "invalid_cursor")
    assert client.get("/admin/users", headers=admin["headers"], params={"limit": 0}).status_code == 422


def test_detail_reports_the_usage_of_a_known_history(
    client: TestClient, users: Users, install_engine: EngineSeam
) -> None:
    install_engine(FakeEngine(can_clone=True))
    admin, alice = make_admin(users.create("root")), users.create("alice")
    texts = ["Hello there, this is one.", "A second sentence.", "And a third to delete."]
    made = [client.post("/synthesize", headers=alice["headers"], json={"text": t}).json() for t in texts]
    assert client.delete(f"/audio/{made[2]['audio_id']}", headers=alice["headers"]).status_code == 204
    clip = speech.speech_clip()
    from core.tts import codecs

    assert speech.upload(client, alice, codecs.encode(clip, "wav")).status_code == 200
    for name in ("one", "two"):
        assert client.post("/api-keys", headers=alice["headers"], json={"name": name}).status_code == 201
    detail = client.get(f"/admin/users/{alice['id']}", headers=admin["headers"])
    assert detail.status_code == 200, detail.text
    body = detail.json()
    kept = client.get("/audio", headers=alice["headers"]).json()["items"]
    characters = sum(len(t) for t in texts)
    assert body["usage"] | {"quota": None} == {
        "characters_today": characters,
        "characters_total": characters,
        "syntheses": 3,
        "audio_count": 2,
        "audio_bytes": sum(a["size_bytes"] for a in kept),
        "voices": 1,
        "api_keys": 2,
        "quota": None,
    }
    assert (body["usage"]["quota"]["used"], body["usage"]["quota"]["limit"]) == (characters, 100_000)
    assert (body["username"], body["role"], body["is_active"]) == ("alice", "user", True)
    missing = client.get("/admin/users/nosuchuser", headers=admin["headers"])
    assert (missing.status_code, code(missing)) == (404, "user_not_found")


def test_quota_override_applies_to_the_next_synthesis_and_null_clears_it(client: TestClient, users: Users) -> None:
    admin, alice = make_admin(users.create("root")), users.create("alice")
    url = f"/admin/users/{alice['id']}"
    set_quota = client.patch(url, headers=admin["headers"], json={"quota_chars_per_day": 20})
    assert set_quota.status_code == 200
    assert set_quota.json()["quota_chars_per_day"] == 20
    over = client.post("/synthesize", headers=alice["headers"], json={"text": "Twenty-five characters ok"})
    assert (over.status_code, code(over)) == (429, "quota_exceeded")
    assert over.json()["error"]["details"]["limit"] == 20
    assert client.get("/profile", headers=alice["headers"]).json()["quota"]["limit"] == 20
    assert client.post("/synthesize", headers=alice["headers"], json={"text": "Fifteen chars!!"}).status_code == 200
    assert (
        client.patch(url, headers=admin["headers"], json={"quota_chars_per_day": None}).json()["quota_chars_per_day"]
        is None
    )
    assert client.get("/profile", headers=alice["headers"]).json()["quota"]["limit"] == 100_000
    again = client.post("/synthesize", headers=alice["headers"], json={"text": "Twenty-five characters ok"})
    assert again.status_code == 200
    for bad in ({"quota_chars_per_day": -1}, {"quota_chars_per_day": "20"}, {"quota_chars_per_day": 1.5}):
        assert client.patch(url, headers=admin["headers"], json=bad).status_code == 422, bad


def test_patch_changes_role_and_is_active_and_refuses_bad_bodies(client: TestClient, users: Users) -> None:
    admin, bob = make_admin(users.create("root")), users.create("bob")
    url = f"/admin/users/{bob['id']}"
    assert client.get("/admin/users", headers=bob["headers"]).status_code == 403
    promoted = client.patch(url, headers=admin["headers"], json={"role": "admin"})
    assert (promoted.status_code, promoted.json()["role"]) == (200, "admin")
    assert client.get("/admin/users", headers=bob["headers"]).status_code == 200
    assert client.patch(url, headers=admin["headers"], json={"is_active": False}).json()["is_active"] is False
    assert code(client.get("/admin/users", headers=bob["headers"])) == "account_disabled"
    # Disabled through the admin API, the account's ordinary routes refuse its access token at once too.
    assert code(client.get("/audio", headers=bob["headers"])) == "account_disabled"
    assert client.patch(url, headers=admin["headers"], json={"is_active": True, "role": "user"}).status_code == 200
    assert client.get("/audio", headers=bob["headers"]).status_code == 200
    assert code(client.get("/admin/users", headers=bob["headers"])) == "forbidden"
    for bad in ({}, {"role": "root"}, {"is_active": None}, {"role": None}, {"is_active": "no"}, {"name": "x"}):
        refused = client.patch(url, headers=admin["headers"], json=bad)
        assert (refused.status_code, code(refused)) == (422, "validation_error"), bad
    missing = client.patch("/admin/users/nosuchuser", headers=admin["headers"], json={"role": "admin"})
    assert missing.status_code == 404


def test_delete_removes_the_account_its_records_and_blobs(
    backend: str, client: TestClient, users: Users, install_engine: EngineSeam
) -> None:
    install_engine(FakeEngine())
    admin, alice = make_admin(users.create("root")), users.create("alice")
    audio = client.post("/synthesize", headers=alice["headers"], json={"text": "Keep me."}).json()
    assert client.post("/api-keys", headers=alice["headers"], json={"name": "k"}).status_code == 201
    store, blobs = runtime.store(), runtime.blobs()
    items = store.query(keys.user_pk(alice["id"]), limit=100).items
    blob_keys = [k for item in items for k in item.get("blob_keys", [])]
    assert blob_keys
    assert all(blobs.get(k) for k in blob_keys)
    gone = client.delete(f"/admin/users/{alice['id']}", headers=admin["headers"])
    assert gone.status_code == 204, gone.text
    assert store.query(keys.user_pk(alice["id"]), limit=100).items == []
    assert list(blobs.listing(f"audio/{alice['id']}/")) == []
    assert store.get(*keys.username_claim("alice")) is None
    assert client.get(f"/audio/{audio['audio_id']}", headers=alice["headers"]).status_code == 401
    assert client.get(f"/admin/users/{alice['id']}", headers=admin["headers"]).status_code == 404
    assert client.delete(f"/admin/users/{alice['id']}", headers=admin["headers"]).status_code == 404
    assert users.create("alice")["id"] != alice["id"]  # the username is free again


def test_audit_lists_every_action_newest_first(client: TestClient, users: Users) -> None:
    admin, bob = make_admin(users.create("root")), users.create("bob")
    url = f"/admin/users/{bob['id']}"
    client.patch(url, headers=admin["headers"], json={"quota_chars_per_day": 500, "role": "user"})
    client.patch(url, headers=admin["headers"], json={"quota_chars_per_day": 500})  # changes nothing: no record
    client.patch(url, headers=admin["headers"], json={"is_active": False})
    client.delete(url, headers=admin["headers"])
    log = client.get("/admin/audit", headers=admin["headers"]).json()
    assert [(e["action"], e["changes"]) for e in log["items"]] == [
        ("user.delete", {}),
        ("user.update", {"is_active": {"from": True, "to": False}}),
        ("user.update", {"quota_chars_per_day": {"from": None, "to": 500}}),
    ]
    for entry in log["items"]:
        assert (entry["actor_id"], entry["actor_username"]) == (admin["id"], "root")
        assert (entry["target_id"], entry["target_username"]) == (bob["id"], "bob")
        assert entry["at"].endswith("Z")
    first = client.get("/admin/audit", headers=admin["headers"], params={"limit": 2}).json()
    rest = client.get("/admin/audit", headers=admin["headers"], params={"limit": 2, "cursor": first["next_cursor"]})
    assert [e["id"] for e in first["items"] + rest.json()["items"]] == [e["id"] for e in log["items"]]
    assert rest.json()["next_cursor"] is None


def test_the_last_active_admin_cannot_be_disabled_demoted_or_deleted(client: TestClient, users: Users) -> None:
    root, other = make_admin(users.create("root")), make_admin(users.create("other"))
    demoted = client.patch(f"/admin/users/{other['id']}", headers=root["headers"], json={"role": "user"})
    assert demoted.status_code == 200
    me = f"/admin/users/{root['id']}"
    for method, body in (("PATCH", {"role": "user"}), ("PATCH", {"is_active": False}), ("DELETE", None)):
        refused = call(client, method, me, root, body)
        assert (refused.status_code, code(refused)) == (409, "last_admin"), (method, body)
    own = client.delete("/profile", headers=root["headers"])  # nor through its own account deletion
    assert (own.status_code, code(own)) == (409, "last_admin")
    assert client.get(me, headers=root["headers"]).json()["role"] == "admin"
    assert len(client.get("/admin/audit", headers=root["headers"]).json()["items"]) == 1  # only the demotion
    # With a second active admin the first may step down.
    client.patch(f"/admin/users/{other['id']}", headers=root["headers"], json={"role": "admin"})
    assert client.patch(me, headers=root["headers"], json={"role": "user"}).status_code == 200
    assert client.delete("/profile", headers=other["headers"]).status_code == 409  # now the last one
    client.patch(me, headers=other["headers"], json={"role": "admin"})
    assert client.delete("/profile", headers=other["headers"]).status_code == 204  # root remains


def test_two_admins_demoting_each_other_at_once_leave_one_admin(client: TestClient, users: Users) -> None:
    a, b = make_admin(users.create("adaa")), make_admin(users.create("adbb"))
    start = Barrier(2)

    def demote(pair: tuple[User, User]) -> int:
        actor, target = pair
        start.wait()
        return client.patch(f"/admin/users/{target['id']}", headers=actor["headers"], json={"role": "user"}).status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(demote, [(a, b), (b, a)]))
    assert statuses[0] == 200, statuses
    assert statuses[1] in (403, 409), statuses  # 403: the loser was demoted before its request was authorised
    store = runtime.store()
    roles = [accounts.get_user(store, user_id=u["id"]).role for u in (a, b)]
    assert sorted(roles) == ["admin", "user"]
