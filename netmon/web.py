"""The daemon's HTTP server: the one module that imports aiohttp (and bcrypt, for basic auth).

Parts of the daemon serve through it by giving routes: a path and an async function from a `Request` to a
`Reply` (both ours, so no other module sees aiohttp). Today the exporter's /metrics and /healthz (GET, behind basic
auth when configured) and the routers' `POST /push/v1/{device_id}` (a `Route` with its own token check, so
exempt from basic auth; netmon/push); next the report downloads and a status page.

What a client can get besides a route's own answer (docs/architecture.md, "The web server"):
400 for a malformed request (a request line over `max_request_line_bytes` too), 431 for oversized headers (a
header line over `max_field_bytes` or more than `max_headers` headers), 401 with `WWW-Authenticate` when basic
auth is configured and the credentials do not match, 404 for an unknown path, 405 with `Allow` for a method the
path does not take, 413 for a body over `max_body_bytes`, 503 when a handler runs past `handler_timeout_s`.
Malformed and oversized requests are logged as one line at DEBUG (anyone who can reach the port could otherwise
fill the log); a traceback is logged only for a bug in a route (500).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import bcrypt
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError, LineTooLong

from netmon.errors import WebServerError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # case-insensitive keys
    body: bytes = b""  # at most Limits.max_body_bytes (the server answered 413 beyond)
    params: Mapping[str, str] = field(default_factory=dict)  # `{name}` parts of the route's path


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[Request], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    """A route beyond the plain GET ones: its method, a path that may hold `{name}` parts (handed over in
    `Request.params`), and whether the server's basic auth guards it (False for a route that authenticates
    its callers itself, as the routers' push with a token per device)."""

    path: str
    handler: Handler
    method: str = "GET"
    basic_auth: bool = True


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 64 * 1024
    max_field_bytes: int = 8190  # one header line (aiohttp's default, as nginx's large_client_header_buffers)
    # The request line's own limit, different from max_field_bytes on purpose: aiohttp's parser raises the same
    # LineTooLong for both and names only the limit it hit, which is how a long header (431) is told apart.
    max_request_line_bytes: int = 8192
    max_headers: int = 100
    handler_timeout_s: float = 30.0  # rendering /metrics of 10,000 devices takes a few seconds
    keepalive_s: float = 15.0  # a connection without a complete request in this time is closed


class _HeadersTooLarge(HttpProcessingError):
    """What the parser's complaint about a header's size is turned into: no header content in it (the log line
    and the answer would otherwise carry 100 bytes of a header, perhaps a credential)."""

    code = 431


def _too_large_headers(exc: BaseException | None, limits: Limits) -> bool:
    """Whether aiohttp's parser gave up on the headers' size: a header line over `max_field_bytes` (its
    LineTooLong names that limit; the request line has another) or more than `max_headers` headers."""
    if isinstance(exc, LineTooLong):
        return str(exc.args[1]) == str(limits.max_field_bytes)
    return type(exc) is BadHttpMessage and exc.message.startswith("Too many headers")


class _RequestHandler(web.RequestHandler):
    """aiohttp's connection handler, answering oversized headers with 431 rather than the parser's 400."""

    def __init__(self, manager: web.Server, *, limits: Limits, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._netmon_limits = limits

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status == 400 and _too_large_headers(exc, self._netmon_limits):
            limits = self._netmon_limits
            exc = _HeadersTooLarge(message=f"request header fields too large (at most {limits.max_headers} "
                                           f"headers of {limits.max_field_bytes} bytes)")
            return super().handle_error(request, 431, exc, "request header fields too large\n")
        return super().handle_error(request, status, exc, message)


class _ProtocolLog(logging.LoggerAdapter):
    """aiohttp logs a malformed request with a traceback at ERROR: one DEBUG line instead."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        if isinstance(exc, HttpProcessingError | ConnectionError):
            detail = exc.message if isinstance(exc, HttpProcessingError) else str(exc)
            self.logger.debug("rejected a request: %s", str(detail)[:200] or type(exc).__name__)
            return
        super().log(level, msg, *args, **kwargs)


class BasicAuth:
    """Checks `Authorization: Basic` against bcrypt hashes. A match is remembered (by a SHA-256 of user, password
    and hash) so Prometheus's scrape every 15 s does not cost a bcrypt round each time, as the exporter toolkit."""

    def __init__(self, users: Mapping[str, bytes]) -> None:
        self._users = dict(users)
        self._good: set[bytes] = set()

    async def allows(self, header: str | None) -> bool:
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        hashed = self._users.get(user)
        if not sep or hashed is None:
            return False
        token = hashlib.sha256(b"\0".join((user.encode(), password.encode(), hashed))).digest()
        if token in self._good:
            return True
        if not await asyncio.to_thread(bcrypt.checkpw, password.encode(), hashed):
            return False
        if len(self._good) < 1024:
            self._good.add(token)
        return True


class WebServer:
    def __init__(self, routes: Mapping[str, Handler], host: str = "127.0.0.1", port: int = 9877, *,
                 tls: ssl.SSLContext | None = None, users: Mapping[str, bytes] | None = None,
                 limits: Limits = Limits(), more: Sequence[Route] = ()) -> None:
        self._routes = [Route(path, handler) for path, handler in routes.items()] + list(more)
        self._open = {route.path for route in self._routes if not route.basic_auth}
        self._host = host
        self._port = port
        self._tls = tls
        self._auth = BasicAuth(users) if users else None
        self._limits = limits
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None

    @property
    def scheme(self) -> str:
        return "https" if self._tls else "http"

    @property
    def port(self) -> int:
        assert self._listener is not None
        return int(self._listener.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Listen. aiohttp's runner holds the application; the listening socket is ours (as `web.TCPSite` would
        make it) so that each connection gets `_RequestHandler`."""
        limits = self._limits
        app = web.Application(client_max_size=limits.max_body_bytes, middlewares=[self._guard])
        for route in self._routes:
            if route.method == "GET":
                app.router.add_get(route.path, _adapt(route.handler))
            else:
                app.router.add_route(route.method, route.path, _adapt(route.handler))
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        loop = asyncio.get_running_loop()
        server = runner.server
        assert server is not None

        def connection() -> _RequestHandler:
            return _RequestHandler(server, loop=loop, limits=limits, access_log=None, logger=_ProtocolLog(log, {}),
                                   max_field_size=limits.max_field_bytes,
                                   max_line_size=limits.max_request_line_bytes, max_headers=limits.max_headers,
                                   keepalive_timeout=limits.keepalive_s)

        try:
            self._listener = await loop.create_server(connection, self._host, self._port, ssl=self._tls,
                                                      reuse_address=True)
        except OSError as exc:
            await runner.cleanup()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)  # not asyncio's long wording
            raise WebServerError(f"cannot listen on {self._host}:{self._port}: {reason}") from exc
        self._runner = runner
        log.info("serving on %s://%s:%d/", self.scheme, self._host, self.port)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()  # no new connections; the runner closes the open ones
            self._listener = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _guard(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                     ) -> web.StreamResponse:
        if request.body_exists:
            await request.read()  # over client_max_size: 413 (kept by aiohttp for the route; bounds what is read)
        if self._auth is not None and _canonical(request) not in self._open \
                and not await self._auth.allows(request.headers.get("Authorization")):
            return web.Response(status=401, text="authentication required\n",
                                headers={"WWW-Authenticate": 'Basic realm="netmon"'})
        try:
            async with asyncio.timeout(self._limits.handler_timeout_s):
                return await handler(request)
        except TimeoutError:
            log.warning("%s %s took longer than %.0f s: answered 503", request.method, request.path,
                        self._limits.handler_timeout_s)
            return web.Response(status=503, text="took too long\n")


def _canonical(request: web.Request) -> str | None:
    """The path of the route a request matched (`/push/v1/{device_id}`), None for no route."""
    route = request.match_info.route
    return route.resource.canonical if route.resource is not None else None


def _adapt(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(request: web.Request) -> web.Response:
        body = await request.read() if request.body_exists else b""
        reply = await handler(Request(request.method, request.path, request.headers, body,
                                      dict(request.match_info)))
        response = web.Response(status=reply.status, body=reply.body, headers=dict(reply.headers))
        response.headers["Content-Type"] = reply.content_type
        return response

    return serve
