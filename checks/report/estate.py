"""What every estate report shows, computed once: each target's findings digested, its overview row (worst status, the
broken link of the chain, the soonest secret expiry, the mailboxes failing), the forecast of the dates things break,
and the estate's gate. The per-format modules only lay this out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from ..findings import Digest
from ..gate import decide, moves_exit, verdict
from ..model import (
    LINKS,
    Attestation,
    EstateResult,
    Finding,
    GateDecision,
    Run,
    Severity,
    Status,
    Target,
    Unreadable,
    UnusedWaiver,
)
from .forecast import Event, events, plural, secret_expiries
from .sarif_places import host

STATUS_ORDER = (Status.FAIL, Status.ERROR, Status.WARN, Status.PASS)  # the overview's order, worst first
_FAILING = frozenset({Status.FAIL, Status.ERROR, Status.WARN})


@dataclass(frozen=True)
class TargetReport:
    """One target as the reports read it: its findings digested once for every format, its run with its gate."""

    target: Target
    report: Digest
    run: Run  # `gate` always set: the command's decision, or the default one for a run that came without

    @property
    def gate(self) -> GateDecision:
        return self.run.gate or decide(self.report.full)


@dataclass(frozen=True)
class EstateReport:
    """An estate's run as the reports read it (`EstateResult` with each target digested, or a merge of shards'
    reports rebuilt from their JSON)."""

    targets: list[TargetReport]
    unreadable: list[Unreadable]
    tool_version: str
    started: str
    finished: str
    attestation: Attestation = field(default_factory=lambda: Attestation({}, 0, {}))
    completeness: tuple[str, ...] = ()
    shard: tuple[int, int] | None = None
    missing_shards: tuple[int, ...] = ()  # a merge without every share: the shares (1-based) no report was given for


def target_report(target: Target, report: Digest, run: Run) -> TargetReport:
    """A target with its gate decided (the run's own, or under the default options when the run has none) and its
    environment's display name (the discovered one, else the one the checks read), so every format, and a merge
    that only has the JSON, names it alike."""
    named = target if target.environment else replace(target, environment=run.names.get("environment", ""))
    return TargetReport(named, report, run if run.gate is not None else replace(run, gate=decide(report.full)))


def as_estate_report(estate: EstateResult | EstateReport) -> EstateReport:
    """`estate` with each target's findings digested (sorted once, shared by every format)."""
    if isinstance(estate, EstateReport):
        return estate
    targets = [target_report(item.target, Digest.of(item.findings), item.run) for item in estate.targets]
    return EstateReport(targets, list(estate.unreadable), estate.tool_version, estate.started, estate.finished,
                        estate.attestation, estate.completeness, estate.shard)


def one_target(report: Digest, run: Run) -> EstateReport:
    """A run of one target as an estate of one (the calendar of `xtcheck audit --format calendar`)."""
    name = host(run.environment_url) or run.environment_url or "target"
    target = Target(name, run.environment_url, run.profile, run.exchange_tenant, run.client_id,
                    run.names.get("environment", ""))
    return EstateReport([target_report(target, report, run)], [], run.tool_version, run.started, run.finished,
                        run.attestation, run.completeness)


# -- the overview ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One target's line of the overview."""

    name: str
    environment: str  # its display name, or the environment's host
    environment_url: str
    profile: str
    exchange_tenant: str
    status: Status  # the worst of its findings under the gate's waivers: fail, error, warn or pass
    broken_link: str | None  # the first link of the chain (model.LINKS) with a gating fail or error
    soonest_expiry: dt.date | None  # the soonest end of a client secret valid at the run (APP-004's evidence)
    mailboxes_failing: int  # distinct mailboxes with a fail, error or warn not waived
    exit_code: int
    anchor: str  # the id of its section in the HTML report


def ranked(estate: EstateReport) -> list[tuple[Row, TargetReport]]:
    """Each target with its row, worst first (fail, error, warn, pass), then soonest secret expiry, then name."""
    rows = [(row_of(item, f"target-{n}"), item) for n, item in enumerate(estate.targets, start=1)]
    latest = dt.date.max
    return sorted(rows, key=lambda pair: (STATUS_ORDER.index(pair[0].status), pair[0].soonest_expiry or latest,
                                          pair[0].name.lower(), pair[0].name))


def overview(estate: EstateReport) -> list[Row]:
    """The overview's rows, worst first."""
    return [row for row, _ in ranked(estate)]


def row_of(item: TargetReport, anchor: str = "") -> Row:
    target, run = item.target, item.run
    expiries = [expiry.ends for expiry in secret_expiries(item.report.full, run)]
    return Row(target.name, target.environment or host(target.environment_url), target.environment_url,
               target.profile or run.profile, target.exchange_tenant or run.exchange_tenant,
               verdict(item.report.full), broken_link(item), min(expiries, default=None),
               mailboxes_failing(item.report.full), item.gate.exit_code, anchor)


def broken_link(item: TargetReport) -> str | None:
    """The first link of the chain, in the order sync runs through it, whose checks have a fail or an error that
    counts toward the exit code: where to start fixing."""
    links = {spec.id: spec.link for spec in item.run.checks}
    gate = item.gate
    broken = {links.get(f.check_id) for f in item.report.full
              if f.status in (Status.FAIL, Status.ERROR) and moves_exit(f, gate)}
    return next((link for link in LINKS if link in broken), None)


def mailboxes_failing(findings: Iterable[Finding]) -> int:
    """Distinct mailboxes (subjects of MBX findings) with a fail, an error or a warn that no waiver took out; a skip
    says a check did not apply, not that the mailbox fails."""
    return len({f.subject.lower() for f in findings if f.area == "MBX" and f.status in _FAILING and not f.waived})


def forecast(estate: EstateReport) -> list[Event]:
    """The days from the run's start on when something in the estate breaks, soonest first (checks/report/forecast)."""
    return events(((item.target.name, item.report.full, item.run) for item in estate.targets), estate.started)


# -- the estate as a whole ------------------------------------------------------------------------------------------


def estate_gate(estate: EstateResult | EstateReport) -> GateDecision:
    """The estate's exit code, the worst of its targets': 1 if any target's gate says 1, else 3 if any says 3, else
    0; and one sentence saying why. An incomplete estate is never a pass: an environment that could not be audited,
    a share missing from a merge, or no target at all makes it at least 3 (1 still wins when a target fails)."""
    report = as_estate_report(estate)
    gates = [item.gate for item in report.targets]
    codes = [gate.exit_code for gate in gates]
    first = gates[0] if gates else GateDecision(0, "")
    total = plural(len(gates), "target", "targets")
    scope = "" if first.min_severity is Severity.INFO else f" at or above {first.min_severity.value}"
    gaps = _gaps(report)
    if 1 in codes:
        code, reason = 1, f"exit 1: {codes.count(1):,} of {total} fail{scope}"
        reason += f"; {codes.count(3):,} could not be decided" if 3 in codes else ""
    elif 3 in codes:
        code, reason = 3, f"exit 3: xtcheck could not decide {codes.count(3):,} of {total}{scope}, and none failed"
    elif not gates:
        code, reason = 3, "exit 3: no target was audited"
    elif gaps:
        what = "fails" if first.fail_on == "fail" else "fails or warns"
        code, reason = 3, f"exit 3: the estate is incomplete; nothing {what}{scope} in the {total} audited"
    else:
        what = "fails" if first.fail_on == "fail" else "fails or warns"
        code, reason = 0, f"exit 0: nothing {what}{scope} in {total}"
    waived = sum(g.waived for g in gates)
    reason += "".join(f"; {note}" for note in [*gaps, f"{waived:,} waived" if waived else ""] if note)
    return GateDecision(code, reason, first.fail_on, first.min_severity, sum(g.gating for g in gates),
                        sum(g.below_floor for g in gates), waived)


def _gaps(report: EstateReport) -> list[str]:
    """What the estate lacks, each said in the gate's reason: an incomplete estate must not pass unnoticed."""
    gaps = []
    if report.unreadable:
        gaps.append(f"{plural(len(report.unreadable), 'environment', 'environments')} could not be audited")
    if report.missing_shards:
        shares = ", ".join(map(str, report.missing_shards))
        gaps.append(f"{'share' if len(report.missing_shards) == 1 else 'shares'} {shares} missing from the merge")
    return gaps


def estate_verdict(estate: EstateReport) -> Status:
    """The worst status of any target (waivers applied): fail, error, warn or pass."""
    statuses = {verdict(item.report.full) for item in estate.targets}
    return next((status for status in STATUS_ORDER if status in statuses), Status.PASS)


def estate_counts(estate: EstateReport) -> dict[Status, int]:
    """Every target's findings counted by their real status (passes over mailboxes included)."""
    counts = dict.fromkeys(Status, 0)
    for item in estate.targets:
        for status, count in item.report.counts.items():
            counts[status] += count
    return counts


def status_counts(rows: Sequence[Row]) -> dict[Status, int]:
    """How many targets are at each overview status."""
    return {status: sum(1 for row in rows if row.status is status) for status in STATUS_ORDER}


def unused_waivers(estate: EstateReport) -> tuple[UnusedWaiver, ...]:
    """The waivers that matched nothing that is not a pass in any target: each target lists what it did not use
    (waivers naming other targets among them), so an estate's unused ones are those every target lists."""
    if not estate.targets:
        return ()
    common = set.intersection(*({w.index for w in item.run.unused_waivers} for item in estate.targets))
    first = {w.index: w for w in estate.targets[0].run.unused_waivers}
    return tuple(first[index] for index in sorted(common))


def summary_text(estate: EstateReport, rows: Sequence[Row]) -> str:
    """ "20 targets: 3 fail, 1 error, 2 warn, 14 pass; 2 environments could not be audited" """
    counts = status_counts(rows)
    text = f"{plural(len(rows), 'target', 'targets')}: " + ", ".join(
        f"{counts[status]:,} {status.value}" for status in STATUS_ORDER)
    return "; ".join([text, *_gaps(estate)])


def shard_text(shard: tuple[int, int] | None) -> str:
    return f"shard {shard[0]} of {shard[1]}" if shard else ""
