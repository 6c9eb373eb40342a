"""Scenario files: find, extend, patch, validate against schemas/scenario.schema.json, resolve relative dates."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

import schemas

_RELATIVE = re.compile(r"^(?:now|([+-]\d+(?:\.\d+)?)([smhd]))$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_SELECTOR = re.compile(r"^\[([A-Za-z_][A-Za-z0-9_]*)=(.*)\]$")
_MAX_DEPTH = 8


class ScenarioError(ValueError):
    """A scenario file is missing, malformed, or patches something that is not there."""


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with xtcheck, sorted."""
    folder = resources.files(__package__).joinpath("scenarios")
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


def scenario_table() -> str:
    """The built-in scenarios as a Markdown table (the README embeds it; a test keeps the two equal)."""
    rows = ["| scenario | what it sets up | expected verdicts |", "|---|---|---|"]
    for name in builtin_names():
        data = load_raw(name)
        expect = ", ".join(f"{k} {v}" for k, v in sorted(data.get("expect", {}).items()) if v != "pass")
        rows.append(f"| `{name}` | {data['summary']} | {expect or 'all pass'} |")
    return "\n".join(rows)


def _read(name_or_path: str) -> dict[str, Any]:
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        resource = resources.files(__package__).joinpath("scenarios", f"{name_or_path}.json")
        if not resource.is_file():
            known = ", ".join(builtin_names())
            raise ScenarioError(f"no scenario named {name_or_path!r}; built-in scenarios: {known}")
        text = resource.read_text(encoding="utf-8")
    try:
        data: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"scenario {name_or_path!r} is not valid JSON: {exc}") from exc
    return data


def _validate(data: dict[str, Any], label: str) -> None:
    validator = jsonschema.Draft202012Validator(schemas.load("scenario"))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ScenarioError(f"scenario {label!r} at {where}: {error.message}")


def load_raw(name_or_path: str, _depth: int = 0) -> dict[str, Any]:
    """The scenario with `extends` and `patch` applied and validated; dates still relative."""
    if _depth > _MAX_DEPTH:
        raise ScenarioError(f"scenario {name_or_path!r}: 'extends' nests deeper than {_MAX_DEPTH}")
    data = _read(name_or_path)
    _validate(data, name_or_path)
    base_name = data.pop("extends", None)
    patch = data.pop("patch", [])
    if base_name is None:
        merged = data
    else:
        merged = load_raw(base_name, _depth + 1)
        merged.pop("expect", None)
        merged.update({k: v for k, v in data.items() if k in ("name", "summary", "description", "expect", "audit")})
        for key in ("tenants", "applications", "servicePrincipals", "appRoleAssignments", "readers",
                    "environments", "faults"):
            if key in data:
                merged[key] = data[key]
    for op in patch:
        apply_patch_op(merged, op, label=name_or_path)
    _validate(merged, name_or_path)
    return merged


def load(name_or_path: str, now: dt.datetime) -> dict[str, Any]:
    """The scenario ready to serve: every relative time turned into an ISO 8601 UTC timestamp."""
    resolved: dict[str, Any] = resolve_times(load_raw(name_or_path), now)
    return resolved


def resolve_times(value: Any, now: dt.datetime) -> Any:
    if isinstance(value, dict):
        return {k: resolve_times(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_times(v, now) for v in value]
    if isinstance(value, str):
        match = _RELATIVE.match(value)
        if match:
            moment = now if match.group(1) is None else now + dt.timedelta(
                **{_UNITS[match.group(2)]: float(match.group(1))})
            return iso(moment)
    return value


def iso(moment: dt.datetime) -> str:
    """UTC, whole seconds, trailing Z: the way Graph and Dataverse write times."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _step(container: Any, segment: str, label: str, path: str) -> Any:
    selector = _SELECTOR.match(segment)
    if isinstance(container, list) and selector:
        key, wanted = selector.groups()
        hits = [item for item in container if isinstance(item, dict) and str(item.get(key)) == wanted]
        if len(hits) != 1:
            raise ScenarioError(f"scenario {label!r}: patch path {path!r}: {len(hits)} items match {segment}")
        return hits[0]
    if isinstance(container, list) and segment.isdigit() and int(segment) < len(container):
        return container[int(segment)]
    if isinstance(container, dict) and segment in container:
        return container[segment]
    raise ScenarioError(f"scenario {label!r}: patch path {path!r}: nothing at {segment!r}")


def apply_patch_op(document: dict[str, Any], op: dict[str, Any], label: str = "?") -> None:
    """Apply one add/replace/remove; JSON Pointer segments may be [key=value] selectors."""
    path = op["path"]
    segments = [s.replace("~1", "/").replace("~0", "~") for s in path.split("/")[1:]]
    parent: Any = document
    for segment in segments[:-1]:
        parent = _step(parent, segment, label, path)
    last = segments[-1]
    kind = op["op"]
    value = copy.deepcopy(op.get("value"))
    if isinstance(parent, list):
        if kind == "add" and last == "-":
            parent.append(value)
            return
        target = _step(parent, last, label, path)
        index = next(i for i, item in enumerate(parent) if item is target)
        if kind == "remove":
            del parent[index]
        elif kind == "replace":
            parent[index] = value
        else:
            parent.insert(index, value)
        return
    if not isinstance(parent, dict):
        raise ScenarioError(f"scenario {label!r}: patch path {path!r} does not lead into an object or array")
    if kind in ("remove", "replace") and last not in parent:
        raise ScenarioError(f"scenario {label!r}: patch path {path!r}: nothing to {kind}")
    if kind == "remove":
        del parent[last]
    else:
        parent[last] = value
