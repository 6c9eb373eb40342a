"""How $filter values behave: GUID, date-time, number and string coercion, null-aware logic, built-in functions."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Guid:
    """A bare GUID literal from a $filter; compares case-insensitively with strings."""

    value: str


_ISO_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_instant(text: str) -> datetime | None:
    """Parse an ISO-8601 date or date-time; a missing offset means UTC."""
    if not _ISO_PREFIX.match(text):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _as_guid(value: Any) -> str | None:
    if isinstance(value, Guid):
        return value.value
    return value.lower() if isinstance(value, str) else None


def _as_instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return parse_instant(value) if isinstance(value, str) else None


def _as_text(value: Any) -> str | None:
    if isinstance(value, Guid):
        return value.value
    return value if isinstance(value, str) else None


def scalar_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "str" if isinstance(value, str) else None


def _both(left: Any, right: Any) -> tuple[Any, Any] | None:
    return None if left is None or right is None else (left, right)


def _coerce(left: Any, right: Any, case_insensitive: bool) -> tuple[Any, Any] | None:
    """Bring two non-null operands to comparable values, or None when their types are incompatible."""
    if isinstance(left, Guid) or isinstance(right, Guid):
        return _both(_as_guid(left), _as_guid(right))
    if isinstance(left, datetime) or isinstance(right, datetime):
        return _both(_as_instant(left), _as_instant(right))
    if isinstance(left, str) and isinstance(right, str) and case_insensitive:
        # Dataverse compares in SQL: its collations ignore case, and (ANSI padding) trailing blanks too.
        return left.lower().rstrip(" "), right.lower().rstrip(" ")
    kind = scalar_kind(left)
    return (left, right) if kind is not None and kind == scalar_kind(right) else None


COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def compare(op: str, left: Any, right: Any, case_insensitive: bool) -> bool:
    if left is None or right is None:
        both_null = left is None and right is None
        return {"eq": both_null, "ne": not both_null}.get(op, False)
    pair = _coerce(left, right, case_insensitive)
    return pair is not None and bool(COMPARISONS[op](*pair))


def and_values(left: Any, right: Any) -> bool | None:
    if left is False or right is False:
        return False
    return True if left is True and right is True else None


def or_values(left: Any, right: Any) -> bool | None:
    if left is True or right is True:
        return True
    return False if left is False and right is False else None


# ---------------------------------------------------------------------------------------------------------
# Functions


_FunctionImpl = Callable[[list[Any], bool], Any]


def _text_test(test: Callable[[str, str], bool]) -> _FunctionImpl:
    def run(values: list[Any], case_insensitive: bool) -> bool | None:
        subject, pattern = _as_text(values[0]), _as_text(values[1])
        if subject is None or pattern is None:
            return None
        if case_insensitive:
            subject, pattern = subject.lower(), pattern.lower()
        return test(subject, pattern)

    return run


def _text_map(transform: Callable[[str], str]) -> _FunctionImpl:
    def run(values: list[Any], case_insensitive: bool) -> str | None:
        text = _as_text(values[0])
        return None if text is None else transform(text)

    return run


@dataclass(frozen=True)
class Function:
    """A $filter function: how many arguments it takes, the kind of value it returns, and what it does."""

    arity: int
    kind: str
    impl: _FunctionImpl


FUNCTIONS: dict[str, Function] = {
    "contains": Function(2, "bool", _text_test(lambda subject, pattern: pattern in subject)),
    "startswith": Function(2, "bool", _text_test(str.startswith)),
    "endswith": Function(2, "bool", _text_test(str.endswith)),
    "tolower": Function(1, "string", _text_map(str.lower)),
    "toupper": Function(1, "string", _text_map(str.upper)),
}
