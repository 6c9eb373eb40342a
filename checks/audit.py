"""One audit run: settings in, findings and run metadata out (the probes, checks and HTTP seam wired together)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import __version__, registry
from .engine import Decision, blocker, run
from .evidence import Evidence, SharedReads, needed
from .facts import completeness, display_names, run_ids
from .model import Attestation, AuditResult, CheckSpec, Run
from .outside import outside
from .registry import select
from .settings import Settings
from .workers import Deadline, Workers

if TYPE_CHECKING:
    import httpx

    from .http.auth import Tokens
    from .http.client import Http
    from .progress import Listener
    from .registry import ProbeSpec

READERS = 8  # threads reading at once (each host still gets at most http.client.PER_HOST requests at a time)
DEFAULT_TIMEOUT = 120.0  # seconds; `--timeout`
# Reads with a side effect wait until the checks that use them may run, as in a one-by-one run: the live token
# probe signs in to tenant B as the sync app itself (a sign-in log entry), so never while EXO-004 or EXO-001 fail.
GATED = frozenset({"live_token"})


def audit(settings: Settings, *, transport: httpx.BaseTransport | None = None, timeout: float | None = DEFAULT_TIMEOUT,
          progress: Listener | None = None, readers: int = READERS) -> AuditResult:
    """Read what the selected checks need, independent reads at once, and run the checks.

    With `timeout` (seconds; None: no limit) every read unfinished by then becomes an `error` finding ("not read
    within the N s deadline"), no read starts after it, and in-flight requests are cut off: the audit returns.
    `readers` is how many reads may run at once; 0 reads one after the other in the calling thread, only what the
    checks ask for, as they ask (no read ahead; the deadline then bounds only the waits, not a read in progress)."""
    started = _now()
    session = Session.open(settings, transport=transport, timeout=timeout, progress=progress, readers=readers)
    try:
        result = audit_target(settings, session, started)
    finally:
        session.close()  # past the deadline, this also cuts off the reads still in flight
    attestation = session.attestation()
    return dataclasses.replace(result, run=dataclasses.replace(result.run, attestation=attestation))


@dataclass
class Session:
    """What every target of one run shares: the HTTP seam (connections, per-host bounds, the request log), the
    sign-ins, the reader threads, the deadline, and, in an estate, the reads targets have in common."""

    http: Http
    tokens: Tokens
    workers: Workers | None
    deadline: Deadline | None
    shared: SharedReads | None = None
    progress: Listener | None = None

    @classmethod
    def open(cls, settings: Settings, *, transport: httpx.BaseTransport | None = None,
             timeout: float | None = DEFAULT_TIMEOUT, progress: Listener | None = None, readers: int = READERS,
             shared: SharedReads | None = None, per_host: int | None = None,
             wide: Mapping[str, int] | None = None) -> Session:
        """`per_host`: requests in flight to one host at once (None: http.client.PER_HOST); `wide`: origins with a
        bound of their own."""
        from .http.auth import Tokens
        from .http.client import PER_HOST, Http

        admin_api = settings.cloud.exchange_resource if settings.exchange_admin_api else None
        http = Http(settings.cloud.login, settings.ca_bundle, options=settings.http, transport=transport,
                    graph_origin=settings.cloud.graph, exchange_admin_origin=admin_api,
                    on_response=progress.response if progress else None, per_host=per_host or PER_HOST,
                    wide=wide)
        return cls(http, Tokens(settings, http), Workers(readers) if readers > 0 else None,
                   Deadline.after(timeout) if timeout is not None else None, shared, progress)

    def close(self) -> None:
        if self.workers is not None:
            self.workers.shutdown()
        self.http.close()

    def attestation(self) -> Attestation:
        """What the run did on the wire; the roles are what its tokens claimed (from outside: cleaned)."""
        return Attestation(self.http.log.by_method_and_host(), self.http.log.writes_attempted(),
                           outside(dict(self.tokens.carried)), outside(dict(self.tokens.live_carried)))


def audit_target(settings: Settings, session: Session, started: dt.datetime) -> AuditResult:
    """One target audited within `session` (whose attestation the caller adds: in an estate it is the estate's)."""
    from .http.apis import Apis

    catalog, probes = registry.load()
    checks = select(catalog, settings.run.only, settings.run.skip)
    seeds = {"settings": settings, "thresholds": settings.thresholds, "now": started,
             "apis": Apis(settings, session.http, session.tokens)}
    evidence = Evidence(probes, seeds, workers=session.workers, deadline=session.deadline, shared=session.shared)
    progress = session.progress
    gate = _Gate(checks, probes, evidence)
    evidence.prefetch(name for name in needed(checks, probes) if name not in gate.held)
    findings = run(checks, evidence, lambda collected: run_ids(settings, collected), decided=gate.decided,
                   counted=progress.counted if progress else None)
    ids = run_ids(settings, evidence.collected())
    meta = Run(
        tool_version=__version__, started=_iso(started), finished=_iso(_now()),
        environment_url=settings.environment_url, dynamics_tenant=settings.dynamics_tenant,
        exchange_tenant=ids.exchange_tenant, client_id=ids.client_id, profile=ids.profile,
        cloud=settings.cloud.name, checks=tuple(sorted(checks, key=lambda c: c.id)),
        names=display_names(evidence.collected()), source=settings.source,
        completeness=completeness(evidence.collected()),
    )
    return AuditResult(findings, meta, evidence.collected(), evidence.failures())


class _Gate:
    """Holds back the GATED reads (and any read that needs one) until a check that uses them may run: its
    dependencies decided, none of them blocking."""

    def __init__(self, checks: list[CheckSpec], probes: Mapping[str, ProbeSpec], evidence: Evidence) -> None:
        self._evidence = evidence
        self._selected = {c.id for c in checks}
        wanted = needed(checks, probes)
        self._users = {name: [c for c in checks if name in needed([c], probes)] for name in GATED}
        self._behind = {name: [n for n in wanted if n != name and _reaches(n, name, probes)] for name in GATED}
        self.held = {n for name, users in self._users.items() if users for n in (name, *self._behind[name])}
        self._release({})

    def decided(self, _spec: CheckSpec, results: Mapping[str, Decision]) -> None:
        self._release(results)

    def _release(self, results: Mapping[str, Decision]) -> None:
        for name, users in self._users.items():
            if name in self.held and any(self._may_run(c, results) for c in users):
                self.held.difference_update((name, *self._behind[name]))
                self._evidence.prefetch([name, *self._behind[name]])

    def _may_run(self, spec: CheckSpec, results: Mapping[str, Decision]) -> bool:
        return (all(dep in results for dep in spec.depends_on if dep in self._selected)
                and blocker(spec, results) is None)


def _reaches(name: str, target: str, probes: Mapping[str, ProbeSpec], seen: frozenset[str] = frozenset()) -> bool:
    """True when probe `name` needs `target`, directly or through other probes."""
    params = probes[name].eager if name in probes else ()
    return target in params or any(p not in seen and _reaches(p, target, probes, seen | {name}) for p in params)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
