"""The SARIF 2.1.0 report, for GitHub code scanning and other SARIF viewers: one run, one result per finding.

Mapping:
- `tool.driver.rules` are the run's checks (sorted by id), plus a rule made from the finding for any check id the
  run does not describe; a rule's level comes from its severity (critical/high -> error, medium -> warning,
  low/info -> note) and `properties.security-severity` from the same (9.0, 7.0, 5.0, 3.0, 1.0);
- statuses -> `kind`/`level`: fail -> fail/<the severity's level>; warn -> fail/warning; error -> review/none (the
  message says xtcheck could not decide); skip -> notApplicable/none; pass -> pass/none. SARIF 2.1.0 (3.27.10) says
  a result whose kind is not "fail" has level "none", so an error is a "review" result, not a warning;
- nothing here is a file: each result names its subject as a logical location (a tenant, the app, its service
  principal in tenant B, the environment, the profile, a mailbox), and `run.logicalLocations` lists them with
  their parents;
- `partialFingerprints["xtcheckFinding/v1"]` hashes the check id and the subject, so a viewer can follow one finding
  across runs;
- the mailboxes a check passed are one pass result under the profile they hang on, the subjects in its properties
  (not one result per mailbox: a viewer of 500,000 passes helps nobody);
- an applied waiver is a suppression (external, accepted, the reason as justification); an expired or lapsed one
  is not, and shows only in the result's properties;
- `automationDetails.id` is "xtcheck/<environment host>/" (GitHub's analysis category: one per environment).

GitHub code scanning ingests only part of SARIF: it rejects a file whose results have no physical location, treats
every result as an alert whatever its kind, and ignores suppressions. `artifact_uri` (the config file's path in the
repository, say) gives every result that physical location; `problems_only` keeps only what needs a person: fail,
warn and error findings that no applied waiver covers. Both are off by default.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from ..findings import Digest, Passed, as_digest, jsonable, ordered
from ..gate import verdict
from ..model import CheckSpec, Finding, GateDecision, Remediation, Run, RunIds, Severity, Status
from ..text import json_visible
from .common import gate_of, run_identity
from .mdtext import fence, inline, paragraph
from .sarif_places import Place, Places, host, logical_location

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT = "xtcheckFinding/v1"

LEVELS: dict[Severity, str] = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
                               Severity.LOW: "note", Severity.INFO: "note"}
SECURITY_SEVERITY: dict[Severity, str] = {Severity.CRITICAL: "9.0", Severity.HIGH: "7.0", Severity.MEDIUM: "5.0",
                                          Severity.LOW: "3.0", Severity.INFO: "1.0"}
KINDS: dict[Status, str] = {Status.FAIL: "fail", Status.WARN: "fail", Status.ERROR: "review",
                            Status.SKIP: "notApplicable", Status.PASS: "pass"}
PROBLEMS = frozenset({Status.FAIL, Status.WARN, Status.ERROR})

# Remediation in the rules' help is the check's own, with the ids a run would fill in shown as placeholders.
PLACEHOLDERS = RunIds(client_id="<client-id>", exchange_tenant="<tenant-B-id>", dynamics_tenant="<tenant-A-id>",
                      home_tenant="<app-home-tenant-id>", environment_url="<environment-url>",
                      login_host="https://login.microsoftonline.com", graph_host="https://graph.microsoft.com",
                      portal_host="https://entra.microsoft.com", profile="<profile>")
_WORD = re.compile(r"[A-Za-z0-9]+")


def render_sarif(findings: Digest | Iterable[Finding], run: Run, stream: TextIO, *, artifact_uri: str | None = None,
                 problems_only: bool = False) -> None:
    """Write the findings as one SARIF 2.1.0 log (indent 2, UTF-8 text, deterministic for the same input)."""
    log = sarif_log(findings, run, artifact_uri=artifact_uri, problems_only=problems_only)
    stream.write(json_visible(json.dumps(log, indent=2, ensure_ascii=False)))
    stream.write("\n")


def sarif_log(findings: Digest | Iterable[Finding], run: Run, *, artifact_uri: str | None = None,
              problems_only: bool = False) -> dict[str, Any]:
    """The SARIF log as plain data."""
    report = as_digest(findings)
    reported = ordered(f for f in report.full if not problems_only or (f.status in PROBLEMS and not f.waived))
    groups = [] if problems_only else [report.passed[check_id] for check_id in sorted(report.passed)]
    rules = _rules({spec.id: spec for spec in run.checks}, [*reported, *(_stand_in(g) for g in groups)])
    rule_index = {rule["id"]: index for index, rule in enumerate(rules)}
    places = Places(run)
    chains = [places.chain(finding) for finding in reported]
    group_chains = [places.chain(_stand_in(group)) for group in groups]
    locations = places.table()
    position = {place.fqn: index for index, place in enumerate(locations)}
    results = [_result(finding, rule_index[finding.check_id], chain[-1], position, artifact_uri)
               for finding, chain in zip(reported, chains, strict=True)]
    results.extend(_passing(group, rule_index[group.check_id], chain[-1], position, artifact_uri)
                   for group, chain in zip(groups, group_chains, strict=True))
    sarif_run: dict[str, Any] = {
        "tool": {"driver": {"name": "xtcheck", "version": run.tool_version, "rules": rules}},
        "automationDetails": {"id": automation_id(run)},
        "invocations": [_invocation(run, gate_of(report, run))],
        "logicalLocations": [logical_location(place, position) for place in locations],
        "results": results,
        "properties": _run_properties(report, run),
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [sarif_run]}


def automation_id(run: Run) -> str:
    """GitHub's analysis category: "xtcheck/contoso.crm4.dynamics.com/" (the trailing slash: one id per run)."""
    name = host(run.environment_url)
    return f"xtcheck/{name}/" if name else "xtcheck/"


def fingerprint(finding: Finding, subject: str | None = None) -> str:
    """A stable hash of the check id and the subject (case-insensitive, as findings are sorted)."""
    key = f"{finding.check_id}\n{(finding.subject if subject is None else subject).lower()}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def rule_name(spec: CheckSpec) -> str:
    """PascalCase from the check function's name ("client_secret_is_valid" -> "ClientSecretIsValid")."""
    return _pascal(getattr(spec.func, "__name__", "") or spec.title) or spec.id.replace("-", "")


def _pascal(text: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in _WORD.findall(text))


def unwrap(text: str) -> list[str]:
    """A docstring's paragraphs, each on one line (rationale is hard-wrapped in the source)."""
    return [" ".join(line.strip() for line in block.splitlines()) for block in re.split(r"\n\s*\n", text.strip())
            if block.strip()]


# -- rules ------------------------------------------------------------------------------------------------------


def _rules(catalog: Mapping[str, CheckSpec], findings: Iterable[Finding]) -> list[dict[str, Any]]:
    rules = {check_id: _rule(spec) for check_id, spec in catalog.items()}
    for finding in findings:
        if finding.check_id not in rules:  # a check the catalog does not know: described from its finding
            rules[finding.check_id] = _unknown_rule(finding)
    return [rules[check_id] for check_id in sorted(rules)]


@functools.cache
def _rule(spec: CheckSpec) -> dict[str, Any]:
    """A check's rule, made once per run of the command (an estate's 500 runs share them; nothing changes one)."""
    rule: dict[str, Any] = {
        "id": spec.id,
        "name": rule_name(spec),
        "shortDescription": {"text": spec.title},
        "fullDescription": {"text": "\n\n".join(unwrap(spec.rationale)) or spec.title},
        "help": _help(spec),
    }
    if spec.references:
        rule["helpUri"] = spec.references[0]
    rule["defaultConfiguration"] = {"level": LEVELS[spec.severity]}
    rule["properties"] = _rule_properties(spec.area, spec.severity)
    return rule


def _unknown_rule(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.check_id,
        "name": _pascal(finding.title) or finding.check_id.replace("-", ""),
        "shortDescription": {"text": finding.title or finding.check_id},
        "defaultConfiguration": {"level": LEVELS[finding.severity]},
        "properties": _rule_properties(finding.area, finding.severity),
    }


def _rule_properties(area: str, severity: Severity) -> dict[str, Any]:
    return {"tags": [area, "security"], "security-severity": SECURITY_SEVERITY[severity],
            "severity": severity.value}


def _static_remedy(spec: CheckSpec) -> Remediation | None:
    try:
        return spec.fix(PLACEHOLDERS, {})
    except Exception:  # a remedy that needs a real finding's evidence: the help goes without it
        return None


def _help(spec: CheckSpec) -> dict[str, str]:
    remedy = _static_remedy(spec)
    permissions = [f"{p.service} {p.name} in {p.where}" for p in spec.permissions]
    rationale = unwrap(spec.rationale) or [spec.title]
    text = [spec.title, "", "\n\n".join(rationale)]
    markdown = [f"**{inline(spec.title)}**", *(paragraph(block) for block in rationale)]
    if remedy is not None:
        text.extend(["", f"How to fix (ids as <placeholders>; each result carries its run's own): {remedy.summary}"])
        text.extend(f"  {n}. {step}" for n, step in enumerate(remedy.steps, start=1))
        text.extend(f"  {command}" for command in remedy.commands)
        markdown.append(f"**How to fix** (ids as placeholders; each result carries its run's own): "
                        f"{inline(remedy.summary)}")
        if remedy.steps:
            markdown.append("\n".join(f"{n}. {paragraph(step)}" for n, step in enumerate(remedy.steps, start=1)))
        markdown.extend(fence(command) for command in remedy.commands)
    if permissions:
        text.extend(["", f"xtcheck reads this with: {'; '.join(permissions)}"])
        markdown.append(f"**xtcheck reads this with:** {inline('; '.join(permissions))}")
    if spec.references:
        text.extend(["", "References:", *(f"  {link}" for link in spec.references)])
        markdown.append("**References**\n\n" + "\n".join(f"- <{link}>" for link in spec.references))
    return {"text": "\n".join(text), "markdown": "\n\n".join(markdown)}


# -- results ----------------------------------------------------------------------------------------------------


def _level(finding: Finding) -> str:
    if finding.status is Status.FAIL:
        return LEVELS[finding.severity]
    return "warning" if finding.status is Status.WARN else "none"


def _message(finding: Finding) -> str:
    text = finding.message.strip() or finding.title
    if finding.status is Status.ERROR:
        text = f"xtcheck could not decide: {text}"
    if finding.blocked_by:
        text = f"{_sentence(text)} Blocked by {finding.blocked_by}."
    if finding.remediation is not None and finding.status is not Status.PASS:
        text = f"{_sentence(text)} Fix: {finding.remediation.summary}"
    return text


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _location(place: Place, position: Mapping[str, int], artifact_uri: str | None) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if artifact_uri:
        location["physicalLocation"] = {"artifactLocation": {"uri": artifact_uri}}
    location["logicalLocations"] = [{"index": position[place.fqn], **logical_location(place, position)}]
    return location


def _stand_in(group: Passed) -> Finding:
    """A check's passing mailboxes as one finding about them all (where it sits: the profile they hang on)."""
    return Finding(group.check_id, group.title, group.severity, Status.PASS, "mailboxes",
                   f"{len(group):,} passed: {group.title}")


def _passing(group: Passed, rule_index: int, place: Place, position: Mapping[str, int],
             artifact_uri: str | None) -> dict[str, Any]:
    subjects = group.subjects
    return {
        "ruleId": group.check_id,
        "ruleIndex": rule_index,
        "kind": "pass",
        "level": "none",
        "message": {"text": f"{len(subjects):,} passed: {group.title}"},
        "locations": [_location(place, position, artifact_uri)],
        "partialFingerprints": {FINGERPRINT: fingerprint(_stand_in(group), subject="passing subjects")},
        "properties": {"severity": group.severity.value, "status": "pass", "subject": "mailboxes",
                       "count": len(subjects), "subjects": subjects},
    }


def _result(finding: Finding, rule_index: int, place: Place, position: Mapping[str, int],
            artifact_uri: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.check_id,
        "ruleIndex": rule_index,
        "kind": KINDS[finding.status],
        "level": _level(finding),
        "message": {"text": _message(finding)},
        "locations": [_location(place, position, artifact_uri)],
        "partialFingerprints": {FINGERPRINT: fingerprint(finding)},
    }
    if finding.waived and finding.waiver is not None:
        waiver = finding.waiver
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": waiver.reason,
                                   "properties": {"owner": waiver.owner, "expires": waiver.expires}}]
    result["properties"] = {
        "severity": finding.severity.value,
        "status": finding.status.value,
        "subject": finding.subject,
        "evidence": jsonable(finding.evidence),
        "blocked_by": finding.blocked_by,
        "remediation": None if finding.remediation is None else finding.remediation.as_dict(),
        "waiver": None if finding.waiver is None else {"state": finding.waiver.state, "reason": finding.waiver.reason,
                                                       "owner": finding.waiver.owner,
                                                       "expires": finding.waiver.expires},
    }
    return result


# -- run metadata -----------------------------------------------------------------------------------------------


def _invocation(run: Run, gate: GateDecision) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": True, "exitCode": gate.exit_code,
                                  "exitCodeDescription": gate.reason}
    if run.started:
        invocation["startTimeUtc"] = run.started
    if run.finished:
        invocation["endTimeUtc"] = run.finished
    attestation = run.attestation
    invocation["properties"] = {
        "completeness": list(run.completeness),
        "attestation": {
            "requests": dict(sorted(attestation.requests.items())),
            "writes_attempted": attestation.writes_attempted,
            "token_roles": {key: sorted(roles) for key, roles in sorted(attestation.token_roles.items())},
            "live_probe": {key: sorted(roles) for key, roles in sorted(attestation.live_probe.items())},
        },
    }
    return invocation


def _run_properties(report: Digest, run: Run) -> dict[str, Any]:
    waived = [f for f in report.full if f.waived]  # an applied waiver takes a finding out of the gate
    counts = dict(report.counts)
    for finding in waived:
        counts[finding.status] -= 1
    return {
        **run_identity(run),
        "names": jsonable(run.names),
        "checks": run.check_ids,
        "verdict": verdict(report.full).value,
        "counts": {status.value: counts[status] for status in Status},
        "waived": len(waived),
        "gate": gate_of(report, run).reason,
    }
