"""EXO-001, EXO-002 and GRA-001 called directly with Graph-shaped literals from tenant B."""

from __future__ import annotations

from typing import Any

from checks.model import Status
from checks.rules.consent import (
    full_access_as_app_is_consented,
    graph_permissions_are_consented,
    service_principal_is_enabled,
)

CLIENT = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
APP = f"app {CLIENT}"
TENANT_B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
SP_ID = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
EXO_ID = "6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c"
GRAPH_ID = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
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
GRAPH_ROLES = {
    "Mail.ReadWrite": "e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Mail.Send": "b633e1c5-b582-4048-a93e-9f11b44c7e96",
    "MailboxSettings.ReadWrite": "6931bccd-447a-43d1-b442-00a195474933",
    "Calendars.ReadWrite": "ef54d2bf-783f-4e0f-bca1-3210c0444d99",
    "Contacts.ReadWrite": "6918b873-d17a-4dc1-b314-35f528134491",
    "Tasks.ReadWrite.All": "44e666d1-d276-445b-a5fc-8815eeb81d55",
    "MailboxConfigItem.ReadWrite": "aa6d92d4-b25a-4640-aefe-3e3231e5e736",
    "Chat.Read.All": "6b7d71aa-70aa-4810-a8d9-5d9fb2830017",
    "OnlineMeetings.ReadWrite.All": "b8bb2037-6e08-44ac-a4ea-4674e010e2a4",
    "CallRecords.Read.All": "45bbb07e-7321-4fd7-a8f6-3ff27e6a81c8",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
}


def graph_sp(without: tuple[str, ...] = ()) -> dict[str, Any]:
    roles = [{"allowedMemberTypes": ["Application"], "id": rid, "isEnabled": True, "value": name}
             for name, rid in GRAPH_ROLES.items() if name not in without]
    return {"id": GRAPH_ID, "appId": "00000003-0000-0000-c000-000000000000", "displayName": "Microsoft Graph",
            "appRoles": roles}


def grant(resource: str, role: str, principal: str = SP_ID) -> dict[str, Any]:
    return {"id": "UxOIjjWsUkKnVR1fbn6CC", "createdDateTime": "2025-09-03T10:00:00Z", "appRoleId": role,
            "principalDisplayName": "Dynamics 365 cross-tenant sync", "principalId": principal,
            "principalType": "ServicePrincipal", "resourceDisplayName": "resource", "resourceId": resource}


def graph_grants(*skip: str) -> list[dict[str, Any]]:
    return [grant(GRAPH_ID, rid) for name, rid in GRAPH_ROLES.items() if name not in skip]


def verdicts(outcomes: Any) -> list[tuple[Status, str]]:
    return [(o.status, o.subject) for o in outcomes]


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


# GRA-001

def test_gra_001_passes_when_all_eleven_roles_are_consented() -> None:
    assignments = [grant(EXO_ID, FULL_ACCESS), *graph_grants()]
    [outcome] = graph_permissions_are_consented(SERVICE_PRINCIPAL, graph_sp(), assignments, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.PASS, APP)
    assert outcome.evidence["missing"] == []


def test_gra_001_fails_naming_the_missing_roles_sorted() -> None:
    assignments = graph_grants("User.Read.All", "Tasks.ReadWrite.All", "MailboxConfigItem.ReadWrite")
    [outcome] = graph_permissions_are_consented(SERVICE_PRINCIPAL, graph_sp(), assignments, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.FAIL, APP)
    assert outcome.message.endswith("MailboxConfigItem.ReadWrite, Tasks.ReadWrite.All, User.Read.All")
    assert outcome.evidence["missing"] == ["MailboxConfigItem.ReadWrite", "Tasks.ReadWrite.All", "User.Read.All"]


def test_gra_001_fails_when_user_read_all_alone_is_missing() -> None:
    [outcome] = graph_permissions_are_consented(SERVICE_PRINCIPAL, graph_sp(), graph_grants("User.Read.All"), CLIENT)
    assert outcome.status == Status.FAIL
    assert outcome.evidence["missing"] == ["User.Read.All"]


def test_gra_001_fails_with_a_note_when_tenant_b_does_not_offer_a_role() -> None:
    sp = graph_sp(without=("MailboxConfigItem.ReadWrite",))
    [outcome] = graph_permissions_are_consented(SERVICE_PRINCIPAL, sp, graph_grants(), CLIENT)
    assert outcome.status == Status.FAIL
    assert outcome.evidence["missing"] == ["MailboxConfigItem.ReadWrite"]
    assert "does not offer MailboxConfigItem.ReadWrite" in outcome.message


def test_gra_001_fails_when_the_roles_are_held_on_another_resource() -> None:
    assignments = [grant(EXO_ID, rid) for rid in GRAPH_ROLES.values()]
    [outcome] = graph_permissions_are_consented(SERVICE_PRINCIPAL, graph_sp(), assignments, CLIENT)
    assert outcome.status == Status.FAIL
    assert len(outcome.evidence["missing"]) == 11


def test_gra_001_fails_without_a_graph_principal() -> None:
    [outcome] = graph_permissions_are_consented(SERVICE_PRINCIPAL, None, graph_grants(), CLIENT)
    assert outcome.status == Status.FAIL
    assert "no Microsoft Graph service principal" in outcome.message


def test_gra_001_ignores_delegated_roles_of_the_same_name() -> None:
    sp = graph_sp()
    sp["appRoles"] = [{**r, "allowedMemberTypes": ["User"]} if r["value"] == "Mail.Send" else r
                      for r in sp["appRoles"]]
    [outcome] = graph_permissions_are_consented(SERVICE_PRINCIPAL, sp, graph_grants(), CLIENT)
    assert outcome.status == Status.FAIL
    assert outcome.evidence["not_offered"] == ["Mail.Send"]


def test_gra_001_skips_without_a_service_principal() -> None:
    assert verdicts(graph_permissions_are_consented(None, graph_sp(), [], CLIENT)) == [(Status.SKIP, APP)]
