"""JSON Schemas for every edge of xtcheck (config, scenario, report, evidence), shipped as package data."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema
    import referencing


@cache
def load(name: str) -> dict[str, Any]:
    """Return the schema `name` (for example "scenario") as a dict."""
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


NAMES = ("config", "scenario", "report", "report-v1", "estate-report", "evidence", "waivers")


@cache
def registry() -> referencing.Registry[Any]:
    """Every schema by its $id, so one can refer to another's definitions (the estate report's findings are the
    single report's: `report.schema.json#/$defs/finding`)."""
    import referencing.jsonschema

    resources = [(load(name)["$id"], referencing.jsonschema.DRAFT202012.create_resource(load(name)))
                 for name in NAMES]
    return referencing.Registry().with_resources(resources)


def validator(name: str, *, formats: bool = False) -> jsonschema.Draft202012Validator:
    """A validator of the schema `name` that resolves references to the other schemas (`formats`: check formats
    such as date-time too)."""
    import jsonschema

    checker = jsonschema.FormatChecker() if formats else None
    return jsonschema.Draft202012Validator(load(name), registry=registry(), format_checker=checker)
