"""Dataverse query mechanics: Prefer headers, query options, row shaping with annotations, paging cookies."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .dvmodel import ColumnType, Navigation, Table, table_for_logical_name
from .dvvalues import formatted_value
from .httpd import ServiceError
from .odata import parse_expand, parse_orderby, parse_select, sort_rows
from .odatafilter import Predicate, compile_filter, filter_properties
from .odatasyntax import ODataError

MAX_PAGE_SIZE = 5000
FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
NAVIGATION_PROPERTY = "Microsoft.Dynamics.CRM.associatednavigationproperty"
_SUPPORTED_OPTIONS = frozenset({"$select", "$filter", "$orderby", "$top", "$expand", "$count", "$format"})
_INDEX = Mapping[str, Mapping[str, Mapping[str, Any]]]  # logical name -> id -> row


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


def _compile(table: Table, text: str) -> Predicate:
    try:
        predicate = compile_filter(text, case_insensitive=True)
        names = filter_properties(text)
    except ODataError as exc:
        raise syntax_error(str(exc)) from None
    for name in names:
        column = table.columns.get(name)
        if column is None or not column.readable:
            raise unknown_property(table, name)
    return predicate


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


def parse_query(table: Table, options: Mapping[str, str], *, single: bool = False) -> Query:
    """Validate the query options of a request against `table`; `single` for a by-key read."""
    _check_options(options)
    if single and ({"$filter", "$orderby", "$top", "$count"} & set(options)):
        raise DataverseError(400, "0x0",
                             "Only $select and $expand are supported when retrieving a single record.")
    shape = build_shape(table, options.get("$select"), options.get("$expand"))
    predicate = _compile(table, options["$filter"]) if options.get("$filter") else None
    order = _order(table, options["$orderby"]) if options.get("$orderby") else []
    top = _top(options["$top"]) if "$top" in options else None
    return Query(shape, predicate, order, top, options.get("$count", "").lower() == "true")


# ---- rendering ---------------------------------------------------------------------------------------------


def etag(table: Table, row: Mapping[str, Any]) -> str:
    version = row.get("versionnumber")
    if not isinstance(version, int):
        version = 1_000_000 + int(str(row[table.primary_id]).replace("-", ""), 16) % 9_000_000
    return f'W/"{version}"'


def lookup_target(table: Table, row: Mapping[str, Any], column: str, index: _INDEX) -> str | None:
    """The logical name of the table a lookup value points to."""
    targets = table.columns[column].targets
    value = row.get(column)
    if value is None or not targets:
        return None
    if len(targets) == 1:
        return targets[0]
    type_code = row.get("regardingobjecttypecode")
    if column == "_regardingobjectid_value" and isinstance(type_code, str):
        return type_code
    return next((t for t in targets if value in index.get(t, {})), targets[0])


def navigation_name(table: Table, column: str, target: str) -> str:
    for nav in table.navigations.values():
        if nav.lookup == column and nav.target == target:
            return nav.name
    bare = column.removeprefix("_").removesuffix("_value")
    return bare if target == table.columns[column].targets[0] else f"{bare}_{target}"


@dataclass(frozen=True)
class Renderer:
    """Turns stored rows into wire rows; never mutates the stored rows."""

    index: _INDEX
    preferences: Preferences

    def row(self, shape: Shape, row: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"@odata.etag": etag(shape.table, row)}
        if not self.preferences.annotations:  # what an audit asks for: 5,000 rows a page, so no per-column work
            out.update((name, row.get(name)) for name in shape.columns)
        for name in shape.columns if self.preferences.annotations else ():
            if shape.table.columns[name].type is ColumnType.LOOKUP:
                out.update(self._lookup_annotations(shape.table, row, name))
            else:
                out.update(self._formatted(shape.table, row, name))
            out[name] = row.get(name)
        for nav, inner in shape.expands:
            related = self._related(shape.table, row, nav)
            out[nav.name] = None if related is None else self.row(inner, related)
        return out

    def _formatted(self, table: Table, row: Mapping[str, Any], name: str) -> dict[str, Any]:
        if not self.preferences.wants(FORMATTED):
            return {}
        text = formatted_value(table.columns[name], row.get(name))
        return {} if text is None else {f"{name}@{FORMATTED}": text}

    def _lookup_annotations(self, table: Table, row: Mapping[str, Any], name: str) -> dict[str, Any]:
        target = lookup_target(table, row, name, self.index)
        if target is None:
            return {}
        out: dict[str, Any] = {}
        related = self.index.get(target, {}).get(str(row.get(name)))
        if related is not None and self.preferences.wants(FORMATTED):
            primary = table_for_logical_name(target).primary_name
            if related.get(primary) is not None:
                out[f"{name}@{FORMATTED}"] = related[primary]
        if self.preferences.wants(NAVIGATION_PROPERTY):
            out[f"{name}@{NAVIGATION_PROPERTY}"] = navigation_name(table, name, target)
        if self.preferences.wants(LOOKUP_LOGICAL_NAME):
            out[f"{name}@{LOOKUP_LOGICAL_NAME}"] = target
        return out

    def _related(self, table: Table, row: Mapping[str, Any], nav: Navigation) -> Mapping[str, Any] | None:
        if lookup_target(table, row, nav.lookup, self.index) != nav.target:
            return None
        return self.index.get(nav.target, {}).get(str(row.get(nav.lookup)))


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
