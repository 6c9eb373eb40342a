"""GRA-001 called directly with tenant B's Microsoft Graph service principal and the app's role assignments."""

from __future__ import annotations

from typing import Any

from rule_samples import APP, CLIENT, GRAPH_ID, GRAPH_ROLES, SP_ID, TENANT_B, fix, verdicts

from checks.model import Status
from checks.rules.graph import graph_permissions_are_consented

SERVICE_PRINCIPAL = {"id": SP_ID, "appId": CLIENT, "displayName": "Dynamics 365 cross-tenant sync",
                     "accountEnabled": True, "appOwnerOrganizationId": TENANT_B}
EXO_ID = "6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c"
FULL_ACCESS = "dc890d15-9560-4a4c-9b7f-a736ec74ec40"
OFFERED = {**GRAPH_ROLES, "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"}


def graph_sp(without: tuple[str, ...] = ()) -> dict[str, Any]:
    roles = [{"allowedMemberTypes": ["Application"], "id": rid, "isEnabled": True, "value": name}
             for name, rid in OFFERED.items() if name not in without]
    return {"id": GRAPH_ID, "appId": "00000003-0000-0000-c000-000000000000", "displayName": "Microsoft Graph",
            "appRoles": roles}


def grant(resource: str, role: str, principal: str = SP_ID) -> dict[str, Any]:
    return {"id": "UxOIjjWsUkKnVR1fbn6CC", "appRoleId": role, "principalId": principal,
            "principalType": "ServicePrincipal", "resourceId": resource}


def graph_grants(*skip: str) -> list[dict[str, Any]]:
    return [grant(GRAPH_ID, rid) for name, rid in OFFERED.items() if name not in skip]


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


def test_gra_001_fix_names_who_may_consent_and_the_roles_nothing_can_confine() -> None:
    [outcome] = graph_permissions_are_consented(SERVICE_PRINCIPAL, graph_sp(), graph_grants("Mail.Send"), CLIENT)
    steps = " ".join(fix("GRA-001", outcome).steps)
    assert "Privileged Role Administrator" in steps and "cannot consent to Microsoft Graph application roles" in steps
    assert "Chat.Read.All, OnlineMeetings.ReadWrite.All, CallRecords.Read.All and User.Read.All cannot be " \
           "confined" in steps
