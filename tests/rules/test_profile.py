"""PRF-001..004 called directly with Dataverse-shaped email server profile rows."""

from __future__ import annotations

from typing import Any

import pytest
from rule_samples import fix

from checks.knowledge import lookup
from checks.model import Status
from checks.rules.profile import (
    email_server_profile_is_active,
    profile_last_test_succeeded,
    profile_uses_exchange_online_oauth,
)
from checks.rules.profile_target import (
    profile_authority_fits_the_exchange_cloud,
    profile_client_id_matches_app,
    profile_tenant_is_exchange_tenant,
)
from checks.settings import CLOUDS, Settings

CLIENT = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
TENANT_A = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
TENANT_B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
NAME = "Exchange Online cross-tenant (Contoso)"
SUBJECT = f"profile {NAME}"
PROFILE_ID = "3f6e2d1c-0b9a-4c8d-a7e6-5f4e3d2c1b0a"
PROFILE = {
    "@odata.etag": 'W/"1234567"', "emailserverprofileid": PROFILE_ID, "name": NAME, "servertype": 0,
    "emailservertypename": "Exchange Online", "serverauthority": 3, "exchangeonlinetenantid": TENANT_B,
    "usedefaulttenantid": False, "oauthclientid": CLIENT, "isoauthclientsecretset": True,
    "aadresourceid": "https://outlook.office365.com", "incomingcredentialretrieval": 7,
    "outgoingcredentialretrieval": 7, "incomingauthenticationprotocol": 4, "outgoingauthenticationprotocol": 4,
    "lasttestexecutionstatus": 1, "lasttestvalidationstatus": 1, "lastauthorizationstatus": 1, "statecode": 0,
    "modifiedon": "2026-09-28T09:00:00Z", "lastteststarttime": "2026-10-27T09:00:00Z",
    "lastcrmmessage": "Test and enable completed successfully.",
}


def selected(mode: str = "auto", wanted: str | None = None, **changes: Any) -> dict[str, Any]:
    match = {**PROFILE, **changes}
    return {"mode": mode, "wanted": wanted, "match": match, "candidates": [{"id": PROFILE_ID, "name": NAME}]}


def settings(client_id: str | None = CLIENT) -> Settings:
    return Settings(environment_url="https://fabrikam-prod.crm4.dynamics.com", dynamics_tenant=TENANT_A,
                    exchange_tenant=TENANT_B, cloud=CLOUDS["public"], credentials=(), client_id=client_id)


def verdicts(outcomes: Any) -> list[tuple[Status, str]]:
    return [(o.status, o.subject) for o in outcomes]


# PRF-001

def test_prf_001_passes_for_the_auto_detected_active_profile() -> None:
    [outcome] = email_server_profile_is_active(selected())
    assert (outcome.status, outcome.subject) == (Status.PASS, SUBJECT)
    assert outcome.evidence["id"] == PROFILE_ID


def test_prf_001_passes_for_the_configured_profile() -> None:
    assert verdicts(email_server_profile_is_active(selected("configured", NAME))) == [(Status.PASS, SUBJECT)]


def test_prf_001_fails_for_an_inactive_profile() -> None:
    [outcome] = email_server_profile_is_active(selected("configured", NAME, statecode=1, statuscode=2))
    assert (outcome.status, outcome.subject) == (Status.FAIL, SUBJECT)
    assert "inactive" in outcome.message


def test_prf_001_fails_when_the_configured_profile_does_not_exist() -> None:
    selection = {"mode": "configured", "wanted": "Contoso sync", "match": None, "candidates": []}
    [outcome] = email_server_profile_is_active(selection)
    assert (outcome.status, outcome.subject) == (Status.FAIL, "profile Contoso sync")
    assert "no email server profile named 'Contoso sync'" in outcome.message


def test_prf_001_fails_when_auto_detection_finds_nothing() -> None:
    [outcome] = email_server_profile_is_active({"mode": "auto", "wanted": None, "match": None, "candidates": []})
    assert (outcome.status, outcome.subject) == (Status.FAIL, "email server profile")
    assert "set dynamics.profile" in outcome.message


def test_prf_001_errors_when_auto_detection_finds_several() -> None:
    other = {"id": "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d", "name": "Exchange Online cross-tenant (Northwind)"}
    selection = {"mode": "auto", "wanted": None, "match": None,
                 "candidates": [{"id": PROFILE_ID, "name": NAME}, other]}
    [outcome] = email_server_profile_is_active(selection)
    assert (outcome.status, outcome.subject) == (Status.ERROR, "email server profile")
    assert PROFILE_ID in outcome.message and other["name"] in outcome.message
    assert "set dynamics.profile" in outcome.message


def test_prf_001_errors_when_the_configured_name_is_duplicated() -> None:
    twin = {"id": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e", "name": NAME}
    selection = {"mode": "configured", "wanted": NAME, "match": None,
                 "candidates": [{"id": PROFILE_ID, "name": NAME}, twin]}
    [outcome] = email_server_profile_is_active(selection)
    assert (outcome.status, outcome.subject) == (Status.ERROR, SUBJECT)
    assert twin["id"] in outcome.message


# PRF-002

@pytest.mark.parametrize("servertype", [0, 3])
def test_prf_002_passes_for_an_exchange_online_oauth_profile(servertype: int) -> None:
    [outcome] = profile_uses_exchange_online_oauth(selected(servertype=servertype))
    assert (outcome.status, outcome.subject) == (Status.PASS, SUBJECT)


def test_prf_002_fails_when_no_secret_is_stored() -> None:
    [outcome] = profile_uses_exchange_online_oauth(selected(isoauthclientsecretset=False))
    assert (outcome.status, outcome.subject) == (Status.FAIL, SUBJECT)
    assert "no client secret is stored in the profile" in outcome.message


@pytest.mark.parametrize(("servertype", "label"), [(1, "Other (POP3/SMTP)"), (4, "IMAP/SMTP")])
def test_prf_002_fails_for_a_server_type_that_is_not_exchange(servertype: int, label: str) -> None:
    [outcome] = profile_uses_exchange_online_oauth(selected(servertype=servertype))
    assert outcome.status == Status.FAIL
    assert f"its server type is {label} (servertype {servertype}), not Exchange" in outcome.message


@pytest.mark.parametrize(("servertype", "label"), [(2, "Exchange Server (Hybrid)"),
                                                   (7, "a value outside the documented 0-4"),
                                                   (None, "a value outside the documented 0-4")])
def test_prf_002_warns_for_a_server_type_microsoft_does_not_pin_down(servertype: int | None, label: str) -> None:
    [outcome] = profile_uses_exchange_online_oauth(selected(servertype=servertype))
    assert (outcome.status, outcome.subject) == (Status.WARN, SUBJECT)
    assert f"its server type reads {label} (servertype {servertype})" in outcome.message
    assert "xtcheck explain profile-settings-uncertain" in outcome.message


def test_prf_002_warns_when_the_authentication_type_reads_same_tenant() -> None:
    [outcome] = profile_uses_exchange_online_oauth(selected(incomingcredentialretrieval=2,
                                                            outgoingcredentialretrieval=2))
    assert (outcome.status, outcome.subject) == (Status.WARN, SUBJECT)
    assert "(2)" in outcome.message and "same-tenant" in outcome.message


def test_prf_002_fails_and_still_mentions_the_authentication_doubt() -> None:
    [outcome] = profile_uses_exchange_online_oauth(selected(isoauthclientsecretset=False,
                                                            outgoingcredentialretrieval=1))
    assert outcome.status == Status.FAIL
    assert "no client secret" in outcome.message and "credentials specified in the profile (1)" in outcome.message


# PRF-003

def test_prf_003_passes_when_the_profile_holds_the_app_client_id() -> None:
    [outcome] = profile_client_id_matches_app(selected(), settings())
    assert (outcome.status, outcome.subject) == (Status.PASS, SUBJECT)


def test_prf_003_passes_with_an_upper_case_guid() -> None:
    assert verdicts(profile_client_id_matches_app(selected(oauthclientid=CLIENT.upper()), settings())) == [
        (Status.PASS, SUBJECT)]


def test_prf_003_passes_saying_the_client_id_came_from_the_profile() -> None:
    [outcome] = profile_client_id_matches_app(selected(), settings(client_id=None))
    assert outcome.status == Status.PASS
    assert "app.client_id is not configured" in outcome.message


def test_prf_003_fails_for_another_client_id() -> None:
    object_id = "5e0f6a7b-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
    [outcome] = profile_client_id_matches_app(selected(oauthclientid=object_id), settings())
    assert (outcome.status, outcome.subject) == (Status.FAIL, SUBJECT)
    assert object_id in outcome.message and CLIENT in outcome.message


def test_prf_003_fails_when_the_profile_holds_no_client_id() -> None:
    assert verdicts(profile_client_id_matches_app(selected(oauthclientid=None), settings())) == [
        (Status.FAIL, SUBJECT)]


def test_prf_003_warns_about_stray_braces_and_whitespace() -> None:
    [outcome] = profile_client_id_matches_app(selected(oauthclientid=f" {{{CLIENT}}}"), settings())
    assert outcome.status == Status.WARN
    assert "stray whitespace or braces" in outcome.message


# PRF-004

def test_prf_004_passes_when_the_profile_points_at_tenant_b() -> None:
    [outcome] = profile_tenant_is_exchange_tenant(selected(), TENANT_B, settings())
    assert (outcome.status, outcome.subject) == (Status.PASS, SUBJECT)


def test_prf_004_passes_with_an_upper_case_guid() -> None:
    assert verdicts(profile_tenant_is_exchange_tenant(selected(exchangeonlinetenantid=TENANT_B.upper()), TENANT_B,
                                                      settings())) == [(Status.PASS, SUBJECT)]


def test_prf_004_fails_for_a_mistyped_tenant_id() -> None:
    typo = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5c6b"
    [outcome] = profile_tenant_is_exchange_tenant(selected(exchangeonlinetenantid=typo), TENANT_B, settings())
    assert (outcome.status, outcome.subject) == (Status.FAIL, SUBJECT)
    assert "differ in 2 characters" in outcome.message


def test_prf_004_fails_when_the_profile_points_at_the_dynamics_tenant() -> None:
    [outcome] = profile_tenant_is_exchange_tenant(selected(exchangeonlinetenantid=TENANT_A), TENANT_B, settings())
    assert outcome.status == Status.FAIL
    assert "the Dynamics tenant itself" in outcome.message


def test_prf_004_fails_without_a_tenant_id() -> None:
    assert verdicts(profile_tenant_is_exchange_tenant(selected(exchangeonlinetenantid=""), TENANT_B,
                                                      settings())) == [(Status.FAIL, SUBJECT)]


def test_prf_004_warns_about_stray_whitespace() -> None:
    [outcome] = profile_tenant_is_exchange_tenant(selected(exchangeonlinetenantid=f"{TENANT_B} "), TENANT_B,
                                                  settings())
    assert outcome.status == Status.WARN


# PRF-006

@pytest.mark.parametrize(("authority", "instance"), [(0, "microsoftonline.com"), (1, "microsoftonline.us"),
                                                     (2, "partner.microsoftonline.cn")])
def test_prf_006_passes_when_the_authority_is_the_exchange_tenants_cloud(authority: int, instance: str) -> None:
    [outcome] = profile_authority_fits_the_exchange_cloud(selected(serverauthority=authority),
                                                          {"cloud_instance": instance}, settings())
    assert (outcome.status, outcome.subject) == (Status.PASS, SUBJECT)
    assert outcome.evidence["expected"] == authority


def test_prf_006_passes_for_automatic_when_dynamics_shares_tenant_bs_cloud() -> None:
    [outcome] = profile_authority_fits_the_exchange_cloud(selected(serverauthority=3),
                                                          {"cloud_instance": "microsoftonline.com"}, settings())
    assert outcome.status == Status.PASS
    assert "Automatic, and the Dynamics environment is in the cloud tenant B lives in" in outcome.message


def test_prf_006_fails_when_the_profile_asks_another_cloud() -> None:
    [outcome] = profile_authority_fits_the_exchange_cloud(selected(serverauthority=1),
                                                          {"cloud_instance": "microsoftonline.com"}, settings())
    assert (outcome.status, outcome.subject) == (Status.FAIL, SUBJECT)
    assert outcome.message == (f"profile {NAME} asks US Government (GCC High and DoD) (login.microsoftonline.us) for "
                               "tokens, but tenant B lives in the cloud of Public (+GCC) (login.microsoftonline.com), "
                               "which that authority does not know")
    assert "Server Authority = the cloud of tenant" in fix("PRF-006", outcome).steps[0]


def test_prf_006_fails_for_automatic_when_dynamics_is_in_another_cloud() -> None:
    [outcome] = profile_authority_fits_the_exchange_cloud(selected(serverauthority=3),
                                                          {"cloud_instance": "microsoftonline.us"}, settings())
    assert outcome.status == Status.FAIL
    assert "picks the Dynamics environment's cloud (Public (+GCC)" in outcome.message


def test_prf_006_warns_when_the_authority_was_not_read_or_is_undocumented() -> None:
    for value in (None, 9):
        [outcome] = profile_authority_fits_the_exchange_cloud(selected(serverauthority=value),
                                                              {"cloud_instance": "microsoftonline.com"}, settings())
        assert outcome.status == Status.WARN, value


def test_prf_006_warns_for_automatic_when_the_environment_address_names_no_cloud() -> None:
    local = Settings(environment_url="https://127.0.0.1:8444", dynamics_tenant=TENANT_A, exchange_tenant=TENANT_B,
                     cloud=CLOUDS["public"], credentials=())
    [outcome] = profile_authority_fits_the_exchange_cloud(selected(serverauthority=3),
                                                          {"cloud_instance": "microsoftonline.com"}, local)
    assert outcome.status == Status.WARN
    assert "its address does not say which cloud that is" in outcome.message


def test_prf_002_to_004_skip_without_a_profile() -> None:
    selection = {"mode": "auto", "wanted": None, "match": None, "candidates": []}
    assert verdicts(profile_uses_exchange_online_oauth(selection)) == [(Status.SKIP, "email server profile")]
    assert verdicts(profile_client_id_matches_app(selection, settings())) == [(Status.SKIP, "email server profile")]
    assert verdicts(profile_tenant_is_exchange_tenant(selection, TENANT_B, settings())) == [
        (Status.SKIP, "email server profile")]


# PRF-005

def test_prf_005_passes_when_the_last_test_succeeded() -> None:
    [outcome] = profile_last_test_succeeded(selected())
    assert (outcome.status, outcome.subject) == (Status.PASS, SUBJECT)
    assert "on 2026-10-27 succeeded (the test run, validation and authorization)" in outcome.message
    assert outcome.evidence["lastauthorizationstatus"] == 1


def test_prf_005_warns_when_the_profile_was_never_tested() -> None:
    never = selected(lasttestexecutionstatus=None, lasttestvalidationstatus=None, lastauthorizationstatus=None,
                      lastteststarttime=None, lastcrmmessage=None)
    [outcome] = profile_last_test_succeeded(never)
    assert (outcome.status, outcome.subject) == (Status.WARN, SUBJECT)
    assert "never been tested" in outcome.message


def test_prf_005_fails_when_authorization_failed_with_the_known_cause() -> None:
    message = ("Test connection failed for email server profile Exchange Online cross-tenant (Contoso). AADSTS7000222: "
               "The provided client secret keys for app are expired.")
    [outcome] = profile_last_test_succeeded(selected(lasttestexecutionstatus=0, lastauthorizationstatus=0,
                                                      lastcrmmessage=message))
    entry = lookup("AADSTS7000222")
    assert entry is not None
    assert (outcome.status, outcome.subject) == (Status.FAIL, SUBJECT)
    assert "failed for the test run and authorization: Test connection failed" in outcome.message
    assert outcome.evidence["known_cause"] == "AADSTS7000222"
    assert fix("PRF-005", outcome).summary == entry.fix


def test_prf_005_fails_for_an_authorization_failure_alone_without_a_known_cause() -> None:
    [outcome] = profile_last_test_succeeded(selected(lastauthorizationstatus=0, lastcrmmessage="Unexpected."))
    assert outcome.status == Status.FAIL
    assert "failed for authorization: Unexpected." in outcome.message
    assert outcome.evidence["known_cause"] is None
    assert fix("PRF-005", outcome).summary.startswith("Fix what the last test of")


def test_prf_005_warns_when_the_last_test_ended_with_a_warning() -> None:
    [outcome] = profile_last_test_succeeded(selected(lasttestexecutionstatus=2, lastcrmmessage="Slow response."))
    assert outcome.status == Status.WARN
    assert "ended with a warning: Slow response." in outcome.message


def test_prf_005_skips_without_a_profile() -> None:
    missing = {"mode": "configured", "wanted": NAME, "match": None, "candidates": []}
    assert verdicts(profile_last_test_succeeded(missing)) == [(Status.SKIP, SUBJECT)]
