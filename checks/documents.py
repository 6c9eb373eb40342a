"""The files people write for xtcheck (config, waivers): YAML or JSON read as data, and every schema mistake said in
one line that names the key and the fix, never repeating a value that may be a secret."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import ConfigError

if TYPE_CHECKING:  # a config proved valid without jsonschema never loads it (config.py, schemacheck.py)
    import jsonschema

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def read_document(path: Path, what: str) -> Any:
    """A YAML or JSON file (by suffix) as data; unreadable or unparseable is one ConfigError naming line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read the {what} {path}: {exc.strerror}") from None
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError("", f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError("", f"{path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None


def describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """A schema error as (key path like `credentials[1].client_secret`, one sentence saying what is wrong)."""
    return _key(error.absolute_path), _explain(error)


def _key(path: Any) -> str:
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _explain(error: jsonschema.ValidationError) -> str:  # noqa: PLR0911 (one answer per kind of mistake)
    """One sentence: what is wrong with this key and how to fix it."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    if error.validator == "additionalProperties":
        known = sorted(schema.get("properties", {}))
        # YAML keys need not be strings (1, true, null, a date): compare and sort them as text
        extra = sorted((k for k in value if k not in known), key=str) if isinstance(value, dict) else []
        hint = difflib.get_close_matches(str(extra[0]), known, n=1) if extra else []
        suggestion = f"; did you mean {hint[0]!r}?" if hint else f"; known keys here: {', '.join(known)}"
        return f"unknown key {extra[0]!r}{suggestion}" if extra else error.message
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return f"missing required key {missing[0]!r}" if missing else error.message
    if error.validator == "pattern" and isinstance(value, str):
        return _explain_pattern(schema.get("pattern", ""), value)
    if error.validator in ("minimum", "exclusiveMinimum", "maximum"):
        return f"{value!r} is out of range; give {_bounds(schema)}"
    if error.validator == "type" and schema.get("type") in ("integer", "number"):
        return f"{quoted(value) if isinstance(value, str) else repr(value)} is not {_bounds(schema)}"
    if error.validator in ("enum", "const"):
        options = schema.get("enum", [schema.get("const")])
        return f"{value!r} is not one of {', '.join(map(str, options))}"
    if error.validator == "oneOf" and isinstance(value, dict) and {"client_secret", "certificate"} <= set(value):
        return "give either client_secret or certificate, not both"
    if error.validator == "oneOf" and isinstance(value, dict):
        return "needs client_secret (env:NAME or file:PATH) or certificate {path: ...}"
    if error.validator == "oneOf":
        return "must be 'all' or a list of email addresses"
    return error.message


def _explain_pattern(pattern: str, value: str) -> str:
    if "env:" in pattern:
        return ("holds a literal secret; put the secret in an environment variable and write env:NAME, "
                "or in a file and write file:PATH")
    if "[0-9a-fA-F]{8}" in pattern:
        cleaned = value.strip().strip("{}").strip()
        if GUID.match(cleaned):
            return f"{value!r} has stray whitespace or braces; write it as {cleaned}"
        return f"{quoted(value)} is not a GUID (like 11111111-2222-3333-4444-555555555555)"
    if "@" in pattern:
        return f"{quoted(value)} is not an email address"
    return f"{quoted(value)} is not valid here"


def _bounds(schema: dict[str, Any]) -> str:
    """The range a number must be in, as the schema states it: `a whole number from 1 to 10`."""
    kind = "a whole number" if schema.get("type") == "integer" else "a number"
    if "minimum" in schema and "maximum" in schema:
        return f"{kind} from {schema['minimum']} to {schema['maximum']}"
    low = (f"more than {schema['exclusiveMinimum']}" if "exclusiveMinimum" in schema
           else f"at least {schema['minimum']}" if "minimum" in schema else "")
    high = f"at most {schema['maximum']}" if "maximum" in schema else ""
    return f"{kind} {' and '.join(part for part in (low, high) if part)}"


_PLAIN = re.compile(r"[\w.@{}\s-]{0,64}")


def quoted(value: str) -> str:
    """A wrong value as a message repeats it, unless it may be a secret pasted under the wrong key: ids, domains
    and addresses hold no ~ / + = and the like, and are not long blobs of letters and digits."""
    if _PLAIN.fullmatch(value) and not (len(value) >= 32 and not re.search(r"[.@-]", value)):
        return repr(value)
    return f"the {len(value)}-character value given (not repeated here: it may be a secret)"
