"""APP-001..004 called directly with Graph-shaped literals: no sandbox, no mocks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rule_samples import fix

from checks.model import Status
from checks.rules import app_secret
from checks.rules.app import (
    app_can_sign_in_to_the_exchange_tenant,
    app_is_not_disabled_by_microsoft,
    app_registration_exists,
)
from checks.rules.app import full_access_as_app_is_requested as requested
from checks.settings import Thresholds

CLIENT = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
APP = f"app {CLIENT}"
TENANT_A = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
TENANT_B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
EXCHANGE = "00000002-0000-0ff1-ce00-000000000000"
FULL_ACCESS = "dc890d15-9560-4a4c-9b7f-a736ec74ec40"
MANAGE_AS_APP = "dc50a0fb-09a3-484d-be87-e023b12c6440"
EWS_DELEGATED = "3b5f3d61-589b-4a3c-a359-5dd4b5ee5bd5"
SP_ID = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PROFILE_NAME = "Exchange Online cross-tenant (Contoso)"
NOT_READ = {"error": "the profile could not be read"}  # profile_modified when the profile is unknown
EXCHANGE_SP = {
    "id": "6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c", "appId": EXCHANGE, "displayName": "Office 365 Exchange Online",
    "appRoles": [
        {"allowedMemberTypes": ["Application"], "id": FULL_ACCESS, "isEnabled": True, "value": "full_access_as_app",
         "displayName": "Use Exchange Web Services with full access to all mailboxes"},
        {"allowedMemberTypes": ["Application"], "id": MANAGE_AS_APP, "isEnabled": True,
         "value": "Exchange.ManageAsApp", "displayName": "Manage Exchange As Application"},
    ],
}


def application(**changes: Any) -> dict[str, Any]:
    """The probe's evidence for the healthy app registration, with some properties changed."""
    app = {
        "id": "5e0f6a7b-1c2d-4e3f-8a9b-0c1d2e3f4a5b", "appId": CLIENT, "displayName": "Dynamics 365 cross-tenant sync",
        "signInAudience": "AzureADMultipleOrgs", "createdDateTime": "2025-09-02T08:00:00Z",
        "publisherDomain": "contoso.onmicrosoft.com", "keyCredentials": [],
        "passwordCredentials": [secret("sss-2026", "Zr5", "2026-09-27T12:00:00Z", "2027-09-22T12:00:00Z")],
        "requiredResourceAccess": exchange_access((FULL_ACCESS, "Role")),
    }
    return {"home_tenant": TENANT_B, "searched": [TENANT_B], "object": {**app, **changes}}


def secret(name: str | None, hint: str, start: str | None, end: str | None, key: str = "2e3d4c5b") -> dict[str, Any]:
    return {"customKeyIdentifier": None, "displayName": name, "endDateTime": end, "hint": hint,
            "keyId": f"{key}-6a7f-4e8d-9cab-1a2b3c4d5e6f", "secretText": None, "startDateTime": start}


def exchange_access(*access: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"resourceAppId": EXCHANGE, "resourceAccess": [{"id": i, "type": t} for i, t in access]}]


def verdicts(outcomes: Any) -> list[tuple[Status, str]]:
    return [(o.status, o.subject) for o in outcomes]


def full_access_as_app_is_requested(app: dict[str, Any], exchange_sp: dict[str, Any] | None, client_id: str,
                                    consented: bool = False) -> Any:
    """APP-003 with tenant B's consent: the app's service principal holds full_access_as_app, or nothing."""
    grants = [{"appRoleId": FULL_ACCESS, "principalId": SP_ID, "resourceId": EXCHANGE_SP["id"]}] if consented else []
    return requested(app, exchange_sp, {"id": SP_ID, "appId": CLIENT}, grants, client_id)


def client_secret_is_valid(app: dict[str, Any], client_id: str, thresholds: Thresholds, now: datetime,
                           profile_modified: dict[str, Any], principal: dict[str, Any] | None = None) -> Any:
    """APP-004 with the app's service principal in tenant B (by default one without secrets of its own)."""
    return app_secret.client_secret_is_valid(app, principal or {"id": SP_ID, "passwordCredentials": []}, client_id,
                                             thresholds, now, profile_modified)


# APP-001

def test_app_001_passes_when_the_registration_is_found() -> None:
    [outcome] = app_registration_exists(application(), CLIENT)
    assert (outcome.status, outcome.subject) == (Status.PASS, APP)
    assert outcome.evidence["home_tenant"] == TENANT_B
    assert "Dynamics 365 cross-tenant sync" in outcome.message


def test_app_001_fails_naming_the_tenants_searched() -> None:
    evidence = {"home_tenant": None, "searched": [TENANT_B, TENANT_A], "object": None}
    [outcome] = app_registration_exists(evidence, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.FAIL, APP)
    assert TENANT_A in outcome.message and TENANT_B in outcome.message
    assert outcome.evidence["searched"] == [TENANT_B, TENANT_A]


# APP-002

def test_app_002_passes_for_a_single_tenant_app_registered_in_tenant_b() -> None:
    [outcome] = app_can_sign_in_to_the_exchange_tenant(application(signInAudience="AzureADMyOrg"), CLIENT, TENANT_B)
    assert (outcome.status, outcome.subject) == (Status.PASS, APP)
    assert outcome.message == (f"app {CLIENT} is registered in tenant B {TENANT_B}, where Exchange Online lives, so it "
                               "signs in there (signInAudience AzureADMyOrg)")


def test_app_002_passes_for_a_multitenant_app_in_tenant_b_noting_single_tenant_is_enough() -> None:
    [outcome] = app_can_sign_in_to_the_exchange_tenant(application(), CLIENT, TENANT_B)
    assert outcome.status == Status.PASS
    assert "single tenant would be enough here" in outcome.message
    assert "Conditional Access for workload identities, which does not cover multitenant apps" in outcome.message


@pytest.mark.parametrize("audience", ["AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount"])
def test_app_002_passes_for_a_multitenant_app_registered_elsewhere(audience: str) -> None:
    elsewhere = {**application(signInAudience=audience), "home_tenant": TENANT_A}
    [outcome] = app_can_sign_in_to_the_exchange_tenant(elsewhere, CLIENT, TENANT_B)
    assert outcome.status == Status.PASS
    assert f"registered in tenant {TENANT_A} and accepts accounts in any organizational directory" in outcome.message


def test_app_002_fails_for_a_single_tenant_app_registered_outside_tenant_b() -> None:
    elsewhere = {**application(signInAudience="AzureADMyOrg"), "home_tenant": TENANT_A}
    [outcome] = app_can_sign_in_to_the_exchange_tenant(elsewhere, CLIENT, TENANT_B)
    assert (outcome.status, outcome.subject) == (Status.FAIL, APP)
    assert outcome.message == (f"app {CLIENT} is registered in tenant {TENANT_A}, not in tenant B {TENANT_B}, and is "
                               "single tenant (signInAudience AzureADMyOrg): only its home tenant accepts it, so "
                               "tenant B refuses its tokens (AADSTS700016)")
    fixed = fix("APP-002", outcome)
    assert fixed.steps[0].startswith("Microsoft's setup registers the app in the tenant where Exchange Online lives")
    assert "out of reach of Conditional Access for workload identities" in fixed.steps[2]


def test_app_002_fails_for_personal_accounts_only_wherever_it_is_registered() -> None:
    [outcome] = app_can_sign_in_to_the_exchange_tenant(application(signInAudience="PersonalMicrosoftAccount"),
                                                       CLIENT, TENANT_B)
    assert outcome.status == Status.FAIL
    assert "accepts personal Microsoft accounts only" in outcome.message


def test_app_002_skips_without_an_app() -> None:
    evidence = {"home_tenant": None, "searched": [TENANT_B], "object": None}
    assert verdicts(app_can_sign_in_to_the_exchange_tenant(evidence, CLIENT, TENANT_B)) == [(Status.SKIP, APP)]


# APP-003

def test_app_003_passes_when_full_access_as_app_is_requested_as_an_application_permission() -> None:
    [outcome] = full_access_as_app_is_requested(application(), EXCHANGE_SP, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.PASS, APP)
    assert "assumed" not in outcome.message


def test_app_003_passes_with_upper_case_guids() -> None:
    access = [{"resourceAppId": EXCHANGE.upper(), "resourceAccess": [{"id": FULL_ACCESS.upper(), "type": "Role"}]}]
    assert verdicts(full_access_as_app_is_requested(application(requiredResourceAccess=access), EXCHANGE_SP,
                                                    CLIENT)) == [(Status.PASS, APP)]


def test_app_003_passes_on_the_well_known_id_when_tenant_b_has_no_exchange_principal() -> None:
    [outcome] = full_access_as_app_is_requested(application(), None, CLIENT)
    assert outcome.status == Status.PASS
    assert f"assumed the well-known role id {FULL_ACCESS}" in outcome.message


def test_app_003_fails_for_the_delegated_ews_scope() -> None:
    app = application(requiredResourceAccess=exchange_access((EWS_DELEGATED, "Scope")))
    [outcome] = full_access_as_app_is_requested(app, EXCHANGE_SP, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.FAIL, APP)
    assert "delegated permission EWS.AccessAsUser.All" in outcome.message


def test_app_003_fails_when_full_access_as_app_is_typed_as_a_scope() -> None:
    app = application(requiredResourceAccess=exchange_access((FULL_ACCESS, "Scope")))
    [outcome] = full_access_as_app_is_requested(app, EXCHANGE_SP, CLIENT)
    assert outcome.status == Status.FAIL
    assert "delegated permission full_access_as_app" in outcome.message


def test_app_003_fails_for_the_wrong_exchange_role() -> None:
    app = application(requiredResourceAccess=exchange_access((MANAGE_AS_APP, "Role")))
    [outcome] = full_access_as_app_is_requested(app, EXCHANGE_SP, CLIENT)
    assert outcome.status == Status.FAIL
    assert "the application permission Exchange.ManageAsApp instead" in outcome.message


def test_app_003_fails_when_nothing_on_exchange_is_requested() -> None:
    graph_only = [{"resourceAppId": "00000003-0000-0000-c000-000000000000",
                   "resourceAccess": [{"id": "e2a3a72e-5f79-4c64-b1b1-878b674786c9", "type": "Role"}]}]
    [outcome] = full_access_as_app_is_requested(application(requiredResourceAccess=graph_only), EXCHANGE_SP, CLIENT)
    assert outcome.status == Status.FAIL
    assert "no Office 365 Exchange Online permission at all" in outcome.message


def test_app_003_warns_when_the_role_is_consented_but_not_requested() -> None:
    graph_only = [{"resourceAppId": "00000003-0000-0000-c000-000000000000",
                   "resourceAccess": [{"id": "e2a3a72e-5f79-4c64-b1b1-878b674786c9", "type": "Role"}]}]
    [outcome] = full_access_as_app_is_requested(application(requiredResourceAccess=graph_only), EXCHANGE_SP, CLIENT,
                                                consented=True)
    assert (outcome.status, outcome.subject) == (Status.WARN, APP)
    assert outcome.message == (f"app {CLIENT} does not request full_access_as_app (its API permissions name no Office "
                               "365 Exchange Online permission at all), but tenant B has consented it, so its tokens "
                               "carry the role and sync works; add it to the app's API permissions, because granting "
                               "tenant-wide admin consent may revoke permissions already granted tenant-wide for the "
                               "app")
    assert outcome.evidence["consented"] is True
    steps = " ".join(fix("APP-003", outcome).steps)
    assert "may revoke permissions that have already been granted tenant-wide" in steps
    assert "New-ApplicationAccessPolicy" in steps


def test_app_003_warns_when_tenant_b_gives_the_role_another_id() -> None:
    odd = "11111111-2222-4333-8444-555555555555"
    sp = {**EXCHANGE_SP, "appRoles": [{"allowedMemberTypes": ["Application"], "id": odd, "isEnabled": True,
                                       "value": "full_access_as_app"}]}
    [outcome] = full_access_as_app_is_requested(application(), sp, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.WARN, APP)
    assert odd in outcome.message and FULL_ACCESS in outcome.message


# APP-004

def test_app_004_passes_with_a_secret_valid_for_a_year() -> None:
    [outcome] = client_secret_is_valid(application(), CLIENT, Thresholds(), NOW, NOT_READ)
    assert (outcome.status, outcome.subject) == (Status.PASS, APP)
    assert "'sss-2026' (hint Zr5), expires on 2027-09-22" in outcome.message


def test_app_004_passes_when_a_secret_never_expires() -> None:
    app = application(passwordCredentials=[secret("forever", "Qq1", "2026-01-01T00:00:00Z", None)])
    [outcome] = client_secret_is_valid(app, CLIENT, Thresholds(), NOW, NOT_READ)
    assert outcome.status == Status.PASS
    assert "never expires" in outcome.message


def test_app_004_passes_when_a_newer_secret_outlives_the_window() -> None:
    app = application(passwordCredentials=[
        secret("sss-2025", "Ab3", "2025-12-01T00:00:00Z", "2026-12-01T00:00:00Z", key="1d2c3b4a"),
        secret("sss-2026", "Zr5", "2026-11-20T00:00:00Z", "2027-11-20T00:00:00Z")])
    [outcome] = client_secret_is_valid(app, CLIENT, Thresholds(), NOW, NOT_READ)
    assert outcome.status == Status.PASS
    assert "2 valid client secrets" in outcome.message and "'sss-2026'" in outcome.message


def test_app_004_warns_when_the_only_valid_secret_expires_within_the_window() -> None:
    app = application(passwordCredentials=[
        secret("sss-2025", "Ab3", "2024-10-02T12:00:00Z", "2025-10-02T12:00:00Z", key="1d2c3b4a"),
        secret("sss-2026", "Zr5", "2025-12-08T12:00:00Z", "2026-12-08T12:00:00.1234567Z")])
    [outcome] = client_secret_is_valid(app, CLIENT, Thresholds(), NOW, NOT_READ)
    assert (outcome.status, outcome.subject) == (Status.WARN, APP)
    assert outcome.message == (f"the only valid secret of app {CLIENT}, 'sss-2026' (hint Zr5), expires on 2026-12-08 "
                               "(in 12 days): sync stops then")
    rotate = f"az ad app credential reset --id {CLIENT} --append --display-name sss-2026 --years 1"
    assert rotate in fix("APP-004", outcome).commands


def test_app_004_warns_when_every_valid_secret_expires_within_the_window() -> None:
    app = application(passwordCredentials=[
        secret("a", "Ab3", "2026-01-01T00:00:00Z", "2026-12-01T00:00:00Z", key="1d2c3b4a"),
        secret("b", "Cd4", "2026-01-01T00:00:00Z", "2026-12-20T00:00:00Z")])
    [outcome] = client_secret_is_valid(app, CLIENT, Thresholds(), NOW, NOT_READ)
    assert outcome.status == Status.WARN
    assert "all 2 valid secrets" in outcome.message and "'b' (hint Cd4), expires on 2026-12-20" in outcome.message


def test_app_004_window_follows_the_threshold() -> None:
    app = application(passwordCredentials=[secret("s", "Zr5", "2026-01-01T00:00:00Z", "2026-12-08T12:00:00Z")])
    assert verdicts(client_secret_is_valid(app, CLIENT, Thresholds(secret_expiry_warning_days=7), NOW, NOT_READ)) == [
        (Status.PASS, APP)]


def test_app_004_fails_when_every_secret_has_expired() -> None:
    app = application(passwordCredentials=[
        secret("sss-2025", "Ab3", "2024-10-02T12:00:00Z", "2025-10-02T12:00:00Z", key="1d2c3b4a"),
        secret("sss-2026", "Zr5", "2025-11-24T12:00:00Z", "2026-11-24T12:00:00Z")])
    [outcome] = client_secret_is_valid(app, CLIENT, Thresholds(), NOW, NOT_READ)
    assert (outcome.status, outcome.subject) == (Status.FAIL, APP)
    assert "the last one, 'sss-2026' (hint Zr5), expired on 2026-11-24 (2 days ago)" in outcome.message
    assert [c["keyId"][:8] for c in outcome.evidence["credentials"]] == ["1d2c3b4a", "2e3d4c5b"]


def test_app_004_fails_when_the_secret_ends_right_now() -> None:
    app = application(passwordCredentials=[secret("s", "Zr5", "2025-11-26T12:00:00Z", "2026-11-26T12:00:00Z")])
    assert verdicts(client_secret_is_valid(app, CLIENT, Thresholds(), NOW, NOT_READ)) == [(Status.FAIL, APP)]


def test_app_004_fails_without_any_secret() -> None:
    [outcome] = client_secret_is_valid(application(passwordCredentials=[]), CLIENT, Thresholds(), NOW, NOT_READ)
    assert outcome.status == Status.FAIL
    assert "no client secret at all" in outcome.message


def test_app_004_fails_when_the_only_secret_is_not_valid_yet() -> None:
    app = application(passwordCredentials=[secret("next", "Nx7", "2026-12-01T00:00:00Z", "2027-12-01T00:00:00Z")])
    [outcome] = client_secret_is_valid(app, CLIENT, Thresholds(), NOW, NOT_READ)
    assert outcome.status == Status.FAIL
    assert "only becomes valid on 2026-12-01" in outcome.message


def test_app_004_evidence_lists_each_credential_without_its_value() -> None:
    [outcome] = client_secret_is_valid(application(), CLIENT, Thresholds(), NOW, NOT_READ)
    assert outcome.evidence["credentials"] == [{
        "keyId": "2e3d4c5b-6a7f-4e8d-9cab-1a2b3c4d5e6f", "displayName": "sss-2026", "hint": "Zr5",
        "start": "2026-09-27T12:00:00Z", "end": "2027-09-22T12:00:00Z"}]
    assert outcome.evidence["warning_days"] == 30


def test_app_004_passes_naming_when_sync_stops_with_one_valid_secret() -> None:
    [outcome] = client_secret_is_valid(application(), CLIENT, Thresholds(), NOW, NOT_READ)
    assert "the only valid secret, 'sss-2026' (hint Zr5), expires on 2027-09-22 (in 300 days): sync stops then" in \
        outcome.message


def saved(when: str | None) -> dict[str, Any]:
    return {"name": PROFILE_NAME, "modifiedon": when}


def test_app_004_passes_without_a_forecast_when_the_profile_was_saved_after_the_current_secret() -> None:
    app = application(passwordCredentials=[
        secret("sss-2025", "Ab3", "2024-10-02T12:00:00Z", "2025-10-02T12:00:00Z", key="1d2c3b4a"),
        secret("sss-2026", "Zr5", "2026-09-27T12:00:00Z", "2027-09-22T12:00:00Z")])
    outcomes = client_secret_is_valid(app, CLIENT, Thresholds(), NOW, saved("2026-09-28T09:00:00Z"))
    assert verdicts(outcomes) == [(Status.PASS, APP)]


def test_app_004_warns_when_every_secret_at_the_profile_s_last_save_has_expired() -> None:
    app = application(passwordCredentials=[
        secret("sss-2025", "Ab3", "2024-10-02T12:00:00Z", "2025-10-02T12:00:00Z", key="1d2c3b4a"),
        secret("sss-2026", "Zr5", "2025-09-27T12:00:00Z", "2027-09-22T12:00:00Z")])
    outcomes = list(client_secret_is_valid(app, CLIENT, Thresholds(), NOW, saved("2025-06-01T09:00:00Z")))
    assert verdicts(outcomes) == [(Status.PASS, APP), (Status.WARN, f"profile {PROFILE_NAME}")]
    forecast = outcomes[1]
    assert forecast.message.startswith("the profile was last saved on 2025-06-01; every secret that existed then has "
                                       "expired ('sss-2025' (hint Ab3)), so it very likely still holds an expired "
                                       "secret")
    assert "MicrosoftDocs/power-platform#2608" in forecast.message
    assert [c["keyId"][:8] for c in forecast.evidence["secrets_at_last_save"]] == ["1d2c3b4a"]
    assert any("credential reset" in c for c in fix("APP-004", forecast).commands)


def test_app_004_adds_no_forecast_when_a_secret_of_the_last_save_is_still_valid() -> None:
    app = application(passwordCredentials=[
        secret("sss-2025", "Ab3", "2024-10-02T12:00:00Z", "2025-10-02T12:00:00Z", key="1d2c3b4a"),
        secret("sss-2026", "Zr5", "2025-09-27T12:00:00Z", "2027-09-22T12:00:00Z")])
    assert verdicts(client_secret_is_valid(app, CLIENT, Thresholds(), NOW, saved("2025-10-01T09:00:00Z"))) == [
        (Status.PASS, APP)]


def test_app_004_adds_no_forecast_when_the_profile_predates_every_secret_or_was_not_read() -> None:
    app = application()
    for evidence in (saved("2020-01-01T00:00:00Z"), saved(None), NOT_READ):
        assert verdicts(client_secret_is_valid(app, CLIENT, Thresholds(), NOW, evidence)) == [(Status.PASS, APP)]


def test_app_004_passes_on_a_secret_held_by_the_service_principal_in_tenant_b() -> None:
    app = application(passwordCredentials=[secret("sss-2025", "Ab3", "2024-10-02T12:00:00Z", "2025-10-02T12:00:00Z")])
    principal = {"id": SP_ID, "passwordCredentials": [
        secret("sp-2027", "Qw9", "2026-09-01T12:00:00Z", "2027-09-01T12:00:00Z", key="3c4d5e6f")]}
    [outcome] = client_secret_is_valid(app, CLIENT, Thresholds(), NOW, NOT_READ, principal)
    assert outcome.status == Status.PASS
    assert "'sp-2027' (hint Qw9) on the service principal in tenant B" in outcome.message
    assert [c.get("on") for c in outcome.evidence["credentials"]] == [None, "service principal"]


# APP-005

def test_app_005_passes_when_neither_the_app_nor_its_principal_is_disabled() -> None:
    [outcome] = app_is_not_disabled_by_microsoft(application(disabledByMicrosoftStatus="NotDisabled"),
                                                 {"id": SP_ID, "disabledByMicrosoftStatus": None}, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.PASS, APP)
    assert outcome.evidence == {"disabledByMicrosoftStatus": {"application": "NotDisabled",
                                                              "service principal in tenant B": None}}


def test_app_005_fails_when_microsoft_disabled_the_service_principal() -> None:
    principal = {"id": SP_ID, "disabledByMicrosoftStatus": "DisabledDueToViolationOfServicesAgreement"}
    [outcome] = app_is_not_disabled_by_microsoft(application(), principal, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.FAIL, APP)
    assert outcome.message == (f"Microsoft has disabled app {CLIENT}: its service principal in tenant B has "
                               "disabledByMicrosoftStatus DisabledDueToViolationOfServicesAgreement, so it gets no "
                               "tokens and nothing syncs")
    assert "only Microsoft support can say why" in fix("APP-005", outcome).steps[0]


def test_app_005_warns_on_a_value_microsoft_does_not_document() -> None:
    [outcome] = app_is_not_disabled_by_microsoft(application(disabledByMicrosoftStatus="Suspended"), None, CLIENT)
    assert outcome.status == Status.WARN
    assert "application (Suspended)" in outcome.message


def test_app_005_skips_without_an_app() -> None:
    evidence = {"home_tenant": None, "searched": [TENANT_B], "object": None}
    assert verdicts(app_is_not_disabled_by_microsoft(evidence, None, CLIENT)) == [(Status.SKIP, APP)]
