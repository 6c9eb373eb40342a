"""Runs checks: each after the checks it depends on, a dependent of a failed root blocked, never a pass on doubt; then
each outcome becomes a finding with its check's metadata and its fix, built from the run's ids."""

from __future__ import annotations

import operator
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from .errors import AuthError, PermissionDenied, ProbeError, XtcheckError
from .evidence import Evidence
from .model import BriefPass, CheckSpec, Finding, Outcome, Remediation, RunIds, Status
from .outside import outside, outside_fix

_BLOCKING = (Status.FAIL, Status.ERROR)
_COUNT_EVERY = 500  # outcomes between two progress reports


@dataclass(frozen=True)
class Decision:
    """What one check came to: its outcomes, the root check that blocked it, or the read it could not make."""

    outcomes: list[Outcome | BriefPass]
    blocked_by: str | None = None
    unread: XtcheckError | None = None  # the failed read that made it an error


Decided = Callable[[CheckSpec, Mapping[str, Decision]], None]
Counter = Callable[[str, int], None]
IdsFrom = Callable[[Mapping[str, Any]], RunIds]  # the run's ids, from what was read (no read of its own)


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


def run(checks: Iterable[CheckSpec], evidence: Evidence, ids: IdsFrom, *, decided: Decided | None = None,
        counted: Counter | None = None) -> list[Finding]:
    """Run every check after the checks it depends on and return findings sorted by check id and subject.

    Among the checks whose dependencies are decided, one whose evidence is already read goes first, so checks are
    decided while slower reads continue (the findings do not depend on this order). `decided` hears of each check
    as it is decided; `counted` of the outcomes a check has produced so far (progress over large sets). The run's
    ids, which fixes and unnamed subjects are written from, are taken once, from what was read, at the end."""
    decisions: dict[str, Decision] = {}
    specs = order(checks)
    waiting, selected = list(specs), {spec.id for spec in specs}
    while waiting:
        version = evidence.version
        spec = next((s for s in waiting if _ready(s, selected, decisions, evidence)), None)
        if spec is None and evidence.busy():
            evidence.wait_for_change(version)
            continue
        spec = spec or waiting[0]  # the first in dependency order always has its dependencies decided
        waiting.remove(spec)
        block = blocker(spec, decisions)
        if block is not None:
            decisions[spec.id] = Decision([Outcome(Status.SKIP, "", block[1])], blocked_by=block[0])
        else:
            decisions[spec.id] = _evaluate(spec, evidence, counted)
        if decided is not None:
            decided(spec, decisions)
    findings = Findings(ids(evidence.collected()))
    return [f for spec in sorted(specs, key=lambda c: c.id) for f in _by_subject(findings.of(spec, decisions[spec.id]))]


def _by_subject(findings: list[Finding]) -> list[Finding]:
    """A check's findings by subject, case-insensitively (stable). A mailbox check's 100,000 come in the rows' order,
    often sorted already: that is checked first, in C, and the sort made only when needed."""
    keys = list(map(str.lower, map(_SUBJECT, findings)))
    if not any(map(operator.gt, keys, keys[1:])):
        return findings
    return [findings[n] for n in sorted(range(len(findings)), key=keys.__getitem__)]


_SUBJECT = attrgetter("subject")


def _ready(spec: CheckSpec, selected: set[str], decisions: Mapping[str, Decision], evidence: Evidence) -> bool:
    if any(dep in selected and dep not in decisions for dep in spec.depends_on):
        return False
    return blocker(spec, decisions) is not None or all(evidence.settled(param) for param in spec.params)


def blocker(spec: CheckSpec, decisions: Mapping[str, Decision]) -> tuple[str, str] | None:
    """The root-cause check that blocks `spec`, with the reason, or None when it may run."""
    for dep in spec.depends_on:
        decision = decisions.get(dep)
        if decision is None:
            continue
        if decision.blocked_by:
            return decision.blocked_by, f"blocked: {decision.blocked_by} must pass first"
        statuses = [o.status for o in decision.outcomes]
        if any(s in _BLOCKING for s in statuses):
            worst = "could not be decided" if all(s is Status.ERROR for s in statuses) else "failed"
            return dep, f"blocked: {dep} {worst}; fix it first"
    return None


def _evaluate(spec: CheckSpec, evidence: Evidence, counted: Counter | None = None) -> Decision:
    try:
        kwargs = {param: evidence.get(param) for param in spec.params}
    except (ProbeError, AuthError) as exc:
        outcome = Outcome(Status.ERROR, "", f"could not read what this check needs: {exc}",
                          {"cause": type(exc).__name__})
        return Decision([outcome], unread=exc)
    outcomes: list[Outcome | BriefPass] = []
    try:
        for count, result in enumerate(spec.func(**kwargs), start=1):
            if type(result) is BriefPass:  # most of 500,000 mailbox outcomes: the outcome is the finding
                result.for_check(spec.id, spec.title, spec.severity)
            outcomes.append(result)
            if counted is not None and count % _COUNT_EVERY == 0:
                counted(spec.id, count)
    except Exception as exc:  # a bug in a check must show as `error`, never as a pass or a crash
        detail = traceback.format_exception_only(exc)[-1].strip()
        return Decision([Outcome(Status.ERROR, "", f"internal error in the check: {detail}")])
    return Decision(outcomes or [Outcome(Status.ERROR, "", "the check produced no result")])


class Findings:
    """Outcomes as findings, for one run's ids: each fix built once per distinct input, so 10,000 failing mailboxes
    share one."""

    def __init__(self, ids: RunIds) -> None:
        self.ids = ids  # cleaned as findings keep what comes from outside (facts.run_ids)
        self._fixes: dict[tuple[str, tuple[Any, ...]], Remediation] = {}

    def of(self, spec: CheckSpec, decision: Decision) -> list[Finding]:
        return [outcome if type(outcome) is BriefPass else self._finding(spec, outcome, decision)
                for outcome in decision.outcomes]

    def _finding(self, spec: CheckSpec, outcome: Outcome | BriefPass, decision: Decision) -> Finding:
        """The finding of an outcome: everything in it that came from outside (tenant data, a server's words) with
        secrets and tokens redacted and overlong values cut, before any report, the console or a gate sees it."""
        evidence: dict[str, Any] = outside(dict(outcome.evidence))  # its own copy
        fix = None
        if outcome.status in (Status.FAIL, Status.WARN):
            fix = self._fix(spec, evidence)
        elif decision.unread is not None:
            fix = _read_fix(spec, decision.unread)
        subject = outside(outcome.subject) or _subject(spec, self.ids)
        return Finding(spec.id, spec.title, spec.severity, outcome.status, subject, outside(outcome.message),
                       evidence, fix, decision.blocked_by)

    def _fix(self, spec: CheckSpec, evidence: Mapping[str, Any]) -> Remediation:
        key = (spec.id, tuple(evidence.get(name) for name in spec.remedy_reads))
        try:
            return self._fixes[key]
        except KeyError:
            fix = self._fixes[key] = outside_fix(spec.fix(self.ids, evidence))
            return fix
        except TypeError:  # evidence that cannot be a key (a list): built for this finding alone
            return outside_fix(spec.fix(self.ids, evidence))


def _read_fix(spec: CheckSpec, exc: XtcheckError) -> Remediation | None:
    """For a read that was refused or could not authenticate: the permissions this check's reads need."""
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
