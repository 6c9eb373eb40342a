"""The SARIF 2.1.0 report, for GitHub code scanning and other SARIF viewers: one run, one result per finding.

Mapping:
- `tool.driver.rules` is the whole catalog (sorted by id), plus a rule made from the finding for any check id the
  catalog does not know; a rule's level comes from its severity (critical/high -> error, medium -> warning,
  low/info -> note) and `properties.security-severity` from the same (9.0, 7.0, 5.0, 3.0, 1.0);
- statuses -> `kind`/`level`: fail -> fail/<the severity's level>; warn -> fail/warning; error -> review/none (the
  message says xtcheck could not decide); skip -> notApplicable/none; pass -> pass/none. SARIF 2.1.0 (3.27.10) says
  a result whose kind is not "fail" has level "none", so an error is a "review" result, not a warning;
- nothing here is a file: each result names its subject as a logical location (a tenant, the app, its service
  principal in tenant B, the environment, the profile, a mailbox), and `run.logicalLocations` lists them with
  their parents;
- `partialFingerprints["xtcheckFinding/v1"]` hashes the check id and the subject, so a viewer can follow one finding
  across runs;
- an applied waiver is a suppression (external, accepted, the reason as justification); an expired or lapsed one
  is not, and shows only in the result's properties;
- `automationDetails.id` is "xtcheck/<environment host>/" (GitHub's analysis category: one per environment).

GitHub code scanning ingests only part of SARIF: it rejects a file whose results have no physical location, treats
every result as an alert whatever its kind, and ignores suppressions. `artifact_uri` (the config file's path in the
repository, say) gives every result that physical location; `problems_only` keeps only what needs a person: fail,
warn and error findings that no applied waiver covers. Both are off by default.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

from .. import registry
from ..model import CheckSpec, Finding, Remediation, Run, RunIds, Severity, Status, summarize, verdict
from .jsonreport import jsonable, ordered, run_identity
from .markdown import fence, inline, paragraph
from .text import json_visible

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
_SERVICE_PRINCIPAL_AREAS = frozenset({"EXO", "GRA", "EWS"})
_WORD = re.compile(r"[A-Za-z0-9]+")


def render_sarif(findings: Sequence[Finding], run: Run, stream: TextIO, *, artifact_uri: str | None = None,
                 problems_only: bool = False) -> None:
    """Write the findings as one SARIF 2.1.0 log (indent 2, UTF-8 text, deterministic for the same input)."""
    log = sarif_log(findings, run, artifact_uri=artifact_uri, problems_only=problems_only)
    stream.write(json_visible(json.dumps(log, indent=2, ensure_ascii=False)))
    stream.write("\n")


def sarif_log(findings: Sequence[Finding], run: Run, *, artifact_uri: str | None = None,
              problems_only: bool = False) -> dict[str, Any]:
    """The SARIF log as plain data."""
    catalog, _ = registry.load()
    reported = [f for f in ordered(findings) if not problems_only or (f.status in PROBLEMS and not f.waived)]
    rules = _rules(catalog, reported)
    rule_index = {rule["id"]: index for index, rule in enumerate(rules)}
    places = _Places(run)
    chains = [places.chain(finding) for finding in reported]
    locations = places.table()
    position = {place.fqn: index for index, place in enumerate(locations)}
    results = [_result(finding, rule_index[finding.check_id], chain[-1], position, artifact_uri)
               for finding, chain in zip(reported, chains, strict=True)]
    sarif_run: dict[str, Any] = {
        "tool": {"driver": {"name": "xtcheck", "version": run.tool_version, "rules": rules}},
        "automationDetails": {"id": automation_id(run)},
        "invocations": [_invocation(run)],
        "logicalLocations": [_logical_location(place, position) for place in locations],
        "results": results,
        "properties": _run_properties(findings, run),
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [sarif_run]}


def automation_id(run: Run) -> str:
    """GitHub's analysis category: "xtcheck/contoso.crm4.dynamics.com/" (the trailing slash: one id per run)."""
    host = _host(run.environment_url)
    return f"xtcheck/{host}/" if host else "xtcheck/"


def fingerprint(finding: Finding) -> str:
    """A stable hash of the check id and the subject (case-insensitive, as findings are sorted)."""
    key = f"{finding.check_id}\n{finding.subject.lower()}"
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


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return host or url.strip().strip("/")


# -- rules ------------------------------------------------------------------------------------------------------


def _rules(catalog: Mapping[str, CheckSpec], findings: Iterable[Finding]) -> list[dict[str, Any]]:
    rules = {check_id: _rule(spec) for check_id, spec in catalog.items()}
    for finding in findings:
        if finding.check_id not in rules:  # a check the catalog does not know: described from its finding
            rules[finding.check_id] = _unknown_rule(finding)
    return [rules[check_id] for check_id in sorted(rules)]


def _rule(spec: CheckSpec) -> dict[str, Any]:
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
        return spec.remedy(PLACEHOLDERS)
    except Exception:  # a remedy that needs a real run's ids: the help goes without it
        return None


def _help(spec: CheckSpec) -> dict[str, str]:
    remedy = _static_remedy(spec)
    permissions = [f"{p.service} {p.name} in {p.where}" for p in registry.permissions_of(spec)]
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


# -- logical locations ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    fqn: str
    name: str
    kind: str
    parent: str | None = None


class _Places:
    """Where each finding is, as a chain of logical locations from its root; remembers every place it hands out."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.seen: dict[str, _Place] = {}
        host = _host(run.environment_url) or "environment"
        self.tenant_a = _Place("tenantA", run.dynamics_tenant or "tenant A", "tenant")
        self.tenant_b = _Place("tenantB", run.exchange_tenant or "tenant B", "tenant")
        self.environment = _Place(f"tenantA/{host}", host, "environment", self.tenant_a.fqn)

    def chain(self, finding: Finding) -> list[_Place]:
        chain = self._chain(finding)
        for place in chain:
            self.seen.setdefault(place.fqn, place)
        return chain

    def table(self) -> list[_Place]:
        """Every place handed out, by fully qualified name: a parent always comes before its children."""
        return [self.seen[fqn] for fqn in sorted(self.seen)]

    def _chain(self, finding: Finding) -> list[_Place]:
        area, subject = finding.area, finding.subject
        if area == "APP":
            return [self._app(subject)]
        if area in _SERVICE_PRINCIPAL_AREAS:
            return self._in_tenant_b(subject)
        if area == "PRF":
            return [self.tenant_a, self.environment, self._profile(subject.removeprefix("profile ").strip())]
        if area == "MBX":
            return self._mailbox(subject)
        return [_Place(f"other/{area}/{subject}", subject, "resource")]

    def _in_tenant_b(self, subject: str) -> list[_Place]:
        """The app's service principal in tenant B, or the tenant itself (discovery, its organization config)."""
        if not subject.startswith("app "):
            return [self.tenant_b]
        client = subject.removeprefix("app ").strip() or self.run.client_id or "app"
        return [self.tenant_b, _Place(f"tenantB/servicePrincipal/{client}", client, "servicePrincipal",
                                      self.tenant_b.fqn)]

    def _mailbox(self, subject: str) -> list[_Place]:
        profile = self._profile("")
        parents = [self.tenant_a, self.environment, profile]
        if subject == "mailboxes":  # about every mailbox in scope: the profile they hang on
            return parents
        return [*parents, _Place(f"{profile.fqn}/mailbox/{subject}", subject, "mailbox", profile.fqn)]

    def _app(self, subject: str) -> _Place:
        client = (subject.removeprefix("app ").strip() if subject.startswith("app ") else "") or self.run.client_id
        return _Place(f"app/{client}" if client else "app", client or "app", "app")

    def _profile(self, name: str) -> _Place:
        if not name or name == "email server profile":
            name = self.run.profile or "email server profile"
        return _Place(f"{self.environment.fqn}/profile/{name}", name, "profile", self.environment.fqn)


def _logical_location(place: _Place, position: Mapping[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {"name": place.name, "fullyQualifiedName": place.fqn, "kind": place.kind}
    if place.parent is not None:
        location["parentIndex"] = position[place.parent]
    return location


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


def _result(finding: Finding, rule_index: int, place: _Place, position: Mapping[str, int],
            artifact_uri: str | None) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if artifact_uri:
        location["physicalLocation"] = {"artifactLocation": {"uri": artifact_uri}}
    location["logicalLocations"] = [{"index": position[place.fqn], **_logical_location(place, position)}]
    result: dict[str, Any] = {
        "ruleId": finding.check_id,
        "ruleIndex": rule_index,
        "kind": KINDS[finding.status],
        "level": _level(finding),
        "message": {"text": _message(finding)},
        "locations": [location],
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


def _invocation(run: Run) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": True}
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
        },
    }
    return invocation


def _run_properties(findings: Sequence[Finding], run: Run) -> dict[str, Any]:
    gated = [f for f in findings if not f.waived]  # an applied waiver takes a finding out of the gate
    counts = summarize(gated)
    return {
        **run_identity(run),
        "names": jsonable(run.names),
        "checks": sorted(run.checks),
        "verdict": verdict(gated).value,
        "counts": {status.value: counts[status] for status in Status},
        "waived": len(findings) - len(gated),
    }
