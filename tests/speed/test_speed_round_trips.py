"""No avoidable dependent round trips: a read that need not wait for another is not held back by it, and what it
returns is what the waiting read would have returned. Behaviour only: which requests were sent, with what filter,
and whether one arrived before another was answered (a slow answer is made slower on purpose); no assertion is
about elapsed time."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from checks.audit import audit
from checks.config import load
from checks.model import AuditResult, Status
from checks.sandbox.requestlog import LogEntry
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions

StartSandbox = Callable[..., Sandbox]
CROSS = "3f6e2d1c-0b9a-4c8d-a7e6-5f4e3d2c1b0a"  # the healthy scenario's cross-tenant profile
SAME = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d"  # its same-tenant profile (Hans and the forward mailbox)
NAME = "Exchange Online cross-tenant (Contoso)"
ON_CROSS = {f"6c1d2e3f-4a5b-4c6d-8e7f-00000000000{i}" for i in range(1, 7)}
IN_SCOPE = "and statecode eq 0 and isforwardmailbox eq false"
SLOW = 1.0  # seconds added to every profile read, so "asked before the profiles were answered" cannot be chance


def variant(tmp_path: Path, *patch: dict[str, Any]) -> str:
    path = tmp_path / "variant.json"
    path.write_text(json.dumps({"name": "variant", "summary": "test variant", "extends": "healthy",
                                "patch": list(patch)}), encoding="utf-8")
    return str(path)


def configured(profile: str) -> dict[str, Any]:
    return {"op": "add", "path": "/audit/profile", "value": profile}


def renamed(profile_id: str, name: str) -> dict[str, Any]:
    return {"op": "replace", "path": f"/environments/0/emailserverprofiles/[emailserverprofileid={profile_id}]/name",
            "value": name}


def audited(cloud: Sandbox, *, slow_profiles: bool = True) -> AuditResult:
    if slow_profiles:
        cloud.add_fault("latency", path="/emailserverprofiles", delay=SLOW, count=None, standing=True)
    return audit(load(cloud.write_config(), RunOptions(), {}))


def requests(cloud: Sandbox, suffix: str) -> list[LogEntry]:
    return sorted((e for e in cloud.log.entries() if e.path.endswith(suffix)), key=lambda e: e.started)


def filter_of(entry: LogEntry) -> str:
    return parse_qs(urlsplit(entry.target).query)["$filter"][0]


def answered(entry: LogEntry) -> float:
    return entry.started + entry.duration_ms / 1000


def row_ids(result: AuditResult) -> set[str]:
    return {row["mailboxid"] for row in result.evidence["mailboxes"]["rows"]}


def mailbox_verdicts(result: AuditResult) -> set[Status]:
    return {f.status for f in result.findings if f.check_id.startswith("MBX")}


def test_a_profile_named_in_the_config_does_not_hold_back_the_mailbox_query(start_sandbox: StartSandbox,
                                                                           tmp_path: Path) -> None:
    cloud = start_sandbox(variant(tmp_path, configured(NAME)))
    result = audited(cloud)
    [profiles] = requests(cloud, "/emailserverprofiles")
    [query] = requests(cloud, "/mailboxes")
    assert filter_of(query) == f"emailserverprofile/name eq '{NAME}' {IN_SCOPE}"
    assert query.started < answered(profiles)  # asked while the profiles were still being read
    assert {f.status for f in result.findings} == {Status.PASS}
    assert row_ids(result) == ON_CROSS
    assert f"checked 6 of 6 active mailboxes on profile {NAME}, all pages read (1 page)" in result.run.completeness


def test_a_profile_named_by_its_id_is_queried_by_that_id_at_once(start_sandbox: StartSandbox,
                                                                 tmp_path: Path) -> None:
    cloud = start_sandbox(variant(tmp_path, configured(CROSS.upper())))
    result = audited(cloud)
    [profiles] = requests(cloud, "/emailserverprofiles")
    [query] = requests(cloud, "/mailboxes")
    assert filter_of(query) == f"_emailserverprofile_value eq {CROSS} {IN_SCOPE}"
    assert query.started < answered(profiles)
    assert row_ids(result) == ON_CROSS and mailbox_verdicts(result) == {Status.PASS}


def test_mailboxes_of_another_profile_whose_name_sql_finds_equal_are_left_out(start_sandbox: StartSandbox,
                                                                             tmp_path: Path) -> None:
    """Dataverse ignores trailing blanks: the name filter also returns Hans, whose profile is named NAME + " ".
    Our own match tells the two profiles apart, and only the selected profile's rows are kept."""
    cloud = start_sandbox(variant(tmp_path, configured(NAME), renamed(SAME, f"{NAME} ")))
    result = audited(cloud, slow_profiles=False)
    [query] = requests(cloud, "/mailboxes")
    assert filter_of(query).startswith("emailserverprofile/name eq ")
    assert row_ids(result) == ON_CROSS
    assert result.evidence["mailboxes"]["profile"] == {"id": CROSS, "name": NAME}
    assert f"checked 6 of 6 active mailboxes on profile {NAME}, all pages read (1 page)" in result.run.completeness


def test_a_name_spelt_otherwise_than_stored_is_queried_again_by_the_profile_id(start_sandbox: StartSandbox,
                                                                                tmp_path: Path) -> None:
    """Our match ignores case; a collation may not (Turkish_CI_AI does not equate i and I), so rows the name filter
    could have missed are read again by id, once the profile is known."""
    cloud = start_sandbox(variant(tmp_path, configured(f"  {NAME.upper()} ")))
    result = audited(cloud)
    [profiles] = requests(cloud, "/emailserverprofiles")
    early, by_id = requests(cloud, "/mailboxes")
    assert filter_of(early) == f"emailserverprofile/name eq '{NAME.upper()}' {IN_SCOPE}"
    assert filter_of(by_id) == f"_emailserverprofile_value eq {CROSS} {IN_SCOPE}"
    assert by_id.started >= answered(profiles)
    assert row_ids(result) == ON_CROSS and mailbox_verdicts(result) == {Status.PASS}


def test_a_guid_that_names_a_profile_is_queried_again_by_that_profile_id(start_sandbox: StartSandbox,
                                                                         tmp_path: Path) -> None:
    name = "0f0f0f0f-1111-4222-8333-444455556666"  # no profile has this id; the cross-tenant one has it as name
    cloud = start_sandbox(variant(tmp_path, configured(name), renamed(CROSS, name)))
    result = audited(cloud, slow_profiles=False)
    early, by_id = requests(cloud, "/mailboxes")
    assert filter_of(early) == f"_emailserverprofile_value eq {name} {IN_SCOPE}"
    assert filter_of(by_id) == f"_emailserverprofile_value eq {CROSS} {IN_SCOPE}"
    assert row_ids(result) == ON_CROSS and mailbox_verdicts(result) == {Status.PASS}


def test_a_name_beyond_ascii_waits_for_the_profile(start_sandbox: StartSandbox, tmp_path: Path) -> None:
    """Python's case folding and the environment's collation may disagree outside ASCII: query by id only."""
    name = "Exchange Online grenzübergreifend (Contoso)"
    cloud = start_sandbox(variant(tmp_path, configured(name), renamed(CROSS, name)))
    result = audited(cloud)
    [profiles] = requests(cloud, "/emailserverprofiles")
    [query] = requests(cloud, "/mailboxes")
    assert filter_of(query) == f"_emailserverprofile_value eq {CROSS} {IN_SCOPE}"
    assert query.started >= answered(profiles)
    assert row_ids(result) == ON_CROSS and mailbox_verdicts(result) == {Status.PASS}


def test_a_name_no_profile_has_reads_no_mailbox_rows(start_sandbox: StartSandbox, tmp_path: Path) -> None:
    cloud = start_sandbox(variant(tmp_path, configured("Exchange Online cross-tenant (Tailspin)")))
    result = audited(cloud, slow_profiles=False)
    assert result.evidence["mailboxes"] == {"scope": "all", "profile": None, "rows": [], "pages": 0, "missing": []}
    assert {f.status for f in result.findings if f.check_id == "PRF-001"} == {Status.FAIL}
    assert Status.PASS not in mailbox_verdicts(result)


def test_listed_addresses_are_queried_without_waiting_for_the_profile(start_sandbox: StartSandbox,
                                                                      tmp_path: Path) -> None:
    listed = ["alice.moreau@contoso.com", "nobody@contoso.com"]
    cloud = start_sandbox(variant(tmp_path, configured(NAME),
                                  {"op": "replace", "path": "/audit/mailboxes", "value": listed}))
    result = audited(cloud)
    [profiles] = requests(cloud, "/emailserverprofiles")
    [query] = requests(cloud, "/mailboxes")
    assert query.started < answered(profiles)
    mailboxes = result.evidence["mailboxes"]
    assert mailboxes["profile"] == {"id": CROSS, "name": NAME} and mailboxes["missing"] == ["nobody@contoso.com"]
    assert [row["emailaddress"] for row in mailboxes["rows"]] == ["alice.moreau@contoso.com"]


def test_one_by_one_the_findings_are_the_same(start_sandbox: StartSandbox, tmp_path: Path) -> None:
    cloud = start_sandbox(variant(tmp_path, configured(NAME), renamed(SAME, f"{NAME} ")))
    settings = load(cloud.write_config(), RunOptions(), {})
    together, alone = audit(settings), audit(settings, readers=0)
    assert [(f.check_id, f.subject, f.status) for f in together.findings] == \
        [(f.check_id, f.subject, f.status) for f in alone.findings]
    assert row_ids(alone) == ON_CROSS
