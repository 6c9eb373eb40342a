"""Scenario files: extends, patch, relative times and clear errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from checks.sandbox.scenario import ScenarioError, apply_patch_op, load, load_raw, resolve_times

NOW = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC)


def write(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / f"{data['name']}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_relative_times_resolve_against_now() -> None:
    resolved = resolve_times({"a": "+300d", "b": ["-3d", "-2h", "+30m", "now"], "c": "2026-01-01T00:00:00Z",
                              "d": "+3 days"}, NOW)
    assert resolved == {"a": "2027-09-22T12:00:00Z",
                        "b": ["2026-11-23T12:00:00Z", "2026-11-26T10:00:00Z", "2026-11-26T12:30:00Z",
                              "2026-11-26T12:00:00Z"],
                        "c": "2026-01-01T00:00:00Z", "d": "+3 days"}


def test_healthy_loads_with_every_time_absolute() -> None:
    scenario = load("healthy", NOW)
    secret = scenario["applications"][0]["passwordCredentials"][1]
    assert secret["endDateTime"] == "2027-09-22T12:00:00Z"


def test_extends_and_patch_with_selectors(tmp_path: Path) -> None:
    path = write(tmp_path, {"name": "child", "summary": "patched", "extends": "healthy", "patch": [
        {"op": "replace", "path": "/applications/[ref=sync-app]/signInAudience", "value": "AzureADMyOrg"},
        {"op": "remove", "path": "/appRoleAssignments/[appRole=full_access_as_app]"},
        {"op": "add", "path": "/tenants/[ref=B]/domains/-", "value": {"id": "new.example"}},
    ], "expect": {"APP-002": "fail"}})
    scenario = load_raw(path)
    assert scenario["name"] == "child" and scenario["expect"] == {"APP-002": "fail"}
    assert scenario["applications"][0]["signInAudience"] == "AzureADMyOrg"
    assert all(a["appRole"] != "full_access_as_app" for a in scenario["appRoleAssignments"])
    assert scenario["tenants"][1]["domains"][-1] == {"id": "new.example"}
    assert "extends" not in scenario and "patch" not in scenario


@pytest.mark.parametrize(("op", "message"), [
    ({"op": "replace", "path": "/applications/[ref=nope]/signInAudience", "value": "x"}, "0 items match"),
    ({"op": "remove", "path": "/tenants/[ref=B]/nothere"}, "nothing to remove"),
    ({"op": "add", "path": "/tenants/[ref=B]/id/x", "value": 1}, "does not lead into"),
])
def test_a_patch_that_misses_says_where(op: dict[str, Any], message: str) -> None:
    document = {"applications": [{"ref": "a"}], "tenants": [{"ref": "B", "id": "x"}]}
    with pytest.raises(ScenarioError, match=message):
        apply_patch_op(document, op)


def test_a_patch_that_breaks_the_schema_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, {"name": "bad", "summary": "bad", "extends": "healthy", "patch": [
        {"op": "replace", "path": "/applications/[ref=sync-app]/signInAudience", "value": "Everyone"}]})
    with pytest.raises(ScenarioError, match="applications/0/signInAudience"):
        load_raw(path)


def test_unknown_scenario_names_the_known_ones() -> None:
    with pytest.raises(ScenarioError, match=r"no scenario named 'nope'; built-in scenarios: .*healthy"):
        load_raw("nope")


def test_invalid_json_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load_raw(str(path))


def test_an_extends_loop_is_stopped(tmp_path: Path) -> None:
    path = tmp_path / "loop.json"
    path.write_text(json.dumps({"name": "loop", "summary": "x", "extends": "loop"}), encoding="utf-8")
    # A built-in name resolves first; a self-reference through a path cannot, so use the name form.
    with pytest.raises(ScenarioError):
        load_raw(str(path))
