"""Demo client of the Chatterbox TTS API: a scripted tour, or a small interactive session.

Usage:
  python test_client.py [--url URL]              demo: health, register or log in, voices, synthesize,
                                                 stream, download, info, history; exit 1 on any failure
  python test_client.py interactive [--url URL]  a menu: voices, speak, history, download, delete, profile
Options: --username/--password/--email (default: a new random demo account), --out DIR (downloads),
--text TEXT, --access-token/--refresh-token (resume a session instead of logging in).
The URL defaults to $CHATTERBOX_URL or http://127.0.0.1:8000. An access token the API reports as
expired (401 token_expired) is renewed once with the refresh token and the request sent again.
The API answers 200 with JSON for everything this client calls (the original contract: register, voices,
synthesize, info), except DELETE /audio/{id}, which answers 204 with no body. Needs only httpx (a dependency
of the API).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

DEFAULT_TEXT = "Hello from the demo client. This sentence was turned into speech by the API."


class ApiError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        try:
            error = response.json()["error"]
            code, message = str(error["code"]), str(error["message"])
        except (ValueError, KeyError, TypeError):
            code, message = "http_error", response.text[:200] or response.reason_phrase
        super().__init__(
            f"{response.request.method} {response.request.url.path} -> {response.status_code} {code}: {message}"
        )
        self.status = response.status_code
        self.code = code


class Client:
    """A logged-in session: every call carries the access token and renews it once when it expired."""

    def __init__(self, url: str, *, timeout: float = 300.0) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        self.access: str | None = None
        self.refresh_token: str | None = None
        self.refreshes = 0

    def request(
        self, method: str, path: str, *, auth: bool = True, retry: bool = True, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.access}"} if auth and self.access else {}
        response = self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code == 401 and auth and retry and self._code(response) == "token_expired":
            print("  (access token expired: renewing it with the refresh token)")
            self.renew()
            return self.request(method, path, auth=auth, retry=False, **kwargs)
        if response.status_code >= 400:
            raise ApiError(response)
        return response

    def stream_bytes(self, path: str, body: dict[str, Any]) -> tuple[int, float, float]:
        """POST a streaming request: (bytes, seconds to the first bytes, seconds to the end)."""
        for attempt in (1, 2):
            started = time.perf_counter()
            first: float | None = None
            size = 0
            with self.http.stream("POST", path, headers={"Authorization": f"Bearer {self.access}"}, json=body) as r:
                if r.status_code >= 400:
                    r.read()
                    if attempt == 1 and r.status_code == 401 and self._code(r) == "token_expired":
                        self.renew()
                        continue
                    raise ApiError(r)
                for chunk in r.iter_bytes():
                    first = first if first is not None else time.perf_counter() - started
                    size += len(chunk)
            total = time.perf_counter() - started
            return size, total if first is None else first, total
        raise RuntimeError("unreachable")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return None if response.status_code == 204 else response.json()

    @staticmethod
    def _code(response: httpx.Response) -> str | None:
        try:
            return str(response.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            return None

    def _keep(self, tokens: dict[str, Any]) -> None:
        self.access, self.refresh_token = tokens["access_token"], tokens["refresh_token"]

    def renew(self) -> None:
        if not self.refresh_token:
            raise RuntimeError("the access token expired and there is no refresh token; log in again")
        self._keep(self.json("POST", "/auth/refresh", auth=False, json={"refresh_token": self.refresh_token}))
        self.refreshes += 1

    def login(self, username: str, password: str) -> None:
        self._keep(self.json("POST", "/auth/login", auth=False, json={"username": username, "password": password}))

    def register_or_login(self, username: str, password: str, email: str) -> str:
        body = {"username": username, "email": email, "password": password, "full_name": None}
        try:
            self.json("POST", "/auth/register", auth=False, json=body)
            outcome = "registered"
        except ApiError as exc:
            if exc.code != "username_taken":
                raise
            outcome = "exists; logged in"
        self.login(username, password)
        return outcome


def step(title: str) -> None:
    print(f"\n== {title}")


def demo(client: Client, args: argparse.Namespace) -> None:
    step("health")
    print(" ", client.json("GET", "/health", auth=False)["status"])
    step("account")
    if client.access:
        print("  resuming the given session")
    else:
        print(f"  {args.username}: {client.register_or_login(args.username, args.password, args.email)}")
    profile = client.json("GET", "/profile")
    print(f"  profile: {profile['username']} <{profile['email']}>")
    step("voices")
    listing = client.json("GET", "/voices")
    counts = f"{listing['total']} voices ({listing['builtin']} built in, {listing['custom']} custom)"
    print(f"  {counts} on engine {listing['engine']}")
    for voice in listing["voices"]:
        print(f"  {voice['voice_id']:<28} {voice['type']:<8} {voice['name']}")
    voice_id = next((v["voice_id"] for v in listing["voices"] if v["available"]), None)
    if voice_id is None:
        raise RuntimeError("no voice is available on this server's engine")
    step("synthesize")
    meta = client.json("POST", "/synthesize", json={"text": args.text, "voice_id": voice_id, "format": "wav"})
    if meta.get("success") is not True:
        raise RuntimeError(f"the synthesis did not report success: {meta}")
    print(f"  {meta['message']}")
    print(f"  {meta['audio_id']}: {meta['duration']:.2f} s at {meta['sample_rate']} Hz by {meta['engine']}")
    step("stream")
    body = {"text": args.text, "voice_id": voice_id, "format": "mp3", "stream": True}
    size, first, total = client.stream_bytes("/synthesize", body)
    print(f"  {size} bytes of mp3; first audio after {first:.2f} s, all after {total:.2f} s")
    step("download")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = client.request("GET", meta["url"]).content
    if data[:4] != b"RIFF" or len(data) != meta["size_bytes"]:
        raise RuntimeError(f"downloaded {len(data)} bytes that are not the {meta['size_bytes']}-byte WAV file")
    path = out / f"{meta['audio_id']}.wav"
    path.write_bytes(data)
    print(f"  saved {len(data)} bytes to {path}")
    step("info")
    info = client.json("GET", f"/audio/{meta['audio_id']}/info")
    print(f"  “{info['text']}” ({info['characters']} characters, {info['format']}, {info['created_at']})")
    step("history")
    items = client.json("GET", "/audio", params={"limit": 5})["items"]
    if meta["audio_id"] not in {item["audio_id"] for item in items}:
        raise RuntimeError("the new audio is missing from the history")
    for item in items:
        print(f"  {item['audio_id']}  {item['duration']:5.2f} s  {item['text'][:50]}")
    print(f"\nDemo finished: all steps passed (token renewals: {client.refreshes}).")


def interactive(client: Client, args: argparse.Namespace) -> None:
    if not client.access:
        username = args.username_given or input("username: ").strip()
        password = args.password_given or input("password: ")
        print(f"  {client.register_or_login(username, password, args.email_given or f'{username}@example.com')}")
    last: dict[str, Any] = {}

    def voices() -> None:
        for v in client.json("GET", "/voices")["voices"]:
            print(f"  {v['voice_id']:<28} {v['type']:<8} {'' if v['available'] else '(not available) '}{v['name']}")

    def speak() -> None:
        text = input("text: ").strip() or DEFAULT_TEXT
        voice = input("voice id (empty: default): ").strip() or None
        last.update(client.json("POST", "/synthesize", json={"text": text, "voice_id": voice}))
        print(f"  made {last['audio_id']} ({last['duration']:.2f} s)")

    def history() -> None:
        for item in client.json("GET", "/audio", params={"limit": 10})["items"]:
            print(f"  {item['audio_id']}  {item['duration']:5.2f} s  {item['text'][:50]}")

    def download() -> None:
        audio_id = input(f"audio id [{last.get('audio_id', '')}]: ").strip() or last.get("audio_id", "")
        response = client.request("GET", f"/audio/{audio_id}")
        path = Path(args.out) / f"{audio_id}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(response.content)
        print(f"  saved {len(response.content)} bytes to {path}")

    def delete() -> None:
        audio_id = input("audio id to delete: ").strip()
        client.request("DELETE", f"/audio/{audio_id}")
        print("  deleted")

    def profile() -> None:
        p = client.json("GET", "/profile")
        print(f"  {p['username']} <{p['email']}> since {p['created_at']}")

    menu: dict[str, tuple[str, Callable[[], None]]] = {
        "1": ("list voices", voices),
        "2": ("synthesize", speak),
        "3": ("history", history),
        "4": ("download", download),
        "5": ("delete audio", delete),
        "6": ("profile", profile),
    }
    while True:
        print("\n" + "  ".join(f"[{k}] {label}" for k, (label, _) in menu.items()) + "  [q] quit")
        try:
            choice = input("> ").strip().lower()
        except EOFError:
            return
        if choice in ("q", "quit", "exit"):
            return
        if choice not in menu:
            print("  choose one of the numbers, or q")
            continue
        try:
            menu[choice][1]()
        except (ApiError, httpx.HTTPError) as exc:
            print(f"  error: {exc}")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Demo client of the Chatterbox TTS API")
    parser.add_argument("mode", nargs="?", choices=("demo", "interactive"), default="demo")
    parser.add_argument("--url", default=os.environ.get("CHATTERBOX_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--email")
    parser.add_argument("--text", default=DEFAULT_TEXT)
    parser.add_argument("--out", default="demo_output", help="where downloads are saved")
    parser.add_argument("--access-token")
    parser.add_argument("--refresh-token")
    args = parser.parse_args(argv)
    args.username_given, args.password_given, args.email_given = args.username, args.password, args.email
    args.username = args.username or f"demo_{secrets.token_hex(4)}"
    args.password = args.password or secrets.token_urlsafe(12)
    args.email = args.email or f"{args.username}@example.com"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    client = Client(args.url)
    client.access, client.refresh_token = args.access_token, args.refresh_token
    try:
        (interactive if args.mode == "interactive" else demo)(client, args)
    except (ApiError, httpx.HTTPError, RuntimeError, KeyError, OSError) as exc:
        print(f"\nFAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.http.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
