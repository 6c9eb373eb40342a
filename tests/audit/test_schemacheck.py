"""The quick schema check says what jsonschema says, or nothing: every literal here is decided by both (or left to
jsonschema), including the values where Python and JSON Schema differ (a bool is no integer, 1.0 is one, NaN passes
every bound, a YAML date is no string)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import schemas
from checks.sandbox.server import Sandbox
from checks.schemacheck import decide

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def agrees(schema: dict[str, Any], document: Any) -> bool | None:
    """decide's answer, after checking it is jsonschema's whenever it gives one."""
    schema = {"$schema": DRAFT, **schema}
    answer = decide(schema, document)
    assert answer in (None, jsonschema.Draft202012Validator(schema).is_valid(document))
    return answer


@pytest.mark.parametrize(("schema", "document", "expected"), [
    ({"type": "integer"}, 3, True),
    ({"type": "integer"}, 3.0, True),
    ({"type": "integer"}, 3.5, False),
    ({"type": "integer"}, True, False),
    ({"type": "number"}, False, False),
    ({"type": "boolean"}, 0, False),
    ({"type": "string"}, dt.date(2026, 1, 2), False),  # YAML's 2026-01-02 is a date, not a string
    ({"type": ["string", "null"]}, None, True),
    ({"type": "object"}, [], False),
    ({"minimum": 1}, 0, False),
    ({"minimum": 1}, "0", True),  # a bound says nothing about a string
    ({"exclusiveMinimum": 0, "maximum": 300}, math.nan, True),  # NaN fails no comparison, so no bound
    ({"exclusiveMinimum": 0}, 0, False),
    ({"maximum": 60}, math.inf, False),
    ({"minLength": 1}, "", False),
    ({"pattern": "^env:"}, "file:x", False),
    ({"pattern": "x"}, "a x", True),  # searched, not matched
    ({"enum": ["public", "custom"]}, "custom", True),
    ({"enum": ["public", "custom"]}, 1, False),
    ({"const": "all"}, "ALL", False),
    ({"required": ["a"]}, {1: "a"}, False),  # YAML keys need not be strings
    ({"additionalProperties": False, "properties": {"a": {}}}, {"a": 1, True: 2}, False),
    ({"items": {"type": "string"}, "minItems": 1, "uniqueItems": True}, ["a", "b"], True),
    ({"uniqueItems": True}, ["a", "a"], False),
    ({"oneOf": [{"const": "all"}, {"type": "string"}]}, "all", False),  # both match: not exactly one
    ({"not": {"required": ["x"]}}, {"x": 1}, False),
    ({"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"required": ["c"]}}, {"c": 1}, True),
    ({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, {"a": 1}, False),
    ({"$defs": {"g": {"pattern": "^[0-9]+$"}}, "$ref": "#/$defs/g"}, "12", True),
])
def test_what_it_decides_is_what_jsonschema_decides(schema: dict[str, Any], document: Any, expected: bool) -> None:
    assert agrees(schema, document) is expected


@pytest.mark.parametrize(("schema", "document"), [
    ({"patternProperties": {"^x": {}}}, {}),  # a keyword it does not know
    ({"$ref": "other.json#/x"}, 1),  # a reference outside the schema's own $defs
    ({"type": "number"}, Decimal("1.5")),  # a number to jsonschema that our parsers never make
    ({"enum": [1, 2]}, True),  # jsonschema's own rules for 1 and True
    ({"uniqueItems": True}, [1, 1.0]),
    ({"type": "whatever"}, 1),
])
def test_what_it_cannot_decide_exactly_it_leaves_to_jsonschema(schema: dict[str, Any], document: Any) -> None:
    assert decide({"$schema": DRAFT, **schema}, document) is None


def test_another_draft_or_a_document_deeper_than_the_stack_is_left_to_jsonschema() -> None:
    assert decide({"$schema": "http://json-schema.org/draft-07/schema#"}, {}) is None
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    assert decide({"$schema": DRAFT, "items": {"$ref": "#/$defs/n"}, "$defs": {"n": {"items": {"$ref": "#/$defs/n"}}}},
                  deep) is None


def readme_config() -> Any:
    """The README's configuration example, as a user copies it."""
    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("### Configuration", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0])


@pytest.mark.parametrize("scenario", ["healthy", "demo", "reader-without-optional-permissions"])
def test_valid_configs_are_proved_valid_without_jsonschema(scenario: str, tmp_path: Path) -> None:
    """Else a valid config would still load jsonschema before the audit's first request."""
    schema = schemas.load("config")
    assert decide(schema, readme_config()) is True
    with Sandbox(scenario, workdir=tmp_path) as cloud:
        document = yaml.safe_load(cloud.write_config().read_text(encoding="utf-8"))
    assert decide(schema, document) is True
