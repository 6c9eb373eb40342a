"""The one factory for HTTP clients: trust, timeouts, the read-only guard, retries, per-host bounds and the request
log."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..settings import HttpOptions
from .bounds import Bounds, Network
from .guard import ReadOnlyGuard, RequestLog
from .msalhttp import MsalHttpClient
from .retry import RetryPolicy, RetryTransport

PER_HOST = 4  # requests in flight to one host at once, from all threads together

# Told of every response whose body was read to the end: (host, bytes). The CLI's progress line listens here.
ResponseHook = Callable[[str, int], None]


def tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The system's trust store plus `ca_bundle`; verification stays on, always."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context


class HostLimit(httpx.BaseTransport):
    """At most `per_host` requests in flight per host, however many threads send: a request holds its host's slot
    until its body is read or closed. `close()` ends the run's I/O: nothing is sent any more, and connections still
    waiting for an answer are shut down, so a stalled read fails at once instead of holding a thread."""

    def __init__(self, inner: httpx.BaseTransport, per_host: int = PER_HOST,
                 on_response: ResponseHook | None = None, wide: Mapping[str, int] | None = None) -> None:
        """`wide`: hosts (host[:port], as requests name them) with a bound of their own instead of `per_host`."""
        self._inner = inner
        self._per_host = per_host
        self._wide = dict(wide or {})
        self._on_response = on_response
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.netloc.decode()
        slot = self._slot(host)
        slot.acquire()
        try:
            self._refuse_when_closed(request)
            request.extensions = {**request.extensions, "trace": self._trace(request.extensions.get("trace"))}
            response = self._inner.handle_request(request)
        except BaseException:
            slot.release()
            raise
        hook = self._on_response
        body = _Body(response.stream, slot.release, (lambda size: hook(host, size)) if hook is not None else None)
        return httpx.Response(response.status_code, headers=response.headers, stream=body,
                              extensions=response.extensions, request=request)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets = list(self._sockets)
        for sock in sockets:  # wakes a thread blocked reading from it; socket.socket's own shutdown, not TLS's
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        self._inner.close()

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            if host not in self._slots:
                self._slots[host] = threading.BoundedSemaphore(self._wide.get(host, self._per_host))
            return self._slots[host]

    def _refuse_when_closed(self, request: httpx.Request) -> None:
        with self._lock:
            if self._closed:
                raise httpx.TransportError("not sent: the run's HTTP clients were closed (the run is over)",
                                           request=request)

    def _trace(self, outer: Callable[[str, dict[str, Any]], None] | None) -> Callable[[str, dict[str, Any]], None]:
        """httpcore's trace extension: remember each new connection's socket, so that close() can shut it."""

        def trace(event: str, info: dict[str, Any]) -> None:
            if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
                stream = info.get("return_value")
                sock = stream.get_extra_info("socket") if stream is not None else None
                if isinstance(sock, socket.socket):
                    with self._lock:
                        self._sockets.add(sock)
            if outer is not None:
                outer(event, info)

        return trace


class _Body(httpx.SyncByteStream):
    """A response body that gives its host's slot back when closed, and reports its size once read to the end."""

    def __init__(self, inner: httpx.SyncByteStream | Any, release: Callable[[], None],
                 report: Callable[[int], None] | None) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release
        self._report = report
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        for chunk in self._inner:
            size += len(chunk)
            yield chunk
        if self._report is not None:
            self._report(size)

    def close(self) -> None:
        with self._lock:
            release, self._release = self._release, None
        if release is None:
            return
        try:
            self._inner.close()
        finally:
            release()


class Http:
    """Builds every client xtcheck uses. Pass `transport` to put something else under the guard (tests do).

    Every client shares one transport stack: retries and the run's bounds, then the read-only guard, then the
    per-host bound, then the network. `options` are the config's timeouts, retries and caps; `retry`, when given,
    replaces the retries (tests use waits finer than the config offers). `on_response` hears of every response read
    to the end (progress)."""

    def __init__(self, login_origin: str, ca_bundle: Path | None = None, *,
                 options: HttpOptions | None = None, transport: httpx.BaseTransport | None = None,
                 retry: RetryPolicy | None = None, graph_origin: str | None = None,
                 exchange_admin_origin: str | None = None, per_host: int = PER_HOST,
                 on_response: ResponseHook | None = None, run_deadline: float | None = None,
                 wide: Mapping[str, int] | None = None) -> None:
        """`graph_origin` is the only host a `$batch` of GETs may go to; `exchange_admin_origin` is set only when the
        operator opted in to the Exchange admin API (Get- only); `run_deadline` (time.monotonic()) is when the
        command must be done: no request outlives it; `wide`: origins with a bound of their own (HostLimit)."""
        options = options or HttpOptions()
        self.log = RequestLog()
        base = transport or Network(tls_context(ca_bundle))
        hosts = {urlsplit(origin).netloc: bound for origin, bound in (wide or {}).items()}
        self._limit = HostLimit(base, per_host, on_response, hosts)
        guard = ReadOnlyGuard(self._limit, login_origin, self.log, exchange_admin_origin, graph_origin)
        self._transport = RetryTransport(guard, retry or RetryPolicy.configured(options),
                                         Bounds(options, run_deadline))
        self._timeout = httpx.Timeout(options.connect_timeout, read=options.read_timeout)
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        client = httpx.Client(transport=self._transport, timeout=self._timeout, headers=headers,
                              follow_redirects=False)
        with self._lock:
            self._clients.append(client)
        return client

    def msal(self) -> MsalHttpClient:
        return MsalHttpClient(self.client())

    def close(self) -> None:
        """Close every client; a request still in flight (a stalled read past the deadline) fails now."""
        self._limit.close()
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
