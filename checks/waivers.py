"""Waivers: findings accepted for a while, with a reason, an owner, an expiry and optionally the evidence's
fingerprint and the estate's target they hold for (schemas/waivers.schema.json). A waived finding keeps its real
status; only an applied waiver takes it out of the exit code."""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

import schemas

from .documents import brief, describe, read_document
from .errors import ConfigError
from .findings import fingerprint
from .model import Finding, Status, UnusedWaiver, WaiverNote

_PREFERRED = ("applied", "lapsed", "expired")  # when several waivers match one finding, the first state wins
_PROBLEMS = {  # key -> what to say when its value breaks the schema's pattern or length
    "check": "is not a check id like APP-004",
    "subject": "must not be empty: name the subject as the report does, or a glob like *@contoso.com",
    "reason": "must not be empty: say why this finding is accepted",
    "owner": "must not be empty: name who answers for this waiver",
    "expires": "is not a date like 2027-01-31",
    "fingerprint": "is not a SHA-256 digest (64 hex characters, as `xtcheck audit -v` prints it)",
    "target": "must not be empty: name the target as the estate report does, or a glob like *.crm4.dynamics.com*",
}


@dataclass(frozen=True)
class Waiver:
    index: int  # position in the file, for messages: waivers[index]
    check: str
    subject: str  # an exact subject or a glob, compared case-insensitively
    reason: str
    owner: str
    expires: dt.date  # the last day the waiver holds
    fingerprint: str | None = None
    target: str | None = None  # an estate's target name or a glob, compared case-insensitively; None: every target

    def matches(self, finding: Finding, target: str | None = None) -> bool:
        """Whether the waiver covers `finding` of the target named `target` (None: a run of one target, which only
        a waiver naming no target covers: a waiver written for one target of an estate must not leak to others)."""
        if finding.check_id.upper() != self.check or not self.holds_for(target):
            return False
        return _like(finding.subject, self.subject)

    def holds_for(self, target: str | None) -> bool:
        """Whether the waiver may cover findings of the target named `target`."""
        if self.target is None:
            return True
        return target is not None and _like(target, self.target)

    def note(self, finding: Finding, today: dt.date) -> WaiverNote:
        if today > self.expires:
            state = "expired"
        elif self.fingerprint is not None and self.fingerprint != fingerprint(finding):
            state = "lapsed"
        else:
            state = "applied"
        return WaiverNote(self.reason, self.owner, self.expires.isoformat(), state)


def load(path: Path) -> list[Waiver]:
    """Read and validate the waiver file (YAML, or JSON by its suffix); a problem is a ConfigError naming the key."""
    raw = _dates_as_text(_parse(path))
    if not isinstance(raw, dict):
        raise ConfigError("", f"{path} must hold `waivers:` and a list of waivers (check, subject, reason, owner, "
                              "expires)")
    validator = jsonschema.Draft202012Validator(schemas.load("waivers"))
    error = jsonschema.exceptions.best_match(validator.iter_errors(raw))
    if error is not None:
        key, problem = describe(error)
        name = str(error.absolute_path[-1]) if error.absolute_path else ""
        if error.validator in ("pattern", "minLength") and name in _PROBLEMS:
            problem = f"{brief(error.instance)} {_PROBLEMS[name]}"
        raise ConfigError(key, problem)
    return [_waiver(index, entry) for index, entry in enumerate(raw["waivers"])]


def _like(value: str, pattern: str) -> bool:
    """`value` equal to `pattern` or matched by it as a glob, both case-insensitively."""
    value, pattern = value.lower(), pattern.lower()
    return value == pattern or fnmatch.fnmatchcase(value, pattern)


def apply(findings: Sequence[Finding], waivers: Sequence[Waiver], today: dt.date,
          target: str | None = None) -> tuple[list[Finding], tuple[UnusedWaiver, ...]]:
    """Findings (of the estate's target named `target`; None for a run of one target) with their waiver notes, and
    the waivers that matched no finding that is not a pass here, whether they name another target or none. An
    estate's waiver is unused when every target lists it so (`checks.report.estate.unused_waivers`).

    A waiver on a passing finding records nothing (there is nothing to accept)."""
    if not waivers:
        return findings if isinstance(findings, list) else list(findings), ()  # 600,000 findings: not copied
    used: set[int] = set()
    result = []
    for finding in findings:
        matching = [] if finding.status is Status.PASS else [w for w in waivers if w.matches(finding, target)]
        if not matching:
            result.append(finding)
            continue
        used.update(w.index for w in matching)
        notes = [w.note(finding, today) for w in matching]
        best = min(notes, key=lambda n: _PREFERRED.index(n.state))
        result.append(dataclasses.replace(finding, waiver=best))
    unused = tuple(UnusedWaiver(w.index, w.check, w.subject, w.owner, w.expires.isoformat())
                   for w in waivers if w.index not in used)
    return result, unused


def _parse(path: Path) -> Any:
    return read_document(path, "waiver file")


def _dates_as_text(value: Any) -> Any:
    """YAML reads `expires: 2027-01-31` as a date; the schema (and JSON) speak text."""
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _waiver(index: int, entry: dict[str, Any]) -> Waiver:
    try:
        expires = dt.date.fromisoformat(entry["expires"])
    except ValueError:
        raise ConfigError(f"waivers[{index}].expires", f"{entry['expires']!r} is not a date on the calendar") from None
    digest, target = entry.get("fingerprint"), entry.get("target")
    return Waiver(index, entry["check"].upper(), entry["subject"].strip(), entry["reason"].strip(),
                  entry["owner"].strip(), expires, digest.lower() if digest else None,
                  target.strip() if target is not None else None)

