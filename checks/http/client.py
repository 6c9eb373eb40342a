"""The one factory for HTTP clients: trust, timeouts, the read-only guard, retries and the request log."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx

from .guard import ReadOnlyGuard, RequestLog
from .msalhttp import MsalHttpClient
from .retry import RetryPolicy, RetryTransport

TIMEOUT = httpx.Timeout(10.0, read=30.0)


def tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The system's trust store plus `ca_bundle`; verification stays on, always."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context


class Http:
    """Builds every client xtcheck uses. Pass `transport` to put something else under the guard (tests do)."""

    def __init__(self, login_origin: str, ca_bundle: Path | None = None, *,
                 transport: httpx.BaseTransport | None = None, retry: RetryPolicy | None = None,
                 exchange_admin_origin: str | None = None) -> None:
        """`exchange_admin_origin` is set only when the operator opted in to the Exchange admin API (Get- only)."""
        self.log = RequestLog()
        base = transport or httpx.HTTPTransport(verify=tls_context(ca_bundle))
        guard = ReadOnlyGuard(base, login_origin, self.log, exchange_admin_origin)
        self._transport = RetryTransport(guard, retry or RetryPolicy())
        self._clients: list[httpx.Client] = []

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        client = httpx.Client(transport=self._transport, timeout=TIMEOUT, headers=headers, follow_redirects=False)
        self._clients.append(client)
        return client

    def msal(self) -> MsalHttpClient:
        return MsalHttpClient(self.client())

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
