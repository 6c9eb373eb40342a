"""Drift between two JSON reports: findings that appeared, were resolved or changed status, keyed by check id and
subject; a regression is a new non-pass or a status that got worse, at or above the severity floor."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

import schemas

from .documents import describe
from .errors import XtcheckError
from .model import Severity, Status

# Worse to the right: a move to the right is a regression.
RANK = {Status.PASS: 0, Status.SKIP: 1, Status.WARN: 2, Status.ERROR: 3, Status.FAIL: 4}

Key = tuple[str, str]


class ReportError(XtcheckError):
    """A report that cannot be read or is not a valid xtcheck JSON report (exit 2)."""


@dataclass(frozen=True)
class Change:
    check_id: str
    subject: str
    severity: Severity
    before: Status | None  # None: not in the old report
    after: Status | None  # None: not in the new report
    message: str
    regression: bool


@dataclass(frozen=True)
class Drift:
    appeared: list[Change] = field(default_factory=list)  # new findings that are not a pass
    resolved: list[Change] = field(default_factory=list)  # not a pass before; a pass now, or gone
    changed: list[Change] = field(default_factory=list)  # in both, another status (neither side a fixed pass)
    quiet: int = 0  # passing findings that appeared or went away (counted, not listed)

    @property
    def regressions(self) -> list[Change]:
        return [c for c in (*self.appeared, *self.changed) if c.regression]


def read(path: Path) -> dict[str, Any]:
    """A JSON report, validated against schemas/report.schema.json."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"cannot read the report {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ReportError(f"{path} is not an xtcheck JSON report: not JSON ({exc})") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schemas.load("report")).iter_errors(data))
    if error is not None:
        key, problem = describe(error)
        raise ReportError(f"{path} is not a valid xtcheck JSON report at {key or '(top level)'}: {problem}")
    if not isinstance(data, dict):  # the schema says so already; this tells mypy
        raise ReportError(f"{path} is not an xtcheck JSON report")
    return data


def compare(old: dict[str, Any], new: dict[str, Any], min_severity: Severity | str = Severity.INFO) -> Drift:
    """What changed from `old` to `new`. A finding under an applied waiver in `new` is never a regression."""
    before, after = _by_key(old), _by_key(new)
    floor = Severity(min_severity).rank
    appeared: list[Change] = []
    resolved: list[Change] = []
    changed: list[Change] = []
    quiet = 0
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        was_status = Status(was["status"]) if was else None
        now_status = Status(now["status"]) if now else None
        if was_status == now_status:
            continue
        if now_status in (Status.PASS, None) and was_status in (Status.PASS, None):
            quiet += 1
            continue
        latest: dict[str, Any] = now or was or {}
        severity = Severity(latest["severity"])
        worse = now_status is not None and RANK[now_status] > RANK[was_status or Status.PASS]
        waived = ((now or {}).get("waiver") or {}).get("state") == "applied"
        change = Change(key[0], latest["subject"], severity, was_status, now_status, latest["message"],
                        worse and not waived and severity.rank <= floor)
        if was_status is None:
            appeared.append(change)
        elif now_status in (Status.PASS, None):
            resolved.append(change)
        else:
            changed.append(change)
    return Drift(appeared, resolved, changed, quiet)


def render(drift: Drift, old_label: str, new_label: str) -> list[str]:
    """A short table-like text, one line per change, and a closing verdict line."""
    lines = [f"xtcheck diff: {old_label} -> {new_label}"]
    sections = (("appeared", drift.appeared), ("resolved", drift.resolved), ("changed", drift.changed))
    for title, changes in sections:
        if changes:
            lines.extend(["", f"{title} ({len(changes)})"])
            lines.extend(_row(change) for change in changes)
    if not (drift.appeared or drift.resolved or drift.changed):
        lines.append("no changes" + (f" (apart from {drift.quiet} passing findings that came or went)"
                                     if drift.quiet else ""))
        return lines
    count = len(drift.regressions)
    lines.extend(["", f"{count} regression{'s' if count != 1 else ''}, {len(drift.resolved)} resolved, "
                      f"{len(drift.appeared)} appeared, {len(drift.changed)} changed"])
    return lines


def _row(change: Change) -> str:
    was = change.before.value.upper() if change.before else "-"
    now = change.after.value.upper() if change.after else "gone"
    flag = "  REGRESSION" if change.regression else ""
    where = f"{change.check_id}  {change.subject} ({change.severity.value})"
    return f"  {was:>5} -> {now:<5} {where}: {change.message}{flag}"


def _by_key(report: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    """Findings by (check id, subject lower-cased); a repeated key keeps its worst status."""
    found: dict[Key, dict[str, Any]] = {}
    for finding in report["findings"]:
        key = (finding["check_id"], finding["subject"].lower())
        held = found.get(key)
        if held is None or RANK[Status(finding["status"])] > RANK[Status(held["status"])]:
            found[key] = finding
    return found
