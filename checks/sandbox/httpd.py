"""The sandbox's HTTPS plumbing: requests, responses, one listening socket per origin that refuses writes and applies
faults, its connections served by the reactor's workers."""

from __future__ import annotations

import contextlib
import http
import json
import socket
import socketserver
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from .faults import Fault, FaultBook
from .reactor import Reactor
from .requestlog import LogEntry, RequestLog


@dataclass(frozen=True)
class Request:
    """One HTTP request as a service sees it."""

    method: str
    target: str  # the request target exactly as sent: path and raw query
    headers: Message
    body: bytes
    origin: str  # https://127.0.0.1:PORT of the service that received it

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.target).path)

    @property
    def raw_query(self) -> str:
        return urlsplit(self.target).query

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.raw_query, keep_blank_values=True))

    def header(self, name: str, default: str = "") -> str:
        value = self.headers.get(name)
        return default if value is None else str(value)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None,
             content_type: str = "application/json; charset=utf-8") -> Response:
        merged = {"Content-Type": content_type, **(headers or {})}
        return cls(status, json.dumps(payload, separators=(",", ":")).encode(), merged)


class ServiceError(Exception):
    """An error a service answers with: HTTP status, its error code and message, extra response headers."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class Service(Protocol):
    """What each origin (login, Graph, Exchange, a Dataverse environment) implements."""

    name: str

    def handle(self, request: Request) -> Response: ...

    def is_read(self, request: Request) -> bool:
        """True when the request may be served: GET, or the few POSTs that only read."""
        ...

    def error_response(self, request: Request, status: int) -> Response:
        """This service's own error body for `status` (used by refusals and injected faults)."""
        ...


class _Handler(BaseHTTPRequestHandler):
    """One connection's HTTP/1.1 conversation, served a request at a time: between requests the connection waits in
    the reactor's selector, not in a thread."""

    server: ServiceServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave in two writes: without this each answer waits ~40 ms

    def __init__(self, request: socket.socket, client_address: Any, server: ServiceServer) -> None:
        """Set up only (the TLS handshake): BaseRequestHandler would serve the whole connection here."""
        self.request = request
        self.client_address = client_address
        self.server = server
        self.setup()

    def setup(self) -> None:
        # The TLS handshake happens here, in a worker, once the client's hello has arrived.
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the RequestLog is the record."""

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ssl.SSLError, ConnectionError, TimeoutError):
            self.close_connection = True

    def serve_waiting(self) -> bool:
        """Serve every request already here; True when the connection stays open for more."""
        self.close_connection = False
        while not self.close_connection and self.request_waiting():
            self.close_connection = True  # until the request line says otherwise (HTTP/1.1 keep-alive)
            self.handle_one_request()
        return not self.close_connection

    def request_waiting(self) -> bool:
        """Whether bytes of a next request (or the connection's end) can be read without waiting: decrypted bytes
        held by TLS, bytes the buffered reader holds, or bytes on the socket."""
        if self.connection.pending():
            return True
        self.connection.setblocking(False)
        try:
            # A BufferedReader: returns at once with bytes held or just arrived, or nothing at the connection's end.
            self.rfile.peek(1)  # type: ignore[attr-defined]
            return True
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return False
        except OSError:
            return True  # the next read meets the error and ends the connection
        finally:
            self.connection.setblocking(True)

    def _serve(self) -> None:
        arrived = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, self.headers, body, self.server.origin)
        name = self.server.service.name
        self.server.log.enter(name)
        try:
            started = time.perf_counter()
            outcome = self.server.respond(request)
            status = 0 if outcome.response is None else outcome.response.status
            # Logged before the answer leaves, so a client that has its answer always finds the entry.
            self.server.log.add(LogEntry(
                name, request.method, request.target, status,
                round((time.perf_counter() - started) * 1000, 3), outcome.write, outcome.fault, arrived,
            ))
            if outcome.response is None:
                self.close_connection = True
                self.request.shutdown(socket.SHUT_RDWR)
            elif outcome.drip is not None:
                self.drip(outcome.response, outcome.drip)
            elif outcome.endless:
                self.endless(outcome.response)
            else:
                self.send(outcome.response, stall=outcome.stall)
        finally:
            self.server.log.leave(name)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def send(self, response: Response, *, stall: float | None = None) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:  # a 204 has no body, so no length either
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if stall is None:
            self.wfile.write(response.body)
            return
        self.wfile.write(response.body[: len(response.body) // 2])
        self.wfile.flush()
        self.server.stopping.wait(stall)
        self.close_connection = True

    def drip(self, response: Response, every: float) -> None:
        """The whole answer, status line and headers included, one byte every `every` seconds."""
        head = f"HTTP/1.1 {response.status} {http.HTTPStatus(response.status).phrase}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in response.headers.items())
        raw = f"{head}Content-Length: {len(response.body)}\r\n\r\n".encode() + response.body
        self.close_connection = True
        for offset in range(len(raw)):
            self.wfile.write(raw[offset:offset + 1])
            if self.server.stopping.wait(every):
                return

    def endless(self, response: Response) -> None:
        """The answer's headers, then a JSON collection that never ends (chunked, until the client hangs up)."""
        self.send_response(response.status)
        self.send_header("Content-Type", response.headers.get("Content-Type", "application/json"))
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        chunk = b'{"value":[' + b'{"id":"00000000-0000-0000-0000-000000000000"},' * 1400
        while not self.server.stopping.is_set():
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


@dataclass(frozen=True)
class Outcome:
    """What to do with one request: send `response` (None: drop the connection), maybe stalling mid-body."""

    response: Response | None
    write: bool = False
    fault: str | None = None
    stall: float | None = None
    drip: float | None = None  # seconds between two bytes of the whole answer
    endless: bool = False  # the answer's body never ends


_GATEWAY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    b"</center><hr><center>Microsoft-Azure-Application-Gateway/v2</center></body></html>"
)


class ServiceServer(HTTPServer):
    """One HTTPS origin serving one service: its listening socket is watched by the sandbox's reactor."""

    request_queue_size = 128  # a client opening its whole pool at once is queued, not refused

    def __init__(self, service: Service, tls: ssl.SSLContext, log: RequestLog, faults: FaultBook,
                 port: int = 0, host: str = "127.0.0.1", *, reactor: Reactor) -> None:
        super().__init__((host, port), _Handler)
        self.service = service
        self.tls = tls
        self.log = log
        self.faults = faults
        self.reactor = reactor
        self.stopping = threading.Event()
        self.origin = f"https://{host}:{self.server_address[1]}"

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse lookup of the host name (a DNS query per origin, thousands at start)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def connection(self, sock: socket.socket, reactor: Reactor) -> _Connection:
        return _Connection(self, sock)

    def start(self) -> None:
        self.reactor.listen(self)

    def stop(self) -> None:
        self.stopping.set()
        self.reactor.forget(self)
        self.server_close()

    def respond(self, request: Request) -> Outcome:
        """Decide the answer to one request: refuse writes, apply a fault, or let the service answer."""
        standing = self.faults.standing_delay(self.service.name, request.method, request.target, request.body)
        if standing:
            self.stopping.wait(standing)
        if not self.service.is_read(request):
            return Outcome(self.service.error_response(request, 405), write=True)
        fault = self.faults.take(self.service.name, request.method, request.target, request.body)
        kind = fault.kind if fault else None
        if fault is not None and fault.kind == "drop":
            return Outcome(None, fault=kind)
        if fault is not None and fault.kind == "latency":
            self.stopping.wait(fault.delay)
        stall = (fault.delay or 30.0) if fault is not None and fault.kind == "stall" else None
        drip = (fault.delay or 5.0) if fault is not None and fault.kind == "drip" else None
        return Outcome(self._answer(request, fault), fault=kind, stall=stall, drip=drip, endless=kind == "endless")

    def _answer(self, request: Request, fault: Fault | None) -> Response:
        if fault is not None and fault.kind in ("throttle", "status"):
            status = 429 if fault.kind == "throttle" else fault.answer_status
            response = self.service.error_response(request, status)
            if fault.retry_after is not None:
                response.headers["Retry-After"] = str(fault.retry_after)
            return response
        if fault is not None and fault.kind == "gateway":
            return Response(502, _GATEWAY_PAGE, {"Content-Type": "text/html"})
        if fault is not None and fault.kind in _INSTEAD:
            return _INSTEAD[fault.kind](self.service, request, fault)
        try:
            response = self.service.handle(request)
        except Exception:  # a sandbox bug must show as a 500 and on stderr, never kill the thread silently
            traceback.print_exc(file=sys.stderr)
            response = self.service.error_response(request, 500)
        if fault is not None and fault.kind == "malformed":
            response = Response(200, response.body[: max(1, len(response.body) // 2)] or b"{",
                                {"Content-Type": "application/json; charset=utf-8"})
        if fault is not None and fault.kind == "content-type":
            response.headers = {**response.headers, "Content-Type": fault.content_type}
        if fault is not None and fault.kind == "self-link":
            response = _linking_to_itself(request, response)
        return response


class _Connection:
    """An accepted connection of one origin: served by a worker when readable, parked in the reactor between
    requests, closed when the client or the answer ends it."""

    def __init__(self, server: ServiceServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self._handler: _Handler | None = None

    def serve(self) -> None:
        try:
            if self._handler is None:
                self._handler = _Handler(self.sock, self.sock.getpeername(), self.server)
                self.sock = self._handler.connection  # the TLS socket from now on
            keep = self._handler.serve_waiting()
        except (ssl.SSLError, OSError):  # a client that hangs up or refuses our certificate is part of testing
            keep = False
        except ValueError:  # the sandbox stopped and closed the connection while this worker was reading it
            keep = False
        if keep and not self.server.stopping.is_set():
            self.server.reactor.park(self)
        else:
            self.close()

    def close(self) -> None:
        self.server.reactor.closed(self)
        with contextlib.suppress(OSError):
            if self._handler is not None:
                self._handler.finish()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def _redirect(service: Service, request: Request, fault: Fault) -> Response:
    """A 3xx whose body looks like data: an empty collection unless the fault names another."""
    payload = {"value": []} if fault.payload is None else fault.payload
    return Response.json(fault.answer_status, payload, {"Location": f"{request.origin}{request.target}"})


def _reply(service: Service, request: Request, fault: Fault) -> Response:
    return Response.json(fault.answer_status, fault.payload)


def _empty(service: Service, request: Request, fault: Fault) -> Response:
    return Response(204)


def _echo(service: Service, request: Request, fault: Fault) -> Response:
    """An error in the service's shape whose message repeats what the request carried: its client secret (or
    assertion) and its Authorization header."""
    form = dict(parse_qsl(request.body.decode("utf-8", "replace"))) if request.method == "POST" else {}
    secret = form.get("client_secret") or form.get("client_assertion", "")
    text = fault.text.replace("{secret}", secret).replace("{authorization}", request.header("Authorization"))
    if service.name == "login":  # OAuth's shape, as msal reads it
        return Response.json(fault.answer_status, {"error": "invalid_client", "error_description": text,
                                                   "error_codes": [7000215]})
    return Response.json(fault.answer_status, {"error": {"code": "InvalidAuthenticationToken", "message": text}})


# Kinds that answer instead of the service.
_INSTEAD = {"redirect": _redirect, "reply": _reply, "empty": _empty, "echo": _echo}


def _linking_to_itself(request: Request, response: Response) -> Response:
    """The real answer, whose next link names the page just sent (a collection that never ends)."""
    try:
        payload = json.loads(response.body)
    except ValueError:
        return response
    if isinstance(payload, dict):
        payload["@odata.nextLink"] = f"{request.origin}{request.target}"
        response.body = json.dumps(payload, separators=(",", ":")).encode()
    return response


def tls_context(cert_path: str, key_path: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context
