"""An estate of listed targets (`targets:`), through real msal, httpx and TLS against the sandbox: each target judged
exactly as its own single-target audit judges it, and the reads they share made once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import yaml
from estates import REFS, estate_config, three_environments

from checks.audit import audit
from checks.config import load_any
from checks.estate import audit_estate
from checks.model import Finding
from checks.sandbox.server import Sandbox
from checks.settings import EstateSettings, RunOptions, Settings


def verdicts(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return sorted((f.check_id, f.subject, f.status.value) for f in findings)


def graph_reads(cloud: Sandbox) -> Counter[str]:
    return Counter(e.path for e in cloud.log.entries("graph"))


def token_requests(cloud: Sandbox) -> int:
    return sum(1 for e in cloud.log.entries("login") if e.method == "POST" and e.path.endswith("/token"))


def test_targets_share_sign_ins_and_graph_reads_and_keep_their_own_findings(
        start_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    cloud = start_sandbox(three_environments())
    loaded = load_any(estate_config(cloud, tmp_path), RunOptions(), {})
    assert isinstance(loaded, EstateSettings) and len(loaded.targets) == 3

    estate = audit_estate(loaded, timeout=60)
    estate_graph, estate_logins = graph_reads(cloud), token_requests(cloud)
    dataverse = {ref: len(cloud.log.entries(f"dataverse:{ref}")) for ref in REFS}

    assert [t.target.name for t in estate.targets] == list(REFS)
    assert estate.unreadable == []
    cloud.log.clear()
    single: Settings = loaded.settings_for(loaded.targets[0])
    alone = audit(single, timeout=60)
    for item in estate.targets:  # the same environment three times: the same verdicts as one audit of it
        assert verdicts(item.findings) == verdicts(alone.findings)
        assert item.run.environment_url == cloud.environment_url(item.target.name)
    # Graph is read once for the three targets, as for one; each environment's Dataverse is read for its target
    assert estate_graph == graph_reads(cloud)
    # one sign-in per identity and resource: each environment is a resource of its own, the rest are shared
    assert estate_logins == token_requests(cloud) + len(REFS) - 1
    single_dataverse = len(cloud.log.entries(f"dataverse:{REFS[0]}"))
    assert all(count == single_dataverse for count in dataverse.values()), dataverse


def test_a_failing_and_a_stalled_target_never_change_the_others_findings(
        start_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    cloud = start_sandbox(three_environments())
    path = estate_config(cloud, tmp_path)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["http"] = {"request_timeout": 2, "retries": 1}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    loaded = load_any(path, RunOptions(), {})
    assert isinstance(loaded, EstateSettings)
    calm = {t.target.name: verdicts(t.findings) for t in audit_estate(loaded, timeout=60).targets}

    cloud.add_fault("status", service="dataverse:test", status=500, count=None)
    cloud.add_fault("stall", service="dataverse:emea", path="/mailboxes", delay=8, count=None)
    stormy = {t.target.name: t for t in audit_estate(loaded, timeout=60).targets}

    assert verdicts(stormy["prod"].findings) == calm["prod"]
    for name in ("test", "emea"):  # what could not be read is an error there, never a pass, never elsewhere
        statuses = {(f.check_id, f.subject): f.status.value for f in stormy[name].findings}
        assert "error" in statuses.values()
        assert verdicts(stormy[name].findings) != calm[name]
        assert all(status in ("error", "skip") or (check, subject, status) in calm[name]
                   for (check, subject), status in statuses.items())
