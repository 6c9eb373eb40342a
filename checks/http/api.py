"""Reading JSON APIs (Graph, Dataverse): one GET, every page of a collection, and errors turned into ProbeErrors."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import NotFound, PermissionDenied, ProbeError, Throttled
from .answers import RejectedAnswer, not_data
from .auth import describe_transport

MAX_PAGES = 10_000  # a loop guard: a server that keeps sending nextLinks is broken, not large


@dataclass(frozen=True)
class Collection:
    """Every item of a paged collection; `pages` counts the round trips, and all pages were read."""

    items: list[dict[str, Any]]
    pages: int


class Api:
    """GETs against one service root with one identity's token, e.g. Graph in tenant B or a Dataverse environment."""

    def __init__(self, client: httpx.Client, root: str, token: Callable[[str | None], str], *, service: str,
                 headers: Mapping[str, str] | None = None) -> None:
        self._client = client
        self.root = root.rstrip("/")
        self._token = token
        self.service = service  # "Microsoft Graph" or "Dataverse": named in error messages
        self._headers = dict(headers or {})

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One object (or one page) as JSON; NotFound, PermissionDenied, Throttled or ProbeError otherwise."""
        return self._get(f"{self.root}/{path.lstrip('/')}", params)

    def invoke(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A command POST (the Exchange admin API); the read-only guard decides whether it may leave."""
        return _json(self._authorized("POST", f"{self.root}/{path.lstrip('/')}", None, body), self.service)

    def get_anonymous(self, path: str) -> dict[str, Any]:
        """A GET without a token (OIDC discovery). An error body in Entra's shape is named by its AADSTS text."""
        url = f"{self.root}/{path.lstrip('/')}"
        try:
            response = self._client.get(url)
        except RejectedAnswer as exc:
            raise ProbeError(f"{self.service}: {exc}") from None
        except httpx.TransportError as exc:
            raise ProbeError(f"cannot reach {self.service} at {urlsplit(url).netloc}: {describe_transport(exc)}") \
                from None
        if response.status_code >= 400:
            try:
                text = str(response.json().get("error_description", "")).split(" Trace ID:", maxsplit=1)[0]
            except (ValueError, AttributeError):  # not JSON, or JSON that is not an object
                text = response.reason_phrase
            error_class = NotFound if response.status_code in (400, 404) else ProbeError
            raise error_class(f"{self.service} answered {response.status_code}: {text}", status=response.status_code)
        return _json(response, self.service)

    def get_optional(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any] | None:
        """Like get, but a 404 is None: the object is simply not there."""
        try:
            return self.get(path, params)
        except NotFound:
            return None

    def get_all(self, path: str, params: Mapping[str, str] | None = None) -> Collection:
        """Every page, following @odata.nextLink verbatim; any failed page fails the whole read."""
        items: list[dict[str, Any]] = []
        pages = 0
        for page in self.pages(path, params):
            items.extend(page)
            pages += 1
        return Collection(items, pages)

    def pages(self, path: str, params: Mapping[str, str] | None = None, *,
              next_link: str = "@odata.nextLink") -> Iterator[list[dict[str, Any]]]:
        """Each page's items in turn, following the next link (OData's @odata.nextLink, or `next_link`: the Power
        Platform admin API says nextLink) verbatim, so a caller can keep what it needs of a large collection instead
        of all of it; a failed page raises, and the read is incomplete."""
        first = f"{self.root}/{path.lstrip('/')}"
        body = self.get(path, params)
        yield _value(body, self.service)
        seen = {_page_key(first, params)}
        while (link := body.get(next_link)) is not None:
            if len(seen) >= MAX_PAGES:
                raise ProbeError(f"{self.service} kept sending next pages after {MAX_PAGES}; the read is incomplete")
            if not same_origin(str(link), self.root):  # the token is for this service only: never sent elsewhere
                raise ProbeError(f"{self.service} named a next page on another host ({_netloc(str(link))}); it was "
                                 "not followed, so the read is incomplete")
            if _page_key(str(link), None) in seen:  # a loop: the same pages again and again, never an end
                raise ProbeError(f"{self.service} named a page it had already sent as the next page of "
                                 f"{urlsplit(first).path} (after {len(seen)} page{'s' if len(seen) > 1 else ''}); "
                                 "following it would loop, so the read stops and is incomplete")
            seen.add(_page_key(str(link), None))
            body = self._get(str(link), None)
            yield _value(body, self.service)

    def _get(self, url: str, params: Mapping[str, str] | None) -> dict[str, Any]:
        return _json(self._authorized("GET", url, params, None), self.service)

    def _authorized(self, method: str, url: str, params: Mapping[str, str] | None,
                    body: dict[str, Any] | None) -> httpx.Response:
        """Send with the identity's token (`token(None)`). A 401 means the token expired (or was revoked) during
        the run: ask for a new one (`token(refused)`) and, when a different one comes back, send once more; the same
        token is not sent twice."""
        token = self._token(None)
        response = self._send(method, url, params, body, token)
        if response.status_code == 401:
            renewed = self._token(token)
            if renewed != token:
                response.close()
                response = self._send(method, url, params, body, renewed)
        return response

    def _send(self, method: str, url: str, params: Mapping[str, str] | None, body: dict[str, Any] | None,
              token: str) -> httpx.Response:
        headers = {**self._headers, "Authorization": f"Bearer {token}"}
        if self.service == "Microsoft Graph":
            headers["client-request-id"] = str(uuid.uuid4())
        try:
            return self._client.request(method, url, params=params, json=body, headers=headers)
        except RejectedAnswer as exc:  # an answer too large, too slow or not data: its message says which and why
            raise ProbeError(f"{self.service}: {exc}") from None
        except httpx.TransportError as exc:
            raise ProbeError(f"cannot reach {self.service} at {_netloc(url)}: {describe_transport(exc)}") from None


def same_origin(url: str, root: str) -> bool:
    """True when `url` is on the scheme, host and port of `root` (a next page must stay on its service)."""
    try:
        a, b = urlsplit(url), urlsplit(root)
        return (a.scheme.lower(), a.hostname, a.port or 443) == (b.scheme.lower(), b.hostname, b.port or 443)
    except ValueError:  # an invalid port
        return False


def _netloc(url: str) -> str:
    return urlsplit(url).netloc


def _value(body: dict[str, Any], service: str) -> list[dict[str, Any]]:
    value = body.get("value")
    if not isinstance(value, list):
        raise ProbeError(f"malformed reply from {service}: a collection without a 'value' list")
    return value


def _page_key(url: str, params: Mapping[str, str] | None) -> str:
    """A page's URL as it is sent, so that a link back to an earlier page is recognised however it was written."""
    try:
        return str(httpx.URL(url, params=params) if params else httpx.URL(url))  # params=None would drop the query
    except httpx.InvalidURL:
        return url


def _json(response: httpx.Response, service: str) -> dict[str, Any]:
    """The body of a 200 JSON answer; anything else (an error, a redirect, a 204, HTML) is a ProbeError."""
    if response.status_code >= 400:
        raise _error(response, service)
    problem = not_data(response)
    if problem is not None:
        raise ProbeError(f"{service} {problem}; the read is incomplete", status=response.status_code)
    try:
        body = response.json()
    except ValueError:
        raise ProbeError(f"malformed reply from {service} (HTTP {response.status_code}): the body is not JSON",
                         status=response.status_code) from None
    if not isinstance(body, dict):
        raise ProbeError(f"malformed reply from {service}: expected a JSON object", status=response.status_code)
    return body


def _error(response: httpx.Response, service: str) -> ProbeError:
    status = response.status_code
    code, message = _error_text(response)
    where = f"{response.request.method} {response.request.url.path}"
    text = f"{service} answered {status}{f' {code}' if code else ''} to {where}: {message}"
    if status == 403:
        return PermissionDenied(text, status=status, code=code)
    if status == 404:
        return NotFound(text, status=status, code=code)
    if status in (429, 503, 504):
        return Throttled(f"{text} (still after retries)", status=status, code=code)
    return ProbeError(text, status=status, code=code)


def _error_text(response: httpx.Response) -> tuple[str, str]:
    try:
        payload = response.json()
        error = payload.get("error", {})
        if isinstance(error, str):  # OAuth's shape: {"error": "invalid_token", "error_description": "..."}
            return error, str(payload.get("error_description", "")).strip() or response.reason_phrase
        return str(error.get("code", "")), str(error.get("message", "")).strip() or response.reason_phrase
    except (ValueError, AttributeError):
        kind = "an HTML page" if "html" in response.headers.get("content-type", "") else "a non-JSON body"
        return "", f"{response.reason_phrase} ({kind})"
