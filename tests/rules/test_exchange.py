"""EXO-001, EXO-002 and EXO-005 called directly with tenant B's service principals, app role assignments and
Conditional Access policies as Graph returns them."""

from __future__ import annotations

from typing import Any

from rule_samples import APP, CLIENT, GRAPH_ID, GRAPH_ROLES, SP_ID, TENANT_B, fix, verdicts

from checks.model import Status
from checks.rules.exchange import (
    full_access_as_app_is_consented,
    no_conditional_access_policy_blocks_the_app,
    service_principal_is_enabled,
)

EXO_ID = "6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c"
FULL_ACCESS = "dc890d15-9560-4a4c-9b7f-a736ec74ec40"
MANAGE_AS_APP = "dc50a0fb-09a3-484d-be87-e023b12c6440"
SERVICE_PRINCIPAL = {"id": SP_ID, "appId": CLIENT, "displayName": "Dynamics 365 cross-tenant sync",
                     "accountEnabled": True, "appOwnerOrganizationId": TENANT_B,
                     "servicePrincipalType": "Application", "signInAudience": "AzureADMultipleOrgs"}
EXCHANGE_SP = {"id": EXO_ID, "appId": "00000002-0000-0ff1-ce00-000000000000",
               "displayName": "Office 365 Exchange Online", "appRoles": [
                   {"allowedMemberTypes": ["Application"], "id": FULL_ACCESS, "isEnabled": True,
                    "value": "full_access_as_app"},
                   {"allowedMemberTypes": ["Application"], "id": MANAGE_AS_APP, "isEnabled": True,
                    "value": "Exchange.ManageAsApp"}]}


def grant(resource: str, role: str, principal: str = SP_ID) -> dict[str, Any]:
    return {"id": "UxOIjjWsUkKnVR1fbn6CC", "createdDateTime": "2025-09-03T10:00:00Z", "appRoleId": role,
            "principalDisplayName": "Dynamics 365 cross-tenant sync", "principalId": principal,
            "principalType": "ServicePrincipal", "resourceDisplayName": "resource", "resourceId": resource}


def graph_grants() -> list[dict[str, Any]]:
    return [grant(GRAPH_ID, rid) for rid in GRAPH_ROLES.values()]


# EXO-001

def test_exo_001_passes_for_an_enabled_service_principal() -> None:
    [outcome] = service_principal_is_enabled(SERVICE_PRINCIPAL, CLIENT, TENANT_B)
    assert (outcome.status, outcome.subject) == (Status.PASS, APP)
    assert outcome.evidence["service_principal_id"] == SP_ID


def test_exo_001_fails_without_a_service_principal() -> None:
    [outcome] = service_principal_is_enabled(None, CLIENT, TENANT_B)
    assert (outcome.status, outcome.subject) == (Status.FAIL, APP)
    assert "admin consent was never given" in outcome.message and TENANT_B in outcome.message


def test_exo_001_fails_for_a_disabled_service_principal() -> None:
    [outcome] = service_principal_is_enabled({**SERVICE_PRINCIPAL, "accountEnabled": False}, CLIENT, TENANT_B)
    assert outcome.status == Status.FAIL
    assert "disabled" in outcome.message


def test_exo_001_errors_when_account_enabled_was_not_read() -> None:
    sp = {k: v for k, v in SERVICE_PRINCIPAL.items() if k != "accountEnabled"}
    assert verdicts(service_principal_is_enabled(sp, CLIENT, TENANT_B)) == [(Status.ERROR, APP)]


# EXO-002

def test_exo_002_passes_when_full_access_as_app_is_assigned() -> None:
    assignments = [*graph_grants(), grant(EXO_ID, FULL_ACCESS)]
    [outcome] = full_access_as_app_is_consented(SERVICE_PRINCIPAL, EXCHANGE_SP, assignments, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.PASS, APP)
    assert outcome.evidence["exchange_roles_held"] == ["full_access_as_app"]


def test_exo_002_passes_with_upper_case_guids() -> None:
    assignments = [grant(EXO_ID.upper(), FULL_ACCESS.upper(), principal=SP_ID.upper())]
    assert verdicts(full_access_as_app_is_consented(SERVICE_PRINCIPAL, EXCHANGE_SP, assignments, CLIENT)) == [
        (Status.PASS, APP)]


def test_exo_002_fails_without_any_exchange_role() -> None:
    [outcome] = full_access_as_app_is_consented(SERVICE_PRINCIPAL, EXCHANGE_SP, graph_grants(), CLIENT)
    assert (outcome.status, outcome.subject) == (Status.FAIL, APP)
    assert "holds no Exchange Online role at all" in outcome.message


def test_exo_002_fails_naming_the_wrong_role_held_instead() -> None:
    assignments = [grant(EXO_ID, MANAGE_AS_APP)]
    [outcome] = full_access_as_app_is_consented(SERVICE_PRINCIPAL, EXCHANGE_SP, assignments, CLIENT)
    assert outcome.status == Status.FAIL
    assert "holds Exchange.ManageAsApp instead" in outcome.message


def test_exo_002_fails_when_the_assignment_belongs_to_another_principal() -> None:
    assignments = [grant(EXO_ID, FULL_ACCESS, principal="99999999-9999-4999-8999-999999999999")]
    assert verdicts(full_access_as_app_is_consented(SERVICE_PRINCIPAL, EXCHANGE_SP, assignments, CLIENT)) == [
        (Status.FAIL, APP)]


def test_exo_002_fails_when_exchange_online_is_not_provisioned() -> None:
    [outcome] = full_access_as_app_is_consented(SERVICE_PRINCIPAL, None, [grant(EXO_ID, FULL_ACCESS)], CLIENT)
    assert outcome.status == Status.FAIL
    assert "Exchange Online is not provisioned" in outcome.message


def test_exo_002_skips_without_a_service_principal() -> None:
    assert verdicts(full_access_as_app_is_consented(None, EXCHANGE_SP, [], CLIENT)) == [(Status.SKIP, APP)]


# EXO-005

def policy(name: str = "Block workload identities", state: str = "enabled", include: tuple[str, ...] = (SP_ID,),
           exclude: tuple[str, ...] = (), apps: tuple[str, ...] = ("All",), controls: tuple[str, ...] = ("block",),
           locations: tuple[list[str], list[str]] | None = None) -> dict[str, Any]:
    """A policy as the conditional_access_policies probe keeps it (Graph's conditionalAccessPolicy, cut down)."""
    return {"id": f"pol-{name}", "displayName": name, "state": state, "includeApplications": list(apps),
            "excludeApplications": [], "includeServicePrincipals": list(include),
            "excludeServicePrincipals": list(exclude), "builtInControls": list(controls),
            "includeLocations": locations[0] if locations else None,
            "excludeLocations": locations[1] if locations else None}


def read(*policies: dict[str, Any]) -> dict[str, Any]:
    return {"granted": True, "policies": list(policies)}


SINGLE_TENANT = {**SERVICE_PRINCIPAL, "signInAudience": "AzureADMyOrg"}  # registered in B, within CA's reach


def conditional_access(found: dict[str, Any], principal: dict[str, Any] | None = SINGLE_TENANT) -> Any:
    return list(no_conditional_access_policy_blocks_the_app(found, principal, CLIENT, TENANT_B))


def test_exo_005_passes_when_no_policy_blocks_the_app() -> None:
    mfa = policy("Require MFA for admins", include=(), controls=("mfa",))
    other = policy("Block the build robot", include=("11111111-2222-4333-8444-555555555555",))
    [outcome] = conditional_access(read(mfa, other, policy("Old block", state="disabled")))
    assert (outcome.status, outcome.subject) == (Status.PASS, APP)
    assert outcome.message == f"none of tenant B's 3 Conditional Access policies blocks app {CLIENT}"


def test_exo_005_fails_for_an_enabled_policy_that_blocks_every_single_tenant_principal() -> None:
    [outcome] = conditional_access(read(policy(include=("ServicePrincipalsInMyTenant",))))
    assert (outcome.status, outcome.subject) == (Status.FAIL, APP)
    assert outcome.message == ("Conditional Access policy 'Block workload identities' in tenant B blocks app "
                               f"{CLIENT}'s service principal from getting tokens for Exchange Online (AADSTS53003), "
                               "so nothing syncs")
    assert outcome.evidence["blocking"][0]["effect"] == "blocks"
    assert "Exclude > select service principals" in fix("EXO-005", outcome).steps[0]


def test_exo_005_passes_when_the_policy_excludes_the_app_or_targets_other_resources() -> None:
    excluded = policy(include=("ServicePrincipalsInMyTenant",), exclude=(SP_ID,))
    teams_only = policy(apps=("cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",))
    assert verdicts(conditional_access(read(excluded, teams_only))) == [(Status.PASS, APP)]


def test_exo_005_warns_for_a_report_only_or_location_bound_block() -> None:
    [report_only] = conditional_access(read(policy(state="enabledForReportingButNotEnforced")))
    assert report_only.status == Status.WARN
    assert "sync stops the moment it is switched on" in report_only.message
    [by_location] = conditional_access(read(policy(locations=(["All"], ["AllTrusted"]))))
    assert by_location.status == Status.WARN
    assert "a location condition depends on where the sign-in comes from" in by_location.message
    multitenant = {**SERVICE_PRINCIPAL, "signInAudience": "AzureADMultipleOrgs"}
    [out_of_scope] = conditional_access(read(policy()), multitenant)
    assert out_of_scope.status == Status.WARN
    assert "Microsoft keeps multi-tenanted apps out of these policies' scope" in out_of_scope.message


def test_exo_005_passes_for_an_app_registered_in_another_tenant() -> None:
    elsewhere = {**SERVICE_PRINCIPAL, "appOwnerOrganizationId": "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"}
    [outcome] = conditional_access(read(policy(include=("ServicePrincipalsInMyTenant",))), elsewhere)
    assert outcome.status == Status.PASS
    assert "covers only single-tenant apps registered in the tenant" in outcome.message


def test_exo_005_skips_without_the_optional_permission_or_a_service_principal() -> None:
    [unread] = conditional_access({"granted": False, "reason": "Graph answered 403"})
    assert (unread.status, unread.subject) == (Status.SKIP, APP)
    assert "Policy.Read.All is optional" in unread.message
    assert verdicts(conditional_access(read(policy()), None)) == [(Status.SKIP, APP)]


def test_exo_002_fix_says_what_it_grants_who_consents_and_how_to_narrow_it() -> None:
    [outcome] = full_access_as_app_is_consented(SERVICE_PRINCIPAL, EXCHANGE_SP, graph_grants(), CLIENT)
    steps = " ".join(fix("EXO-002", outcome).steps)
    assert "may revoke permissions that have already been granted tenant-wide for that application" in steps
    assert "Cloud Application Administrator" in steps
    assert "read and change every mailbox" in steps and "New-ApplicationAccessPolicy" in steps
