"""An estate's run: every target of a config (`targets:`) or of tenant A (`dynamics.environments: all`), audited at
once in one session.

Targets share what is theirs to share: the sign-ins (one per identity and resource), the HTTP seam and its per-host
bounds, the run's deadline, and every read that does not depend on the target (a probe's `shared` keys: one tenant
B's users, one app's service principal and grants, read once however many profiles use them). Each target has its
own evidence and its own findings: a slow or failing target never changes another's findings, and never stalls
them beyond the shared deadline.

Discovery lists tenant A's environments through the Power Platform admin API, reads each environment's email
server profiles (the read its target reuses), and makes a target of every active Exchange profile with an OAuth
client id. An environment it cannot read is an `Unreadable` with the reason and the fix, never left out silently."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import __version__, registry
from .audit import DEFAULT_TIMEOUT, Session, audit_target
from .errors import AuthError, ConfigError, PermissionDenied, ProbeError, XtcheckError
from .estate_shard import shard_of
from .evidence import Evidence, SharedReads
from .model import AuditResult, EstateResult, Target, TargetResult, Unreadable
from .outside import outside
from .probes.dataverse import EXCHANGE_SERVER_TYPES
from .settings import EstateSettings, Settings, TargetSpec

if TYPE_CHECKING:
    import httpx

    from .progress import Listener

Keeper = Callable[[TargetSpec, Settings, AuditResult], None]
Start = Callable[[int, Iterable[TargetSpec]], None]  # an environment's place in the list, and its targets
READERS = 256  # reads at once across the estate
# Requests in flight to one host at once. A single target's run keeps to http.client.PER_HOST (4) everywhere. In an
# estate, every sign-in goes to the one login host and every tenant B's Graph reads to the one Graph host, where
# Microsoft's limits are per tenant and app, not per host: those get SHARED_HOSTS, or 500 targets' sign-ins would
# queue behind each other. Each Dataverse environment is a host of its own and gets PER_ENVIRONMENT: its few reads
# then share one or two connections (a TLS handshake each, on both sides) while the other targets keep the wire busy.
SHARED_HOSTS = 16
PER_ENVIRONMENT = 2
DISCOVERING_AT_ONCE = 64  # environments whose profiles are read at once (their targets then start at once)
TARGETS_AT_ONCE = 512  # targets whose checks run at once; their reads queue for the READERS
API_VERSION = "2020-10-01"  # the Power Platform admin API version Microsoft's "List environments" page shows


@dataclass(frozen=True)
class Discovered:
    """What discovery found besides the targets it started: the environments it could not make a target of, and
    what it covered."""

    unreadable: list[Unreadable]
    completeness: list[str]


def audit_estate(estate: EstateSettings, *, transport: httpx.BaseTransport | None = None,
                 timeout: float | None = DEFAULT_TIMEOUT, progress: Listener | None = None,
                 shard: tuple[int, int] | None = None, keep: Keeper | None = None) -> EstateResult:
    """Every target of `estate` (discovered first when asked), audited at once under one deadline; with `shard`
    (I, N), only the I-th of N deterministic shares of the targets (the rest is another machine's). `keep` is
    handed each target's whole result (its evidence too) as soon as it is done: the evidence snapshots.

    A discovered environment's targets start as soon as its profiles are read, not when the last environment's
    are: one slow environment does not hold the others back, and the reads the targets share (one tenant B's
    users, a page at a time) start early."""
    started = _now()
    session = Session.open(estate.shared, transport=transport, timeout=timeout, progress=progress, readers=READERS,
                           shared=SharedReads(), per_host=PER_ENVIRONMENT, wide=_shared_hosts(estate))
    try:
        with ThreadPoolExecutor(max_workers=TARGETS_AT_ONCE, thread_name_prefix="xtcheck-target") as pool:
            auditor = _Auditor(estate, session, started, pool, shard, keep)
            found = discover(estate, session, auditor.start) if estate.discover else listed(estate, auditor.start)
            results = auditor.results()
    finally:
        session.close()
    completeness = [*found.completeness, *([f"shard {shard[0]} of {shard[1]}: {len(results)} of the estate's "
                                            f"{auditor.named} targets"] if shard else [])]
    return EstateResult(results, found.unreadable, __version__, _iso(started), _iso(_now()), session.attestation(),
                        tuple(outside(completeness)), shard)


class _Auditor:
    """Starts each target's audit as its specs become known (`start`, from any thread), in a pool of
    TARGETS_AT_ONCE; `results` waits for them, in the order the targets were found (the environments' order)."""

    def __init__(self, estate: EstateSettings, session: Session, started: dt.datetime, pool: ThreadPoolExecutor,
                 shard: tuple[int, int] | None, keep: Keeper | None) -> None:
        self._estate, self._session, self._started, self._pool = estate, session, started, pool
        self._shard, self._keep = shard, keep
        self._lock = threading.Lock()
        self._futures: dict[int, list[Future[TargetResult]]] = {}
        self._done = 0
        self.named = 0  # targets found, before the shard's choice

    def start(self, order: int, specs: Iterable[TargetSpec]) -> None:
        """Name `specs` (the targets of one environment, or every listed target), keep this shard's, start them."""
        chosen = named(specs)
        with self._lock:
            self.named += len(chosen)
        if self._shard is not None:
            mine = set(shard_of([spec.name for spec in chosen], *self._shard))
            chosen = [spec for spec in chosen if spec.name in mine]
        futures = [self._pool.submit(self._one, spec) for spec in chosen]
        with self._lock:
            self._futures[order] = futures

    def results(self) -> list[TargetResult]:
        with self._lock:
            ordered = [future for order in sorted(self._futures) for future in self._futures[order]]
        return [future.result() for future in ordered]

    def _one(self, spec: TargetSpec) -> TargetResult:
        settings = self._estate.settings_for(spec)
        result = audit_target(settings, self._session, self._started)
        if self._keep is not None:
            self._keep(spec, settings, result)
        progress = self._session.progress
        if progress is not None:
            with self._lock:
                self._done += 1
                done, total = self._done, sum(len(f) for f in self._futures.values())
            progress.audited(done, max(done, total))
        return TargetResult(_target(spec, result.run.exchange_tenant, result.run.client_id), result.findings,
                            result.run)


def _shared_hosts(estate: EstateSettings) -> dict[str, int]:
    """The origins every target uses: login, Graph, the Exchange resource, the Power Platform admin API."""
    cloud = estate.shared.cloud
    origins = (cloud.login, cloud.graph, cloud.exchange_resource, estate.admin_api or cloud.bap)
    return {origin: SHARED_HOSTS for origin in origins if origin}


def listed(estate: EstateSettings, start: Start) -> Discovered:
    """The targets the config lists (`targets:`), nothing discovered; `start` is handed them all."""
    count = len(estate.targets)
    start(0, estate.targets)
    return Discovered([], [f"{count} target{'s' if count != 1 else ''} listed under targets: in the config "
                           "(environments not listed there were not audited)"])


def _target(spec: TargetSpec, exchange_tenant: str, client_id: str) -> Target:
    return Target(spec.name, spec.environment_url, spec.profile or "", exchange_tenant or spec.exchange_tenant or "",
                  client_id or spec.client_id or "", spec.environment)


def named(specs: Iterable[TargetSpec]) -> list[TargetSpec]:
    """The targets with a name each, unique in the estate: the config's, else the environment's host, with the
    profile when the host has more than one target."""
    specs = list(specs)
    hosts = [urlsplit(spec.environment_url).netloc for spec in specs]
    repeated = {host for host in hosts if hosts.count(host) > 1}
    result = []
    for spec, host in zip(specs, hosts, strict=True):
        name = spec.name or (f"{host} · {spec.profile}" if host in repeated and spec.profile else host)
        result.append(replace(spec, name=name))
    seen: dict[str, int] = {}
    for index, spec in enumerate(result):  # two profiles of one name in one environment: told apart by number
        count = seen[spec.name] = seen.get(spec.name, 0) + 1
        if count > 1:
            result[index] = replace(spec, name=f"{spec.name} ({count})")
    return result


# -- discovery -----------------------------------------------------------------------------------------------------


def discover(estate: EstateSettings, session: Session, start: Start) -> Discovered:
    """Tenant A's environments, each active Exchange profile with an OAuth client id in each a target; `start` is
    handed each environment's targets (with the environment's place in the list) as soon as they are known."""
    shared = estate.shared
    environments = list_environments(estate, session)
    with_dataverse = [e for e in environments if _instance_url(e)]
    without = [_display(e) for e in environments if not _instance_url(e)]

    def reads(order: int, environment: dict[str, Any]) -> tuple[list[TargetSpec], Unreadable | None]:
        specs, problem = _targets_in(estate, environment, session)
        start(order, specs)
        return specs, problem

    with ThreadPoolExecutor(max_workers=max(1, min(DISCOVERING_AT_ONCE, len(with_dataverse))),
                            thread_name_prefix="xtcheck-discover") as pool:
        found = list(pool.map(reads, range(len(with_dataverse)), with_dataverse))
    targets = [spec for specs, _ in found for spec in specs]
    unreadable = [problem for _, problem in found if problem is not None]
    empty = [_display(e) for e, (specs, problem) in zip(with_dataverse, found, strict=True)
             if not specs and problem is None]
    statements = [f"listed {len(environments)} environment{'s' if len(environments) != 1 else ''} of tenant "
                  f"{shared.dynamics_tenant}: {len(with_dataverse) - len(unreadable) - len(empty)} audited as "
                  f"{len(targets)} target{'s' if len(targets) != 1 else ''}, {len(unreadable)} the reader cannot "
                  f"read, {len(empty)} with no Exchange profile that has an OAuth client id, {len(without)} without "
                  "Dataverse"]
    if empty:
        statements.append(f"no cross-tenant profile (nothing syncs with another tenant there): {_listed(empty)}")
    if without:
        statements.append(f"without Dataverse (no mailboxes to sync): {_listed(without)}")
    return Discovered(unreadable, statements)


def list_environments(estate: EstateSettings, session: Session) -> list[dict[str, Any]]:
    """Every environment of tenant A, as the Power Platform admin API lists them; one ConfigError (exit 2) when it
    cannot be asked, one XtcheckError naming the fix when it refuses."""
    from .http.api import Api

    shared = estate.shared
    origin = estate.admin_api or shared.cloud.bap
    resource = shared.cloud.powerapps
    if not origin or not resource:
        raise ConfigError("dynamics.environments", f"xtcheck knows no Power Platform admin API for cloud "
                                                   f"{shared.cloud.name} (Microsoft's sources disagree on it): list "
                                                   "the environments under targets: instead")
    api = Api(session.http.client({"Accept": "application/json"}),
              f"{origin}/providers/Microsoft.BusinessAppPlatform",
              lambda refused: session.tokens.for_tenant(shared.dynamics_tenant, resource, refused),
              service="Power Platform admin API")
    try:
        return [e for page in api.pages("scopes/admin/environments", {"api-version": API_VERSION},
                                        next_link="nextLink") for e in page if isinstance(e, dict)]
    except (PermissionDenied, AuthError) as exc:
        reader = shared.credential_for(shared.dynamics_tenant)
        who = reader.client_id if reader and reader.client_id else "<reader client id>"
        raise XtcheckError(f"tenant A's environments could not be listed: {str(exc).rstrip('. ')}; an administrator "
                           f"can register the reader as a Power Platform management application (pac admin "
                           f"application register --application-id {who}), which gives it administrator rights over "
                           "the environments; the least-privilege way is to list the environments under targets: "
                           "instead") from None


def _targets_in(estate: EstateSettings, environment: dict[str, Any],
                session: Session) -> tuple[list[TargetSpec], Unreadable | None]:
    """The targets in one environment, or why there are none it could read."""
    url = _origin(_instance_url(environment))
    settings = estate.settings_for(TargetSpec(url))
    profiles = _profiles(settings, session)
    if isinstance(profiles, XtcheckError):
        return [], _unreadable(environment, url, profiles, settings)
    display = _display(environment)
    exchange = [p for p in profiles if p.get("statecode") == 0 and p.get("servertype") in EXCHANGE_SERVER_TYPES
                and str(p.get("oauthclientid") or "").strip()]
    names = [str(p.get("name") or "") for p in exchange]
    return [TargetSpec(url, profile=_profile_key(p, names), environment=display,
                       exchange_tenant=str(p.get("exchangeonlinetenantid") or "").strip().lower() or None,
                       client_id=str(p["oauthclientid"]).strip().lower()) for p in exchange], None


def _profiles(settings: Settings, session: Session) -> list[dict[str, Any]] | XtcheckError:
    """The environment's email server profiles, read as its target's audit will read them (the same shared read)."""
    from .http.apis import Apis

    _, probes = registry.load()
    seeds = {"settings": settings, "thresholds": settings.thresholds, "now": _now(),
             "apis": Apis(settings, session.http, session.tokens)}
    evidence = Evidence(probes, seeds, deadline=session.deadline, shared=session.shared)
    try:
        profiles: list[dict[str, Any]] = evidence.get("email_server_profiles")
    except (ProbeError, AuthError) as exc:
        return exc
    return profiles


def _profile_key(profile: dict[str, Any], names: list[str]) -> str:
    """How the target names its profile: by name, or by id when another profile there has the same name."""
    name = str(profile.get("name") or "")
    return name if name and names.count(name) == 1 else str(profile.get("emailserverprofileid") or name)


def _unreadable(environment: dict[str, Any], url: str, exc: XtcheckError, settings: Settings) -> Unreadable:
    reader = settings.credential_for(settings.dynamics_tenant)
    who = f"the reader app {reader.client_id}" if reader else "xtcheck's reader"
    fix = (f"Add {who} as an application user of this environment with a security role that reads email server "
           f"profiles, mailboxes, organization settings and trace logs: Power Platform admin center > Environments > "
           f"{_display(environment)} > Settings > Users + permissions > Application users > New app user.")
    return Unreadable(_display(environment), url, f"the reader cannot read its email server profiles: {exc}",
                      outside(fix))


def _instance_url(environment: dict[str, Any]) -> str:
    metadata = (environment.get("properties") or {}).get("linkedEnvironmentMetadata") or {}
    url = metadata.get("instanceUrl") if isinstance(metadata, dict) else None
    return url if isinstance(url, str) and url.startswith("https://") else ""


def _origin(url: str) -> str:
    from .config import normalize_environment_url

    return normalize_environment_url(url, "linkedEnvironmentMetadata.instanceUrl")


def _display(environment: dict[str, Any]) -> str:
    properties = environment.get("properties") or {}
    name = properties.get("displayName") if isinstance(properties, dict) else None
    return outside(str(name or environment.get("name") or "(an environment without a name)"))  # type: ignore[no-any-return]


def _listed(names: list[str], shown: int = 10) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
