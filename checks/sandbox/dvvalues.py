"""Dataverse column values: a scenario's row validated into canonical form, and the FormattedValue text of a value."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from .dvmodel import Column, ColumnType, Table

_OPTION_TYPES = frozenset({ColumnType.PICKLIST, ColumnType.STATE, ColumnType.STATUS})
_INT_RANGES = {ColumnType.INTEGER: (-(2**31), 2**31 - 1), ColumnType.BIGINT: (-(2**63), 2**63 - 1)}
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# statecode -> default statuscode; the same for every stateful table served here (0 Active/1, 1 Inactive/2).
_STATE_STATUS = {0: 1, 1: 2}


def _as_bool(column: Column, value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError(f"expects a bool, got {value!r}")
    return value


def _as_str(column: Column, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expects a string, got {value!r}")
    return value


def _as_guid(column: Column, value: Any) -> str:
    if not _GUID.fullmatch(_as_str(column, value)):
        raise ValueError(f"expects a GUID, got {value!r}")
    return str(value).lower()


def _as_entityname(column: Column, value: Any) -> str:
    if _as_str(column, value) not in column.targets:
        raise ValueError(f"must be one of {column.targets}, got {value!r}")
    return str(value)


def _as_datetime(column: Column, value: Any) -> str:
    try:
        moment = datetime.fromisoformat(_as_str(column, value))
    except ValueError:
        raise ValueError(f"expects an ISO 8601 datetime string, got {value!r}") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_int(column: Column, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expects an int, got {value!r}")
    if column.type in _OPTION_TYPES and value not in column.options:
        raise ValueError(f"{value} is not an option value (known: {sorted(column.options)})")
    low, high = _INT_RANGES.get(column.type, _INT_RANGES[ColumnType.INTEGER])
    if not low <= value <= high:
        raise ValueError(f"{value} is out of range")
    return value


_CHECKERS: Mapping[ColumnType, Callable[[Column, Any], Any]] = {
    ColumnType.STRING: _as_str, ColumnType.MEMO: _as_str, ColumnType.BOOLEAN: _as_bool,
    ColumnType.INTEGER: _as_int, ColumnType.BIGINT: _as_int, ColumnType.PICKLIST: _as_int,
    ColumnType.STATE: _as_int, ColumnType.STATUS: _as_int, ColumnType.DATETIME: _as_datetime,
    ColumnType.UNIQUEIDENTIFIER: _as_guid, ColumnType.LOOKUP: _as_guid, ColumnType.ENTITYNAME: _as_entityname,
}


def _check(table: Table, column: Column, value: Any) -> Any:
    """Validate one value and return it in canonical form (GUIDs lowercased, datetimes as ...Z in UTC)."""
    where = f"{table.logical_name}.{column.name}"
    if value is None:
        if column.type in (ColumnType.STATE, ColumnType.STATUS) or column.name == table.primary_id:
            raise ValueError(f"{where} must not be null")
        return None
    try:
        return _CHECKERS[column.type](column, value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def normalize_row(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a full validated row: every readable column present, defaults filled, write-only values gone."""
    for key in row:
        if key.startswith("@"):
            raise ValueError(f"annotation key {key!r} is not allowed in a {table.logical_name} row")
        if key not in table.columns:
            raise ValueError(f"unknown column {key!r} for table {table.logical_name}")
    if row.get(table.primary_id) is None:
        raise ValueError(f"{table.logical_name} row lacks its primary id {table.primary_id!r}")
    defaults = {c.name: c.default for c in table.columns.values()}
    if row.get("oauthclientsecret") is not None and "isoauthclientsecretset" in defaults:
        defaults["isoauthclientsecretset"] = True  # writing the secret is what sets this flag
    state = row.get("statecode")
    if isinstance(state, int) and "statuscode" not in row and "statuscode" in defaults:
        defaults["statuscode"] = _STATE_STATUS.get(state, defaults["statuscode"])
    out = {c.name: _check(table, c, row.get(c.name, defaults[c.name]))
           for c in table.columns.values() if c.readable}
    for col in table.columns.values():
        if not col.readable and col.name in row:
            _check(table, col, row[col.name])
    if "statecode" in out and "statuscode" in out and _STATE_STATUS[out["statecode"]] != out["statuscode"]:
        raise ValueError(f"{table.logical_name}: statuscode {out['statuscode']} does not belong to "
                         f"statecode {out['statecode']}")
    return out


def formatted_value(column: Column, value: Any) -> str | None:
    """Dataverse FormattedValue text for ``value`` (en-US, UTC); None where Dataverse sends no annotation."""
    if value is None:
        return None
    kind = column.type
    if kind is ColumnType.BOOLEAN:
        return column.true_label if value else column.false_label
    if kind in _OPTION_TYPES:
        return column.options.get(value)
    if kind in (ColumnType.INTEGER, ColumnType.BIGINT):
        return f"{value:,}"
    if kind is ColumnType.DATETIME:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        hour = moment.hour % 12 or 12
        meridiem = "AM" if moment.hour < 12 else "PM"
        return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d} {meridiem}"
    return None  # strings, GUIDs, entity names; lookups are annotated by the server with the target's name
