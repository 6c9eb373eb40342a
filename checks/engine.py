"""Runs checks: resolves the evidence each one names, blocks dependents of a failed root, never passes on doubt."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import AuthError, PermissionDenied, ProbeError, XtcheckError
from .model import CheckSpec, Finding, Outcome, Remediation, RunIds, Status
from .registry import ProbeSpec

_BLOCKING = (Status.FAIL, Status.ERROR)


class Evidence:
    """Evidence by name: seeded values (settings, a snapshot) or probes run once each, failures remembered."""

    def __init__(self, probes: Mapping[str, ProbeSpec], seeds: Mapping[str, Any],
                 errors: Mapping[str, XtcheckError] | None = None) -> None:
        self._probes = probes
        self._values: dict[str, Any] = dict(seeds)
        self._errors: dict[str, XtcheckError] = dict(errors or {})  # a snapshot's failed reads fail again
        self._active: list[str] = []

    def get(self, name: str) -> Any:
        if name == "evidence":  # probes that need other evidence only sometimes ask for it lazily
            return self
        if name in self._values:
            return self._values[name]
        if name in self._errors:
            raise self._errors[name]
        spec = self._probes.get(name)
        if spec is None:
            raise LookupError(f"no probe or value provides {name!r}")
        if name in self._active:
            raise LookupError(f"probes depend on each other in a circle: {' -> '.join([*self._active, name])}")
        self._active.append(name)
        try:
            value = spec.func(**{param: self.get(param) for param in spec.params})
        except (ProbeError, AuthError) as exc:
            self._errors[name] = exc
            raise
        finally:
            self._active.pop()
        self._values[name] = value
        return value

    def collected(self) -> dict[str, Any]:
        """Everything read so far (for snapshots)."""
        return dict(self._values)

    def failures(self) -> dict[str, XtcheckError]:
        """The reads that failed so far, by evidence name (for snapshots)."""
        return dict(self._errors)


def order(checks: Iterable[CheckSpec]) -> list[CheckSpec]:
    """Checks sorted by id, each after the checks it depends on."""
    by_id = {c.id: c for c in checks}
    done: dict[str, CheckSpec] = {}

    def visit(spec: CheckSpec) -> None:
        if spec.id in done:
            return
        for dep in spec.depends_on:
            if dep in by_id:
                visit(by_id[dep])
        done[spec.id] = spec

    for spec in sorted(by_id.values(), key=lambda c: c.id):
        visit(spec)
    return list(done.values())


def run(checks: Iterable[CheckSpec], evidence: Evidence, ids: Callable[[], RunIds]) -> list[Finding]:
    """Run every check in dependency order and return findings sorted by check id and subject."""
    results: dict[str, list[Finding]] = {}
    for spec in order(checks):
        blocker = _blocker(spec, results)
        if blocker is not None:
            root, reason = blocker
            skip = Outcome(Status.SKIP, _subject(spec, ids()), reason)
            results[spec.id] = [_finding(spec, skip, ids, blocked_by=root)]
            continue
        results[spec.id] = _evaluate(spec, evidence, ids)
    return sorted((f for fs in results.values() for f in fs), key=Finding.sort_key)


def _blocker(spec: CheckSpec, results: Mapping[str, list[Finding]]) -> tuple[str, str] | None:
    """The root-cause check that blocks `spec`, with the reason, or None when it may run."""
    for dep in spec.depends_on:
        findings = results.get(dep, [])
        blocked = next((f for f in findings if f.blocked_by), None)
        if blocked is not None:
            return blocked.blocked_by or dep, f"blocked: {blocked.blocked_by} must pass first"
        if any(f.status in _BLOCKING for f in findings):
            worst = "could not be decided" if all(f.status == Status.ERROR for f in findings) else "failed"
            return dep, f"blocked: {dep} {worst}; fix it first"
    return None


def _evaluate(spec: CheckSpec, evidence: Evidence, ids: Callable[[], RunIds]) -> list[Finding]:
    try:
        kwargs = {param: evidence.get(param) for param in spec.params}
    except (ProbeError, AuthError) as exc:
        outcome = Outcome(Status.ERROR, _subject(spec, ids()), f"could not read what this check needs: {exc}",
                          {"cause": type(exc).__name__}, _read_fix(spec, exc))
        return [_finding(spec, outcome, ids)]
    try:
        outcomes = list(spec.func(**kwargs))
    except Exception as exc:  # a bug in a check must show as `error`, never as a pass or a crash
        detail = traceback.format_exception_only(exc)[-1].strip()
        crash = Outcome(Status.ERROR, _subject(spec, ids()), f"internal error in the check: {detail}")
        return [_finding(spec, crash, ids)]
    if not outcomes:
        outcomes = [Outcome(Status.ERROR, _subject(spec, ids()), "the check produced no result")]
    return [_finding(spec, outcome, ids) for outcome in outcomes]


def _read_fix(spec: CheckSpec, exc: XtcheckError) -> Remediation | None:
    """For a read that was refused or could not authenticate: the permissions this check declares."""
    if not isinstance(exc, (PermissionDenied, AuthError)) or not spec.permissions:
        return None
    return Remediation(
        "Give xtcheck's reader identity the read permissions this check needs, then run it again.",
        steps=tuple(f"{p.service} {p.name} in {p.where}" for p in spec.permissions),
    )


def _subject(spec: CheckSpec, ids: RunIds) -> str:
    """Who a skip or an error is about, when the check never got to name a subject itself."""
    if spec.area == "PRF":
        return f"profile {ids.profile}" if ids.profile else "email server profile"
    if spec.area == "MBX":
        return "mailboxes"
    return f"app {ids.client_id}" if ids.client_id else "app"


def _finding(spec: CheckSpec, outcome: Outcome, ids: Callable[[], RunIds], blocked_by: str | None = None) -> Finding:
    remediation = outcome.fix
    if remediation is None and outcome.status in (Status.FAIL, Status.WARN):
        remediation = spec.remedy(ids())
    return Finding(spec.id, spec.title, spec.severity, outcome.status, outcome.subject, outcome.message,
                   dict(outcome.evidence), remediation, blocked_by)
