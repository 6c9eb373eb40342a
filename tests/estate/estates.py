"""A small estate in the sandbox for the estate tests: the healthy scenario's environment three times over (three
targets of one app in one tenant B), and a `targets:` config for it."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from checks.sandbox.scenario import load as load_scenario
from checks.sandbox.server import Sandbox

REFS = ("prod", "test", "emea")


def three_environments() -> dict[str, Any]:
    """The healthy scenario with its environment three times over: three targets of one app in one tenant B."""
    scenario = load_scenario("healthy", dt.datetime.now(dt.UTC).replace(microsecond=0))
    first = scenario["environments"][0]
    scenario["environments"] = [{**copy.deepcopy(first), "ref": ref} for ref in REFS]
    return scenario


def estate_config(cloud: Sandbox, tmp_path: Path) -> Path:
    config = cloud.config()
    del config["dynamics"]["environment_url"]
    config["targets"] = [{"name": ref, "environment_url": cloud.environment_url(ref)} for ref in REFS]
    path = tmp_path / "estate.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


