"""The read-only guard: refuses, before anything leaves the process, every request that could write."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import WriteRefused

_TOKEN_PATH = re.compile(r"^/[^/]+/oauth2/v2\.0/(?:token|devicecode)$")  # a sign-in, not a directory write
_ADMIN_API_PATH = re.compile(r"^/adminapi/(?:beta|v2\.0)/[^/]+/InvokeCommand$")
# Headers that make some services (OData among them) treat a GET or POST as PATCH, MERGE or DELETE.
METHOD_OVERRIDES = ("x-http-method", "x-http-method-override", "x-method-override")


def is_read(method: str, url: str, body: bytes, login_origin: str, exchange_admin_origin: str | None = None,
            graph_origin: str | None = None) -> bool:
    """GET/HEAD; the token and device code POSTs to the login host; a `$batch` made only of GETs, to the Graph host
    only (another service could read the same body as something else); and, only when the operator opted in, the
    Exchange Online admin API's command POST for a `Get-` cmdlet. Nothing else."""
    method = method.upper()
    if method in ("GET", "HEAD"):
        return True
    if method != "POST":
        return False
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if origin == _origin(login_origin) and _TOKEN_PATH.match(parts.path):
        return True
    if graph_origin and origin == _origin(graph_origin) and parts.path.endswith("/$batch"):
        return _batch_of_gets(body)
    if exchange_admin_origin and origin == _origin(exchange_admin_origin) and _ADMIN_API_PATH.match(parts.path):
        return _get_cmdlet(body)
    return False


def _origin(configured: str) -> str:
    """A configured origin (the cloud's login, Graph or Exchange host) as a request's origin is written."""
    return configured.rstrip("/").lower()


def _strict_json(body: bytes) -> Any:
    """JSON that means one thing to every parser: a key given twice (one parser takes the first, another the last)
    is refused as ValueError."""

    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("a key appears twice")
        return dict(pairs)

    return json.loads(body, object_pairs_hook=unique)


def _get_cmdlet(body: bytes) -> bool:
    try:
        name = _strict_json(body)["CmdletInput"]["CmdletName"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(name, str) and re.fullmatch(r"Get-[A-Za-z]+", name) is not None


def _batch_of_gets(body: bytes) -> bool:
    try:
        requests = _strict_json(body)["requests"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(requests, list) and bool(requests) and all(_a_plain_get(r) for r in requests)


def _a_plain_get(item: object) -> bool:
    """One `$batch` item that only reads: a GET without a body and without a header asking to be taken as a write."""
    if not isinstance(item, dict) or str(item.get("method", "")).upper() != "GET" or "body" in item:
        return False
    headers = item.get("headers", {})
    return isinstance(headers, dict) and not any(str(name).strip().lower() in METHOD_OVERRIDES for name in headers)


@dataclass(frozen=True)
class Record:
    method: str
    host: str
    status: int | None  # None: refused by the guard, or no answer
    refused: bool = False


class RequestLog:
    """Every request xtcheck sent or refused to send: the report's read-only attestation."""

    def __init__(self) -> None:
        self._records: list[Record] = []
        self._lock = threading.Lock()

    def add(self, record: Record) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[Record]:
        with self._lock:
            return list(self._records)

    def by_method_and_host(self) -> dict[str, int]:
        counts = Counter(f"{r.method} {r.host}" for r in self.records() if not r.refused)
        return dict(sorted(counts.items()))

    def writes_attempted(self) -> int:
        return sum(1 for r in self.records() if r.refused)


class ReadOnlyGuard(httpx.BaseTransport):
    """Wraps the real transport; a request that could write raises WriteRefused and is never sent."""

    def __init__(self, inner: httpx.BaseTransport, login_origin: str, log: RequestLog,
                 exchange_admin_origin: str | None = None, graph_origin: str | None = None) -> None:
        self._inner = inner
        self._login = login_origin
        self._log = log
        self._exchange_admin = exchange_admin_origin
        self._graph = graph_origin

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.netloc.decode()
        overridden = any(name in request.headers for name in METHOD_OVERRIDES)
        if overridden or not is_read(request.method, str(request.url), request.read(), self._login,
                                     self._exchange_admin, self._graph):
            self._log.add(Record(request.method, host, None, refused=True))
            raise WriteRefused(f"refused {request.method} {host}{request.url.path}: xtcheck never writes to a tenant")
        try:
            response = self._inner.handle_request(request)
        except httpx.TransportError:
            self._log.add(Record(request.method, host, None))
            raise
        self._log.add(Record(request.method, host, response.status_code))
        return response

    def close(self) -> None:
        self._inner.close()
