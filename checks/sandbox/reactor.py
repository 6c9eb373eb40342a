"""One thread for every origin: a selector over each listening socket and each idle keep-alive connection, handing a
connection with something to read to a bounded pool of workers, which serve its request and give it back.

A sandbox of 5,000 Dataverse environments is 5,000 listening sockets; with a thread (and a poll loop) per origin it
would start slowly and burn CPU while idle. Here an origin costs one file descriptor, and a worker is busy only
while a request is being read, answered, or held by a fault (latency, stall, drip)."""

from __future__ import annotations

import contextlib
import queue
import resource
import selectors
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Socket = socket.socket
DEFAULT_WORKERS = 256  # requests served at once, all origins together (a standing latency holds a worker)


class Listener(Protocol):
    """An origin's listening socket, and what serves one of its connections."""

    socket: Socket

    def connection(self, sock: Socket, reactor: Reactor) -> Connection: ...


class Connection(Protocol):
    """One accepted connection: `serve` runs in a worker when the socket has something to read."""

    sock: Socket

    def serve(self) -> None: ...

    def close(self) -> None: ...


class Workers:
    """At most `limit` daemon threads, started only when every running one is busy. Daemon threads, because a client
    that sends half a request and goes quiet must never keep the process from exiting."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a sandbox needs at least one worker")
        self._limit = limit
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._waiting = 0  # jobs queued that no worker has taken yet

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            self._waiting += 1
            if self._waiting > self._idle and self._threads < self._limit:
                self._threads += 1
                threading.Thread(target=self._run, name=f"sandbox-worker-{self._threads}", daemon=True).start()
        self._queue.put(job)

    def stop(self) -> None:
        with self._lock:
            count = self._threads
        for _ in range(count):
            self._queue.put(None)

    def _run(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._queue.get()
            with self._lock:
                self._idle -= 1
                if job is None:
                    self._threads -= 1
                    return
                self._waiting -= 1
            try:
                job()
            except Exception:  # a sandbox bug must show on stderr, never kill the worker silently
                traceback.print_exc(file=sys.stderr)


class Reactor:
    """The selector thread. Registrations from other threads are queued and the selector woken, so only this thread
    ever touches the selector."""

    def __init__(self, workers: int = DEFAULT_WORKERS) -> None:
        self._selector = selectors.DefaultSelector()
        self._workers = Workers(workers)
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._calls: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self._connections: set[Connection] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sandbox-reactor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching, close every connection (a worker mid-answer meets a closed socket and gives up)."""
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            connection.close()
        self._workers.stop()
        self._selector.close()
        self._wake_read.close()
        self._wake_write.close()

    # -- what other threads ask for --------------------------------------------------------------------------

    def listen(self, listener: Listener) -> None:
        """Accept connections on `listener`'s socket from now on."""
        listener.socket.setblocking(False)
        self._call(lambda: self._selector.register(listener.socket, selectors.EVENT_READ, _Listening(listener)))

    def forget(self, listener: Listener) -> None:
        self._call(lambda: self._unregister(listener.socket))

    def park(self, connection: Connection) -> None:
        """Watch an idle connection again: a worker serves it when its next request (or its end) arrives. Once the
        reactor stops, nothing would watch it: it is closed instead, never left open."""
        if self._stopping.is_set():
            connection.close()
            return
        self._call(lambda: self._selector.register(connection.sock, selectors.EVENT_READ, connection))

    def closed(self, connection: Connection) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _call(self, action: Callable[[], object]) -> None:
        if self._stopping.is_set():
            return
        self._calls.put(action)
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # the buffer is full (the loop drains it) or the reactor is closed
            self._wake_write.send(b"\0")

    # -- the loop --------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            for key, _ in self._selector.select():
                if key.data is None:
                    self._drain()
                elif isinstance(key.data, _Listening):
                    self._accept(key.data.listener)
                else:
                    self._unregister(key.fileobj)  # type: ignore[arg-type]
                    self._workers.submit(key.data.serve)

    def _drain(self) -> None:
        try:
            while self._wake_read.recv(4096):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                action = self._calls.get_nowait()
            except queue.Empty:
                return
            with contextlib.suppress(KeyError, ValueError, OSError):  # a socket closed meanwhile: nothing to watch
                action()

    def _accept(self, listener: Listener) -> None:
        while True:
            try:
                sock, _ = listener.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # the listening socket was closed
                return
            sock.setblocking(True)
            connection = listener.connection(sock, self)
            with self._lock:
                self._connections.add(connection)
            # The TLS handshake waits for the client's hello in a worker only once the hello is here.
            self._selector.register(sock, selectors.EVENT_READ, connection)

    def _unregister(self, fileobj: Socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(fileobj)


def allow_open_files(needed: int) -> None:
    """Raise this process's soft limit on open files towards `needed` (within the hard limit): an estate's origins
    are a listening socket each, beyond the 1,024 many systems allow by default, before any connection or file."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@dataclass(frozen=True)
class _Listening:
    """What the selector holds for a listening socket (a connection is held as itself)."""

    listener: Listener
