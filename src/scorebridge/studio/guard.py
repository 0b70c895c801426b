"""The studio's front door, as a pure ASGI middleware that runs before any route:

- the Host header must name this server (loopback names by default): a page on another domain that resolves
  to 127.0.0.1 (DNS rebinding) is refused;
- a state-changing request (POST, DELETE, ...) from a browser must come from the studio's own page: its
  Origin (or, without one, its Referer) must match the Host, and ``Sec-Fetch-Site`` must not say another
  site. Requests without either header do not come from a web page (curl, scripts) and pass;
- a request body is counted as it arrives, whatever Content-Length or Transfer-Encoding say, and stopped at
  the limit with a 413: nothing beyond the limit is read or stored.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BodyTooLarge(HTTPException):
    """The request body passed the limit while it was being read."""

    def __init__(self, limit: int):
        super().__init__(413, f"the upload is larger than {limit:,} bytes")


def allowed_names(extra: Iterable[str] = ()) -> frozenset[str]:
    """Host names the studio answers to: the loopback names and ``extra`` (the bound address, --allow-host)."""
    return frozenset(_normal(n) for n in (*LOOPBACK_NAMES, *extra) if n)


def split_host(value: str) -> tuple[str, int | None] | None:
    """('name', port or None) of a Host header value or URL authority; None when it is malformed."""
    value = value.strip()
    if not value or any(c in value for c in "/\\@ \t?#"):
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else None
    elif value.count(":") == 1:
        name, port_text = value.split(":")
    elif ":" in value:
        return None  # an IPv6 address must be bracketed in a Host header
    else:
        name, port_text = value, None
    if port_text is None:
        return _normal(name), None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return _normal(name), int(port_text)


def _normal(name: str) -> str:
    name = name.strip().strip("[]").lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def host_problem(host: str | None, names: frozenset[str], scheme: str, server_port: int | None) -> str | None:
    """Why the Host header is refused, or None."""
    parsed = split_host(host or "")
    if parsed is None:
        return "a valid Host header is required"
    name, port = parsed
    if name not in names:
        return f"this studio does not answer to the host name {name!r} (see --allow-host)"
    if server_port is not None and (port or DEFAULT_PORTS.get(scheme)) != server_port:
        return "the Host header names another port"
    return None


def origin_problem(headers: dict[str, str], scheme: str, host: str) -> str | None:
    """Why a state-changing request is refused as cross-origin, or None."""
    refusal = "cross-origin request refused: only the studio's own page may change jobs"
    if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return refusal
    source = headers.get("origin") or headers.get("referer")
    if source is None:
        return None  # not from a browser page
    if source == "null":
        return refusal
    url = urlsplit(source)
    own, theirs = split_host(host), split_host(url.netloc) if url.netloc else None
    if own is None or theirs is None or url.scheme != scheme:
        return refusal
    default = DEFAULT_PORTS.get(scheme)
    if (own[0], own[1] or default) != (theirs[0], theirs[1] or default):
        return refusal
    return None


class GuardMiddleware:
    """Host allow-list, same-origin check and counted request bodies (see the module's docstring)."""

    def __init__(self, app: Any, names: frozenset[str], max_body: int,
                 headers: tuple[tuple[str, str], ...] = ()):
        self.app, self.names, self.max_body = app, names, max_body
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        scheme = scope.get("scheme", "http")
        server = scope.get("server")
        server_port = int(server[1]) if server and server[1] is not None else None
        problem = host_problem(headers.get("host"), self.names, scheme, server_port)
        length = headers.get("content-length")
        body = _CountedBody(receive, self.max_body, length in (None, "0") and "transfer-encoding" not in headers)
        started = False

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = self.headers
                if not body.complete:  # close the connection: the rest of the body is never read
                    extra = [*extra, (b"connection", b"close")]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        if problem is not None:
            return await _answer(watched, 400, problem)
        if scope["method"] not in SAFE_METHODS:
            problem = origin_problem(headers, scheme, headers["host"])
            if problem is not None:
                return await _answer(watched, 403, problem)
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            if not length.isdigit():
                return await _answer(watched, 400, "a malformed Content-Length header")
            return await _answer(watched, 413, str(BodyTooLarge(self.max_body).detail))

        try:
            await self.app(scope, body.receive, watched)
        except BodyTooLarge as exc:  # raised where no route turned it into a response
            if not started:
                await _answer(watched, 413, str(exc.detail))


class _CountedBody:
    """The request body, counted as it arrives; BodyTooLarge past ``limit`` bytes."""

    def __init__(self, receive: Receive, limit: int, complete: bool):
        self._receive, self.limit, self.complete, self.seen = receive, limit, complete, 0

    async def receive(self) -> dict[str, Any]:
        message = await self._receive()
        if message["type"] == "http.request":
            self.complete = not message.get("more_body", False)
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                raise BodyTooLarge(self.limit)
        return message


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
