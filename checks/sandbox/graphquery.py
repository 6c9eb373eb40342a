"""Graph's query options, $batch payloads and opaque paging tokens."""

from __future__ import annotations

import base64
import re
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from .httpd import Request, ServiceError
from .odata import ExpandItem, parse_expand, parse_orderby, parse_select, sort_rows
from .odatafilter import Predicate, compile_filter
from .odatasyntax import ODataError

MAX_BATCH = 20
_EQUALITY = re.compile(r"\s*([A-Za-z]+)\s+eq\s+'((?:[^']|'')*)'\s*")
QUERY_OPTIONS = ("$select", "$filter", "$top", "$expand", "$count", "$orderby", "$skiptoken")
Row = Mapping[str, Any]


class GraphError(ServiceError):
    """An error Graph answers with: HTTP status, `error.code`, `error.message` and extra response headers."""


def bad_request(message: str) -> GraphError:
    return GraphError(400, "Request_BadRequest", message)


def unknown_property(name: str, type_name: str) -> GraphError:
    return bad_request(f"Parsing OData Select and Expand failed: Could not find a property named '{name}' "
                       f"on type 'microsoft.graph.{type_name}'.")


@dataclass(frozen=True)
class Query:
    """The parsed query options of one request."""

    select: list[str] | None = None
    predicate: Predicate | None = None
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    top: int | None = None
    expand: list[ExpandItem] = field(default_factory=list)
    count: bool = False
    skiptoken: str | None = None
    equality: tuple[str, str] | None = None  # the $filter is `property eq 'value'`: (property, value)


def _options(raw_query: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        if not name.startswith("$"):
            continue  # Graph ignores query parameters that are not system query options
        key = name.lower()
        if key not in QUERY_OPTIONS:
            raise bad_request(f"The query parameter '{name}' is not supported.")
        if key in options:
            raise bad_request(f"Query option '{key}' was specified more than once, but it must be specified "
                              "at most once.")
        options[key] = value
    return options


def _top(text: str | None) -> int | None:
    if text is None:
        return None
    if not re.fullmatch(r"\d+", text) or not 1 <= int(text) <= 999:
        raise bad_request(f"Invalid page size specified: '{text}'. Must be between 1 and 999 inclusive.")
    return int(text)


def _count(text: str | None, consistency: str) -> bool:
    if text is None or text.lower() == "false":
        return False
    if text.lower() != "true":
        raise bad_request(f"Invalid value '{text}' for query option '$count'; expected true or false.")
    if consistency.strip().lower() != "eventual":
        raise bad_request("$count is not currently supported.")
    return True


def parse_query(raw_query: str, consistency: str) -> Query:
    """Parse the request's query string; every problem is a 400 Request_BadRequest."""
    options = _options(raw_query)
    try:
        select = parse_select(options["$select"]) if "$select" in options else None
        predicate = compile_filter(options["$filter"]) if "$filter" in options else None
        orderby = parse_orderby(options["$orderby"]) if "$orderby" in options else []
        expand = parse_expand(options["$expand"]) if "$expand" in options else []
    except ODataError as error:
        raise bad_request(str(error)) from error
    equality = _EQUALITY.fullmatch(options.get("$filter", ""))
    return Query(select, predicate, orderby, _top(options.get("$top")), expand,
                 _count(options.get("$count"), consistency), options.get("$skiptoken"),
                 (equality.group(1), equality.group(2).replace("''", "'")) if equality else None)


def check_select(select: Iterable[str] | None, known: set[str], type_name: str) -> None:
    """Refuse properties the type does not have (an empty `known` means: nothing to compare with)."""
    for name in select or ():
        if known and name != "*" and name not in known:
            raise unknown_property(name, type_name)


def filtered(rows: Sequence[Row], predicate: Predicate | None, orderby: list[tuple[str, bool]]) -> Sequence[Row]:
    """The rows the predicate keeps, in $orderby's order; with neither, the rows themselves (not copied)."""
    if predicate is None and not orderby:
        return rows
    result: list[Row] = [row for row in rows if predicate is None or predicate(row)]
    return sort_rows(result, orderby) if orderby else result


def project(row: Row, select: list[str] | None, keep: Iterable[str] = ()) -> dict[str, Any]:
    """A copy of `row` with only the selected properties (all of them without $select or with '*')."""
    if select is None or "*" in select:
        return dict(row)
    names = [*select, *(name for name in keep if name not in select)]
    return {name: row.get(name) for name in names}


def expanded_rows(rows: Sequence[Row], item: ExpandItem) -> list[dict[str, Any]]:
    """Apply an expand item's nested $filter/$orderby/$top/$select to the related rows."""
    try:
        predicate = compile_filter(item.filter) if item.filter is not None else None
        orderby = parse_orderby(item.orderby) if item.orderby is not None else []
    except ODataError as error:
        raise bad_request(str(error)) from error
    chosen = filtered(rows, predicate, orderby)
    if item.top is not None:
        chosen = chosen[: item.top]
    return [project(row, item.select) for row in chosen]


def selection(select: list[str] | None, expand: Iterable[str]) -> str:
    """The parenthesised part of an @odata.context URL: "(id,appId)" for a $select, else ""."""
    if select is None:
        return ""
    names = [*select, *(f"{name}()" for name in expand if name not in select)]
    return "(" + ",".join(names) + ")"


# ---------------------------------------------------------------------------------------------------------
# $batch


def _item_valid(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    headers, depends = item.get("headers", {}), item.get("dependsOn", [])
    return (all(isinstance(item.get(k), str) and item.get(k) for k in ("id", "method", "url"))
            and isinstance(headers, dict) and isinstance(depends, list)
            and all(isinstance(d, str) for d in depends))


def batch_items(request: Request) -> list[dict[str, Any]]:
    """The requests of a JSON batch, validated as Graph does before running any of them."""
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_request("Invalid batch payload format.") from error
    items = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(_item_valid(item) for item in items):
        raise bad_request("Invalid batch payload format.")
    if len(items) > MAX_BATCH:
        raise bad_request(f"Number of requests exceeds the maximum of {MAX_BATCH}.")
    seen: set[str] = set()
    for item in items:
        if item["id"] in seen:
            raise bad_request(f"Request id '{item['id']}' is used more than once; batch request ids must "
                              "be unique.")
        seen.add(item["id"])
    ids = {item["id"] for item in items}
    for item in items:
        for dependency in item.get("dependsOn", []):
            if dependency not in ids:
                raise bad_request(f"Request '{item['id']}' depends on '{dependency}', which is not in the "
                                  "batch.")
    return items


def batch_order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items in an order honouring dependsOn (otherwise as given); a cycle is a 400."""
    done: set[str] = set()
    order: list[dict[str, Any]] = []
    pending = list(items)
    while pending:
        ready = next((i for i in pending if set(i.get("dependsOn", [])) <= done), None)
        if ready is None:
            raise bad_request("The dependsOn references of the batch requests form a cycle.")
        pending.remove(ready)
        order.append(ready)
        done.add(ready["id"])
    return order


# ---------------------------------------------------------------------------------------------------------
# Paging


def without_skiptoken(raw_query: str) -> str:
    """The raw query string with any $skiptoken parameter removed (other parameters untouched)."""
    kept = [part for part in raw_query.split("&")
            if part and unquote_plus(part.partition("=")[0]).lower() != "$skiptoken"]
    return "&".join(kept)


@dataclass(frozen=True)
class PageKey:
    """What a skiptoken is bound to: the tenant, the path and the other query options."""

    tenant_id: str
    path: str
    query: str


class Pager:
    """Opaque skiptokens -> where the next page starts; thread-safe, oldest tokens forgotten first."""

    def __init__(self, limit: int = 4096) -> None:
        self._pages: dict[str, tuple[PageKey, int]] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def issue(self, key: PageKey, offset: int) -> str:
        token = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
        with self._lock:
            self._pages[token] = (key, offset)
            while len(self._pages) > self._limit:
                del self._pages[next(iter(self._pages))]
        return token

    def offset(self, token: str, key: PageKey) -> int:
        with self._lock:
            found = self._pages.get(token)
        if found is None or found[0] != key:
            raise GraphError(400, "Directory_ExpiredPageToken",
                             "The specified page token value has expired and can no longer be included in "
                             "your request.")
        return found[1]
