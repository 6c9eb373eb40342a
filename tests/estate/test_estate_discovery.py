"""Discovery through the CLI and the wire: tenant A's environments listed through the Power Platform admin API,
reads that do not depend on the environment made once however many targets there are, and a reader the admin API
refuses told what to do."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import schemas
from checks.cli import main
from checks.config import load_any
from checks.estate import audit_estate
from checks.sandbox.estate import FIXED, environment_ref, estate_scenario
from checks.sandbox.server import Sandbox
from checks.settings import EstateSettings, RunOptions


def services(cloud: Sandbox) -> Counter[str]:
    return Counter("dataverse" if e.service.startswith("dataverse:") else e.service for e in cloud.log.entries())


def test_requests_grow_with_the_targets_not_with_targets_times_shared_reads(
        start_sandbox: Callable[..., Sandbox]) -> None:
    counts, targets = {}, {}
    for size in (16, 40):  # every kind of environment is in both; 40 adds 24 more targets of the same apps
        cloud = start_sandbox(environments=size)
        settings = load_any(cloud.write_config(), RunOptions(), os.environ)
        assert isinstance(settings, EstateSettings)
        result = audit_estate(settings, timeout=120)
        counts[size], targets[size] = services(cloud), len(result.targets)
    assert targets[40] > targets[16] + 20
    assert counts[40]["graph"] == counts[16]["graph"]  # each tenant B and app read once, whatever the targets
    assert counts[40]["login"] - counts[16]["login"] == targets[40] - targets[16]  # a sign-in per new environment
    per_target = {size: counts[size]["dataverse"] / targets[size] for size in (16, 40)}
    assert abs(per_target[40] - per_target[16]) < 1.0, per_target  # Dataverse: the same few reads per target


def test_an_environment_with_two_targets_reads_what_is_the_environments_once(
        start_sandbox: Callable[..., Sandbox]) -> None:
    cloud = start_sandbox(environments=14)
    settings = load_any(cloud.write_config(), RunOptions(), os.environ)
    assert isinstance(settings, EstateSettings)
    result = audit_estate(settings, timeout=120)
    ref = environment_ref(FIXED.index("two-profiles"))
    assert sum(1 for t in result.targets if t.target.environment_url == cloud.environment_url(ref)) == 2
    reads = Counter(e.path.rsplit("/", 1)[-1] for e in cloud.log.entries(f"dataverse:{ref}"))
    assert (reads["emailserverprofiles"], reads["organizations"], reads["tracelogs"], reads["mailboxes"]) == \
        (1, 1, 1, 2), reads  # the mailboxes are each profile's


def test_the_estate_report_counts_what_discovery_could_not_audit(start_sandbox: Callable[..., Sandbox],
                                                                 tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cloud = start_sandbox(environments=16)
    code = main(["audit", "--config", str(cloud.write_config()), "--format", "json", "-o", str(tmp_path), "-q",
                 "--color", "never"])
    out = capsys.readouterr().out
    assert code == 1  # failing targets win over the environment that could not be read
    document = json.loads((tmp_path / "xtcheck-report.json").read_text(encoding="utf-8"))
    schemas.validator("estate-report").validate(document)
    [unreadable] = document["estate"]["unreadable"]
    assert "application user" in unreadable["fix"] and "403" in unreadable["reason"]
    listing = next(line for line in document["estate"]["completeness"] if line.startswith("listed 16 environments"))
    assert "1 the reader cannot read" in listing and "1 without Dataverse" in listing
    assert "1 environment could not be audited" in out


def test_a_reader_the_admin_api_refuses_gets_one_line_naming_the_registration(
        start_sandbox: Callable[..., Sandbox], capsys: pytest.CaptureFixture[str]) -> None:
    cloud = start_sandbox(estate_scenario(14, reader_registered=False, now=dt.datetime.now(dt.UTC)))
    code = main(["audit", "--config", str(cloud.write_config(estate=True)), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 3 and len(err.splitlines()) == 1
    assert "pac admin application register" in err and "targets:" in err
