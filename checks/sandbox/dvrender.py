"""Dataverse wire rows: stored rows in a query's shape, with etags and the annotations that Prefer asks for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .dvmodel import ColumnType, Navigation, Table, table_for_logical_name
from .dvquery import Preferences, Shape
from .dvvalues import formatted_value

FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
NAVIGATION_PROPERTY = "Microsoft.Dynamics.CRM.associatednavigationproperty"
_INDEX = Mapping[str, Mapping[str, Mapping[str, Any]]]  # logical name -> id -> row


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
