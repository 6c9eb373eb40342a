"""The sandbox's HTTPS plumbing: requests, responses, one server per origin that refuses writes and applies faults."""

from __future__ import annotations

import http
import json
import socket
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from .faults import Fault, FaultBook
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
    server: ServiceServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave in two writes: without this each answer waits ~40 ms

    def setup(self) -> None:
        # The TLS handshake happens here, in the connection's own thread, so a slow client stalls only itself.
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the RequestLog is the record."""

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ssl.SSLError, ConnectionError, TimeoutError):
            self.close_connection = True

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


class ServiceServer(ThreadingHTTPServer):
    """One HTTPS origin serving one service."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, service: Service, tls: ssl.SSLContext, log: RequestLog, faults: FaultBook,
                 port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), _Handler)
        self.service = service
        self.tls = tls
        self.log = log
        self.faults = faults
        self.stopping = threading.Event()
        self.origin = f"https://{host}:{self.server_address[1]}"
        self._thread: threading.Thread | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up or refuses our certificate is part of testing, not a server fault."""
        if isinstance(sys.exc_info()[1], ssl.SSLError | OSError):
            return
        super().handle_error(request, client_address)

    def start(self) -> None:
        # A short poll keeps stop() quick; the loop is idle otherwise.
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,),
                                        name=f"sandbox-{self.service.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

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
