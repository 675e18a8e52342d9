"""Client addresses behind proxies: which peers are trusted, and who the client is.

Contract:
- `parse_trusted(spec)` reads FORWARDED_ALLOW_IPS: comma-separated IP addresses and CIDR ranges, plus the
  names `private` (loopback, RFC 1918, IPv6 unique-local and link-local) and `cloudflare` (Cloudflare's
  published edge ranges, `CLOUDFLARE`). Empty: trust no proxy. Anything else (`*` included: it would let
  every client choose its own address) raises ValueError naming the bad entry.
- `ProxyHeadersMiddleware` rewrites `scope["client"]` (and `scope["scheme"]` from X-Forwarded-Proto) only
  when the connecting peer is trusted. The client is then the right-most X-Forwarded-For address that is
  not itself a trusted proxy (the left-most entries are whatever the client sent, so they are never
  believed unless every hop after them is trusted). RFC 7239 `Forwarded: for=` is read the same way when
  no X-Forwarded-For is present. An untrusted peer's forwarding headers are ignored: it is the client.
  The same rule runs under uvicorn (`python local_server.py` turns uvicorn's own handling off) and in
  Lambda, where Mangum's peer is API Gateway's `sourceIp`.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from core.config import get_settings
from core.edge.asgi import ASGIApp, Message, Receive, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# https://www.cloudflare.com/ips/ (IPv4 and IPv6 lists; they change rarely). Render puts Cloudflare in
# front of every web service, so on Render a request arrives as client -> Cloudflare -> Render's proxy.
CLOUDFLARE = (
    "173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22", "141.101.64.0/18",
    "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20", "197.234.240.0/22", "198.41.128.0/17",
    "162.158.0.0/15", "104.16.0.0/13", "104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22",
    "2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32", "2405:8100::/32",
    "2a06:98c0::/29", "2c0f:f248::/32",
)  # fmt: skip
PRIVATE = ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7", "fe80::/10")
NAMED = {"cloudflare": CLOUDFLARE, "private": PRIVATE}
SCHEMES = {"http", "https", "ws", "wss"}


@lru_cache(maxsize=8)
def parse_trusted(spec: str) -> tuple[Network, ...]:
    networks: list[Network] = []
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        for item in NAMED.get(entry.lower(), (entry,)):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hint = " ('*' is not accepted: list your proxies' addresses)" if item == "*" else ""
                raise ValueError(f"FORWARDED_ALLOW_IPS: {item!r} is not an IP address or CIDR range{hint}") from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    """An address from a forwarding header entry: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `"[::1]"`, `::1`."""
    value = text.strip().strip('"')
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address: Address | None, networks: tuple[Network, ...]) -> bool:
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def forwarded_for(headers: list[tuple[bytes, bytes]]) -> list[str]:
    """The forwarding chain, oldest hop first: every X-Forwarded-For value, else every `for=` of Forwarded."""
    xff = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"]
    if xff:
        return [part.strip() for value in xff for part in value.split(",") if part.strip()]
    chain: list[str] = []
    for key, value in headers:
        if key != b"forwarded":
            continue
        for element in value.decode("latin-1").split(","):
            for pair in element.split(";"):
                name, _, text = pair.partition("=")
                if name.strip().lower() == "for":
                    chain.append(text.strip())
    return chain


def client_address(peer: str, chain: list[str], networks: tuple[Network, ...]) -> str:
    """Who the client is: the peer unless it is trusted, else the right-most untrusted hop of the chain."""
    if not _trusted(_address(peer), networks):
        return peer
    client = peer
    for hop in reversed(chain):
        address = _address(hop)
        if address is None:
            return client  # garbage from here leftwards: stop at the last hop a trusted proxy vouched for
        client = str(address)
        if not _trusted(address, networks):
            return client
    return client


class ProxyHeadersMiddleware:
    """Puts the real client address (and scheme) into the scope when the peer is a trusted proxy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            networks = parse_trusted(get_settings().forwarded_allow_ips)
            peer = scope["client"][0]
            if networks and _trusted(_address(peer), networks):
                headers = scope.get("headers", [])
                client = client_address(peer, forwarded_for(headers), networks)
                if client != peer:
                    scope = {**scope, "client": (client, 0)}
                protos = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-proto"]
                proto = protos[-1].split(",")[-1].strip().lower() if protos else ""
                if proto in SCHEMES:
                    if scope["type"] == "websocket":
                        proto = "wss" if proto in ("https", "wss") else "ws"
                    scope = {**scope, "scheme": proto}
        await self.app(scope, receive, send)
