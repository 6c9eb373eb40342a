"""The JSON report (schemas/report.schema.json, version 2): the header indented, then one finding per line, then one
line per check that passed rows of a large set, naming them.

Version 1 wrote every passing mailbox as a whole finding (3.5 KB each); version 2 writes what a person must read
whole (anything but such a pass) and names the passing rows under their check: a mailbox that passes costs its
address once per check. `xtcheck diff` reads both versions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from ..findings import Digest, Passed, as_digest, digest, jsonable, ordered
from ..gate import verdict
from ..model import Attestation, Finding, GateDecision, Remediation, Run, Status, UnusedWaiver, WaiverNote
from ..text import json_visible
from .common import gate_of, run_identity

SCHEMA_VERSION = "2"


def render_json(findings: Digest | Iterable[Finding], run: Run, stream: TextIO) -> None:
    """Write the report as one JSON document (UTF-8 text, trailing newline): the header indented, then a line per
    finding and a line per check's passing subjects. A line at a time, so the document is never held in memory whole;
    a line each, because indenting a large report takes long (`jq .` lays it out for reading)."""
    report = as_digest(findings)
    head = json.dumps(_head(report, run), indent=2, ensure_ascii=False)
    stream.write(json_visible(head[:-2]))  # without the closing "\n}"
    write_lines(stream, "findings", (finding_object(finding) for finding in ordered(report.full)))
    write_lines(stream, "passed", (passed_object(group) for group in passed_by_id(report.passed)))
    stream.write("\n}\n")


def write_lines(stream: TextIO, key: str, items: Iterable[dict[str, Any]], key_pad: str = "  ",
                item_pad: str = "    ") -> None:
    """`, "key": [` and each item on a line of its own, indented: written as it goes, never held whole."""
    stream.write(f',\n{key_pad}"{key}": [')
    opened = False
    for item in items:
        stream.write(f",\n{item_pad}" if opened else f"\n{item_pad}")
        stream.write(json_visible(json.dumps(item, ensure_ascii=False, separators=_ONE_LINE)))
        opened = True
    stream.write(f"\n{key_pad}]" if opened else "]")


_ONE_LINE = (", ", ": ")


def report_document(findings: Digest | Iterable[Finding], run: Run) -> dict[str, Any]:
    """The report as plain data, keys in schema order (what `render_json` writes)."""
    report = as_digest(findings)
    return {**_head(report, run), "findings": [finding_object(f) for f in ordered(report.full)],
            "passed": [passed_object(group) for group in passed_by_id(report.passed)]}


def passed_by_id(passed: dict[str, Passed]) -> list[Passed]:
    return [passed[check_id] for check_id in sorted(passed)]  # as the findings: by check id


def _head(report: Digest, run: Run) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "xtcheck", "version": run.tool_version},
        "run": run_object(run),
        "summary": summary_object(report, gate_of(report, run)),
    }


def run_object(run: Run) -> dict[str, Any]:
    return {
        "started": run.started,
        "finished": run.finished,
        **run_identity(run),
        "checks": run.check_ids,
        "completeness": list(run.completeness),
        "attestation": attestation_object(run.attestation),
        "unused_waivers": unused_waiver_objects(run.unused_waivers),
    }


def attestation_object(attestation: Attestation) -> dict[str, Any]:
    """What a run did on the wire, as `run.attestation` says it."""
    return {
        "requests": dict(sorted(attestation.requests.items())),
        "writes_attempted": attestation.writes_attempted,
        "token_roles": {k: sorted(v) for k, v in sorted(attestation.token_roles.items())},
        "live_probe": {k: sorted(v) for k, v in sorted(attestation.live_probe.items())},
    }


def unused_waiver_objects(waivers: Iterable[UnusedWaiver]) -> list[dict[str, Any]]:
    return [{"index": w.index, "check": w.check, "subject": w.subject, "owner": w.owner, "expires": w.expires}
            for w in waivers]


def summary_object(report: Digest, gate: GateDecision) -> dict[str, Any]:
    return {
        "verdict": verdict(report.full).value,  # a pass never moves the verdict or the exit code
        "exit_code": gate.exit_code,
        "counts": {status.value: report.counts[status] for status in Status},
        "gate": gate_object(gate),
    }


def gate_object(gate: GateDecision) -> dict[str, Any]:
    """How the exit code was decided, as `summary.gate` says it."""
    return {"fail_on": gate.fail_on, "min_severity": gate.min_severity.value, "counted": gate.gating,
            "below_min_severity": gate.below_floor, "waived": gate.waived, "reason": gate.reason}


def passed_object(group: Passed) -> dict[str, Any]:
    subjects = group.subjects
    return {"check_id": group.check_id, "title": group.title, "severity": group.severity.value,
            "count": len(subjects), "subjects": subjects}


def finding_object(finding: Finding) -> dict[str, Any]:
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
