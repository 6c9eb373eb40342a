"""A quick answer from a JSON Schema (Draft 2020-12) without importing jsonschema, for the keywords our schemas use.

`decide` says whether a document is valid, exactly as jsonschema would (no format checker), or None when the schema
or the document holds something it does not decide exactly: an unknown keyword, a `$ref` outside `#/$defs`, a value
it cannot compare the way jsonschema does. A caller takes a True at its word and asks jsonschema otherwise, which
also words the error. Why: importing jsonschema takes ~60 ms, half of what `xtcheck audit` spent before its first
request, and a valid config needs none of it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from numbers import Number
from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# Keywords that never fail a document. `format` is one in 2020-12 unless a format checker is given (ours give none).
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "title", "description", "default", "examples",
                          "deprecated", "readOnly", "writeOnly", "format", "then", "else"})
_DEFS = "#/$defs/"


class _Undecided(Exception):
    """Something this module does not decide exactly as jsonschema does."""


def decide(schema: Mapping[str, Any], document: Any) -> bool | None:
    """True or False as jsonschema's Draft202012Validator would say; None when this module cannot tell exactly."""
    if schema.get("$schema", DRAFT) != DRAFT:
        return None
    try:
        return _valid(schema, document, schema)
    except (_Undecided, RecursionError):  # RecursionError: a document nested deeper than Python's stack
        return None


def _valid(node: Any, value: Any, root: Mapping[str, Any]) -> bool:
    if isinstance(node, bool):
        return node
    if not isinstance(node, dict) or any(k not in _KEYWORDS and k not in _ANNOTATIONS for k in node):
        raise _Undecided
    # Each keyword's answer is exact, so the first False decides (later ones may be undecidable: no matter).
    return all(_KEYWORDS[key](node, value, root) for key in node if key in _KEYWORDS)


def _is(kind: str, value: Any) -> bool:
    """jsonschema's type checker for values YAML and JSON give: a bool is no number, 1.0 is an integer."""
    if kind not in _TYPES:
        raise _Undecided
    if kind in ("number", "integer") and isinstance(value, Number) and not isinstance(value, bool | int | float):
        raise _Undecided  # Decimal, Fraction: numbers to jsonschema, never made by our parsers
    return _TYPES[kind](value)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool), "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


def _type(node: Mapping[str, Any], value: Any, root: Mapping[str, Any]) -> bool:
    kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
    return any(_is(kind, value) for kind in kinds)


def _equal_to_one(options: list[Any], value: Any) -> bool:
    """jsonschema's enum equality, decided where it is plain: a string equals only an equal string."""
    if isinstance(value, str):
        return value in [o for o in options if isinstance(o, str)]
    if all(isinstance(o, str) for o in options):
        return False
    raise _Undecided  # 1 == True and 1 == 1.0 have rules of their own there


def _properties(node: Mapping[str, Any], value: Any, root: Mapping[str, Any]) -> bool:
    if not isinstance(value, dict):
        return True
    return all(_valid(sub, value[key], root) for key, sub in node["properties"].items() if key in value)


def _additional(node: Mapping[str, Any], value: Any, root: Mapping[str, Any]) -> bool:
    if not isinstance(value, dict):
        return True
    known = node.get("properties", {})
    return all(_valid(node["additionalProperties"], item, root) for key, item in value.items() if key not in known)


def _items(node: Mapping[str, Any], value: Any, root: Mapping[str, Any]) -> bool:
    return not isinstance(value, list) or all(_valid(node["items"], item, root) for item in value)


def _unique(node: Mapping[str, Any], value: Any, root: Mapping[str, Any]) -> bool:
    if not node["uniqueItems"] or not isinstance(value, list):
        return True
    if not all(isinstance(item, str) for item in value):
        raise _Undecided
    return len(set(value)) == len(value)


def _ref(node: Mapping[str, Any], value: Any, root: Mapping[str, Any]) -> bool:
    ref = node["$ref"]
    if not isinstance(ref, str) or not ref.startswith(_DEFS) or ref[len(_DEFS):] not in root.get("$defs", {}):
        raise _Undecided
    return _valid(root["$defs"][ref[len(_DEFS):]], value, root)


def _if(node: Mapping[str, Any], value: Any, root: Mapping[str, Any]) -> bool:
    branch = "then" if _valid(node["if"], value, root) else "else"
    return _valid(node.get(branch, True), value, root)


def _bound(fails: Callable[[Any, Any], bool], keyword: str) -> Callable[[Mapping[str, Any], Any, Any], bool]:
    """A bound as jsonschema tests it: by its failing comparison (NaN fails none of them, so it passes)."""
    return lambda node, value, root: not _is("number", value) or not fails(value, node[keyword])


_KEYWORDS: dict[str, Callable[[Mapping[str, Any], Any, Mapping[str, Any]], bool]] = {
    "type": _type,
    "enum": lambda node, value, root: _equal_to_one(list(node["enum"]), value),
    "const": lambda node, value, root: _equal_to_one([node["const"]], value),
    "properties": _properties,
    "additionalProperties": _additional,
    "required": lambda node, value, root: not isinstance(value, dict) or all(k in value for k in node["required"]),
    "pattern": lambda node, value, root: not isinstance(value, str) or re.search(node["pattern"], value) is not None,
    "minLength": lambda node, value, root: not isinstance(value, str) or len(value) >= node["minLength"],
    "maxLength": lambda node, value, root: not isinstance(value, str) or len(value) <= node["maxLength"],
    "minimum": _bound(lambda v, b: v < b, "minimum"),
    "maximum": _bound(lambda v, b: v > b, "maximum"),
    "exclusiveMinimum": _bound(lambda v, b: v <= b, "exclusiveMinimum"),
    "exclusiveMaximum": _bound(lambda v, b: v >= b, "exclusiveMaximum"),
    "items": _items,
    "minItems": lambda node, value, root: not isinstance(value, list) or len(value) >= node["minItems"],
    "uniqueItems": _unique,
    "oneOf": lambda node, value, root: sum(_valid(sub, value, root) for sub in node["oneOf"]) == 1,
    "anyOf": lambda node, value, root: any(_valid(sub, value, root) for sub in node["anyOf"]),
    "allOf": lambda node, value, root: all(_valid(sub, value, root) for sub in node["allOf"]),
    "not": lambda node, value, root: not _valid(node["not"], value, root),
    "if": _if,
    "$ref": _ref,
}
