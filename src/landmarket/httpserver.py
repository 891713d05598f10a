"""The HTTP server side of `landmarket serve`: how long a client may take, how many
connections a worker holds, and whose forwarded headers are believed (docs/limits.md).

uvicorn brings a keep-alive timeout, but nothing bounds a connection that never finishes its
request: no timeout for the request head (a connection that sends nothing, or half a header,
is held for ever), none for the body, and no cap on connections (its `limit_concurrency`
answers 503 to every request, /healthz included, once the count is reached; connections
still pile up until the process runs out of file descriptors). `GuardedHttpToolsProtocol`
adds these to uvicorn's httptools protocol, per connection, on the event loop's timers:

- the request head (request line and headers) must arrive within the header timeout of the
  connection opening or of its first byte on a kept-alive connection, and be at most
  `http_max_header_bytes` long (431 beyond);
- the body must arrive within the body timeout of the end of the head, however it trickles;
- a worker holds at most `http_max_connections` connections (fewer if the file-descriptor
  limit does not allow that many): a new connection beyond them closes the connection that
  has waited longest without a request in progress (a half-sent head, an idle keep-alive),
  else the one whose request body has been coming in longest, so clients that send a
  request get served while a slowloris holds the rest; with every connection busy with a
  request being answered, the new one gets 503.

A request over a timeout gets a 408 problem+json when nothing of its response was sent yet,
and the connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import weakref
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from landmarket.core.config import Settings, get_settings
from landmarket.core.errors import problem_response

PROTOCOL = "landmarket.httpserver:GuardedHttpToolsProtocol"
# File descriptors a worker keeps for other things than client connections: the database
# pools, the listening socket, the event loop, logs, export temp files.
FD_RESERVE = 256
MIN_CONNECTIONS = 16
logger = logging.getLogger("landmarket.http")


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> bytes:
    """A whole problem+json response that closes the connection, as bytes to write."""
    response = problem_response(status, detail, headers=headers)
    head = [b"HTTP/1.1 %d %s\r\n" % (status, HTTPStatus(status).phrase.encode("ascii"))]
    head += [name + b": " + value + b"\r\n" for name, value in response.raw_headers]
    return b"".join([*head, b"connection: close\r\n\r\n", response.body])


HEAD_TIMEOUT = _problem(408, "The request head (request line and headers) came too slowly")
BODY_TIMEOUT = _problem(408, "The request body came too slowly")
HEADERS_TOO_LARGE = _problem(431, "The request head (request line and headers) is too large")
BUSY = _problem(503, "Too many connections; retry later", {"Retry-After": "5"})


@dataclass(frozen=True)
class HttpLimits:
    header_timeout_s: float
    body_timeout_s: float
    keepalive_timeout_s: int
    max_header_bytes: int
    max_connections: int


def raise_open_files(wanted: int) -> int:
    """Raise this process's soft limit on open files towards ``wanted`` (up to the hard
    limit; children inherit it) and return the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return wanted
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft


def limits_for(settings: Settings) -> HttpLimits:
    """The limits in force: the connection cap is what was asked for, or what the open-file
    limit leaves after `FD_RESERVE` when that is less."""
    asked = settings.http_max_connections
    allowed = raise_open_files(asked + FD_RESERVE) - FD_RESERVE
    return HttpLimits(
        header_timeout_s=settings.http_header_timeout_seconds,
        body_timeout_s=settings.http_body_timeout_seconds,
        keepalive_timeout_s=settings.http_keepalive_timeout_seconds,
        max_header_bytes=settings.http_max_header_bytes,
        max_connections=max(MIN_CONNECTIONS, min(asked, allowed)),
    )


def _capped_note(settings: Settings, limits: HttpLimits) -> str:
    if limits.max_connections >= settings.http_max_connections:
        return ""
    return (
        f" (the open-file limit allows no more than {limits.max_connections} of the "
        f"{settings.http_max_connections} of LANDMARKET_HTTP_MAX_CONNECTIONS: raise `ulimit -n`)"
    )


@lru_cache
def current_limits() -> HttpLimits:
    """The limits of this process, from the environment as the app's settings are (with
    `serve --workers N` each worker process reads them itself)."""
    settings = get_settings()
    limits = limits_for(settings)
    if note := _capped_note(settings, limits):
        logger.warning("connections per worker capped%s", note)
    return limits


def announce_limits(settings: Settings) -> str:
    """The limits in force, for `serve`'s start-up output (raising the open-file limit, which
    uvicorn's worker processes inherit)."""
    limits = limits_for(settings)
    proxies = ", ".join(settings.forwarded_allow_ips) or "no proxy"
    return (
        f"HTTP: request head within {limits.header_timeout_s:g} s, body within "
        f"{limits.body_timeout_s:g} s, keep-alive {limits.keepalive_timeout_s} s, at most "
        f"{limits.max_connections} connections per worker{_capped_note(settings, limits)}; "
        f"X-Forwarded-For believed from {proxies}"
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The options `landmarket serve` passes to `uvicorn.run` for these limits."""
    trusted = settings.forwarded_allow_ips
    return {
        "http": PROTOCOL,
        "timeout_keep_alive": settings.http_keepalive_timeout_seconds,
        # uvicorn believes X-Forwarded-For/-Proto from 127.0.0.1 unless told otherwise, so a
        # local client could pick any address (and a fresh rate-limit bucket) per request.
        # Only the configured proxies are believed; with none, the middleware is left out.
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": list(trusted),
        # The API has no WebSocket endpoint; an upgrade is answered as a plain request.
        "ws": "none",
        # Draining on SIGTERM: uvicorn closes the listening socket and idle connections at
        # once and waits for requests in flight, by default for ever.
        "timeout_graceful_shutdown": settings.shutdown_timeout_seconds,
    }


# Per server (one per process), oldest first (dicts keep insertion order): connections with
# no request in progress (a connection going idle again moves to the end), and connections
# whose request body is still coming in.
_Registry = weakref.WeakKeyDictionary[ServerState, dict["GuardedHttpToolsProtocol", None]]
_idle_by_server: _Registry = weakref.WeakKeyDictionary()
_uploading_by_server: _Registry = weakref.WeakKeyDictionary()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body timeouts, a head size limit and a
    connection cap (module docstring)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = current_limits()
        self.idle = _idle_by_server.setdefault(server_state, {})
        self.uploading = _uploading_by_server.setdefault(server_state, {})
        self.head_timer: asyncio.TimerHandle | None = None
        self.body_timer: asyncio.TimerHandle | None = None
        self.reading_head = False
        self.head_started = False
        self.head_bytes = 0

    # -- connection --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._go_idle()
        self.reading_head = True
        self._arm_head_timer()
        if len(self.connections) > self.limits.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        self.idle.pop(self, None)
        self.uploading.pop(self, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        counted = self.reading_head
        super().data_received(data)
        if counted and self.reading_head and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > self.limits.max_header_bytes:
                self._refuse(HEADERS_TOO_LARGE)

    # -- parser callbacks --------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_head = True
        self.head_started = True
        self.head_bytes = 0
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self.head_started = False
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        self.idle.pop(self, None)
        super().on_headers_complete()
        if self.body_timer is not None:
            self.body_timer.cancel()
        self.body_timer = self.loop.call_later(self.limits.body_timeout_s, self._body_timeout)
        self.uploading[self] = None

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.uploading.pop(self, None)
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        in_progress = self.pipeline or (self.cycle is not None and not self.cycle.response_complete)
        if not in_progress and not self.transport.is_closing():
            self._go_idle()

    # -- limits ------------------------------------------------------------------------

    def _go_idle(self) -> None:
        self.idle.pop(self, None)
        self.idle[self] = None

    def _arm_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timeout)

    def _cancel_timers(self) -> None:
        for timer in (self.head_timer, self.body_timer):
            if timer is not None:
                timer.cancel()
        self.head_timer = self.body_timer = None

    def _head_timeout(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        responding = self.cycle is not None and not self.cycle.response_complete
        # A connection that never sent a byte gets no answer, as a request in flight gets none
        # in the middle of its response.
        self._close(HEAD_TIMEOUT if self.head_started and not responding else None)

    def _body_timeout(self) -> None:
        self.body_timer = None
        if self.transport.is_closing():
            return
        started = self.cycle is not None and self.cycle.response_started
        self._close(None if started else BODY_TIMEOUT)

    def _refuse(self, response: bytes) -> None:
        started = self.cycle is not None and self.cycle.response_started
        self._close(None if started and not self.cycle.response_complete else response)

    def _close(self, response: bytes | None) -> None:
        """Answer ``response`` (if given) and close; the app's request, if one runs, sees a
        disconnect and whatever it still sends is dropped."""
        self._cancel_timers()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if response is not None:
            self.transport.write(response)
        self.transport.close()
        # Counted out now rather than when the loop reports the loss, so the cap sees it.
        self.connections.discard(self)
        self.idle.pop(self, None)
        self.uploading.pop(self, None)

    def _make_room(self) -> None:
        """Over the cap: close the connections idle longest, then those whose body has been
        coming in longest (a slow upload holds its connection as long as a half-sent head);
        if only this new one is left to close, it gets 503."""
        while len(self.connections) > self.limits.max_connections:
            oldest = next(iter(self.idle), None)
            if oldest is None or oldest is self:
                oldest = next(iter(self.uploading), None)
            if oldest is None or oldest is self:
                logger.warning("connection refused: %d connections busy", len(self.connections))
                self._close(BUSY)
                return
            started = oldest.cycle is not None and oldest.cycle.response_started
            oldest._close(None if started else BUSY)
