"""The JSON report (schemas/report.schema.json); also the finding order and evidence encoding all reporters share."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from pathlib import PurePath
from typing import Any, TextIO

from ..model import Finding, Remediation, Run, Status, WaiverNote, exit_code, summarize, verdict
from .text import json_visible

SCHEMA_VERSION = "1"


def jsonable(value: Any) -> Any:
    """`value` as JSON-native data, deterministically: dates as ISO 8601, sets sorted, mapping keys sorted."""
    if isinstance(value, Mapping):
        items = ((str(jsonable(k)), jsonable(v)) for k, v in value.items())
        return dict(sorted(items, key=lambda item: item[0]))
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=_sort_token)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN and Infinity are not JSON
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def compact(value: Any) -> str:
    """One-line JSON of `value` (evidence in JUnit system-out, verbose console)."""
    return json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def fingerprint(finding: Finding) -> str:
    """SHA-256 (hex) of the finding's canonical evidence JSON: a waiver that names it lapses when the evidence
    changes."""
    return hashlib.sha256(compact(finding.evidence).encode("utf-8", "surrogatepass")).hexdigest()


def _sort_token(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Findings by check id and subject; the rest of the key only makes ties deterministic."""
    return sorted(findings, key=lambda f: (*f.sort_key(), f.subject, f.status.value, f.message, compact(f.evidence)))


def render_json(findings: Sequence[Finding], run: Run, stream: TextIO) -> None:
    """Write the report as one JSON document (indent 2, UTF-8 text, trailing newline)."""
    stream.write(json_visible(json.dumps(report_document(findings, run), indent=2, ensure_ascii=False)))
    stream.write("\n")


def report_document(findings: Sequence[Finding], run: Run) -> dict[str, Any]:
    """The report as plain data, keys in schema order."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "xtcheck", "version": run.tool_version},
        "run": _run(run),
        "summary": _summary(findings),
        "findings": [_finding(f) for f in ordered(findings)],
    }


def run_identity(run: Run) -> dict[str, str]:
    """What the run audited: the same fields, in the same order, in every report format."""
    return {"environment_url": run.environment_url, "dynamics_tenant": run.dynamics_tenant,
            "exchange_tenant": run.exchange_tenant, "client_id": run.client_id, "profile": run.profile,
            "cloud": run.cloud}


def _run(run: Run) -> dict[str, Any]:
    attestation = run.attestation
    return {
        "started": run.started,
        "finished": run.finished,
        **run_identity(run),
        "checks": sorted(run.checks),
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
    return {
        "check_id": finding.check_id,
        "title": finding.title,
        "severity": finding.severity.value,
        "status": finding.status.value,
        "subject": finding.subject,
        "message": finding.message,
        "evidence": jsonable(finding.evidence),
        "remediation": _remediation(finding.remediation),
        "blocked_by": finding.blocked_by,
        "waiver": _waiver(finding.waiver),
        "fingerprint": fingerprint(finding),
    }


def _waiver(note: WaiverNote | None) -> dict[str, Any] | None:
    if note is None:
        return None
    return {"state": note.state, "reason": note.reason, "owner": note.owner, "expires": note.expires}


def _remediation(remediation: Remediation | None) -> dict[str, Any] | None:
    return None if remediation is None else remediation.as_dict()
