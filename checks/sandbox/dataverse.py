"""Dataverse Web API v9.2 for one environment: read-only tables, WhoAmI, paging, annotations and errors."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt

from .directory import derived_id
from .dvenvironment import Environment
from .dvmodel import TABLES, Table
from .dvquery import (
    MAX_PAGE_SIZE,
    DataverseError,
    Preferences,
    Query,
    parse_prefer,
    parse_query,
    skip_token,
)
from .dvrender import Renderer
from .httpd import Request, Response
from .tokens import Rejection, TokenIssuer

API = "/api/data/v9.2/"
_JSON = "application/json; odata.metadata=minimal"
_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PUBLIC_LOGIN = "https://login.microsoftonline.com"
_STATUS_ANNOTATION = "Microsoft.PowerApps.CDS.ErrorDetails.ApiExceptionHttpStatusCode"


@dataclass(frozen=True)
class _Page:
    rows: list[Any]  # the query's full result, shared by every page of one run
    offset: int
    number: int  # 1-based number of the page this state serves
    total: int


@dataclass(frozen=True)
class _Caller:
    user_id: str
    privileges: frozenset[str]


def _split_skiptoken(raw_query: str) -> tuple[str | None, str]:
    """The raw (still encoded) $skiptoken value and the rest of the query exactly as sent."""
    token: str | None = None
    kept: list[str] = []
    for item in raw_query.split("&") if raw_query else []:
        name, _, value = item.partition("=")
        if name.lower() in ("$skiptoken", "%24skiptoken"):
            token = value
        else:
            kept.append(item)
    return token, "&".join(kept)


_GENERIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("0x0", "Bad request."),
    401: ("", "The access token is missing or invalid."),
    403: ("0x80040220", "The caller lacks a privilege this request requires."),
    429: ("0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds."),
    500: ("0x80040216", "An unexpected error occurred."),
    502: ("0x80040216", "The server received an invalid response from an upstream server."),
    503: ("0x80040216", "The service is temporarily unavailable. Please try again later."),
    504: ("0x80040216", "The server did not complete the request in time. Please try again later."),
}


class Dataverse:
    """The Web API of one environment; every route is a read, writes are refused by the server (405)."""

    def __init__(self, environment: Environment, issuer: TokenIssuer, *, login_origin: str = "") -> None:
        self.environment = environment
        self.issuer = issuer
        self.name = f"dataverse:{environment.ref}"
        self.origin = ""
        self.login_origin = login_origin  # when empty, taken from the presented token's issuer
        self._pages: dict[tuple[str, str, str], _Page] = {}
        self._lock = threading.Lock()

    # -- Service protocol -------------------------------------------------------------------------------

    def is_read(self, request: Request) -> bool:
        return request.method in ("GET", "HEAD")

    def error_response(self, request: Request, status: int) -> Response:
        if status == 405:
            error = DataverseError(405, "0x80060888",
                                   f"The requested resource does not support http method '{request.method}'.")
        elif status == 401:
            error = self._unauthorized(request, _GENERIC_ERRORS[401][1])
        elif status == 404:
            segment = request.path.rstrip("/").rsplit("/", 1)[-1]
            error = DataverseError(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")
        else:
            code, message = _GENERIC_ERRORS.get(status, ("0x80040216" if status >= 500 else "0x0",
                                                          f"HTTP status {status}."))
            error = DataverseError(status, code, message)
        return self._error(request, error)

    def handle(self, request: Request) -> Response:
        try:
            return self._dispatch(request)
        except DataverseError as error:
            return self._error(request, error)

    # -- routing ----------------------------------------------------------------------------------------

    def _dispatch(self, request: Request) -> Response:
        caller = self._authorize(request)
        path = request.path
        if not path.startswith(API):
            raise DataverseError(404, "", "No HTTP resource was found that matches the request URI "
                                          f"'{self.origin}{request.target}'.")
        segment = path[len(API):]
        if segment in ("WhoAmI", "WhoAmI()"):
            return self._whoami(request, caller)
        match = _SEGMENT.fullmatch(segment)
        table = TABLES.get(match.group(1)) if match else None
        if match is None or table is None:
            name = re.split(r"[(/]", segment, maxsplit=1)[0]
            raise DataverseError(404, "0x8006088a", f"Resource not found for the segment '{name}'.")
        preferences = parse_prefer(request.headers.get_all("Prefer") or [])
        if match.group(2) is None:
            return self._collection(request, table, caller, preferences)
        return self._entity(request, table, match.group(2), caller, preferences)

    # -- auth -------------------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> _Caller:
        env = self.environment
        claims = self.issuer.validate(request.header("Authorization"), {self.origin})
        if isinstance(claims, Rejection):
            raise self._unauthorized(request, claims.message)
        tenant = str(claims.get("tid", "")).lower()
        if tenant != env.tenant_id:
            raise self._unauthorized(request, f"The access token was issued by tenant '{tenant}', but this "
                                              f"environment belongs to tenant '{env.tenant_id}'.")
        app_id = str(claims.get("appid") or claims.get("azp") or "").lower()
        user = env.application_users.get(app_id)
        if user is None:
            raise DataverseError(403, "0x80072560", "The user is not a member of the organization.")
        return _Caller(*user)

    def _unauthorized(self, request: Request, reason: str) -> DataverseError:
        login = self.login_origin or _issuer_origin(request.header("Authorization")) or _PUBLIC_LOGIN
        challenge = (f"Bearer authorization_uri={login}/{self.environment.tenant_id}/oauth2/authorize, "
                     f"resource_id={self.origin}/")
        return DataverseError(401, "", reason, {"WWW-Authenticate": challenge})

    def _require(self, caller: _Caller, tables: Iterable[Table]) -> None:
        for table in tables:
            if table.privilege in caller.privileges:
                continue
            user = caller.user_id
            raise DataverseError(403, "0x80040220", (
                f"Principal user (Id={user}, type=8, roleCount=1, privilegeCount={len(caller.privileges)}, "
                f"accessMode=4), is missing {table.privilege} privilege "
                f"(Id={derived_id('dataverse-privilege', table.privilege)}) on OTC={table.object_type_code} "
                f"for entity '{table.logical_name}'. context.Caller={user}"))

    # -- reads ------------------------------------------------------------------------------------------

    def _whoami(self, request: Request, caller: _Caller) -> Response:
        env = self.environment
        return self._ok({
            "@odata.context": f"{self.origin}{API}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
            "BusinessUnitId": env.business_unit_id, "UserId": caller.user_id,
            "OrganizationId": env.organization_id,
        }, Preferences())

    def _entity(self, request: Request, table: Table, key: str, caller: _Caller,
                preferences: Preferences) -> Response:
        query = parse_query(table, dict(parse_qsl(request.raw_query, keep_blank_values=True)), single=True)
        self._require(caller, query.shape.tables())
        if not _GUID.fullmatch(key):
            raise DataverseError(400, "0x80060888", "Bad Request - Error in query syntax.")
        row = self.environment.index[table.logical_name].get(key.lower())
        if row is None:
            raise DataverseError(404, "0x80040217",
                                 f"Entity '{table.logical_name}' With Id = {key} Does Not Exist")
        context = f"{self.origin}{API}$metadata#{table.entity_set}{query.shape.context()}/$entity"
        body = {"@odata.context": context, **self._renderer(preferences).row(query.shape, row)}
        return self._ok(body, preferences)

    def _collection(self, request: Request, table: Table, caller: _Caller,
                    preferences: Preferences) -> Response:
        token, base = _split_skiptoken(request.raw_query)
        query = parse_query(table, dict(parse_qsl(base, keep_blank_values=True)), index=self.environment.index)
        self._require(caller, query.tables())
        page = self._page(table, query, preferences, base, token)
        size = preferences.max_page_size or MAX_PAGE_SIZE
        rows = page.rows[page.offset:page.offset + size]
        body: dict[str, Any] = {
            "@odata.context": f"{self.origin}{API}$metadata#{table.entity_set}{query.shape.context()}"}
        if query.count:
            body["@odata.count"] = min(page.total, MAX_PAGE_SIZE)
        renderer = self._renderer(preferences)
        body["value"] = [renderer.row(query.shape, row) for row in rows]
        if page.offset + size < len(page.rows):
            body["@odata.nextLink"] = self._next_link(table, base, page, rows, size)
        return self._ok(body, preferences)

    def _page(self, table: Table, query: Query, preferences: Preferences, base: str,
              token: str | None) -> _Page:
        if token is None:
            return self._first_page(table, query, preferences)
        return self._continue(table, base, token)

    def _first_page(self, table: Table, query: Query, preferences: Preferences) -> _Page:
        rows = query.run(self.environment.tables[table.entity_set])
        total = len(rows)
        if preferences.max_page_size is None and query.top is not None:
            rows = rows[:query.top]  # with odata.maxpagesize, $top is ignored
        return _Page(rows, 0, 1, total)

    def _continue(self, table: Table, base: str, token: str) -> _Page:
        with self._lock:
            page = self._pages.get((table.entity_set, base, token))
        if page is None:
            raise DataverseError(400, "0x80040203", "Invalid skip token: the paging cookie was modified or "
                                                    "was not issued by this server.")
        return page

    def _next_link(self, table: Table, base: str, page: _Page, rows: Sequence[Mapping[str, Any]],
                   size: int) -> str:
        pk = table.primary_id
        token = skip_token(pk, page.number, str(rows[0][pk]), str(rows[-1][pk]))
        with self._lock:
            self._pages[(table.entity_set, base, token)] = _Page(
                page.rows, page.offset + size, page.number + 1, page.total)
        query = f"{base}&$skiptoken={token}" if base else f"$skiptoken={token}"
        return f"{self.origin}{API}{table.entity_set}?{query}"

    def _renderer(self, preferences: Preferences) -> Renderer:
        return Renderer(self.environment.index, preferences)

    # -- responses --------------------------------------------------------------------------------------

    @staticmethod
    def _headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
        request_id = str(uuid.uuid4())
        return {"OData-Version": "4.0", "REQ_ID": request_id, "x-ms-service-request-id": request_id,
                **(extra or {})}

    def _ok(self, body: dict[str, Any], preferences: Preferences) -> Response:
        extra = {"Preference-Applied": ",".join(preferences.applied)} if preferences.applied else {}
        return Response.json(200, body, self._headers(extra), content_type=_JSON)

    def _error(self, request: Request, error: DataverseError) -> Response:
        payload: dict[str, Any] = {"code": error.code, "message": error.message}
        if parse_prefer(request.headers.get_all("Prefer") or []).wants(_STATUS_ANNOTATION):
            payload[f"@{_STATUS_ANNOTATION}"] = str(error.status)
        headers = self._headers(error.headers)
        return Response.json(error.status, {"error": payload}, headers, content_type=_JSON)


def _issuer_origin(authorization: str) -> str:
    """scheme://host[:port] of the (unverified) `iss` of a bearer token, or ""."""
    token = authorization.partition(" ")[2].strip()
    try:
        issuer = str(jwt.decode(token, options={"verify_signature": False}).get("iss", ""))
    except jwt.PyJWTError:
        return ""
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
