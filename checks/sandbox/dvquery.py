"""Dataverse query mechanics: Prefer headers, query options and the shape they ask for, paging cookies."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .dvmodel import Navigation, Table, table_for_logical_name
from .httpd import ServiceError
from .odata import parse_expand, parse_orderby, parse_select, sort_rows
from .odatafilter import Getter, Predicate, compile_filter, filter_properties
from .odatasyntax import ODataError

MAX_PAGE_SIZE = 5000
Index = Mapping[str, Mapping[str, Mapping[str, Any]]]  # logical name -> id -> row: how a lookup finds its row
_SUPPORTED_OPTIONS = frozenset({"$select", "$filter", "$orderby", "$top", "$expand", "$count", "$format"})


class DataverseError(ServiceError):
    """An error answered as `{"error": {"code", "message"}}` with `status`."""


def syntax_error(message: str) -> DataverseError:
    return DataverseError(400, "0x80060888", message)


def unknown_property(table: Table, name: str) -> DataverseError:
    return DataverseError(400, "0x0", f"Could not find a property named '{name}' on type "
                                      f"'Microsoft.Dynamics.CRM.{table.logical_name}'.")


# ---- Prefer ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    max_page_size: int | None = None
    annotations: tuple[str, ...] = ()
    applied: tuple[str, ...] = ()

    def wants(self, annotation: str) -> bool:
        for pattern in self.annotations:
            if pattern in ("*", annotation):
                return True
            if pattern.endswith(".*") and annotation.startswith(pattern[:-1]):
                return True
        return False


def _split_outside_quotes(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_prefer(headers: Sequence[str]) -> Preferences:
    """Read every Prefer header (values may be comma-separated); unknown preferences are ignored."""
    page_size: int | None = None
    annotations: tuple[str, ...] = ()
    applied: list[str] = []
    for item in (p for header in headers for p in _split_outside_quotes(header)):
        name, _, value = item.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == "odata.maxpagesize" and value.isdigit() and int(value) > 0:
            page_size = min(int(value), MAX_PAGE_SIZE)
            applied.append(f"odata.maxpagesize={page_size}")
        elif name == "odata.include-annotations" and value:
            annotations = tuple(a.strip() for a in value.split(",") if a.strip())
            applied.append(f'odata.include-annotations="{value}"')
    return Preferences(page_size, annotations, tuple(applied))


# ---- query options -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What to emit for one row: columns in output order (primary id included) and expanded navigations."""

    table: Table
    columns: tuple[str, ...]
    selected: tuple[str, ...] | None  # the explicit $select list, for @odata.context
    expands: tuple[tuple[Navigation, Shape], ...] = ()

    def context(self) -> str:
        parts = list(self.selected or ())
        parts += [nav.name for nav, _ in self.expands]
        parts += [f"{nav.name}({','.join(inner.selected or ())})" for nav, inner in self.expands]
        return f"({','.join(parts)})" if parts else ""

    def tables(self) -> Iterator[Table]:
        yield self.table
        for _, inner in self.expands:
            yield from inner.tables()


@dataclass(frozen=True)
class Query:
    shape: Shape
    predicate: Predicate | None = None
    order: list[tuple[str, bool]] = field(default_factory=list)
    top: int | None = None
    count: bool = False
    related: tuple[Table, ...] = ()  # tables the $filter reads through navigation properties

    def tables(self) -> Iterator[Table]:
        """Every table the query reads, so the caller needs read privilege on each."""
        yield from self.shape.tables()
        yield from self.related

    def run(self, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        found = [r for r in rows if self.predicate(r)] if self.predicate is not None else list(rows)
        return sort_rows(found, self.order, case_insensitive=True) if self.order else found


def _check_name(table: Table, name: str) -> None:
    column = table.columns.get(name)
    if column is None or not column.readable:
        raise unknown_property(table, name)


def build_shape(table: Table, select_text: str | None, expand_text: str | None = None) -> Shape:
    selected: list[str] | None = None
    if select_text is not None:
        try:
            selected = parse_select(select_text)
        except ODataError as exc:
            raise syntax_error(str(exc)) from None
    if selected is None or "*" in selected:
        columns = tuple(c.name for c in table.columns.values() if c.readable)
    else:
        for name in selected:
            _check_name(table, name)
        unique = tuple(dict.fromkeys(selected))
        columns = unique if table.primary_id in unique else (*unique, table.primary_id)
    expands = _build_expands(table, expand_text) if expand_text else ()
    return Shape(table, columns, tuple(selected) if selected is not None else None, expands)


def _build_expands(table: Table, text: str) -> tuple[tuple[Navigation, Shape], ...]:
    try:
        items = parse_expand(text)
    except ODataError as exc:
        raise syntax_error(str(exc)) from None
    out: list[tuple[Navigation, Shape]] = []
    for item in items:
        nav = table.navigations.get(item.name)
        if nav is None:
            raise unknown_property(table, item.name)
        if item.filter is not None or item.orderby is not None or item.top is not None:
            raise DataverseError(400, "0x0", f"Only $select is supported when expanding the single-valued "
                                             f"navigation property '{item.name}'.")
        target = table_for_logical_name(nav.target)
        select = ",".join(item.select) if item.select is not None else None
        out.append((nav, build_shape(target, select)))
    return tuple(out)


def _compile(table: Table, text: str, index: Index) -> tuple[Predicate, tuple[Table, ...]]:
    """The $filter as a predicate, and the tables it reaches through single-valued navigation properties
    (`emailserverprofile/name eq '...'`, the documented way to filter on a lookup's related row)."""
    try:
        names = filter_properties(text, paths=True)
    except ODataError as exc:
        raise syntax_error(str(exc)) from None
    paths = {name: _path(table, name) for name in names}
    predicate = compile_filter(text, case_insensitive=True, resolve=lambda name: _getter(paths[name], name, index))
    targets = dict.fromkeys(nav.target for navs in paths.values() for nav in navs)
    return predicate, tuple(table_for_logical_name(target) for target in targets)


def _path(table: Table, name: str) -> tuple[Navigation, ...]:
    """The navigation properties `name` goes through to its column, each checked as Dataverse checks them."""
    *steps, last = name.split("/")
    navigations: list[Navigation] = []
    for step in steps:
        nav = table.navigations.get(step)
        if nav is None:
            raise unknown_property(table, step)
        navigations.append(nav)
        table = table_for_logical_name(nav.target)
    _check_name(table, last)
    return tuple(navigations)


def _getter(navigations: tuple[Navigation, ...], name: str, index: Index) -> Getter:
    column = name.rsplit("/", 1)[-1]

    def get(row: Mapping[str, Any]) -> Any:
        for nav in navigations:  # an empty lookup, or one to another table (a polymorphic lookup): null
            related = index.get(nav.target, {}).get(str(row.get(nav.lookup)))
            if related is None:
                return None
            row = related
        return row.get(column)

    return get


def _order(table: Table, text: str) -> list[tuple[str, bool]]:
    try:
        order = parse_orderby(text)
    except ODataError as exc:
        raise syntax_error(str(exc)) from None
    for name, _ in order:
        _check_name(table, name)
    return order


def _top(text: str) -> int:
    if not text.isdigit():
        raise syntax_error(f"Invalid value '{text}' for $top query option found. "
                           "The $top query option requires a non-negative integer value.")
    return int(text)


def _check_options(options: Mapping[str, str]) -> None:
    for name in options:
        if name.startswith("$") and name not in _SUPPORTED_OPTIONS:
            raise DataverseError(400, "0x0", f"The query parameter {name} is not supported")
    count = options.get("$count")
    if count is not None and count.lower() not in ("true", "false"):
        raise syntax_error(f"'{count}' is not a valid count option.")


def parse_query(table: Table, options: Mapping[str, str], *, single: bool = False, index: Index | None = None) -> Query:
    """Validate the query options of a request against `table`; `single` for a by-key read; `index` finds the rows
    a $filter reaches through navigation properties."""
    _check_options(options)
    if single and ({"$filter", "$orderby", "$top", "$count"} & set(options)):
        raise DataverseError(400, "0x0",
                             "Only $select and $expand are supported when retrieving a single record.")
    shape = build_shape(table, options.get("$select"), options.get("$expand"))
    predicate, related = _compile(table, options["$filter"], index or {}) if options.get("$filter") else (None, ())
    order = _order(table, options["$orderby"]) if options.get("$orderby") else []
    top = _top(options["$top"]) if "$top" in options else None
    return Query(shape, predicate, order, top, options.get("$count", "").lower() == "true", related)


# ---- paging cookies ----------------------------------------------------------------------------------------


def _lower_escapes(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), text)


def skip_token(primary_id: str, page: int, first: str, last: str) -> str:
    """The $skiptoken Dataverse puts in @odata.nextLink after serving page `page` (1-based)."""
    inner = (f'<cookie page="{page}"><{primary_id} last="{{{last.upper()}}}" '
             f'first="{{{first.upper()}}}" /></cookie>')
    paging_cookie = _lower_escapes(quote(inner, safe=""))
    outer = f'<cookie pagenumber="{page + 1}" pagingcookie="{paging_cookie}" istracking="False" />'
    return quote(outer, safe="=/")
