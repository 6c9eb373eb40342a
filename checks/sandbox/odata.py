"""OData query options $select, $orderby and $expand parsed (nested options validated), and rows sorted."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .odatafilter import check_filter
from .odatasyntax import IDENT, syntax_error
from .odatavalues import scalar_kind

__all__ = [
    "ExpandItem",
    "parse_expand",
    "parse_orderby",
    "parse_select",
    "sort_rows",
]


# ---------------------------------------------------------------------------------------------------------
# $select, $orderby, sorting


def _item(text: str, start: int, end: int, base: int) -> tuple[int, str]:
    segment = text[start:end]
    lead = len(segment) - len(segment.lstrip())
    return base + start + lead, segment.strip()


def _split_items(text: str, separator: str, option: str, base: int) -> list[tuple[int, str]]:
    """Split on separators outside parentheses and quotes; yields (absolute position, stripped item)."""
    items: list[tuple[int, str]] = []
    depth, start, quote_at = 0, 0, -1
    for index, char in enumerate(text):
        if char == "'":
            quote_at = index if quote_at < 0 else -1
        elif quote_at >= 0:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise syntax_error(option, base + index, "unbalanced ')'")
        elif char == separator and depth == 0:
            items.append(_item(text, start, index, base))
            start = index + 1
    if quote_at >= 0:
        raise syntax_error(option, base + quote_at, "unterminated string literal")
    if depth:
        raise syntax_error(option, base + len(text), "expected ')' but found end of input")
    items.append(_item(text, start, len(text), base))
    return items


def _parse_select(text: str, option: str, base: int) -> list[str]:
    names: list[str] = []
    for pos, name in _split_items(text, ",", option, base):
        if name != "*" and IDENT.fullmatch(name) is None:
            found = repr(name) if name else "an empty item"
            raise syntax_error(option, pos, f"expected a property name but found {found}")
        names.append(name)
    return names


def parse_select(text: str) -> list[str]:
    """Parse $select into property names ("a,b , c" -> ["a", "b", "c"]); '*' is kept as is."""
    return _parse_select(text, "$select", 0)


def _parse_orderby(text: str, option: str, base: int) -> list[tuple[str, bool]]:
    order: list[tuple[str, bool]] = []
    for pos, item in _split_items(text, ",", option, base):
        parts = item.split()
        valid = 1 <= len(parts) <= 2 and IDENT.fullmatch(parts[0]) is not None
        if not valid or parts[1:] not in ([], ["asc"], ["desc"]):
            found = repr(item) if item else "an empty item"
            raise syntax_error(option, pos, f"expected 'property [asc|desc]' but found {found}")
        order.append((parts[0], parts[1:] == ["desc"]))
    return order


def parse_orderby(text: str) -> list[tuple[str, bool]]:
    """Parse $orderby into (property, descending) pairs."""
    return _parse_orderby(text, "$orderby", 0)


def _sort_key(value: Any, case_insensitive: bool) -> tuple[int, str, Any]:
    if value is None:
        return (0, "", 0)
    kind = scalar_kind(value)
    if kind is None:
        return (1, type(value).__name__, repr(value))
    if case_insensitive and isinstance(value, str):
        value = value.lower()
    return (1, kind, value)


def _key_for(name: str, case_insensitive: bool) -> Callable[[Mapping[str, Any]], tuple[int, str, Any]]:
    return lambda row: _sort_key(row.get(name), case_insensitive)


def sort_rows(
    rows: Sequence[Mapping[str, Any]], order: list[tuple[str, bool]], *, case_insensitive: bool = False
) -> list[Mapping[str, Any]]:
    """Stable multi-key sort; None sorts first ascending and last descending; mixed types never raise."""
    result = list(rows)
    for name, descending in reversed(order):
        result.sort(key=_key_for(name, case_insensitive), reverse=descending)
    return result


# ---------------------------------------------------------------------------------------------------------
# $expand


@dataclass(frozen=True)
class ExpandItem:
    """One navigation property of $expand with its nested query options (raw text for filter/orderby)."""

    name: str
    select: list[str] | None
    filter: str | None
    orderby: str | None
    top: int | None


_EXPAND_ITEM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?", re.DOTALL)
_EXPAND_OPTION = re.compile(r"(\$?[A-Za-z]+)\s*=\s*(.*)", re.DOTALL)
_EXPAND_OPTIONS = ("$select", "$filter", "$orderby", "$top")
_Options = dict[str, tuple[int, str]]


def _expand_options(inner: str, base: int) -> _Options:
    options: _Options = {}
    for pos, part in _split_items(inner, ";", "$expand", base):
        match = _EXPAND_OPTION.fullmatch(part)
        if match is None:
            raise syntax_error("$expand", pos, f"expected '$option=value' but found {part!r}")
        name = match.group(1)
        if name not in _EXPAND_OPTIONS:
            raise syntax_error("$expand", pos, f"unknown option {name!r}; expected one of {_EXPAND_OPTIONS}")
        if name in options:
            raise syntax_error("$expand", pos, f"option {name!r} given twice")
        options[name] = (pos + match.start(2), match.group(2))
    return options


def _parse_top(text: str, pos: int) -> int:
    if not re.fullmatch(r"\d+", text):
        raise syntax_error("$expand", pos, f"$top must be a non-negative integer but found {text!r}")
    return int(text)


def _build_expand(name: str, options: _Options) -> ExpandItem:
    select: list[str] | None = None
    filter_text: str | None = None
    orderby: str | None = None
    top: int | None = None
    if "$select" in options:
        select = _parse_select(options["$select"][1], "$expand", options["$select"][0])
    if "$filter" in options:
        pos, filter_text = options["$filter"]
        check_filter(filter_text, "$expand", pos)
    if "$orderby" in options:
        pos, orderby = options["$orderby"]
        _parse_orderby(orderby, "$expand", pos)
    if "$top" in options:
        top = _parse_top(options["$top"][1], options["$top"][0])
    return ExpandItem(name=name, select=select, filter=filter_text, orderby=orderby, top=top)


def _expand_item(pos: int, item: str) -> ExpandItem:
    match = _EXPAND_ITEM.fullmatch(item)
    if match is None:
        found = repr(item) if item else "an empty item"
        raise syntax_error("$expand", pos, f"expected a navigation property but found {found}")
    inner = match.group(2)
    options = _expand_options(inner, pos + match.start(2)) if inner is not None else {}
    return _build_expand(match.group(1), options)


def parse_expand(text: str) -> list[ExpandItem]:
    """Parse $expand, e.g. "profile($select=name,id;$top=1),owninguser"; nested options are validated."""
    return [_expand_item(pos, item) for pos, item in _split_items(text, ",", "$expand", 0)]
