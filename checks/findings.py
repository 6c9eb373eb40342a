"""Findings as data: the canonical JSON of evidence, the fingerprint a waiver binds to, and the order every report
and gate lists findings in. Below the gates and the reporters, which all share it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import operator
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import groupby, pairwise
from operator import attrgetter
from pathlib import PurePath
from typing import Any

from .model import AREAS, BriefPass, Finding, Severity, Status
from .redact import redact_all
from .text import LONGEST, clip


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
    return digest(jsonable(finding.evidence))


def _compact_native(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def digest(evidence: Any) -> str:
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


def area_rank(area: str) -> tuple[int, str]:
    """Known areas in the report's order, unknown ones after them by name."""
    keys = list(AREAS)
    return (keys.index(area), "") if area in keys else (len(keys), area)


def by_area(findings: Sequence[Finding]) -> list[Finding]:
    """Findings in report order: by area (see `area_rank`), then by check id and subject."""
    return sorted(ordered(findings), key=lambda f: area_rank(f.area))  # sorted is stable: keeps id/subject order


@dataclass(frozen=True)
class Passed:
    """The brief passes of one check: the rows of a large set (mailboxes) it passed, in report order. A report names
    their subjects once under the check instead of writing a message and evidence for each (`BriefPass`)."""

    check_id: str
    title: str
    severity: Severity
    findings: list[Finding]  # the passes themselves, for a reader that describes each (the console's --verbose);
    # empty when the group was read back from a JSON report (`xtcheck merge`), which names only the subjects
    subjects: list[str]  # theirs, in the same order, as reports show them: redacted, overlong ones cut

    @property
    def area(self) -> str:
        return self.check_id.split("-")[0]

    def __len__(self) -> int:
        return len(self.subjects)  # not the findings: a group read back from a report has none

    def each(self) -> list[Finding]:
        """A finding per subject: the passes themselves, or for a group read back from a report (which kept no
        message or evidence), a pass per subject whose message is the check's title."""
        if self.findings:
            return self.findings
        return [Finding(self.check_id, self.title, self.severity, Status.PASS, subject, self.title)
                for subject in self.subjects]


@dataclass(frozen=True)
class Digest:
    """A run's findings as every report reads them: each finding a person must read (anything but a pass over a row of
    a large set) whole, in report order; the brief passes as subjects under their check; the counts of all of them.

    Built once per run and shared by every format, so 500,000 passes over 100,000 mailboxes are sorted once and never
    described, encoded or digested one by one."""

    full: list[Finding]  # by area, then check id and subject
    passed: dict[str, Passed]  # by check id, in report order
    counts: dict[Status, int]  # real statuses, brief passes included

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Digest:
        items = findings if isinstance(findings, list) else list(findings)
        full = [finding for finding in items if type(finding) is not BriefPass]
        brief: dict[str, list[Finding]] = {}
        for _, run in groupby((f for f in items if type(f) is BriefPass), _SHARED):  # the engine yields a check's
            passes = list(run)  # passes together, and they share one BriefCheck; a pass is never waived
            brief.setdefault(passes[0].check_id, []).extend(passes)
        passed = {check_id: _passed(group) for check_id, group in
                  sorted(brief.items(), key=lambda item: (area_rank(item[0].split("-")[0]), item[0]))}
        counts = dict.fromkeys(Status, 0)
        counts.update(Counter(map(_STATUS, full)))
        counts[Status.PASS] += sum(len(group) for group in passed.values())
        return cls(by_area(full), passed, counts)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def waived(self) -> int:
        return sum(1 for finding in self.full if finding.waived)

    def check_ids(self) -> list[str]:
        """Every check with a finding, in report order."""
        ids = dict.fromkeys(finding.check_id for finding in self.full)
        ids.update(dict.fromkeys(self.passed))
        return sorted(ids, key=lambda check_id: (area_rank(check_id.split("-")[0]), check_id))


_SHARED, _STATUS, _SUBJECT = attrgetter("shared"), attrgetter("status"), attrgetter("subject")


def _passed(group: list[Finding]) -> Passed:
    """One check's brief passes by subject (as `ordered` would put them: they differ only in subject). The engine
    hands them over by subject already; that is confirmed in C, and the sort made only when it is not so."""
    subjects = list(map(_SUBJECT, group))
    lowered = list(map(str.lower, subjects))
    if not all(map(operator.lt, lowered, lowered[1:])):  # out of order, or two subjects equal but for case
        order = sorted(range(len(group)), key=list(zip(lowered, subjects, strict=True)).__getitem__)
        group, subjects = [group[n] for n in order], [subjects[n] for n in order]
    first = group[0]
    return Passed(first.check_id, first.title, first.severity, group, _shown(subjects))


def _shown(subjects: list[str]) -> list[str]:
    """Subjects from outside as reports show them: secrets and tokens redacted, overlong ones cut (checks/redact.py,
    checks/text.py). One pass over them all when, as nearly always, there is nothing to do."""
    if max(map(len, subjects), default=0) > LONGEST:
        subjects = [clip(subject) for subject in subjects]
    return redact_all(subjects)


def as_digest(findings: Digest | Iterable[Finding]) -> Digest:
    """`findings` as a Digest (built when given the findings themselves)."""
    return findings if isinstance(findings, Digest) else Digest.of(findings)
