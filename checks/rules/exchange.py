"""Checks on the Exchange tenant itself: it exists in the configured cloud, the app really gets a token with
full_access_as_app from it, and its organization still lets the app use EWS until EWS is switched off."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..model import CheckResult, Outcome, Remediation, Severity, Status, errored, failed, passed, skipped, warned
from ..probes.entra import READ_APPS_B
from ..probes.exchange import EXPORT_COMMAND, MANAGE_AS_APP
from ..registry import check
from . import (
    FULL_ACCESS_AS_APP,
    app_subject,
    clean_id,
    day,
    known_cause,
    missing_graph_roles,
    names,
    remedies,
    same_id,
    trim,
)

_AADSTS_PREFIX = re.compile(r"^AADSTS\d+:\s*")
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# cloud_instance_name -> where that is, and what to configure
_CLOUDS = {"microsoftonline.us": ("the US Government cloud (GCC High or DoD)", "set cloud: usgov or usgov-dod"),
           "partner.microsoftonline.cn": ("the China cloud operated by 21Vianet", "set cloud: china"),
           "chinacloudapi.cn": ("the China cloud operated by 21Vianet", "set cloud: china"),
           "microsoftonline.com": ("the global (public) cloud", "set cloud: public")}
_SIGNED_IN = "xtcheck signed in as the app once for this (a sign-in log entry in tenant B) and wrote nothing"
EWS_NULL_SWITCH = datetime(2026, 10, 1, tzinfo=UTC)  # tenants left at EwsEnabled null are switched to False
EWS_SHUTDOWN = datetime(2027, 4, 1, tzinfo=UTC)  # EWS in Exchange Online is switched off for good
EWS_ACCESS = "EWS access in tenant B"
_SOURCES = {"export": "the Get-OrganizationConfig export", "admin-api": "the Exchange Online admin API"}
EWS_RETIREMENT = "EWS retirement"


def _tenant_subject(discovery: Mapping[str, Any]) -> str:
    return f"tenant {discovery.get('query')}"


def _cloud_of(instance: str) -> tuple[str, str]:
    name = instance.lower()
    return next((where for key, where in _CLOUDS.items() if name == key or name.endswith(f".{key}")),
                (f"the cloud that calls itself {instance}", "set cloud: custom with that cloud's endpoints"))


@check("EXO-004", "The Exchange tenant exists in the configured cloud", Severity.CRITICAL,
       remedy=remedies.find_exchange_tenant, references=(remedies.NATIONAL_CLOUDS, remedies.ENTRA_CODES),
       permissions=())
def exchange_tenant_exists(exchange_tenant_discovery: Mapping[str, Any]) -> CheckResult:
    """Every token Dynamics asks for names tenant B; if Entra does not know that tenant in the cloud it signs in to
    (a subscription id pasted for the tenant id, a typo, a tenant in a national cloud), nothing ever syncs
    (AADSTS90002). OpenID discovery answers this without any credentials."""
    found = exchange_tenant_discovery
    subject, query = _tenant_subject(found), str(found.get("query") or "")
    evidence: dict[str, Any] = {k: found.get(k) for k in ("query", "found", "tenant_id", "issuer", "region",
                                                          "sub_scope", "cloud_instance", "expected_instance",
                                                          "cloud", "login", "error")}
    if not found.get("found"):
        said = trim(found.get("error") or "AADSTS90002: tenant not found")
        yield failed(subject, f"OpenID discovery for {query} at {found.get('login')} found no tenant: {said}; check "
                     f"the tenant id (the Directory (tenant) ID, not a subscription id) or the cloud (now "
                     f"{found.get('cloud')})", **evidence)
        return
    tenant, instance, expected = found.get("tenant_id"), found.get("cloud_instance"), found.get("expected_instance")
    if expected is not None and instance and str(instance).lower() != str(expected).lower():
        where, advice = _cloud_of(str(instance))
        named = query if same_id(query, tenant) else f"{query} ({tenant})"
        yield failed(subject, f"tenant {named} is not in the configured {found.get('cloud')} cloud ({expected}): it "
                     f"lives in {where}: {advice}", **evidence)
        return
    if _GUID.fullmatch(clean_id(query)) and not same_id(query, tenant):
        yield failed(subject, f"OpenID discovery for {query} answered for another tenant, {tenant} (issuer "
                     f"{found.get('issuer')})", **evidence)
        return
    where = ", ".join(str(part) for part in (instance, f"region {found.get('region')}",
                                             found.get("sub_scope") and f"sub scope {found['sub_scope']}") if part)
    resolves = "" if _GUID.fullmatch(clean_id(query)) else f"; the domain {query} resolves to it"
    yield passed(subject, f"tenant B {tenant} exists in the {found.get('cloud')} cloud ({where}){resolves}",
                 **evidence)


@check("EXO-003", "A token the app gets from the Exchange tenant carries full_access_as_app", Severity.HIGH,
       remedy=remedies.fix_app_sign_in, references=(remedies.ENTRA_CODES, remedies.LEARN_CROSS_TENANT),
       permissions=(), depends_on=("EXO-004", "EXO-001"))
def app_token_carries_full_access(live_token: Mapping[str, Any], exchange_tenant_id: str,
                                  client_id: str) -> CheckResult:
    """The other checks read configuration; this one does what Dynamics does: it signs in to tenant B as the app
    with its client secret and reads the Exchange token's claims. Only a real token proves that the secret works
    and that the consent has reached Entra's token service. Opt-in, because it leaves a sign-in log entry."""
    subject = app_subject(client_id)
    if not live_token.get("configured"):
        yield skipped(subject, "opt-in: set app.secret (env:NAME or file:PATH) to sign in as the app once; it writes "
                      "nothing but leaves a sign-in log entry in tenant B")
        return
    if not live_token.get("acquired"):
        yield _refused(subject, live_token, client_id)
        return
    claims: Mapping[str, Any] = live_token.get("claims") or {}
    evidence: dict[str, Any] = {"resource": live_token.get("resource"), "claims": dict(claims)}
    if not claims:
        yield errored(subject, f"app {client_id} got a token from tenant B, but its claims could not be read (the "
                      f"token is opaque), so its roles are unknown; {_SIGNED_IN}", **evidence)
        return
    problems = _claim_problems(claims, exchange_tenant_id, client_id)
    if problems:
        yield failed(subject, f"app {client_id} got a token from tenant B, but {'; '.join(problems)}; {_SIGNED_IN}",
                     **evidence)
        return
    yield passed(subject, f"app {client_id} got an Exchange token from tenant B carrying {FULL_ACCESS_AS_APP}; "
                 f"{_SIGNED_IN}", **evidence)


def _refused(subject: str, live_token: Mapping[str, Any], client_id: str) -> Outcome:
    code, error = live_token.get("code"), str(live_token.get("error") or "")
    entry = known_cause(codes=[f"AADSTS{code}"] if code else [], texts=[error])
    named = f"AADSTS{code}" if code else "an error without an AADSTS code"
    evidence: dict[str, Any] = {"resource": live_token.get("resource"), "code": code, "error": trim(error),
                                "known_cause": entry.key if entry else None}
    cause = f" ({entry.title})" if entry else ""
    said = _AADSTS_PREFIX.sub("", error.rpartition(" failed: ")[2] or error)
    return failed(subject, f"app {client_id} could not get an Exchange token from tenant B: {named}{cause}: "
                  f"{trim(said, 200)}; {_SIGNED_IN}", fix=remedies.known_fix(entry) if entry else None, **evidence)


def _claim_problems(claims: Mapping[str, Any], tenant: str, client_id: str) -> list[str]:
    problems = []
    roles = [str(r) for r in claims.get("roles") or []]
    if FULL_ACCESS_AS_APP not in roles:
        held = f" (it carries {names(roles)})" if roles else ""
        problems.append(f"the token carries no {FULL_ACCESS_AS_APP}: consent missing or not yet replicated{held}")
    if not same_id(claims.get("tid"), tenant):
        problems.append(f"it was issued by tenant {claims.get('tid')}, not tenant B {tenant}")
    app = claims.get("appid") or claims.get("azp")
    if not same_id(app, client_id):
        problems.append(f"it names app {app}, not {client_id}")
    return problems


@check("EWS-001", "The app may use EWS in the Exchange tenant until EWS is switched off", Severity.HIGH,
       remedy=remedies.allow_app_for_ews_for_run,
       references=(remedies.EWS_ACCESS, remedies.EWS_RETIREMENT, remedies.SET_ORG_CONFIG),
       permissions=(MANAGE_AS_APP, READ_APPS_B), depends_on=("EXO-004", "EXO-001"))
def app_may_use_ews(org_config: Mapping[str, Any], client_id: str, now: datetime,
                    graph_resource_sp: Mapping[str, Any] | None, app_role_assignments: list[Mapping[str, Any]],
                    client_service_principal: Mapping[str, Any] | None) -> CheckResult:
    """Cross-tenant sync still reaches the mailboxes through EWS. From October 2026 Exchange Online lets an app use
    EWS only when the organization has EwsEnabled true and the app's id in EwsAllowedAppIDs (a tenant left unset is
    switched off), and on 1 April 2027 EWS is switched off for good, after which sync needs Microsoft Graph
    permissions. Exchange settings are not in Graph: an operator's export or the opt-in admin API supplies them."""
    yield _ews_access(org_config, client_id, now)
    yield _ews_forecast(now, graph_resource_sp, app_role_assignments, client_service_principal)


def _ews_access(org_config: Mapping[str, Any], client_id: str, now: datetime) -> Outcome:
    if now >= EWS_SHUTDOWN:
        return passed(EWS_ACCESS, "EWS is retired in Exchange Online; only the Microsoft Graph permissions matter "
                      "(GRA-001)")
    config = org_config.get("config")
    if org_config.get("source") is None or config is None:
        return skipped(EWS_ACCESS, "the organization's EWS settings were not read: export them in Exchange Online "
                       f"PowerShell of tenant B with `{EXPORT_COMMAND}` and set exchange.org_config_export to the "
                       "file, or set exchange.admin_api: true to read them through the Exchange Online admin API",
                       not_read=org_config.get("reason"), command=EXPORT_COMMAND)
    verdicts = [_app_id_verdict(config, client_id, now), *_user_agent_verdicts(config)]
    status = next(s for s in (Status.FAIL, Status.WARN, Status.PASS) if any(v[0] == s for v in verdicts))
    message = "; ".join(text for _, text, _ in verdicts)
    evidence: dict[str, Any] = {"source": org_config.get("source"), **config}
    if status == Status.PASS:
        return passed(EWS_ACCESS, f"app {client_id} may use EWS in tenant B until it is switched off: {message} "
                      f"(read from {_SOURCES.get(str(org_config.get('source')), org_config.get('source'))})",
                      **evidence)
    fix = next((f for s, _, f in verdicts if s == status), None)
    return (failed if status == Status.FAIL else warned)(EWS_ACCESS, message, fix=fix, **evidence)


Verdict = tuple[Status, str, Remediation | None]


def _flag(value: object) -> bool | None:
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    return value if isinstance(value, bool) else None


def _app_id_verdict(config: Mapping[str, Any], client_id: str, now: datetime) -> Verdict:
    enabled, listed = _flag(config.get("EwsEnabled")), config.get("EwsAllowedAppIDs")
    fix = remedies.allow_app_for_ews(client_id, listed or [])
    if enabled is False:
        return Status.FAIL, f"EwsEnabled is False in tenant B: EWS is blocked for every app, app {client_id} too", fix
    if enabled is True:
        if any(same_id(i, client_id) for i in listed or []):
            return Status.PASS, "EwsEnabled is True and the app is in EwsAllowedAppIDs", None
        which = f"a list of {len(listed)} that leaves out app {client_id}" if listed else \
            "an empty list, which blocks every app"
        return Status.FAIL, (f"EwsEnabled is True, so only the apps listed in EwsAllowedAppIDs may use EWS, and it "
                             f"holds {which}"), fix
    advice = "set EwsEnabled to True and add the app to EwsAllowedAppIDs"
    if now >= EWS_NULL_SWITCH:
        return Status.FAIL, ("EwsEnabled is not set (null), and False blocks EWS for every app: Microsoft switches "
                             f"null to False from October 2026; {advice}"), fix
    return Status.WARN, (f"EwsEnabled is not set (null), which allows EWS for now, but Microsoft switches null to "
                         f"False from October 2026; {advice}"), fix


def _entries(value: object) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return [str(i).strip() for i in items if str(i).strip()]


def _admits_dynamics(entry: str) -> bool:
    """Whether a user-agent pattern covers Dynamics' EWS user agent (CRM/...); '*' covers everything."""
    return entry.upper().startswith("CRM") or entry.startswith("*")


def _user_agent_verdicts(config: Mapping[str, Any]) -> list[Verdict]:
    policy = str(config.get("EwsApplicationAccessPolicy") or "")
    if policy.lower() == "enforceallowlist":
        allowed = _entries(config.get("EwsAllowList"))
        if not any(_admits_dynamics(e) for e in allowed):
            return [(Status.WARN, "the user-agent policy is EnforceAllowList and EwsAllowList "
                     f"({', '.join(allowed[:10]) or 'empty'}) has no entry admitting Dynamics' user agent (CRM/*)",
                     remedies.admit_dynamics_user_agent())]
    if policy.lower() == "enforceblocklist":
        blocked = [e for e in _entries(config.get("EwsBlockList")) if _admits_dynamics(e)]
        if blocked:
            return [(Status.FAIL, f"the user-agent policy is EnforceBlockList and EwsBlockList lists "
                     f"{', '.join(blocked)}, which blocks Dynamics' user agent (CRM/*)",
                     remedies.admit_dynamics_user_agent(blocked))]
    return []


def _ews_forecast(now: datetime, graph_sp: Mapping[str, Any] | None, assignments: list[Mapping[str, Any]],
                  client_sp: Mapping[str, Any] | None) -> Outcome:
    if now >= EWS_SHUTDOWN:
        return passed(EWS_RETIREMENT, f"EWS in Exchange Online was switched off on {day(EWS_SHUTDOWN)}; sync runs on "
                      "Microsoft Graph alone, whose permissions GRA-001 checks")
    left = (EWS_SHUTDOWN.date() - now.date()).days
    when = f"EWS in Exchange Online is switched off for good on {day(EWS_SHUTDOWN)} (in {left} days)"
    evidence: dict[str, Any] = {"shutdown": day(EWS_SHUTDOWN)}  # days left stay in the message: a waiver's
    # fingerprint covers evidence, which must not change by itself every day
    if client_sp is None or graph_sp is None:
        missing_what = "the app's service principal" if client_sp is None else "Microsoft Graph's service principal"
        return warned(EWS_RETIREMENT, f"{when}; whether the Microsoft Graph permissions for the move are in place is "
                      f"unknown: {missing_what} in tenant B could not be read", **evidence)
    missing, _ = missing_graph_roles(client_sp, graph_sp, assignments)
    if not missing:
        return passed(EWS_RETIREMENT, f"{when}; the Graph permissions are in place for the move", **evidence)
    return warned(EWS_RETIREMENT, f"{when}; sync then needs Microsoft Graph, and the app still lacks {len(missing)} of "
                  f"the Graph permissions for the move: {', '.join(missing)} (GRA-001)", missing=missing, **evidence)
