"""EWS-001 called directly with the evidence its probes return: Get-OrganizationConfig exports, tenant B's Graph
principal and the app's role assignments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rule_samples import CLIENT, GRAPH_ID, GRAPH_ROLES, NOW, SP_ID, fix

from checks.model import Status
from checks.probes.exchange import EXPORT_COMMAND
from checks.rules.ews import app_may_use_ews

OTHER_APP = "0f1e2d3c-4b5a-4c6d-8e7f-9a8b7c6d5e4f"
BEFORE_SWITCH = datetime(2026, 9, 15, 12, 0, tzinfo=UTC)
AFTER_SHUTDOWN = datetime(2027, 4, 2, 8, 0, tzinfo=UTC)
ACCESS, RETIREMENT = "EWS access in tenant B", "EWS retirement"
SERVICE_PRINCIPAL = {"id": SP_ID, "appId": CLIENT, "displayName": "Dynamics 365 cross-tenant sync",
                     "accountEnabled": True}
GRAPH_SP = {"id": GRAPH_ID, "appId": "00000003-0000-0000-c000-000000000000", "displayName": "Microsoft Graph",
            "appRoles": [{"allowedMemberTypes": ["Application"], "id": rid, "isEnabled": True, "value": name}
                         for name, rid in GRAPH_ROLES.items()]}


def exported(**settings: Any) -> dict[str, Any]:
    """An org_config from an export in which Contoso allowed the app, with some settings changed."""
    config = {"EwsEnabled": True, "EwsAllowedAppIDs": ["cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", CLIENT],
              "EwsApplicationAccessPolicy": None, "EwsAllowList": None, "EwsBlockList": None}
    return {"source": "export", "path": "org-config.json", "config": {**config, **settings}}


def grants(*skip: str) -> list[dict[str, Any]]:
    return [{"id": f"grant-{name}", "appRoleId": rid, "principalId": SP_ID, "resourceId": GRAPH_ID}
            for name, rid in GRAPH_ROLES.items() if name not in skip]


def ews(org_config: dict[str, Any], now: datetime = NOW, assignments: list[dict[str, Any]] | None = None,
        graph_sp: dict[str, Any] | None = GRAPH_SP, client_sp: dict[str, Any] | None = SERVICE_PRINCIPAL) -> Any:
    outcomes = list(app_may_use_ews(org_config, CLIENT, now, graph_sp,
                                    grants() if assignments is None else assignments, client_sp))
    assert [o.subject for o in outcomes] == [ACCESS, RETIREMENT]
    return outcomes


# EWS-001

def test_ews_001_passes_when_the_app_is_allowed_and_graph_is_ready() -> None:
    access, retirement = ews(exported())
    assert access.status == Status.PASS
    assert "EwsEnabled is True and the app is in EwsAllowedAppIDs" in access.message
    assert "the Get-OrganizationConfig export" in access.message
    assert retirement.status == Status.PASS
    assert "2027-04-01 (in 126 days)" in retirement.message
    assert "the Graph permissions are in place for the move" in retirement.message


def test_ews_001_passes_with_an_allowed_id_in_upper_case_and_a_crm_user_agent_allowed() -> None:
    org = exported(EwsAllowedAppIDs=[CLIENT.upper()], EwsApplicationAccessPolicy="EnforceAllowList",
                   EwsAllowList=["Outlook/*", "CRM/*"])
    assert [o.status for o in ews(org)] == [Status.PASS, Status.PASS]


def test_ews_001_skips_access_without_an_org_config_naming_what_to_supply() -> None:
    missing = {"source": None, "config": None, "reason": "no organization config was supplied"}
    access, retirement = ews(missing)
    assert access.status == Status.SKIP
    assert EXPORT_COMMAND in access.message
    assert "exchange.org_config_export" in access.message and "exchange.admin_api: true" in access.message
    assert retirement.status == Status.PASS


def test_ews_001_fails_when_ews_is_disabled() -> None:
    access, _ = ews(exported(EwsEnabled=False))
    assert access.status == Status.FAIL
    assert "EWS is blocked for every app" in access.message


def test_ews_001_fails_when_the_app_is_not_on_the_allow_list() -> None:
    access, _ = ews(exported(EwsAllowedAppIDs=[OTHER_APP]))
    assert access.status == Status.FAIL
    assert "only the apps listed in EwsAllowedAppIDs may use EWS" in access.message
    command = f'Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs "{OTHER_APP},{CLIENT}"'
    remedy = fix("EWS-001", access)
    assert command in remedy.commands
    steps = " ".join(remedy.steps)
    assert "replaces the whole list" in steps and "up to 24 hours" in steps


@pytest.mark.parametrize("listed", [[], None])
def test_ews_001_fails_when_ews_is_enabled_with_an_empty_list(listed: list[str] | None) -> None:
    access, _ = ews(exported(EwsAllowedAppIDs=listed))
    assert access.status == Status.FAIL
    assert "an empty list, which blocks every app" in access.message
    remedy = fix("EWS-001", access)
    command = ('Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs "<ids of the other EWS apps still in use>,'
               f'{CLIENT}"')
    assert command in remedy.commands  # never a list of the sync app alone: every other EWS client would lose EWS
    assert any(step.startswith("Take stock of the apps that use EWS in tenant B first") for step in remedy.steps)
    assert any("every app not on it loses EWS" in step for step in remedy.steps)
    assert "https://learn.microsoft.com/microsoft-365/admin/activity-reports/ews-usage" in remedy.links


def test_ews_001_warns_when_ews_was_set_back_to_null_after_october_2026() -> None:
    access, _ = ews(exported(EwsEnabled=None, EwsAllowedAppIDs=None))
    assert access.status == Status.WARN
    assert access.message == ("EwsEnabled is not set (null): Microsoft switched null to False in October 2026, so null "
                              "now most likely means an administrator set it back, which lets every app use EWS and "
                              "ignores EwsAllowedAppIDs; sync works until EWS is switched off for good on 2027-04-01 "
                              "(in 126 days), but any app can use EWS meanwhile: set EwsEnabled to True with the apps "
                              "that need EWS, the sync app among them, in EwsAllowedAppIDs")
    remedy = fix("EWS-001", access)
    assert f'-EwsAllowedAppIDs "<ids of the other EWS apps still in use>,{CLIENT}"' in remedy.commands[-1]
    assert any(step.startswith("Take stock of the apps that use EWS") for step in remedy.steps)


def test_ews_001_keeps_every_listed_id_when_it_adds_the_app() -> None:
    access, _ = ews(exported(EwsAllowedAppIDs=[OTHER_APP, "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe"]))
    command = fix("EWS-001", access).commands[-1]
    assert command == ('Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs '
                       f'"{OTHER_APP},cc15fd57-2c6c-4117-a88c-83b1d56b4bbe,{CLIENT}"')


def test_ews_001_warns_when_ews_is_left_unset_before_october_2026() -> None:
    access, retirement = ews(exported(EwsEnabled=None, EwsAllowedAppIDs=None), now=BEFORE_SWITCH)
    assert access.status == Status.WARN
    assert "allows EWS for now" in access.message
    assert "(in 198 days)" in retirement.message


def test_ews_001_reads_a_flag_exported_as_text() -> None:
    access, _ = ews(exported(EwsEnabled="False"))
    assert access.status == Status.FAIL


def test_ews_001_fails_when_the_user_agent_allow_list_leaves_dynamics_out() -> None:
    access, _ = ews(exported(EwsApplicationAccessPolicy="EnforceAllowList", EwsAllowList=["Outlook/*"]))
    assert access.status == Status.FAIL
    assert "so Exchange refuses server-side sync's EWS requests (403)" in access.message
    assert "EwsAllowList (Outlook/*) has no entry admitting Dynamics' user agent (CRM/*)" in access.message
    assert 'Set-OrganizationConfig -EwsAllowList @{Add="CRM/*"}' in fix("EWS-001", access).commands


def test_ews_001_fails_when_the_user_agent_block_list_names_dynamics() -> None:
    access, _ = ews(exported(EwsApplicationAccessPolicy="EnforceBlockList", EwsBlockList="SomeTool/*,CRM/*"))
    assert access.status == Status.FAIL
    assert "EwsBlockList lists CRM/*" in access.message


def test_ews_001_fails_on_the_worst_of_app_id_and_user_agent_findings() -> None:
    org = exported(EwsAllowedAppIDs=[OTHER_APP], EwsApplicationAccessPolicy="EnforceAllowList", EwsAllowList=[])
    access, _ = ews(org)
    assert access.status == Status.FAIL
    assert "leaves out app" in access.message and "EwsAllowList (empty)" in access.message
    assert any("EwsAllowedAppIDs" in c for c in fix("EWS-001", access).commands)


def test_ews_001_warns_naming_the_graph_permissions_still_missing_for_the_move() -> None:
    _, retirement = ews(exported(), assignments=grants("Tasks.ReadWrite.All", "User.Read.All"))
    assert fix("EWS-001", retirement).summary.startswith("Add the Microsoft Graph application permissions")
    assert retirement.status == Status.WARN
    assert "lacks 2 of the Graph permissions for the move: Tasks.ReadWrite.All, User.Read.All" in retirement.message
    assert retirement.evidence["missing"] == ["Tasks.ReadWrite.All", "User.Read.All"]


def test_ews_001_warns_when_the_graph_permissions_could_not_be_read() -> None:
    _, retirement = ews(exported(), graph_sp=None)
    assert retirement.status == Status.WARN
    assert "unknown" in retirement.message and "Microsoft Graph's service principal" in retirement.message
    _, retirement = ews(exported(), client_sp=None, assignments=[])
    assert retirement.status == Status.WARN and "the app's service principal" in retirement.message


def test_ews_001_passes_after_ews_is_switched_off() -> None:
    access, retirement = ews(exported(EwsEnabled=False), now=AFTER_SHUTDOWN, assignments=[])
    assert (access.status, retirement.status) == (Status.PASS, Status.PASS)
    assert access.message == "EWS is retired in Exchange Online; only the Microsoft Graph permissions matter (GRA-001)"
    assert "switched off on 2027-04-01" in retirement.message
