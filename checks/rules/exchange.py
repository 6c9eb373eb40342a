"""The app's standing in tenant B: an enabled service principal (EXO-001), admin consent for full_access_as_app
(EXO-002), and no Conditional Access policy that blocks it (EXO-005)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import CheckResult, Outcome, Remediation, RunIds, Severity, errored, failed, passed, skipped, warned
from ..probes.entra import EXCHANGE_APP_ID
from ..registry import check
from . import FULL_ACCESS_ROLE_ID, app_subject, full_access_role, held_roles, names
from .fixes import FULL_ACCESS_REACH, SCOPING, consent_risks, consent_url, enterprise_app
from .sources import (
    CA_CLIENT_APPLICATIONS,
    CA_POLICIES_API,
    CA_WORKLOAD_IDENTITIES,
    GRAPH_APP_ROLE_ASSIGNMENTS,
    GRAPH_SERVICE_PRINCIPAL,
    LEARN_CROSS_TENANT,
)

_NO_SP = "the app has no service principal in tenant B (see EXO-001)"


def _connect_b(ids: RunIds) -> str:
    return (f"Connect-MgGraph -TenantId {ids.exchange_tenant} "
            "-Scopes Application.Read.All,AppRoleAssignment.ReadWrite.All")


def create_service_principal(ids: RunIds) -> Remediation:
    return Remediation(
        f"Give admin consent for the app {ids.client_id} in tenant {ids.exchange_tenant}; that creates its enabled "
        "service principal (enterprise application) there.",
        steps=(f"As an administrator of tenant {ids.exchange_tenant}, open {consent_url(ids)} and accept.",
               enterprise_app(ids, "Properties > Enabled for users to sign in = Yes (if it exists but is "
                                   "disabled)"),
               *consent_risks(ids)),
        commands=(f"az login --tenant {ids.exchange_tenant} --allow-no-subscriptions",
                  f"az ad sp create --id {ids.client_id}",
                  f"az ad sp update --id {ids.client_id} --set accountEnabled=true"),
    )


@check("EXO-001", "The app has an enabled service principal in the Exchange tenant", Severity.CRITICAL,
       link="consent", remedy=create_service_principal, references=(LEARN_CROSS_TENANT, GRAPH_SERVICE_PRINCIPAL),
       depends_on=("EXO-004",))
def service_principal_is_enabled(client_service_principal: Mapping[str, Any] | None, client_id: str,
                                 exchange_tenant_id: str) -> CheckResult:
    """Consent and sign-in in tenant B both hang on the app's service principal there: without one nothing was ever
    consented (AADSTS7000229), and a disabled one makes Entra refuse every token (AADSTS7000112)."""
    subject = app_subject(client_id)
    sp = client_service_principal
    if sp is None:
        yield failed(subject, f"app {client_id} has no service principal in tenant B ({exchange_tenant_id}): admin "
                     "consent was never given there", tenant=exchange_tenant_id)
        return
    evidence: dict[str, Any] = {"tenant": exchange_tenant_id, "service_principal_id": sp.get("id"),
                "display_name": sp.get("displayName"), "accountEnabled": sp.get("accountEnabled"),
                "appOwnerOrganizationId": sp.get("appOwnerOrganizationId"),
                "servicePrincipalType": sp.get("servicePrincipalType")}
    where = f"service principal '{sp.get('displayName')}' ({sp.get('id')}) of app {client_id} in tenant B"
    if sp.get("accountEnabled") is True:
        yield passed(subject, f"{where} is enabled", **evidence)
    elif sp.get("accountEnabled") is False:
        yield failed(subject, f"{where} is disabled (accountEnabled false), so Entra refuses its tokens", **evidence)
    else:
        yield errored(subject, f"{where} was read without accountEnabled, so whether it may sign in is unknown",
                      **evidence)


def grant_full_access(ids: RunIds) -> Remediation:
    return Remediation(
        f"Grant admin consent for full_access_as_app (Office 365 Exchange Online) to the app {ids.client_id} in "
        f"tenant {ids.exchange_tenant}.",
        steps=(f"As an administrator of tenant {ids.exchange_tenant}, open {consent_url(ids)} and accept.",
               enterprise_app(ids, "Security > Permissions > Grant admin consent"),
               "A role such as Exchange.ManageAsApp opens no mailbox: full_access_as_app is still needed.",
               *consent_risks(ids), FULL_ACCESS_REACH),
        commands=(_connect_b(ids),
                  f"$sp = Get-MgServicePrincipal -Filter \"appId eq '{ids.client_id}'\"",
                  f"$exo = Get-MgServicePrincipal -Filter \"appId eq '{EXCHANGE_APP_ID}'\"",
                  "New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $sp.Id -PrincipalId $sp.Id "
                  f"-ResourceId $exo.Id -AppRoleId {FULL_ACCESS_ROLE_ID}"),
        links=(SCOPING,),
    )


@check("EXO-002", "The app holds admin consent for full_access_as_app in the Exchange tenant", Severity.CRITICAL,
       link="consent", remedy=grant_full_access, references=(LEARN_CROSS_TENANT, GRAPH_APP_ROLE_ASSIGNMENTS),
       depends_on=("EXO-004", "EXO-001"))
def full_access_as_app_is_consented(client_service_principal: Mapping[str, Any] | None,
                                    exchange_resource_sp: Mapping[str, Any] | None,
                                    app_role_assignments: list[Mapping[str, Any]], client_id: str) -> CheckResult:
    """Requesting a permission grants nothing: only an administrator's consent in tenant B, recorded as an app role
    assignment, puts full_access_as_app into the app's Exchange tokens. Without it Exchange refuses every mailbox."""
    subject = app_subject(client_id)
    if client_service_principal is None:
        yield skipped(subject, _NO_SP)
        return
    if exchange_resource_sp is None:
        yield failed(subject, "tenant B has no Office 365 Exchange Online service principal: Exchange Online is not "
                     f"provisioned there, so app {client_id} cannot be granted full_access_as_app")
        return
    rid, note = full_access_role(exchange_resource_sp)
    held = held_roles(app_role_assignments, client_service_principal, exchange_resource_sp)
    evidence: dict[str, Any] = {"role_id": rid, "service_principal_id": client_service_principal.get("id"),
                "exchange_service_principal_id": exchange_resource_sp.get("id"),
                "exchange_roles_held": sorted(held.values())}
    grant = held.get(rid)
    if grant is not None:
        yield passed(subject, f"app {client_id} holds full_access_as_app on Office 365 Exchange Online in tenant B"
                     f"{note}", **evidence)
        return
    instead = f"holds {names(sorted(held.values()))} instead" if held else "holds no Exchange Online role at all"
    yield failed(subject, f"app {client_id} has no admin consent for full_access_as_app in tenant B: it {instead}"
                 f"{note}", **evidence)


_ALL = "all"
_IN_MY_TENANT = "serviceprincipalsinmytenant"
_OFFICE365 = "office365"  # Conditional Access's app group that holds Exchange Online


def exclude_from_blocking_policy(ids: RunIds) -> Remediation:
    return Remediation(
        f"Let no Conditional Access policy in tenant {ids.exchange_tenant} block the sync app {ids.client_id}: "
        "exclude its service principal from the policy, or narrow the policy.",
        steps=(f"Microsoft Entra admin center, signed in to tenant {ids.exchange_tenant}: Protection > Conditional "
               "Access > Policies > the policy named in the finding > Assignments > Users or workload identities > "
               f"Exclude > select service principals > the app with client id {ids.client_id} > Save.",
               "Or keep the policy and narrow it: a location condition that allows where Dynamics signs in from "
               "(Microsoft's datacenters), since 'Block access' is the only grant a workload identity policy has.",
               "Check the result in Sign-in logs > Service principal sign-ins: a refused sign-in shows the policy and "
               "AADSTS53003. Changing Conditional Access needs a Conditional Access Administrator."),
    )


@check("EXO-005", "No Conditional Access policy in the Exchange tenant blocks the app", Severity.HIGH,
       link="consent", remedy=exclude_from_blocking_policy,
       references=(CA_WORKLOAD_IDENTITIES, CA_POLICIES_API, CA_CLIENT_APPLICATIONS), depends_on=("EXO-001",))
def no_conditional_access_policy_blocks_the_app(conditional_access_policies: Mapping[str, Any],
                                                client_service_principal: Mapping[str, Any] | None,
                                                client_id: str, exchange_tenant_id: str) -> CheckResult:
    """Conditional Access for workload identities lets tenant B block a single-tenant app's service principal from
    getting tokens ('Block access' is its only grant); server-side sync then fails with AADSTS53003 whatever the
    consent says. A report-only policy blocks the moment it is switched on, and a location condition may block
    Dynamics' sign-ins, which come from Microsoft's datacenters, not from where xtcheck runs."""
    subject = app_subject(client_id)
    if client_service_principal is None:
        yield skipped(subject, _NO_SP)
        return
    if not conditional_access_policies.get("granted"):
        yield skipped(subject, "the reader may not read tenant B's Conditional Access policies (Policy.Read.All is "
                      "optional): grant it to check them", not_read=conditional_access_policies.get("reason"))
        return
    policies = list(conditional_access_policies.get("policies") or [])
    owner = str(client_service_principal.get("appOwnerOrganizationId") or "").lower()
    evidence: dict[str, Any] = {"policies_read": len(policies), "app_owner_tenant": owner or None}
    if owner and owner != exchange_tenant_id.lower():
        yield passed(subject, f"app {client_id} is registered in tenant {owner}, not in tenant B: Conditional Access "
                     "for workload identities covers only single-tenant apps registered in the tenant, so none of "
                     f"tenant B's {len(policies)} policies can block it", **evidence)
        return
    multitenant = client_service_principal.get("signInAudience") in ("AzureADMultipleOrgs",
                                                                     "AzureADandPersonalMicrosoftAccount")
    found = [_blocking(p, str(client_service_principal.get("id") or ""), multitenant) for p in policies]
    yield _blocking_verdict(subject, client_id, found, evidence)


def _blocking(policy: Mapping[str, Any], principal: str,
              multitenant: bool) -> tuple[str, Mapping[str, Any]] | None:
    """("blocks" | "may block" | "would block", the policy) when the policy blocks this principal's Exchange tokens.
    Microsoft puts multi-tenanted apps out of scope of these policies, even registered here: a block may not hold."""
    state = str(policy.get("state") or "").lower()
    controls = {c.lower() for c in policy.get("builtInControls") or []}
    included = {s.lower() for s in policy.get("includeServicePrincipals") or []}
    excluded = {s.lower() for s in policy.get("excludeServicePrincipals") or []}
    apps = {a.lower() for a in policy.get("includeApplications") or []}
    not_apps = {a.lower() for a in policy.get("excludeApplications") or []}
    if state == "disabled" or "block" not in controls or principal.lower() in excluded:
        return None
    if not (principal.lower() in included or _IN_MY_TENANT in included):
        return None
    if not apps & {_ALL, EXCHANGE_APP_ID, _OFFICE365} or not_apps & {EXCHANGE_APP_ID, _OFFICE365}:
        return None
    if state != "enabled":
        return "would block", policy
    everywhere = policy.get("includeLocations") in (None, ["All"], ["all"]) and not policy.get("excludeLocations")
    return ("blocks" if everywhere and not multitenant else "may block"), policy


def _blocking_verdict(subject: str, client_id: str, found: list[tuple[str, Mapping[str, Any]] | None],
                      evidence: dict[str, Any]) -> Outcome:
    hits = [hit for hit in found if hit is not None]
    evidence["blocking"] = [{"policy": p.get("displayName"), "id": p.get("id"), "state": p.get("state"),
                             "effect": effect, "includeLocations": p.get("includeLocations"),
                             "excludeLocations": p.get("excludeLocations")} for effect, p in hits]
    named = {effect: names([f"'{p.get('displayName')}'" for e, p in hits if e == effect]) for effect, _ in hits}
    if "blocks" in named:
        return failed(subject, f"Conditional Access policy {named['blocks']} in tenant B blocks app {client_id}'s "
                      "service principal from getting tokens for Exchange Online (AADSTS53003), so nothing syncs",
                      **evidence)
    if "may block" in named:
        return warned(subject, f"Conditional Access policy {named['may block']} in tenant B may block app {client_id} "
                      "(Microsoft keeps multi-tenanted apps out of these policies' scope, and a location condition "
                      "depends on where the sign-in comes from: Dynamics signs in from Microsoft's datacenters, which "
                      "xtcheck cannot place); look for AADSTS53003 in tenant B's service principal sign-in logs",
                      **evidence)
    if "would block" in named:
        return warned(subject, f"report-only Conditional Access policy {named['would block']} in tenant B would block "
                      f"app {client_id} from getting tokens: sync stops the moment it is switched on", **evidence)
    return passed(subject, f"none of tenant B's {evidence['policies_read']} Conditional Access policies blocks app "
                  f"{client_id}", **evidence)
