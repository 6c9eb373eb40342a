"""The reactor under load: many keep-alive connections to many origins, requests pipelined, back to back, split
across writes, with fewer workers than connections. Every request must be answered: a connection handed back to the
selector with a request already read into the TLS or buffered reader's buffers would never be served again. Raw
TLS sockets, not httpx: its connection pool has races of its own (a pool closing a connection another thread has
just started a request on, encode/httpcore#1110) that would hide or mimic a lost request."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from checks.sandbox.estate import environment_ref, kind_of
from checks.sandbox.server import Sandbox

ENVIRONMENTS = 40
CLIENTS = 48
ROUNDS = 4
TIMEOUT = 20.0  # seconds a client waits for one answer: a lost request fails the test instead of hanging it


@pytest.fixture(scope="module")
def estate() -> Iterator[Sandbox]:
    # Four workers for 48 connections: requests queue for a worker while others arrive and connections are parked.
    with Sandbox(environments=ENVIRONMENTS, workers=4, latency=0.005) as cloud:
        yield cloud


class Client:
    """One keep-alive HTTP/1.1 connection over TLS, reading answers by their Content-Length."""

    def __init__(self, origin: str, context: ssl.SSLContext) -> None:
        parts = urlsplit(origin)
        self.host = f"{parts.hostname}:{parts.port}"
        raw = socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT)
        self.sock = context.wrap_socket(raw, server_hostname=parts.hostname)
        self.reader = self.sock.makefile("rb")

    def request(self, path: str) -> bytes:
        return f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nAccept: application/json\r\n\r\n".encode()

    def answer(self) -> int:
        """The next answer's status; its body is read (and dropped) so the one after it can be read."""
        status = self.reader.readline()
        assert status.startswith(b"HTTP/1.1 "), f"no answer from {self.host}: {status!r}"
        length = 0
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = self.reader.read(length)
        assert len(body) == length, f"a short body from {self.host}"
        return int(status.split()[1])

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def converse(client: Client, mode: int, path: str) -> list[int]:
    """One round of a connection's requests, in one of four ways of sending them."""
    if mode == 0:  # back to back: the next request leaves as soon as the answer arrives
        statuses = []
        for _ in range(3):
            client.sock.sendall(client.request(path))
            statuses.append(client.answer())
        return statuses
    if mode == 1:  # pipelined in one write: all three requests arrive in the reader's buffer at once
        client.sock.sendall(client.request(path) * 3)
        return [client.answer() for _ in range(3)]
    if mode == 2:  # pipelined in three writes: three TLS records, read as they come
        for _ in range(3):
            client.sock.sendall(client.request(path))
        return [client.answer() for _ in range(3)]
    request = client.request(path)  # split: the request line first, the rest a moment later
    client.sock.sendall(request[:20])
    threading.Event().wait(0.01)
    client.sock.sendall(request[20:])
    return [client.answer()]


def test_every_request_on_many_keep_alive_connections_to_many_origins_is_answered(estate: Sandbox) -> None:
    context = ssl.create_default_context(cafile=str(estate.ca_path))
    origins = [estate.environment_url(environment_ref(i)) for i in range(ENVIRONMENTS)
               if kind_of(i) != "no-dataverse"]
    origins += [estate.graph_url, estate.login_url]
    path = "/api/data/v9.2/WhoAmI"  # unauthenticated: every environment answers at once, 401
    answered: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def run(number: int) -> None:
        try:
            client = Client(origins[number % len(origins)], context)
        except OSError as exc:
            with lock:
                failures.append(f"client {number}: {exc!r}")
            return
        try:
            start.wait(TIMEOUT)
            for round_ in range(ROUNDS):
                statuses = converse(client, (number + round_) % 4, path)
                with lock:
                    answered.extend(statuses)
        except (OSError, AssertionError, threading.BrokenBarrierError) as exc:
            with lock:
                failures.append(f"client {number} to {client.host}: {exc!r}")
        finally:
            client.close()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * ROUNDS * 4)
    assert not failures
    assert not any(thread.is_alive() for thread in threads)
    sent = sum(3 if (n + r) % 4 < 3 else 1 for n in range(CLIENTS) for r in range(ROUNDS))
    assert len(answered) == sent
    assert len(estate.log.entries()) == sent
