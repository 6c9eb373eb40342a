"""Drift between two JSON reports: findings that appeared, were resolved or changed status, keyed by check id and
subject; a regression is a new non-pass or a status that got worse, at or above the severity floor."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

import schemas

from .documents import brief, describe
from .errors import InputError, XtcheckError
from .files import DOCUMENT_LIMIT, decode_text, read_bytes, shown
from .model import Severity, Status
from .parsing import TOO_DEEP, TooDeep, load_json
from .redact import redact
from .text import visible_line

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
    note: str = ""  # why a change for the worse is not a regression: "below --min-severity critical", "waived"


@dataclass(frozen=True)
class Drift:
    appeared: list[Change] = field(default_factory=list)  # new findings that are not a pass
    resolved: list[Change] = field(default_factory=list)  # not a pass before; a pass now, or gone
    changed: list[Change] = field(default_factory=list)  # in both, another status (neither side a fixed pass)
    quiet: int = 0  # passing findings that appeared or went away (counted, not listed)
    min_severity: Severity = Severity.INFO  # the floor regressions were counted at

    @property
    def regressions(self) -> list[Change]:
        return [c for c in (*self.appeared, *self.changed) if c.regression]


def read(path: Path, verify: Callable[[bytes, Path], None] | None = None) -> dict[str, Any]:
    """A JSON report of either version: the header validated against its schema (schemas/report.schema.json, or
    report-v1 for reports written before passes were named under their check), then each finding and each list of
    passing subjects checked for the fields a comparison reads. Not the whole schema per finding: jsonschema takes
    half a millisecond a finding, minutes for a large report; these checks take microseconds. With `verify`
    (checks/signing.py), the signature is checked first, on the very bytes that are then parsed."""
    return validated(document(path, verify), shown(path))


def validated(data: dict[str, Any], name: str) -> dict[str, Any]:
    """A single-target report's document (`document`), validated as `read` says; a ReportError otherwise."""
    version = data.get("schema_version")
    if version not in _SCHEMAS:
        raise ReportError(f"{name} is an xtcheck JSON report of schema version {brief(version)}; this xtcheck reads "
                          f"versions {', '.join(sorted(_SCHEMAS))}: compare it with the xtcheck that wrote it")
    header = {**data, **{key: [] for key in _LISTS if isinstance(data.get(key), list)}}
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schemas.load(_SCHEMAS[version])).iter_errors(header))
    if error is not None:
        key, problem = describe(error, brief)
        raise ReportError(f"{name} is not a valid xtcheck JSON report at {key or '(top level)'}: {problem}")
    broken = first_problem(data)
    if broken is not None:
        raise ReportError(f"{name} is not a valid xtcheck JSON report at {broken}")
    return data


def document(path: Path, verify: Callable[[bytes, Path], None] | None = None) -> dict[str, Any]:
    """A JSON report's document, not yet validated: read within the size limit, its signature checked first on the
    very bytes then parsed (`verify`), parsed with the depth bound; a ReportError of one line otherwise."""
    name = shown(path)
    try:
        raw = read_bytes(path, "report", DOCUMENT_LIMIT)
        if verify is not None:
            verify(raw, path)
        data = load_json(decode_text(raw, f"the report {name}"))
    except InputError as exc:
        raise ReportError(str(exc)) from None
    except TooDeep:
        raise ReportError(f"{name} is not an xtcheck JSON report: it {TOO_DEEP}") from None
    except ValueError as exc:
        raise ReportError(f"{name} is not an xtcheck JSON report: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ReportError(f"{name} is not an xtcheck JSON report: the document is not an object")
    return data


_SCHEMAS = {"1": "report-v1", "2": "report"}
_LISTS = ("findings", "passed")
_CHECK_ID = re.compile(r"^[A-Z]{3}-\d{3}$")
_STATUSES = frozenset(Status)
_SEVERITIES = frozenset(Severity)
_WAIVER_STATES = frozenset({"applied", "expired", "lapsed"})
_NONE = type(None)
_FINDING: dict[str, type | tuple[type, ...]] = {
    "check_id": str, "title": str, "severity": str, "status": str, "subject": str, "message": str, "evidence": dict,
    "remediation": (dict, _NONE), "blocked_by": (str, _NONE)}
_PASSED: dict[str, type | tuple[type, ...]] = {"check_id": str, "title": str, "severity": str, "count": int,
                                                "subjects": list}


def first_problem(data: dict[str, Any]) -> str | None:
    """Where the first finding or list of passing subjects breaks the schema, and how ("findings[3].status: ...")."""
    for index, finding in enumerate(data["findings"]):
        problem = _fields(finding, _FINDING) or _finding_values(finding)
        if problem:
            return f"findings[{index}]{problem}"
    for index, group in enumerate(data.get("passed", ())):
        problem = _fields(group, _PASSED) or _passed_values(group)
        if problem:
            return f"passed[{index}]{problem}"
    return None


def _fields(item: Any, fields: dict[str, type | tuple[type, ...]]) -> str | None:
    if not isinstance(item, dict):
        return ": not an object"
    for key, kind in fields.items():
        if key not in item:
            return f": {key!r} is missing"
        if not isinstance(item[key], kind) or isinstance(item[key], bool):
            return f".{key}: {brief(item[key])} is not {_kind(kind)}"
    return None


def _kind(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", dict: "an object", int: "an integer", list: "an array", _NONE: "null"}
    return " or ".join(names[k] for k in (kind if isinstance(kind, tuple) else (kind,)))


def _finding_values(finding: dict[str, Any]) -> str | None:
    waiver = finding.get("waiver")
    if waiver is not None and not (isinstance(waiver, dict) and waiver.get("state") in _WAIVER_STATES):
        return f".waiver: {brief(waiver)} is not a waiver (an object whose state is applied, expired or lapsed)"
    return _shared_values(finding) or (None if finding["status"] in _STATUSES else
                                       f".status: {brief(finding['status'])} is not one of {', '.join(Status)}")


def _passed_values(group: dict[str, Any]) -> str | None:
    if not all(type(subject) is str for subject in group["subjects"]):
        return ".subjects: not every subject is a string"
    return _shared_values(group)


def _shared_values(item: dict[str, Any]) -> str | None:
    if not _CHECK_ID.match(item["check_id"]):
        return f".check_id: {brief(item['check_id'])} is not a check id like APP-001"
    if item["severity"] not in _SEVERITIES:
        return f".severity: {brief(item['severity'])} is not one of {', '.join(Severity)}"
    return None


def every_finding(report: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every finding of a JSON report of either version, a passing subject under `passed` as a pass finding whose
    message is its check's title (for a reader that wants one finding per check and subject, as version 1 wrote)."""
    yield from report["findings"]
    for group in report.get("passed", ()):
        for subject in group["subjects"]:
            yield {"check_id": group["check_id"], "title": group["title"], "severity": group["severity"],
                   "status": "pass", "subject": subject, "message": group["title"], "evidence": {},
                   "remediation": None, "blocked_by": None, "waiver": None}


def compare(old: dict[str, Any], new: dict[str, Any], min_severity: Severity | str = Severity.INFO) -> Drift:
    """What changed from `old` to `new`. A finding under an applied waiver in `new` is never a regression."""
    before, after = _Index(old), _Index(new)
    floor = Severity(min_severity)
    appeared: list[Change] = []
    resolved: list[Change] = []
    changed: list[Change] = []
    quiet = 0
    for key in sorted(before.moved(after)):  # only what may have moved is looked at: most passes stay as they were
        was, now = before.finding(key), after.finding(key)
        was_status, now_status = _status(was), _status(now)
        if was_status == now_status:
            continue
        if now_status in (Status.PASS, None) and was_status in (Status.PASS, None):
            quiet += 1
            continue
        latest: dict[str, Any] = now or was or {}
        severity = Severity(latest["severity"])
        worse = now_status is not None and RANK[now_status] > RANK[was_status or Status.PASS]
        waived = ((now or {}).get("waiver") or {}).get("state") == "applied"
        below = severity.rank > floor.rank
        note = ("" if not worse else "waived" if waived else f"below --min-severity {floor.value}" if below else "")
        change = Change(key[0], latest["subject"], severity, was_status, now_status, latest["message"],
                        worse and not note, note)
        if was_status is None:
            appeared.append(change)
        elif now_status in (Status.PASS, None):
            resolved.append(change)
        else:
            changed.append(change)
    return Drift(appeared, resolved, changed, quiet, floor)


def _status(finding: dict[str, Any] | None) -> Status | None:
    return None if finding is None else Status(finding["status"])


class _Index:
    """A report's findings by (check id, subject lower-cased), a repeated key keeping its worst status; its passing
    subjects as a set per check, so two reports' passes are compared a check at a time, set against set."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.full: dict[Key, dict[str, Any]] = {}
        for finding in report["findings"]:
            key = (finding["check_id"], finding["subject"].lower())
            held = self.full.get(key)
            if held is None or RANK[Status(finding["status"])] > RANK[Status(held["status"])]:
                self.full[key] = finding
        self.groups = {group["check_id"]: group for group in report.get("passed", ())}
        self.passing = {check_id: set(map(str.lower, group["subjects"])) for check_id, group in self.groups.items()}
        self._spelled: dict[str, dict[str, str]] = {}

    def moved(self, other: _Index) -> set[Key]:
        """Every key whose status may differ between the two reports: each side's findings, and the subjects that
        pass a check in one report only."""
        keys = self.full.keys() | other.full.keys()
        for check_id in self.passing.keys() | other.passing.keys():
            mine, theirs = self.passing.get(check_id, set()), other.passing.get(check_id, set())
            keys.update((check_id, subject) for subject in mine ^ theirs)
        return keys

    def finding(self, key: Key) -> dict[str, Any] | None:
        """The finding under `key`: a whole one, or a passing subject as a pass whose message is its check's title."""
        whole = self.full.get(key)
        check_id, subject = key
        if whole is not None or subject not in self.passing.get(check_id, ()):
            return whole
        group = self.groups[check_id]
        return {"status": "pass", "subject": self._spelling(check_id, subject), "message": group["title"],
                "severity": group["severity"]}

    def _spelling(self, check_id: str, lowered: str) -> str:
        """The subject as the report spells it (looked up per check, and only for a check with a change)."""
        if check_id not in self._spelled:
            subjects = self.groups[check_id]["subjects"]
            self._spelled[check_id] = dict(zip(map(str.lower, subjects), subjects, strict=True))
        return self._spelled[check_id][lowered]


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
    scope = "" if drift.min_severity is Severity.INFO else f" at or above {drift.min_severity.value}"
    lines.extend(["", f"{count} regression{'s' if count != 1 else ''}{scope}, {len(drift.resolved)} resolved, "
                      f"{len(drift.appeared)} appeared, {len(drift.changed)} changed"])
    return lines


def _row(change: Change) -> str:
    """One change as one line: a report's words are a file's, from outside, whatever they hold."""
    was = change.before.value.upper() if change.before else "-"
    now = change.after.value.upper() if change.after else "gone"
    flag = "  REGRESSION" if change.regression else f"  (worse, not a regression: {change.note})" if change.note \
        else ""
    where = f"{change.check_id}  {change.subject} ({change.severity.value})"
    return visible_line(redact(f"  {was:>5} -> {now:<5} {where}: {change.message}{flag}"))
