"""The bounds on what servers send: how big one answer and all the run's answers together may be, and how long one
request (retries included) and the whole command may take. They hold while the bytes arrive, so a server that never
stops sending, or sends a byte now and then, cannot hold memory or time past them."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpcore
import httpx

from ..settings import HttpOptions
from .answers import RejectedAnswer, describe

MIB = 1024 * 1024
_T = TypeVar("_T")


@dataclass(frozen=True)
class _Deadline:
    """When the request in this thread must be done, and how to say so when it is not."""

    ends: float  # time.monotonic()
    message: str


_current = threading.local()  # .deadline: the _Deadline of the request this thread is sending, if any


class Bounds:
    """The run's caps (the config's `http:` section) and its one byte counter, shared by every client of the run."""

    def __init__(self, options: HttpOptions, run_deadline: float | None = None) -> None:
        """`run_deadline`: the time.monotonic() by which the command must be done (None: only the per-request one)."""
        self.max_response = options.max_response_mb * MIB
        self.max_run = options.max_run_mb * MIB
        self._options = options
        self._run_deadline = run_deadline
        self._read = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def request(self, request: httpx.Request) -> Iterator[float]:
        """Hold this thread's deadline while `request` is sent, answered and read (retries included); yields it.
        Refuses at once when the command's deadline or the run's byte budget is already spent."""
        where = describe(request)
        ends = time.monotonic() + self._options.request_timeout
        message = (f"no whole answer to {where} within http.request_timeout ({self._options.request_timeout:g} s, "
                   "retries included); raise it for a slow link")
        if self._run_deadline is not None and self._run_deadline < ends:
            ends, message = self._run_deadline, f"the command's deadline passed before {where} was answered"
        if ends <= time.monotonic():
            raise RejectedAnswer(message, request=request)
        with self._lock:
            spent = self._read >= self.max_run
        if spent:
            raise RejectedAnswer(self._run_message(where), request=request)
        saved = getattr(_current, "deadline", None)
        _current.deadline = _Deadline(ends, message)
        try:
            yield ends
        finally:
            _current.deadline = saved

    def read(self, response: httpx.Response) -> httpx.Response:
        """The answer with its whole body read (decoded), counted as it arrives against both caps; on any failure
        the response is closed and the error raised. The answer comes back as a new response holding the bytes."""
        where = describe(response.request)
        try:
            self._check_length(response, where)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_response:
                    raise RejectedAnswer(self._response_message(where), request=response.request)
                self._count(len(chunk), where, response.request)
                chunks.append(chunk)
        finally:
            response.close()
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks),
                              request=response.request, extensions=response.extensions)

    def _check_length(self, response: httpx.Response, where: str) -> None:
        """An answer that announces more than a cap is refused before a byte of it is read."""
        text = response.headers.get("content-length", "")
        if text.isascii() and text.isdigit() and int(text) > self.max_response:
            raise RejectedAnswer(self._response_message(where), request=response.request)

    def _count(self, size: int, where: str, request: httpx.Request) -> None:
        with self._lock:
            self._read += size
            over = self._read > self.max_run
        if over:
            raise RejectedAnswer(self._run_message(where), request=request)

    def _response_message(self, where: str) -> str:
        return (f"the answer to {where} is larger than http.max_response_mb ({self._options.max_response_mb} MiB); "
                "it was not read further (raise the cap if answers that large are expected)")

    def _run_message(self, where: str) -> str:
        return (f"the run has read http.max_run_mb ({self._options.max_run_mb} MiB) in all; {where} was not read "
                "whole (raise the cap for a tenant this large)")


def _within(timeout: float | None, call: Callable[[float | None], _T]) -> _T:
    """Run one socket operation with its timeout cut to what is left of this thread's request deadline; a wait that
    ends because the deadline came is a RejectedAnswer, not a timeout to retry."""
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    if deadline is None:
        return call(timeout)
    left = deadline.ends - time.monotonic()
    if left <= 0:
        raise RejectedAnswer(deadline.message)
    try:
        return call(left if timeout is None else min(timeout, left))
    except httpcore.TimeoutException:
        if timeout is None or left <= timeout:  # the deadline, not the configured silence, ended the wait
            raise RejectedAnswer(deadline.message) from None
        raise


class _Stream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most until the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return _within(timeout, lambda left: self._inner.read(max_bytes, left))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _within(timeout, lambda left: self._inner.write(buffer, left))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(_within(timeout, lambda left: self._inner.start_tls(ssl_context, server_hostname, left)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        return _Stream(_within(timeout, lambda left: self._inner.connect_tcp(host, port, left, local_address,
                                                                              socket_options)))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class Network(httpx.BaseTransport):
    """The wire: a connection pool per origin, each httpx's own transport over sockets that wait no longer than the
    current request's deadline. One pool for every origin would hold at most 20 idle connections in all, so an estate
    of 500 Dataverse environments would close and open (a TLS handshake each) connections it is about to use again,
    and httpcore scans a pool's every connection for each request; a pool per origin keeps its own few."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        self._pools: dict[tuple[bytes, bytes, int | None], _OriginPool] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = (url.raw_scheme, url.raw_host, url.port)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = _OriginPool(self._context)
        return pool.handle_request(request)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


class _OriginPool(httpx.HTTPTransport):
    """httpx's own transport for one origin. httpx has no public way to give httpcore a network backend, so the pool
    is built here as httpx builds it, with the backend added; its limits are above any per-host bound xtcheck sets
    (http.client.HostLimit decides how many requests are in flight)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(verify=context)
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend())
