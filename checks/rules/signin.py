"""Signing in to tenant B: the tenant exists in the configured cloud (EXO-004), and a token the app gets from it as
Dynamics would carries full_access_as_app (EXO-003, opt-in)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..model import CheckResult, Outcome, Remediation, RunIds, Severity, errored, failed, passed, skipped
from ..registry import check
from . import FULL_ACCESS_AS_APP, app_subject, clean_id, known_cause, names, same_id, trim
from .fixes import consent_url, known_fix
from .sources import ENTRA_CODES, FIND_TENANT_ID, LEARN_CROSS_TENANT, NATIONAL_CLOUDS, SIGN_IN_LOGS

_AADSTS_PREFIX = re.compile(r"^AADSTS\d+:\s*")
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# cloud_instance_name -> where that is, and what to configure
_CLOUDS = {"microsoftonline.us": ("the US Government cloud (GCC High or DoD)", "set cloud: usgov or usgov-dod"),
           "partner.microsoftonline.cn": ("the China cloud operated by 21Vianet", "set cloud: china"),
           "chinacloudapi.cn": ("the China cloud operated by 21Vianet", "set cloud: china"),
           "microsoftonline.com": ("the global (public) cloud", "set cloud: public")}
_SIGNED_IN = "xtcheck signed in as the app once for this (a sign-in log entry in tenant B) and wrote nothing"
# The token was issued to xtcheck's machine, not to Dynamics: a location-based Conditional Access policy may treat
# Dynamics' sign-ins otherwise.
_FROM_HERE = ("; the token was issued to this machine's network, not to Dynamics', and a location-based Conditional "
              "Access policy in tenant B can treat the two differently (EXO-005)")


def find_exchange_tenant(ids: RunIds) -> Remediation:
    return Remediation(
        "Configure the Exchange tenant by its Directory (tenant) ID, in the cloud that holds it.",
        steps=("Sign in to the Microsoft Entra admin center of the tenant that holds the Exchange Online mailboxes and "
               "copy Overview > Tenant ID (not a subscription id, not the Dynamics tenant's id).",
               "Put it in xtcheck's config (exchange.tenant_id) and in the email server profile's TenantId.",
               f"If the tenant lives in a national cloud (US Government, China), set xtcheck's cloud to match; the "
               f"login host used now is {ids.login_host}."),
        commands=(f"curl -s {ids.login_host}/{ids.exchange_tenant}/v2.0/.well-known/openid-configuration",),
    )


def _tenant_subject(discovery: Mapping[str, Any]) -> str:
    return f"tenant {discovery.get('query')}"


def _cloud_of(instance: str) -> tuple[str, str]:
    name = instance.lower()
    return next((where for key, where in _CLOUDS.items() if name == key or name.endswith(f".{key}")),
                (f"the cloud that calls itself {instance}", "set cloud: custom with that cloud's endpoints"))


@check("EXO-004", "The Exchange tenant exists in the configured cloud", Severity.CRITICAL, link="exchange",
       remedy=find_exchange_tenant, references=(FIND_TENANT_ID, NATIONAL_CLOUDS, ENTRA_CODES))
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


def fix_app_sign_in(ids: RunIds, known_cause: str | None = None) -> Remediation:
    """The known cause of the refusal when xtcheck recognised it; else how to get a token at all."""
    return known_fix(known_cause) or Remediation(
        f"Make the app {ids.client_id} able to get an Exchange token from tenant {ids.exchange_tenant} with the "
        "secret the profile holds.",
        steps=("Read the AADSTS code in the finding: an invalid secret (7000215) means the profile or app.secret "
               "holds the Secret ID or an old value; an expired one (7000222) needs a new secret.",
               f"If the token carries no full_access_as_app, grant admin consent in tenant {ids.exchange_tenant}: "
               f"{consent_url(ids)}; new roles show only in tokens issued after the grant.",
               "Enter the same secret in the email server profile, then run Test & Enable on one mailbox."),
    )


# Claims that differ from one token to the next (times, token and session ids): left out of the evidence, so the
# finding's fingerprint (a waiver may pin it, `diff` compares it) is the same in every run that finds the same.
PER_TOKEN_CLAIMS = frozenset({"exp", "iat", "nbf", "uti", "rh", "aio", "xms_tcdt", "xms_ftd", "xms_idrel"})


@check("EXO-003", "A token the app gets from the Exchange tenant carries full_access_as_app", Severity.HIGH,
       link="consent", remedy=fix_app_sign_in, references=(ENTRA_CODES, LEARN_CROSS_TENANT, SIGN_IN_LOGS),
       depends_on=("EXO-004", "EXO-001"))
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
    evidence: dict[str, Any] = {"resource": live_token.get("resource"),
                                "claims": {k: v for k, v in claims.items() if k not in PER_TOKEN_CLAIMS}}
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
                 f"{_SIGNED_IN}{_FROM_HERE}", **evidence)


def _refused(subject: str, live_token: Mapping[str, Any], client_id: str) -> Outcome:
    code, error = live_token.get("code"), str(live_token.get("error") or "")
    entry = known_cause(codes=[f"AADSTS{code}"] if code else [], texts=[error])
    named = f"AADSTS{code}" if code else "an error without an AADSTS code"
    evidence: dict[str, Any] = {"resource": live_token.get("resource"), "code": code, "error": trim(error),
                                "known_cause": entry.key if entry else None}
    cause = f" ({entry.title})" if entry else ""
    said = _AADSTS_PREFIX.sub("", error.rpartition(" failed: ")[2] or error)
    return failed(subject, f"app {client_id} could not get an Exchange token from tenant B: {named}{cause}: "
                  f"{trim(said, 200)}; {_SIGNED_IN}", **evidence)


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
