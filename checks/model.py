"""The vocabulary every layer shares: statuses, severities, check metadata, outcomes and findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from .errors import XtcheckError


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 (a status, not a password)
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"  # xtcheck could not decide: a read failed or a permission was missing
    SKIP = "skip"  # a prerequisite failed or the check does not apply; always with a reason


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical ... 4 for info."""
        return _RANKS[self]


_RANKS: dict[Severity, int] = {severity: index for index, severity in enumerate(Severity)}

# A check id's prefix names its area; reports group by area in this order, under these headings.
AREAS: dict[str, str] = {
    "APP": "App registration",
    "EXO": "Exchange Online tenant",
    "GRA": "Microsoft Graph",
    "EWS": "Exchange Web Services",
    "PRF": "Email server profile",
    "MBX": "Mailboxes",
}
# The links of the chain sync runs through, in the order it runs; every check guards one (the HTML report's boxes).
LINKS = ("profile", "app", "consent", "exchange", "mailboxes")


@dataclass(frozen=True)
class Remediation:
    summary: str
    steps: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    links: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "steps": list(self.steps), "commands": list(self.commands),
                "links": list(self.links)}


@dataclass(frozen=True)
class Permission:
    """A read permission a check needs, where it is needed."""

    service: str  # "Microsoft Graph" or "Dataverse"
    name: str  # "Application.Read.All", "prvReadMailbox"
    where: str  # "tenant B", "the app's home tenant", "the Dynamics environment"
    optional: bool = False  # without it, the checks that need it skip (saying so) instead of erring


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a check yields for one subject; the engine adds the check's metadata."""

    status: Status
    subject: str
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


class Judge(Protocol):
    """Decides one row of a large set (a mailbox). With `brief`, a pass may come back as None: decided, but its
    message and evidence not written (the same call without `brief` writes them)."""

    def __call__(self, subject: str, row: Mapping[str, Any], brief: bool = False, /) -> Outcome | None: ...


def describe(judge: Judge, subject: str, row: Mapping[str, Any]) -> Outcome:
    """The judge's whole outcome for a row it passed briefly."""
    outcome = judge(subject, row)
    if outcome is None or outcome.status is not Status.PASS:  # a judge that breaks its contract is a bug, loudly
        raise RuntimeError(f"a check passed {subject} briefly, then judged it {outcome and outcome.status}")
    return outcome


def passed(subject: str, message: str, **evidence: Any) -> Outcome:
    return Outcome(Status.PASS, subject, message, evidence)


def failed(subject: str, message: str, **evidence: Any) -> Outcome:
    return Outcome(Status.FAIL, subject, message, evidence)


def warned(subject: str, message: str, **evidence: Any) -> Outcome:
    return Outcome(Status.WARN, subject, message, evidence)


def errored(subject: str, message: str, **evidence: Any) -> Outcome:
    """Could not decide from what was read (an incomplete read, an ambiguous selection)."""
    return Outcome(Status.ERROR, subject, message, evidence)


def skipped(subject: str, reason: str, **evidence: Any) -> Outcome:
    return Outcome(Status.SKIP, subject, reason, evidence)


CheckResult = Iterator["Outcome | BriefPass"]


@dataclass(frozen=True)
class RunIds:
    """The run's own identifiers, for remediation people can paste (URLs, commands)."""

    client_id: str
    exchange_tenant: str
    dynamics_tenant: str
    home_tenant: str
    environment_url: str
    login_host: str
    graph_host: str
    portal_host: str
    profile: str = ""
    now: dt.datetime | None = None  # the run's clock (a new secret is named for its year)


Remedy = Callable[..., Remediation]  # (ids: RunIds, **the finding's evidence, by parameter name) -> Remediation


@dataclass(frozen=True)
class CheckSpec:
    """Everything about one check, declared beside its function by the `@check` decorator."""

    id: str
    title: str  # the compliant state, in plain English
    severity: Severity
    rationale: str  # the function's docstring
    func: Callable[..., CheckResult]
    params: tuple[str, ...]  # evidence the check asks for, by parameter name
    remedy: Remedy  # builds the fix of a fail or warn from the run's ids and the finding's evidence
    link: str  # the link of the chain it guards: one of LINKS
    references: tuple[str, ...] = ()  # Microsoft's pages that state the rule; every fix links them
    depends_on: tuple[str, ...] = ()
    remedy_reads: tuple[str, ...] = ()  # the evidence keys `remedy` takes (its parameters after the ids)
    permissions: tuple[Permission, ...] = ()  # what its reads need: its probes' declarations (registry.load)

    @property
    def area(self) -> str:
        return self.id.split("-")[0]

    def fix(self, ids: RunIds, evidence: Mapping[str, Any]) -> Remediation:
        """The fix of a finding: `remedy` given the run's ids and the evidence keys it names, linking the pages the
        check rests on (`references`) after any of its own."""
        built = self.remedy(ids, **{key: evidence.get(key) for key in self.remedy_reads})
        links = tuple(dict.fromkeys((*built.links, *self.references)))
        return built if links == built.links else replace(built, links=links)


@dataclass(frozen=True)
class WaiverNote:
    """A waiver that matched a finding. Only an `applied` one takes the finding out of the gate; the finding
    keeps its real status either way."""

    reason: str
    owner: str
    expires: str  # YYYY-MM-DD
    state: str  # "applied" | "expired" | "lapsed" (the waived object changed since the waiver was written)


@dataclass(frozen=True)
class UnusedWaiver:
    """A waiver from the waiver file that matched no finding that is not a pass: it can be removed."""

    index: int  # its position in the file: waivers[index]
    check: str
    subject: str
    owner: str
    expires: str


@dataclass(frozen=True, slots=True)
class Finding:
    check_id: str
    title: str
    severity: Severity
    status: Status
    subject: str
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    remediation: Remediation | None = None
    blocked_by: str | None = None
    waiver: WaiverNote | None = None

    @property
    def area(self) -> str:
        return self.check_id.split("-")[0]

    @property
    def waived(self) -> bool:
        return self.waiver is not None and self.waiver.state == "applied"

    def sort_key(self) -> tuple[str, str]:
        return (self.check_id, self.subject.lower())

    def described(self) -> Finding:
        """This finding with its message and evidence written out (itself, unless it is a `BriefPass`)."""
        return self


class BriefCheck:
    """What every brief pass of one check shares: the judge that writes a pass out, and the check's metadata (set by
    the engine through `BriefPass.for_check`)."""

    __slots__ = ("check_id", "judge", "severity", "title")

    def __init__(self, judge: Judge) -> None:
        self.judge = judge
        self.check_id = ""
        self.title = ""
        self.severity = Severity.INFO


# A brief pass is a Finding in every respect the code reads (tests/test_model.py compares them attribute by
# attribute), but not a subclass at run time: a subclass would carry the Finding's ten slots, 600,000 times over.
if TYPE_CHECKING:
    _FindingShape = Finding
else:
    _FindingShape = object


class BriefPass(_FindingShape):
    """A pass over one row of a large set (a mailbox), decided without writing its message and evidence: they are
    written when someone reads them, by the same judge from the same row. 100,000 mailboxes then cost their rows,
    not five messages and five evidence maps each.

    A check yields it (it reads like an `Outcome`); the engine then names its check with `for_check`, and the same
    object is the finding: one object per outcome, not two. It holds its subject, its row and what the check's
    passes share (`BriefCheck`): 56 bytes, where a `Finding` takes 128. Equal to itself, not to the `Finding` it
    describes (`described`)."""

    __slots__ = ("row", "shared", "subject")
    status = Status.PASS
    remediation = None
    blocked_by = None
    waiver = None
    waived = False

    def __init__(self, subject: str, judge: Judge | BriefCheck, row: Mapping[str, Any]) -> None:
        self.subject = subject  # type: ignore[misc]
        self.shared = judge if isinstance(judge, BriefCheck) else BriefCheck(judge)
        self.row = row

    def for_check(self, check_id: str, title: str, severity: Severity) -> BriefPass:
        """This pass as the named check's finding (the engine calls it as the check yields it)."""
        shared = self.shared
        if shared.check_id != check_id:  # once per check: its passes share one BriefCheck
            shared.check_id, shared.title, shared.severity = check_id, title, severity
        return self

    @property
    def check_id(self) -> str:
        return self.shared.check_id

    @property
    def title(self) -> str:
        return self.shared.title

    @property
    def severity(self) -> Severity:
        return self.shared.severity

    @property
    def judge(self) -> Judge:
        return self.shared.judge

    @property
    def area(self) -> str:
        return self.check_id.split("-")[0]

    def sort_key(self) -> tuple[str, str]:
        return (self.check_id, self.subject.lower())

    @property
    def message(self) -> str:
        return describe(self.judge, self.subject, self.row).message

    @property
    def evidence(self) -> Mapping[str, Any]:
        return describe(self.judge, self.subject, self.row).evidence

    def described(self) -> Finding:
        outcome = describe(self.judge, self.subject, self.row)
        return Finding(self.check_id, self.title, self.severity, Status.PASS, self.subject, outcome.message,
                       dict(outcome.evidence))

    def __eq__(self, other: object) -> bool:
        """As a Finding compares: the same kind, the same fields (its words written out to compare them)."""
        if type(other) is not BriefPass:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def _fields(self) -> tuple[Any, ...]:
        return (self.check_id, self.title, self.severity, self.subject, self.message, self.evidence)

    def __repr__(self) -> str:
        return f"BriefPass({self.check_id or '?'}, {self.subject!r})"


@dataclass(frozen=True)
class Attestation:
    """What the run did on the wire: the report's read-only proof."""

    requests: Mapping[str, int]  # "GET graph.microsoft.com" -> count
    writes_attempted: int  # refused by the guard before leaving the process; must be 0
    token_roles: Mapping[str, tuple[str, ...]]  # "<reader client id> in <tenant> for <resource>" -> roles carried
    # The opt-in EXO-003 sign-in as the sync app itself: its token is the app's, not a reader's, and carries what the
    # app holds (full_access_as_app among it): "app <client id> in <tenant> for <resource>" -> roles
    live_probe: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class GateDecision:
    """How the run's findings became its exit code, said once for every report: the options that decided it, how
    many findings counted, how many did not and why."""

    exit_code: int  # 0, 1 or 3 (2 and 4 never reach a report)
    reason: str  # one sentence: "exit 1: 4 findings fail at any severity"
    fail_on: str = "fail"  # "fail", or "warn" (--fail-on)
    min_severity: Severity = Severity.INFO  # --min-severity: findings below it are reported, never counted
    gating: int = 0  # findings that count toward the exit code
    below_floor: int = 0  # findings that are not a pass but below --min-severity
    waived: int = 0  # findings under an applied waiver


@dataclass(frozen=True)
class Run:
    """Metadata of one audit run; the only place timestamps appear in a report."""

    tool_version: str
    started: str  # ISO 8601 UTC
    finished: str
    environment_url: str
    dynamics_tenant: str
    exchange_tenant: str
    client_id: str
    profile: str
    cloud: str
    checks: tuple[CheckSpec, ...]  # the checks that ran, by id
    names: Mapping[str, str] = field(default_factory=dict)  # display names people recognise: "environment", "app"
    # (read anyway by the checks; absent when they could not be read)
    completeness: tuple[str, ...] = ()  # "checked 812 of 812 active mailboxes on profile X, all pages read"
    attestation: Attestation = field(default_factory=lambda: Attestation({}, 0, {}))
    unused_waivers: tuple[UnusedWaiver, ...] = ()  # waivers that matched no finding that is not a pass
    source: str = ""  # the config file as the user named it (SARIF points results at it)
    gate: GateDecision | None = None  # the exit code and why (set by the command, from its --fail-on/--min-severity)

    @property
    def check_ids(self) -> list[str]:
        return sorted(spec.id for spec in self.checks)


@dataclass(frozen=True)
class AuditResult:
    """One run's findings, its metadata, everything it read and the reads that failed (by evidence name)."""

    findings: list[Finding]
    run: Run
    evidence: dict[str, Any]
    failures: dict[str, XtcheckError] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """One target of an estate: an environment, one of its email server profiles, the tenant pair it links."""

    name: str  # unique and stable in the estate: the environment's host, with " · <profile>" when it has several
    environment_url: str
    profile: str = ""  # the profile's name ("" = auto-detected)
    exchange_tenant: str = ""  # tenant B
    client_id: str = ""  # the sync app ("" = taken from the profile)
    environment: str = ""  # the environment's display name, when discovery found it


@dataclass(frozen=True)
class Unreadable:
    """An environment that discovery listed but no target could be made of, with why and what to do: never a silent
    gap in an estate."""

    environment: str  # its display name
    environment_url: str  # "" when it has no Dataverse
    reason: str
    fix: str


@dataclass(frozen=True)
class TargetResult:
    """One target's findings and run metadata, exactly as a single-target audit of it would report them."""

    target: Target
    findings: list[Finding]
    run: Run


@dataclass(frozen=True)
class EstateResult:
    """An estate's run: every target's result (in target order), the environments that could not be audited, and
    what the run as a whole did (its clock, its attestation: sign-ins and shared reads are the estate's, not one
    target's)."""

    targets: list[TargetResult]
    unreadable: list[Unreadable]
    tool_version: str
    started: str
    finished: str
    attestation: Attestation = field(default_factory=lambda: Attestation({}, 0, {}))
    completeness: tuple[str, ...] = ()  # "listed 22 environments: 20 audited as 21 targets, 1 without Dataverse, ..."
    shard: tuple[int, int] | None = None  # (I, N) of --shard I/N: this run audited the I-th of N shares
