"""The JSON report (schemas/report.schema.json): the header indented, then one finding per line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from ..findings import digest, jsonable, ordered
from ..gate import exit_code, summarize, verdict
from ..model import Finding, Remediation, Run, Status, WaiverNote
from ..text import json_visible
from .common import run_identity

SCHEMA_VERSION = "1"


def render_json(findings: Sequence[Finding], run: Run, stream: TextIO) -> None:
    """Write the report as one JSON document: the header indented, then one finding per line (UTF-8 text, trailing
    newline). A finding at a time, so the document for 100,000 mailboxes (hundreds of megabytes) is never held in
    memory whole; a line each, because json's fast encoder does not indent and a report that size would take
    minutes to indent (`jq .` lays it out for reading)."""
    head = json.dumps(_head(findings, run), indent=2, ensure_ascii=False)
    stream.write(json_visible(head[:-2]))  # without the closing "\n}"
    stream.write(',\n  "findings": [')
    for index, finding in enumerate(ordered(findings)):
        item = json.dumps(_finding(finding), ensure_ascii=False, separators=_ONE_LINE)
        stream.write(("\n    " if index == 0 else ",\n    ") + json_visible(item))
    stream.write("\n  ]\n}\n" if findings else "]\n}\n")


_ONE_LINE = (", ", ": ")


def report_document(findings: Sequence[Finding], run: Run) -> dict[str, Any]:
    """The report as plain data, keys in schema order (what `render_json` writes)."""
    return {**_head(findings, run), "findings": [_finding(f) for f in ordered(findings)]}


def _head(findings: Sequence[Finding], run: Run) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "xtcheck", "version": run.tool_version},
        "run": _run(run),
        "summary": _summary(findings),
    }


def _run(run: Run) -> dict[str, Any]:
    attestation = run.attestation
    return {
        "started": run.started,
        "finished": run.finished,
        **run_identity(run),
        "checks": run.check_ids,
        "completeness": list(run.completeness),
        "attestation": {
            "requests": dict(sorted(attestation.requests.items())),
            "writes_attempted": attestation.writes_attempted,
            "token_roles": {k: sorted(v) for k, v in sorted(attestation.token_roles.items())},
        },
        "unused_waivers": [{"index": w.index, "check": w.check, "subject": w.subject, "owner": w.owner,
                            "expires": w.expires} for w in run.unused_waivers],
    }


def _summary(findings: Sequence[Finding]) -> dict[str, Any]:
    counts = summarize(findings)
    return {
        "verdict": verdict(findings).value,
        "exit_code": exit_code(findings, fail_on="fail"),
        "counts": {status.value: counts[status] for status in Status},
    }


def _finding(finding: Finding) -> dict[str, Any]:
    finding = finding.described()
    evidence = jsonable(finding.evidence)
    return {
        "check_id": finding.check_id,
        "title": finding.title,
        "severity": finding.severity.value,
        "status": finding.status.value,
        "subject": finding.subject,
        "message": finding.message,
        "evidence": evidence,
        "remediation": _remediation(finding.remediation),
        "blocked_by": finding.blocked_by,
        "waiver": _waiver(finding.waiver),
        "fingerprint": digest(evidence),
    }


def _waiver(note: WaiverNote | None) -> dict[str, Any] | None:
    if note is None:
        return None
    return {"state": note.state, "reason": note.reason, "owner": note.owner, "expires": note.expires}


def _remediation(remediation: Remediation | None) -> dict[str, Any] | None:
    return None if remediation is None else remediation.as_dict()
