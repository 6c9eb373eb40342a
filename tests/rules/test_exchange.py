"""EXO-003, EXO-004 and EWS-001 called directly with the evidence their probes return: discovery documents, live
token claims, Get-OrganizationConfig exports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from checks.knowledge import lookup
from checks.model import Status
from checks.probes.exchange import EXPORT_COMMAND
from checks.rules.exchange import app_may_use_ews, app_token_carries_full_access, exchange_tenant_exists

CLIENT = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
APP = f"app {CLIENT}"
TENANT_B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
OTHER_APP = "0f1e2d3c-4b5a-4c6d-8e7f-9a8b7c6d5e4f"
SP_ID = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
GRAPH_ID = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BEFORE_SWITCH = datetime(2026, 9, 15, 12, 0, tzinfo=UTC)
AFTER_SHUTDOWN = datetime(2027, 4, 2, 8, 0, tzinfo=UTC)
SIGNED_IN = "signed in as the app once for this (a sign-in log entry in tenant B) and wrote nothing"
ACCESS, RETIREMENT = "EWS access in tenant B", "EWS retirement"
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
}
SERVICE_PRINCIPAL = {"id": SP_ID, "appId": CLIENT, "displayName": "Dynamics 365 cross-tenant sync",
                     "accountEnabled": True}
GRAPH_SP = {"id": GRAPH_ID, "appId": "00000003-0000-0000-c000-000000000000", "displayName": "Microsoft Graph",
            "appRoles": [{"allowedMemberTypes": ["Application"], "id": rid, "isEnabled": True, "value": name}
                         for name, rid in GRAPH_ROLES.items()]}


def discovery(**changes: Any) -> dict[str, Any]:
    """What the exchange_tenant_discovery probe returns for Contoso's tenant in the public cloud."""
    found = {"query": TENANT_B, "expected_instance": "microsoftonline.com", "cloud": "public",
             "login": "https://login.microsoftonline.com", "found": True, "tenant_id": TENANT_B,
             "issuer": f"https://login.microsoftonline.com/{TENANT_B}/v2.0", "region": "EU", "sub_scope": None,
             "cloud_instance": "microsoftonline.com", "graph_host": "graph.microsoft.com"}
    return {**found, **changes}


def token(**claims: Any) -> dict[str, Any]:
    """A live token probe that got a v1.0 Exchange token, with some claims changed."""
    base = {"aud": "https://outlook.office365.com", "tid": TENANT_B, "appid": CLIENT, "oid": SP_ID,
            "roles": ["full_access_as_app"], "idtyp": "app", "appidacr": "1", "ver": "1.0"}
    return {"configured": True, "resource": "https://outlook.office365.com", "acquired": True,
            "claims": {k: v for k, v in {**base, **claims}.items() if v is not None}}


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


# EXO-004

def test_exo_004_passes_for_a_tenant_in_the_configured_cloud() -> None:
    [outcome] = exchange_tenant_exists(discovery())
    assert (outcome.status, outcome.subject) == (Status.PASS, f"tenant {TENANT_B}")
    assert TENANT_B in outcome.message and "region EU" in outcome.message
    assert "resolves" not in outcome.message


def test_exo_004_passes_naming_the_id_a_domain_resolves_to_and_the_sub_scope() -> None:
    [outcome] = exchange_tenant_exists(discovery(query="contoso.com", sub_scope="GCC"))
    assert outcome.status == Status.PASS
    assert "the domain contoso.com resolves to it" in outcome.message
    assert "sub scope GCC" in outcome.message and TENANT_B in outcome.message


def test_exo_004_passes_when_the_probe_expects_no_particular_cloud() -> None:
    found = discovery(cloud="custom", expected_instance=None, cloud_instance="microsoftonline.us")
    assert [o.status for o in exchange_tenant_exists(found)] == [Status.PASS]


def test_exo_004_fails_for_an_unknown_tenant() -> None:
    error = "Entra ID answered 400: AADSTS90002: Tenant 'fea6d913-5e7a-4fc7-a1ad-59fd5f6da09a' not found."
    found = {"query": "fea6d913-5e7a-4fc7-a1ad-59fd5f6da09a", "expected_instance": "microsoftonline.com",
             "cloud": "public", "login": "https://login.microsoftonline.com", "found": False, "error": error}
    [outcome] = exchange_tenant_exists(found)
    assert (outcome.status, outcome.subject) == (Status.FAIL, "tenant fea6d913-5e7a-4fc7-a1ad-59fd5f6da09a")
    assert "https://login.microsoftonline.com" in outcome.message and "AADSTS90002" in outcome.message
    assert "check the tenant id" in outcome.message and "or the cloud" in outcome.message


def test_exo_004_fails_for_a_tenant_in_the_us_government_cloud() -> None:
    [outcome] = exchange_tenant_exists(discovery(cloud_instance="microsoftonline.us", region="USGov"))
    assert outcome.status == Status.FAIL
    assert "the US Government cloud (GCC High or DoD): set cloud: usgov or usgov-dod" in outcome.message


@pytest.mark.parametrize("instance", ["partner.microsoftonline.cn", "login.chinacloudapi.cn"])
def test_exo_004_fails_for_a_tenant_in_the_china_cloud(instance: str) -> None:
    [outcome] = exchange_tenant_exists(discovery(cloud_instance=instance))
    assert outcome.status == Status.FAIL
    assert "set cloud: china" in outcome.message


def test_exo_004_fails_when_discovery_answers_for_another_tenant() -> None:
    other = "11111111-2222-4333-8444-555555555555"
    [outcome] = exchange_tenant_exists(discovery(tenant_id=other))
    assert outcome.status == Status.FAIL
    assert other in outcome.message


# EXO-003

def test_exo_003_passes_for_a_token_with_full_access_as_app() -> None:
    [outcome] = app_token_carries_full_access(token(), TENANT_B, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.PASS, APP)
    assert SIGNED_IN in outcome.message
    assert outcome.evidence["claims"]["roles"] == ["full_access_as_app"]


def test_exo_003_passes_for_a_v2_token_naming_the_app_in_azp_with_upper_case_ids() -> None:
    live = token(appid=None, azp=CLIENT.upper(), tid=TENANT_B.upper(), ver="2.0")
    assert [o.status for o in app_token_carries_full_access(live, TENANT_B, CLIENT)] == [Status.PASS]


def test_exo_003_skips_without_the_app_secret() -> None:
    [outcome] = app_token_carries_full_access({"configured": False}, TENANT_B, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.SKIP, APP)
    assert outcome.message == ("opt-in: set app.secret (env:NAME or file:PATH) to sign in as the app once; it writes "
                               "nothing but leaves a sign-in log entry in tenant B")


def test_exo_003_fails_without_full_access_as_app_in_the_token() -> None:
    [outcome] = app_token_carries_full_access(token(roles=["Exchange.ManageAsApp"]), TENANT_B, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.FAIL, APP)
    assert "token carries no full_access_as_app: consent missing or not yet replicated" in outcome.message
    assert "Exchange.ManageAsApp" in outcome.message and SIGNED_IN in outcome.message


def test_exo_003_fails_for_a_token_from_another_tenant_or_for_another_app() -> None:
    other_tenant = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
    [outcome] = app_token_carries_full_access(token(tid=other_tenant, appid=OTHER_APP), TENANT_B, CLIENT)
    assert outcome.status == Status.FAIL
    assert f"issued by tenant {other_tenant}" in outcome.message and f"names app {OTHER_APP}" in outcome.message


def test_exo_003_fails_with_the_known_cause_of_a_refused_sign_in() -> None:
    live = {"configured": True, "resource": "https://outlook.office365.com", "acquired": False, "code": 7000222,
            "error": f"sign-in of {CLIENT} to tenant {TENANT_B} failed: AADSTS7000222: The provided client secret "
                     f"keys for app '{CLIENT}' are expired."}
    [outcome] = app_token_carries_full_access(live, TENANT_B, CLIENT)
    entry = lookup("AADSTS7000222")
    assert entry is not None
    assert (outcome.status, outcome.subject) == (Status.FAIL, APP)
    assert f"AADSTS7000222 ({entry.title}): The provided client secret keys" in outcome.message
    assert SIGNED_IN in outcome.message
    assert outcome.evidence["known_cause"] == "AADSTS7000222" and outcome.evidence["code"] == 7000222
    assert outcome.fix is not None and outcome.fix.summary == entry.fix and entry.link in outcome.fix.links


def test_exo_003_fails_finding_the_cause_in_the_text_when_no_code_came_back() -> None:
    live = {"configured": True, "acquired": False, "code": None,
            "error": "AADSTS7000215: Invalid client secret provided."}
    [outcome] = app_token_carries_full_access(live, TENANT_B, CLIENT)
    assert outcome.status == Status.FAIL
    assert outcome.evidence["known_cause"] == "AADSTS7000215"
    assert "an error without an AADSTS code" in outcome.message


def test_exo_003_fails_with_the_check_remediation_for_an_unknown_error() -> None:
    live = {"configured": True, "acquired": False, "code": 9999999, "error": "something new"}
    [outcome] = app_token_carries_full_access(live, TENANT_B, CLIENT)
    assert outcome.status == Status.FAIL
    assert outcome.fix is None and outcome.evidence["known_cause"] is None


def test_exo_003_is_undecided_when_the_token_is_opaque() -> None:
    live = {"configured": True, "acquired": True, "claims": {}}
    assert [o.status for o in app_token_carries_full_access(live, TENANT_B, CLIENT)] == [Status.ERROR]


def test_exo_003_never_puts_a_secret_or_token_in_evidence() -> None:
    for live in (token(), {"configured": True, "acquired": False, "code": 7000215, "error": "AADSTS7000215"}):
        [outcome] = app_token_carries_full_access(live, TENANT_B, CLIENT)
        assert not {"secret", "token", "access_token"} & set(outcome.evidence)


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
    assert access.fix is not None
    command = f'Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs "{OTHER_APP},{CLIENT}"'
    assert command in access.fix.commands
    steps = " ".join(access.fix.steps)
    assert "replaces the whole list" in steps and "up to 24 hours" in steps


@pytest.mark.parametrize("listed", [[], None])
def test_ews_001_fails_when_ews_is_enabled_with_an_empty_list(listed: list[str] | None) -> None:
    access, _ = ews(exported(EwsAllowedAppIDs=listed))
    assert access.status == Status.FAIL
    assert "an empty list, which blocks every app" in access.message
    assert access.fix is not None
    assert f'Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs "{CLIENT}"' in access.fix.commands


def test_ews_001_fails_when_ews_is_left_unset_after_october_2026() -> None:
    access, _ = ews(exported(EwsEnabled=None, EwsAllowedAppIDs=None))
    assert access.status == Status.FAIL
    assert "Microsoft switches null to False from October 2026; set EwsEnabled to True and add the app to " \
           "EwsAllowedAppIDs" in access.message


def test_ews_001_warns_when_ews_is_left_unset_before_october_2026() -> None:
    access, retirement = ews(exported(EwsEnabled=None, EwsAllowedAppIDs=None), now=BEFORE_SWITCH)
    assert access.status == Status.WARN
    assert "allows EWS for now" in access.message
    assert "(in 198 days)" in retirement.message


def test_ews_001_reads_a_flag_exported_as_text() -> None:
    access, _ = ews(exported(EwsEnabled="False"))
    assert access.status == Status.FAIL


def test_ews_001_warns_when_the_user_agent_allow_list_leaves_dynamics_out() -> None:
    access, _ = ews(exported(EwsApplicationAccessPolicy="EnforceAllowList", EwsAllowList=["Outlook/*"]))
    assert access.status == Status.WARN
    assert "EwsAllowList (Outlook/*) has no entry admitting Dynamics' user agent (CRM/*)" in access.message
    assert access.fix is not None
    assert 'Set-OrganizationConfig -EwsAllowList @{Add="CRM/*"}' in access.fix.commands


def test_ews_001_fails_when_the_user_agent_block_list_names_dynamics() -> None:
    access, _ = ews(exported(EwsApplicationAccessPolicy="EnforceBlockList", EwsBlockList="SomeTool/*,CRM/*"))
    assert access.status == Status.FAIL
    assert "EwsBlockList lists CRM/*" in access.message


def test_ews_001_fails_on_the_worst_of_app_id_and_user_agent_findings() -> None:
    org = exported(EwsAllowedAppIDs=[OTHER_APP], EwsApplicationAccessPolicy="EnforceAllowList", EwsAllowList=[])
    access, _ = ews(org)
    assert access.status == Status.FAIL
    assert "leaves out app" in access.message and "EwsAllowList (empty)" in access.message
    assert access.fix is not None and any("EwsAllowedAppIDs" in c for c in access.fix.commands)


def test_ews_001_warns_naming_the_graph_permissions_still_missing_for_the_move() -> None:
    _, retirement = ews(exported(), assignments=grants("Tasks.ReadWrite.All", "User.Read.All"))
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
