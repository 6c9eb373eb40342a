"""Microsoft Graph v1.0 for the sandbox: apps, service principals, consents, domains, organization, users, policies."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

from .directory import Directory
from .graphobjects import domain_object, organization_object
from .graphquery import (
    GraphError,
    PageKey,
    Pager,
    Query,
    Row,
    bad_request,
    batch_items,
    batch_order,
    check_select,
    expanded_rows,
    filtered,
    parse_query,
    project,
    selection,
    unknown_property,
    without_skiptoken,
)
from .graphroutes import NAV_LINK, POLICIES, SETS, Route, parse_route
from .graphusers import UserStore
from .httpd import Request, Response
from .tokens import Rejection, TokenIssuer

CONTENT_TYPE = ("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
                "charset=utf-8")
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
DEFAULT_PAGE = 100  # rows in a page when the request has no $top
MAX_PAGE = 999  # the largest $top Graph honours

_STATUS_ERRORS = {
    400: ("BadRequest", "Bad request."),
    401: ("InvalidAuthenticationToken", "Access token is empty."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: ("Request_ResourceNotFound", "Resource not found."),
    405: ("Request_BadRequest", "Specified HTTP method is not allowed for the request uri."),
    429: ("TooManyRequests", "Too many requests."),
    500: ("InternalServerError", "An internal server error occurred."),
    502: ("BadGateway", "The gateway received an invalid response."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Please try again later."),
    504: ("GatewayTimeout", "The gateway did not receive a timely response."),
}


def _not_found(key: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound",
                      f"Resource '{key}' does not exist or one of its queried reference-property objects are "
                      "not present.")


def _narrowed(rows: Sequence[Row], equality: tuple[str, str] | None) -> Sequence[Row]:
    """The rows that may have a property equal to a value (ignoring case): a user store finds them by its index
    (so one of 100,000 generated users costs no scan); other rows are all candidates."""
    if equality is None or not isinstance(rows, UserStore):
        return rows
    found = rows.candidates(*equality)
    return rows if found is None else found


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


class Graph:
    name = "graph"

    def __init__(self, directory: Directory, issuer: TokenIssuer, page_cap: int | None = None) -> None:
        """`page_cap`: the most rows any page holds, whatever $top asks (small values force paging)."""
        self.directory = directory
        self.issuer = issuer
        self.page_cap = page_cap
        self.origin = ""
        self._pager = Pager()

    # -- the Service protocol --------------------------------------------------------------------------

    def is_read(self, request: Request) -> bool:
        if request.method in ("GET", "HEAD"):
            return True
        if request.method != "POST" or request.path != "/v1.0/$batch":
            return False
        try:
            items = request.json().get("requests")
            return isinstance(items, list) and all(str(item["method"]).upper() == "GET" for item in items)
        except (ValueError, UnicodeDecodeError, AttributeError, TypeError, KeyError):
            return False

    def error_response(self, request: Request, status: int) -> Response:
        code, message = _STATUS_ERRORS.get(status, ("UnknownError", f"HTTP {status}."))
        return self._error(request, GraphError(status, code, message), str(uuid.uuid4()))

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            payload = self._dispatch(request)
        except GraphError as error:
            return self._error(request, error, request_id)
        return Response.json(200, payload, self._headers(request, request_id), content_type=CONTENT_TYPE)

    # -- envelopes ------------------------------------------------------------------------------------

    def _headers(self, request: Request, request_id: str) -> dict[str, str]:
        client_request_id = request.header("client-request-id", request_id)
        return {"request-id": request_id, "client-request-id": client_request_id}

    def _error(self, request: Request, error: GraphError, request_id: str) -> Response:
        headers = self._headers(request, request_id)
        inner = {"date": _now(), "request-id": request_id, "client-request-id": headers["client-request-id"]}
        body = {"error": {"code": error.code, "message": error.message, "innerError": inner}}
        return Response.json(error.status, body, {**headers, **error.headers}, content_type=CONTENT_TYPE)

    def _context(self, fragment: str) -> str:
        return f"{self.origin}/v1.0/$metadata#{fragment}"

    # -- dispatch -------------------------------------------------------------------------------------

    def _dispatch(self, request: Request) -> dict[str, Any]:
        claims = self._authenticate(request)
        if request.path == "/v1.0/$batch":
            if request.method != "POST":
                raise GraphError(405, *_STATUS_ERRORS[405])
            return self._batch(request)
        if request.method not in ("GET", "HEAD"):
            raise GraphError(405, *_STATUS_ERRORS[405])
        route = parse_route(request.path)
        spec = SETS[route.entity_set]
        # An app-only token's application permissions (`roles`) or a user token's delegated ones (`scp`).
        granted = {*(claims.get("roles") or []), *str(claims.get("scp", "")).split()}
        if not spec.roles.intersection(granted):
            raise GraphError(403, *_STATUS_ERRORS[403])
        query = parse_query(request.raw_query, request.header("ConsistencyLevel"))
        tenant_id = str(claims["tid"]).lower()
        if route.key is None:
            return self._collection(request, tenant_id, route.entity_set, query)
        row = self._find(tenant_id, route)
        if route.navigation is not None:
            return self._navigation(request, tenant_id, row, route.navigation, query)
        return self._entity(tenant_id, route.entity_set, row, query)

    def _authenticate(self, request: Request) -> dict[str, Any]:
        audiences = {self.origin, "https://graph.microsoft.com", GRAPH_APP_ID}
        claims = self.issuer.validate(request.header("Authorization"), audiences)
        if isinstance(claims, Rejection):
            raise GraphError(401, "InvalidAuthenticationToken", claims.message,
                             {"WWW-Authenticate": 'Bearer realm=""'})
        return claims

    # -- data -----------------------------------------------------------------------------------------

    def _rows(self, entity_set: str, tenant_id: str) -> Sequence[Row]:
        """The objects of one entity set that a token of `tenant_id` can see, in their stored shape."""
        if entity_set == "applications":
            return [app for app_id, app in self.directory.applications.items()
                    if self.directory.app_home.get(app_id) == tenant_id]
        kept: dict[str, Mapping[str, Sequence[Row]]] = {
            "servicePrincipals": self.directory.service_principals, "appRoleAssignments": self.directory.assignments,
            "users": self.directory.users, POLICIES: self.directory.policies}
        if entity_set in kept:
            return kept[entity_set].get(tenant_id, [])
        tenant = self.directory.tenants.get(tenant_id)
        if tenant is None:
            return []
        if entity_set == "domains":
            return [domain_object(domain) for domain in tenant.domains]
        return [organization_object(tenant)]

    def _properties(self, entity_set: str) -> set[str]:
        """The type's properties as declared, else those of the objects served."""
        spec = SETS.get(entity_set)
        if spec is not None and spec.properties:
            return set(spec.properties)
        return {name for tenant_id in self.directory.tenants for row in self._rows(entity_set, tenant_id)
                for name in row}

    def _find(self, tenant_id: str, route: Route) -> Row:
        assert route.key is not None
        field, wanted = route.key_field, route.key.lower()
        for row in _narrowed(self._rows(route.entity_set, tenant_id), (field, route.key)):
            if str(row.get(field, "")).lower() == wanted:
                return row
        raise _not_found(route.key)

    def _related(self, tenant_id: str, row: Row, navigation: str) -> list[Row]:
        link = NAV_LINK[navigation]
        return [a for a in self._rows("appRoleAssignments", tenant_id) if a[link] == row["id"]]

    # -- shaping --------------------------------------------------------------------------------------

    def _check(self, entity_set: str, query: Query) -> None:
        spec = SETS.get(entity_set)
        type_name = spec.type_name if spec else "appRoleAssignment"
        check_select(query.select, self._properties(entity_set), type_name)
        assignment_properties = self._properties("appRoleAssignments")
        for item in query.expand:
            if spec is None or item.name not in spec.navigations:
                raise unknown_property(item.name, type_name)
            check_select(item.select, assignment_properties, "appRoleAssignment")

    def _present(self, tenant_id: str, entity_set: str, row: Row, query: Query) -> dict[str, Any]:
        """A response copy of one stored object: expanded navigations added, then $select applied (without one,
        the set's default properties, as for users)."""
        shaped = dict(row)
        for item in query.expand:
            context = self._context(f"servicePrincipals('{row['id']}')/{item.name}")
            shaped[f"{item.name}@odata.context"] = context
            shaped[item.name] = expanded_rows(self._related(tenant_id, row, item.name), item)
        keep = [name for item in query.expand for name in (f"{item.name}@odata.context", item.name)]
        spec = SETS.get(entity_set)
        select = query.select if query.select is not None or spec is None else list(spec.default_select) or None
        return project(shaped, select, keep)

    def _entity(self, tenant_id: str, entity_set: str, row: Row, query: Query) -> dict[str, Any]:
        self._check(entity_set, query)
        names = [item.name for item in query.expand]
        context = self._context(f"{entity_set}{selection(query.select, names)}/$entity")
        return {"@odata.context": context, **self._present(tenant_id, entity_set, row, query)}

    def _navigation(self, request: Request, tenant_id: str, row: Row, navigation: str,
                    query: Query) -> dict[str, Any]:
        rows = self._related(tenant_id, row, navigation)
        return self._page(request, tenant_id, "appRoleAssignments", rows, query,
                          fragment="appRoleAssignments")

    def _collection(self, request: Request, tenant_id: str, entity_set: str, query: Query) -> dict[str, Any]:
        rows = self._rows(entity_set, tenant_id)
        return self._page(request, tenant_id, entity_set, rows, query, fragment=entity_set)

    def _page(self, request: Request, tenant_id: str, entity_set: str, rows: Sequence[Row], query: Query, *,
              fragment: str) -> dict[str, Any]:
        self._check(entity_set, query)
        matching = filtered(_narrowed(rows, query.equality), query.predicate, query.orderby)
        raw_path = urlsplit(request.target).path
        key = PageKey(tenant_id, raw_path, without_skiptoken(request.raw_query))
        offset = 0 if query.skiptoken is None else self._pager.offset(query.skiptoken, key)
        size = min(query.top or DEFAULT_PAGE, MAX_PAGE, self.page_cap or MAX_PAGE)
        names = [item.name for item in query.expand]
        payload: dict[str, Any] = {"@odata.context": self._context(fragment + selection(query.select, names))}
        if query.count and query.skiptoken is None:
            payload["@odata.count"] = len(matching)
        if offset + size < len(matching):
            token = self._pager.issue(key, offset + size)
            payload["@odata.nextLink"] = f"{self.origin}{raw_path}?{key.query + '&' if key.query else ''}" \
                                         f"$skiptoken={token}"
        payload["value"] = [self._present(tenant_id, entity_set, row, query)
                            for row in matching[offset:offset + size]]
        return payload

    # -- $batch ---------------------------------------------------------------------------------------

    def _batch(self, request: Request) -> dict[str, Any]:
        results: dict[str, dict[str, Any]] = {}
        order = batch_order(batch_items(request))
        for item in order:
            failed = [d for d in item.get("dependsOn", []) if results[d]["status"] >= 400]
            results[item["id"]] = (self._failed_dependency(request, item, failed[0]) if failed
                                   else self._run_item(request, item))
        return {"responses": [results[item["id"]] for item in order]}

    def _run_item(self, outer: Request, item: dict[str, Any]) -> dict[str, Any]:
        headers = Message()
        for name, value in item.get("headers", {}).items():
            if name.lower() != "authorization":
                headers[name] = str(value)
        headers["Authorization"] = outer.header("Authorization")
        url = item["url"]
        inner = Request(item["method"].upper(), "/v1.0/" + url.lstrip("/"), headers, b"", outer.origin)
        if urlsplit(url).scheme or url.startswith("//"):
            response = self._error(inner, bad_request(f"Invalid request URI '{url}': use a relative URL."),
                                   str(uuid.uuid4()))
        elif inner.method != "GET":
            response = self.error_response(inner, 405)
        else:
            response = self.handle(inner)
        return {"id": item["id"], "status": response.status, "headers": response.headers,
                "body": json.loads(response.body)}

    def _failed_dependency(self, outer: Request, item: dict[str, Any], dependency: str) -> dict[str, Any]:
        error = GraphError(424, "Failed dependency",
                           f"The request depends on request '{dependency}', which failed.")
        response = self._error(outer, error, str(uuid.uuid4()))
        return {"id": item["id"], "status": response.status, "headers": response.headers,
                "body": json.loads(response.body)}
