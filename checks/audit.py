"""One audit run: settings in, findings and run metadata out (the probes, checks and HTTP seam wired together)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import __version__, registry
from .engine import Evidence, run
from .errors import ConfigError, XtcheckError
from .http.apis import Apis
from .http.auth import Tokens
from .http.client import Http
from .http.retry import RetryPolicy
from .model import Attestation, CheckSpec, Finding, Run, RunIds
from .settings import Settings

# Evidence the run gives rather than reads; a snapshot keeps only what was read.
SEEDS = ("settings", "thresholds", "now", "apis")


@dataclass(frozen=True)
class AuditResult:
    findings: list[Finding]
    run: Run
    evidence: dict[str, Any]
    failures: dict[str, XtcheckError] = field(default_factory=dict)  # reads that failed, by evidence name


def select(catalog: dict[str, CheckSpec], only: Iterable[str], skip: Iterable[str]) -> list[CheckSpec]:
    """The checks to run; an unknown id in --only/--skip is a usage error, not a silent no-op."""
    only, skip = {i.upper() for i in only}, {i.upper() for i in skip}
    for flag, ids in (("--only", only), ("--skip", skip)):
        unknown = sorted(i for i in ids if i not in catalog and not any(c.startswith(f"{i}-") for c in catalog))
        if unknown:
            raise ConfigError(flag, f"unknown check id {', '.join(unknown)}; `xtcheck checks` lists the catalog")

    def named(check_id: str, ids: set[str]) -> bool:
        return check_id in ids or check_id.split("-", maxsplit=1)[0] in ids

    return [c for c in catalog.values() if (not only or named(c.id, only)) and not named(c.id, skip)]


def audit(settings: Settings, *, transport: httpx.BaseTransport | None = None,
          retry: RetryPolicy | None = None) -> AuditResult:
    started = _now()
    catalog, probes = registry.load()
    checks = select(catalog, settings.run.only, settings.run.skip)
    admin_api = settings.cloud.exchange_resource if settings.exchange_admin_api else None
    http = Http(settings.cloud.login, settings.ca_bundle, transport=transport, retry=retry,
                exchange_admin_origin=admin_api)
    tokens = Tokens(settings, http)
    seeds = {"settings": settings, "thresholds": settings.thresholds, "now": started,
             "apis": Apis(settings, http, tokens)}
    evidence = Evidence(probes, seeds)
    try:
        findings = run(checks, evidence, lambda: run_ids(settings, evidence))
    finally:
        http.close()
    ids = run_ids(settings, evidence)
    meta = Run(
        tool_version=__version__, started=_iso(started), finished=_iso(_now()),
        environment_url=settings.environment_url, dynamics_tenant=settings.dynamics_tenant,
        exchange_tenant=ids.exchange_tenant, client_id=ids.client_id, profile=ids.profile,
        cloud=settings.cloud.name, checks=tuple(sorted(c.id for c in checks)),
        names=display_names(evidence.collected()), source=settings.source,
        completeness=completeness(evidence.collected()),
        attestation=Attestation(http.log.by_method_and_host(), http.log.writes_attempted(), dict(tokens.carried)),
    )
    return AuditResult(findings, meta, evidence.collected(), evidence.failures())


def run_ids(settings: Settings, evidence: Evidence) -> RunIds:
    """The ids remediation is built from; whatever could not be read stays as configured (or empty)."""

    def read(name: str, default: Any) -> Any:
        try:
            return evidence.get(name)
        except (XtcheckError, LookupError):
            return default

    application = read("application", {}) or {}
    selection = read("email_server_profile", {}) or {}
    exchange = read("exchange_tenant_id", settings.exchange_tenant)
    return RunIds(
        client_id=read("client_id", settings.client_id or ""), exchange_tenant=exchange,
        dynamics_tenant=settings.dynamics_tenant, home_tenant=application.get("home_tenant") or exchange,
        environment_url=settings.environment_url, login_host=settings.cloud.login, graph_host=settings.cloud.graph,
        portal_host=settings.cloud.portal,
        profile=str((selection.get("match") or {}).get("name") or settings.profile or ""),
    )


def display_names(collected: dict[str, Any]) -> dict[str, str]:
    """Names people recognise, from what was read anyway (no extra request, no extra permission)."""
    names = {}
    app = (collected.get("application") or {}).get("object") or {}
    if app.get("displayName"):
        names["app"] = str(app["displayName"])
    organization = collected.get("organization_settings") or {}
    if organization.get("name"):
        names["environment"] = str(organization["name"])
    return names


def completeness(collected: dict[str, Any]) -> tuple[str, ...]:
    """What each set-wide read covered, said plainly (a read that failed raised before getting here)."""
    statements = []
    mailboxes = collected.get("mailboxes")
    if mailboxes and mailboxes.get("profile"):
        rows, pages, name = len(mailboxes["rows"]), mailboxes["pages"], mailboxes["profile"]["name"]
        if mailboxes["scope"] == "all":
            statements.append(f"checked {rows} of {rows} active mailboxes on profile {name}, all pages read "
                              f"({pages} page{'s' if pages != 1 else ''})")
        else:
            listed, missing = len(mailboxes["scope"]), len(mailboxes["missing"])
            statements.append(f"checked {listed - missing} of {listed} listed mailboxes ({missing} not found in "
                              f"Dynamics), all pages read")
    assignments = collected.get("app_role_assignments")
    if assignments is not None and collected.get("client_service_principal"):
        statements.append(f"read {len(assignments)} application permission grants of the app in tenant B, "
                          "all pages read")
    return tuple(statements)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
