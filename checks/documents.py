"""The files people write for xtcheck (config, waivers): YAML or JSON read through the bounded parsers of parsing.py,
and every schema mistake (in those files and in the snapshots and reports xtcheck reads back) said in one line that
names the key and the fix, never repeating a value: it may be a secret pasted under the wrong key."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import ConfigError, InputError
from .files import CONFIG_LIMIT, read_text, shown
from .parsing import load_json, load_yaml
from .text import looks_like_a_name

if TYPE_CHECKING:  # a config proved valid without jsonschema never loads it (config.py, schemacheck.py)
    import jsonschema

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def read_document(path: Path, what: str, limit: int = CONFIG_LIMIT) -> Any:
    """A YAML or JSON file (by suffix) as data; unreadable, too large, not text, unparseable or unbounded is one
    ConfigError naming the file (and line and column where the parser gives them)."""
    try:
        text = read_text(path, what, limit)
    except InputError as exc:
        raise ConfigError("", str(exc)) from None
    name = shown(path)
    if path.suffix.lower() == ".json":
        try:
            return load_json(text, unique_keys=True)
        except json.JSONDecodeError as exc:
            raise ConfigError("", f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") \
                from None
        except ValueError as exc:  # TooDeep, or an integer of more than 4300 digits
            raise ConfigError("", f"{name} is not valid JSON: {exc}") from None
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = shown(str(getattr(exc, "problem", None) or exc))
        raise ConfigError("", f"{name} is not valid YAML{where}: {problem}") from None


# -- schema errors in one line ---------------------------------------------------------------------------------------


Show = Callable[[Any], str]


def describe(error: jsonschema.ValidationError, show: Show | None = None) -> tuple[str, str]:
    """A schema error as (key path like `credentials[1].client_secret`, one sentence saying what is wrong). A value
    is said by `given` (kind and length, never its text): the default, for files people write, where a secret may
    sit under the wrong key; `brief` shows short values of the files xtcheck wrote (snapshots, reports)."""
    return _key(error.absolute_path), _explain(error, show or given)


def _key(path: Any) -> str:
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _explain(error: jsonschema.ValidationError, show: Show) -> str:  # noqa: PLR0911 (one answer per mistake)
    """One sentence: what is wrong with this key and how to fix it, the value said by `show` (jsonschema's own
    messages repeat it whole: a secret pasted under the wrong key would reach a CI log)."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    if error.validator == "additionalProperties" and isinstance(value, dict):
        return _unknown_key(value, sorted(schema.get("properties", {})))
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)  # names from the schema
        return f"missing required key {missing[0]!r}" if missing else "a required key is missing"
    if error.validator == "pattern" and isinstance(value, str):
        return _explain_pattern(schema.get("pattern", ""), value, show)
    if error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        return f"{value!r} is out of range; give {_bounds(schema)}"
    if error.validator == "type" and schema.get("type") in ("integer", "number"):
        return f"{show(value)} is not {_bounds(schema)}"
    if error.validator == "type":
        return f"expected {_expected(schema.get('type'))}, not {show(value)}"
    if error.validator in ("enum", "const"):
        options = schema.get("enum", [schema.get("const")])
        return f"{show(value)} is not one of {', '.join(map(str, options))}"
    if error.validator == "oneOf" and isinstance(value, dict) and {"client_secret", "certificate"} <= set(value):
        return "give either client_secret or certificate, not both"
    if error.validator == "oneOf" and isinstance(value, dict):
        return "needs client_secret (env:NAME or file:PATH) or certificate {path: ...}"
    if error.validator == "oneOf" and error.absolute_path and error.absolute_path[-1] == "mailboxes":
        return "must be 'all' or a list of email addresses"
    return _other(error.validator, schema, show(value))


def _other(validator: Any, schema: dict[str, Any], value: str) -> str:
    """The rarer mistakes; `value` is what `show` said of the value."""
    if validator == "minLength":
        return "is empty; give a value"
    if validator == "minItems":
        return f"{value}; give at least {schema.get('minItems')}"
    if validator == "uniqueItems":
        return "lists the same item twice; give each once"
    if validator == "format":
        return f"{value} is not a {schema.get('format')}"
    return f"{value} is not what belongs here ({validator})"


def _unknown_key(value: dict[Any, Any], known: list[str]) -> str:
    """The first unknown key, by name when it looks like one, and the known key it is closest to."""
    # YAML keys need not be strings (1, true, null, a date): compare and sort them as text
    extra = sorted((k for k in value if k not in known), key=str)
    if not extra:
        return "holds a key that is not allowed here"
    first = extra[0]
    name = repr(first) if not isinstance(first, str) or looks_like_a_name(first) else \
        f"of {len(first)} characters (not repeated here: it may be a secret)"
    hint = difflib.get_close_matches(str(first), known, n=1)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else f"; known keys here: {', '.join(known)}"
    return f"unknown key {name}{suggestion}"


def _explain_pattern(pattern: str, value: str, show: Show) -> str:
    if "env:" in pattern:
        return ("holds a literal secret; put the secret in an environment variable and write env:NAME, "
                "or in a file and write file:PATH")
    if "[0-9a-fA-F]{8}" in pattern:
        cleaned = value.strip().strip("{}").strip()
        if GUID.match(cleaned):  # a GUID is an id, never a secret: showing it is the fix
            return f"has stray whitespace or braces; write it as {cleaned}"
        return f"{show(value)} is not a GUID (like 11111111-2222-3333-4444-555555555555)"
    if "@" in pattern:
        return f"{show(value)} is not an email address"
    return f"{show(value)} is not valid here"


def _bounds(schema: dict[str, Any]) -> str:
    """The range a number must be in, as the schema states it: `a whole number from 1 to 10`."""
    kind = "a whole number" if schema.get("type") == "integer" else "a number"
    if "minimum" in schema and "maximum" in schema:
        return f"{kind} from {schema['minimum']} to {schema['maximum']}"
    low = (f"more than {schema['exclusiveMinimum']}" if "exclusiveMinimum" in schema
           else f"at least {schema['minimum']}" if "minimum" in schema else "")
    high = f"at most {schema['maximum']}" if "maximum" in schema else ""
    return f"{kind} {' and '.join(part for part in (low, high) if part)}"


_KINDS = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
          "array": "a list", "object": "a mapping of keys", "null": "nothing (null)"}


def _expected(kind: Any) -> str:
    kinds = kind if isinstance(kind, list) else [kind]
    return " or ".join(_KINDS.get(str(k), str(k)) for k in kinds)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def given(value: Any) -> str:  # noqa: PLR0911 (one answer per kind of value)
    """What was given, as a message may say it: its kind and size, never its text. Numbers, true/false and null are
    shown as written (no secret is one); text is shown by its length only."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if _is_number(value):
        return repr(value)
    if isinstance(value, str):
        return f"the {len(value)}-character text given" if value else "an empty text"
    if isinstance(value, list | dict):
        count, noun = len(value), "item" if isinstance(value, list) else "key"
        return f"a {'list' if isinstance(value, list) else 'mapping'} of {count} {noun}{'' if count == 1 else 's'}"
    if isinstance(value, dt.date):
        return "a date"
    return f"a value of type {type(value).__name__}"


def brief(value: Any) -> str:
    """A value read from a report or snapshot (data, not a secret) as a message may show it: its repr when short,
    else what `given` says, so a hostile file cannot make one line of a megabyte."""
    text = repr(value)
    return text if len(text) <= 40 else given(value)

