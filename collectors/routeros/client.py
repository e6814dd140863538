"""The routeros-api adapter: the one module that imports `routeros_api`.

One persistent, logged-in connection per router, reused across polls. The library is blocking, so every
call runs on a bounded thread pool (a hung router holds one worker thread, never the event loop), with a
socket timeout on connect and on every read. Guards against the library's known problems:

- decoding: values are read through the *binary* resource and decoded here as UTF-8 with replacement,
  so a hostname or comment in another encoding cannot crash a poll;
- dirty buffers: after any error mid-reply the socket may still hold part of an answer, and the library
  would hand those words to the next command ("Unknown tag"); we drop the connection on every error
  and log in again on the next call;
- small writes: the library sends each word separately; TCP_NODELAY keeps Nagle's algorithm from
  holding every command for the peer's delayed ACK;
- system calls: the library reads every word with two recv() calls (length, then word) and writes every
  word with its own send(); after login `_SocketBuffer` reads in 64 KiB chunks and sends a sentence at
  once, which takes 30-40 % off the CPU of a poll (benchmarks/routeros_poll.py);
- renamed keys: the library turns the wire's `.id` into `id`; rows are given back with wire names;
- unbounded caches: the library keeps an entry per outstanding tag in `response_buffor` and never
  removes it when a reply fails; dropping the connection drops the whole communicator with it.

Reconnecting: there is no backoff clock. A call on no connection logs in at once, so every poll after a failure
tries the router again, and the first poll after it is back connects (the scheduler's interval already spaces the
attempts; a failed poll ends at its first error, so one poll makes one attempt). A kept connection that the
router closed, reset, or that TCP keepalive found dead (a rebooted router no longer knows it) is replaced within
the same call: one fresh login and the command again (every command is a `print`, so a second run is
harmless). A kept connection that is merely silent (our read timed out) is dropped without a second attempt:
a router that does not answer is not asked twice in one poll.

Errors become `netmon.errors`: no answer -> DeviceUnreachable, login refused -> AuthenticationFailed,
"no such command" -> FeatureUnavailable, anything malformed -> DeviceProtocolError. Messages never
contain the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import routeros_api
from routeros_api import exceptions as ros_exc

from netmon.errors import (
    AuthenticationFailed,
    CollectorError,
    DeviceProtocolError,
    DeviceUnreachable,
    FeatureUnavailable,
    library_message,
    redact,
    safe_cause,
)
from netmon.model import RouterOsSettings

log = logging.getLogger(__name__)

Row = dict[str, str]
T = TypeVar("T")
MISSING_MENU = ("no such command", "unknown command", "no such item")


def _decode(value: bytes | None) -> str:
    return "" if value is None else value.decode("utf-8", "replace")


def _ssl_context(settings: RouterOsSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.tls_ca_file)
    if not settings.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        # RouterOS API-SSL without a certificate speaks anonymous Diffie-Hellman only
        context.set_ciphers("ALL:ADH:@SECLEVEL=0")
    return context


def _no_delay(pool: Any) -> None:
    """The library writes every word with its own send(); with Nagle's algorithm on, each command then
    waits for the router's delayed ACK (~40 ms a command). Send words at once instead."""
    raw = getattr(getattr(pool, "socket", None), "socket", None)
    if isinstance(raw, socket.socket):
        with contextlib.suppress(OSError):
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _SocketBuffer:
    """Buffered I/O for the library's socket wrapper, with its semantics: `receive(n)` returns 1..n bytes
    (blocking, under the socket timeout) and raises on a closed connection; `send` is called once per
    encoded word, and the empty word (a single zero byte) ends the sentence, so the sentence goes out then."""

    def __init__(self, raw: socket.socket) -> None:
        self._raw = raw
        self._in = b""
        self._at = 0
        self._out: list[bytes] = []

    def receive(self, length: int) -> bytes:
        if self._at >= len(self._in):
            data = self._raw.recv(65536)
            if not data:
                raise ros_exc.RouterOsApiConnectionClosedError
            self._in, self._at = data, 0
        chunk = self._in[self._at:self._at + length]
        self._at += len(chunk)
        return chunk

    def send(self, word: bytes) -> None:
        self._out.append(word)
        if word == b"\x00":
            out, self._out = b"".join(self._out), []
            self._raw.sendall(out)


def _buffered(pool: Any) -> None:
    """Install `_SocketBuffer` on the pool's socket wrapper (shared with the library's connection object);
    only between sentences, i.e. right after login, when nothing is left unread."""
    wrapper = getattr(pool, "socket", None)
    raw = getattr(wrapper, "socket", None)
    if isinstance(raw, socket.socket):
        buffer = _SocketBuffer(raw)
        wrapper.receive = buffer.receive  # type: ignore[union-attr]
        wrapper.send = buffer.send  # type: ignore[union-attr]


class _RawQuery:
    """A query word passed through as written (`?type=ether`, `?#|`), in the library's query protocol."""

    def __init__(self, word: bytes) -> None:
        self.word = word

    def get_api_format(self) -> list[bytes]:
        return [self.word]


class _StaleConnection(Exception):
    """A kept connection turned out closed or reset by the router (internal: `_guarded` logs in again)."""


def _silent(exc: BaseException) -> bool:
    """Whether a connection error is our own read timeout (the router is silent), as opposed to the router or the
    kernel having ended the connection (closed, reset, keepalive expired: errno set)."""
    if isinstance(exc, ros_exc.RouterOsApiConnectionClosedError):
        return False
    cause = exc if isinstance(exc, OSError) else exc.__context__
    return isinstance(cause, TimeoutError) and cause.errno is None


class RouterOsClient:
    """API access to one router. Methods are coroutines; the blocking work runs in `executor`."""

    def __init__(self, host: str, settings: RouterOsSettings, executor: ThreadPoolExecutor) -> None:
        self._host = host
        self._settings = settings
        self._executor = executor
        self._lock = threading.Lock()  # one command at a time on the connection
        self._pool: routeros_api.RouterOsApiPool | None = None
        self._api: Any = None
        self.connects = 0  # logins performed, for tests and the benchmark
        self.stale = 0  # kept connections found dropped by the router and replaced within a call

    async def print(self, path: str, *, proplist: Sequence[str] = (), where: Mapping[str, str] | None = None,
                    queries: Sequence[str] = ()) -> list[Row]:
        """`<path>/print` with an optional `.proplist`, `?name=value` filters and raw query words."""
        arguments: dict[str, bytes] = {}
        if proplist:
            arguments[".proplist"] = ",".join(proplist).encode()
        return await self._run(lambda api: self._call(api, path, arguments, where, queries)[0])

    async def count(self, path: str, *, where: Mapping[str, str] | None = None,
                    queries: Sequence[str] = ()) -> int:
        """`<path>/print count-only`: the router counts, nothing else crosses the wire."""
        def call(api: Any) -> int:
            _rows, done = self._call(api, path, {"count-only": b""}, where, queries)
            try:
                return int(done.get("ret", ""))
            except ValueError as exc:
                raise DeviceProtocolError(f"count-only on {path} returned no number") from exc
        return await self._run(call)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)

    @property
    def connected(self) -> bool:
        return self._pool is not None

    async def _run(self, fn: Callable[[Any], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._guarded, fn)

    def _guarded(self, fn: Callable[[Any], T]) -> T:
        with self._lock:
            if self._api is not None:
                try:
                    return self._use(self._api, fn, kept=True)
                except _StaleConnection:
                    self.stale += 1
                    log.debug("RouterOS API connection to %s was dropped by the router; logging in again",
                              self._host)
            return self._use(self._connected_api(), fn, kept=False)

    def _use(self, api: Any, fn: Callable[[Any], T], *, kept: bool) -> T:
        try:
            return fn(api)
        except FeatureUnavailable:
            raise  # a clean !trap/!done exchange: the connection stays usable
        except CollectorError:
            self._disconnect()
            raise
        except (ros_exc.RouterOsApiConnectionError, OSError) as exc:
            self._disconnect()
            if kept and not _silent(exc):
                raise _StaleConnection from exc
            raise DeviceUnreachable(f"RouterOS API connection lost: {self._said(exc)}") \
                from safe_cause(exc, self._secrets)
        except (ros_exc.RouterOsApiError, AssertionError, ValueError, KeyError, IndexError) as exc:
            self._disconnect()
            raise DeviceProtocolError(f"RouterOS API reply not understood: {self._said(exc)}") \
                from safe_cause(exc, self._secrets)

    def _connected_api(self) -> Any:
        if self._api is not None:
            return self._api
        settings = self._settings
        pool = routeros_api.RouterOsApiPool(
            self._host, username=settings.user, password=settings.password.reveal(),
            port=settings.effective_port, plaintext_login=True, use_ssl=settings.tls,
            ssl_context=_ssl_context(settings) if settings.tls else None,
        )
        pool.socket_timeout = settings.timeout_s
        try:
            self._api = pool.get_api()
        except ros_exc.RouterOsApiCommunicationError as exc:
            pool.disconnect()
            message = self._redact(_decode(getattr(exc, "original_message", b"")))
            raise AuthenticationFailed(f"RouterOS API login refused for user {settings.user!r}: "
                                       f"{message or 'invalid user or password'}") from safe_cause(exc, self._secrets)
        except (ros_exc.RouterOsApiConnectionError, OSError) as exc:
            pool.disconnect()
            reason = "timed out" if isinstance(exc, socket.timeout) or "timed out" in str(exc) else "failed"
            raise DeviceUnreachable(f"RouterOS API connect to port {settings.effective_port} {reason}: "
                                    f"{self._said(exc)}") from safe_cause(exc, self._secrets)
        except (ros_exc.RouterOsApiError, AssertionError, ValueError, KeyError, IndexError) as exc:
            pool.disconnect()
            raise DeviceProtocolError(f"RouterOS API login reply not understood: {self._said(exc)}") \
                from safe_cause(exc, self._secrets)
        _no_delay(pool)
        _buffered(pool)
        self._pool = pool
        self.connects += 1
        return self._api

    @property
    def _secrets(self) -> tuple[str, ...]:
        return (self._settings.password.reveal(),)

    def _said(self, exc: BaseException) -> str:
        """The library's (or the socket's) words, without the password."""
        return library_message(exc, self._secrets)

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def _disconnect(self) -> None:
        pool, self._pool, self._api = self._pool, None, None
        if pool is not None:
            with contextlib.suppress(OSError):
                pool.disconnect()

    @staticmethod
    def _call(api: Any, path: str, arguments: dict[str, bytes], where: Mapping[str, str] | None,
              queries: Sequence[str]) -> tuple[list[Row], Row]:
        resource = api.get_binary_resource(path)
        extra = [_RawQuery(q.encode()) for q in queries]
        filters = {k: v.encode() for k, v in (where or {}).items()}
        try:
            response = resource.call("print", arguments, filters, additional_queries=extra)
        except ros_exc.RouterOsApiCommunicationError as exc:
            message = _decode(getattr(exc, "original_message", b""))
            if any(m in message.lower() for m in MISSING_MENU):
                raise FeatureUnavailable(f"{path}: {message}") from exc
            raise DeviceProtocolError(f"{path}: router said {message!r}") from exc
        # the library renames `.id` to `id` in replies; give the wire name back
        rows = [{(".id" if k == "id" else k): _decode(v) for k, v in row.items()} for row in response]
        done = {k: _decode(v) for k, v in response.done_message.items()}
        return rows, done
