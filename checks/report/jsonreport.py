"""The JSON report (schemas/report.schema.json); also the finding order and evidence encoding all reporters share."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from itertools import pairwise
from pathlib import PurePath
from typing import Any, TextIO

from ..model import Finding, Remediation, Run, Status, WaiverNote, exit_code, summarize, verdict
from .text import json_visible

SCHEMA_VERSION = "1"


def jsonable(value: Any) -> Any:
    """`value` as JSON-native data, deterministically: dates as ISO 8601, sets sorted, mapping keys sorted."""
    kind = type(value)
    if kind in _NATIVE:  # the common case first: evidence is mostly strings, numbers and flags read from JSON
        return _finite(value) if kind is float else value
    if kind is dict or isinstance(value, Mapping):
        items = ((k if type(k) is str else str(jsonable(k)), jsonable(v)) for k, v in value.items())
        return dict(sorted(items, key=_first))
    if kind is list or kind is tuple:
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=_sort_token)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return _scalar(value)


_NATIVE = frozenset({str, int, bool, float, type(None)})


def _first(item: tuple[Any, Any]) -> Any:
    return item[0]


def _finite(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)  # NaN and Infinity are not JSON


def _scalar(value: Any) -> Any:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        return _finite(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def compact(value: Any) -> str:
    """One-line JSON of `value` (evidence in JUnit system-out, verbose console)."""
    return _compact_native(jsonable(value))


def fingerprint(finding: Finding) -> str:
    """SHA-256 (hex) of the finding's canonical evidence JSON: a waiver that names it lapses when the evidence
    changes."""
    return _digest(jsonable(finding.evidence))


def _compact_native(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _digest(evidence: Any) -> str:
    """The fingerprint of evidence already made `jsonable`."""
    return hashlib.sha256(_compact_native(evidence).encode("utf-8", "surrogatepass")).hexdigest()


def _sort_token(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Findings by check id and subject; the rest of the key only makes ties deterministic.

    The engine hands them over nearly in order, so they are checked first and sorted only when needed: a sort holds
    a key for each of 500,000 findings (100 MB at 100,000 mailboxes). Message and evidence, the last resort of the
    key, are read only among findings that tie on everything else (which distinct subjects never do)."""
    items = list(findings)
    if any(_visible_key(a) > _visible_key(b) for a, b in pairwise(items)):
        items.sort(key=_visible_key)
    start = 0
    for end, (a, b) in enumerate(pairwise(items), start=1):  # each key once per neighbour pair, tied runs sorted
        if _visible_key(a) != _visible_key(b):
            _break_ties(items, start, end)
            start = end
    _break_ties(items, start, len(items))
    return items


def _break_ties(items: list[Finding], start: int, end: int) -> None:
    if end - start > 1:
        items[start:end] = sorted(items[start:end], key=lambda f: (f.message, compact(f.evidence)))


def _visible_key(finding: Finding) -> tuple[str, ...]:
    """What tells findings apart without writing a message (a pass over a mailbox writes it only when read)."""
    return (finding.check_id, finding.subject.lower(), finding.subject, finding.status)


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
        "fingerprint": _digest(evidence),
    }


def _waiver(note: WaiverNote | None) -> dict[str, Any] | None:
    if note is None:
        return None
    return {"state": note.state, "reason": note.reason, "owner": note.owner, "expires": note.expires}


def _remediation(remediation: Remediation | None) -> dict[str, Any] | None:
    return None if remediation is None else remediation.as_dict()
