"""EXO-003 and EXO-004 called directly with the evidence their probes return: discovery documents and live token
claims."""

from __future__ import annotations

from typing import Any

import pytest
from rule_samples import APP, CLIENT, SP_ID, TENANT_B, fix

from checks.knowledge import lookup
from checks.model import Status
from checks.rules.signin import app_token_carries_full_access, exchange_tenant_exists

OTHER_APP = "0f1e2d3c-4b5a-4c6d-8e7f-9a8b7c6d5e4f"
SIGNED_IN = "signed in as the app once for this (a sign-in log entry in tenant B) and wrote nothing"


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
    assert outcome.message == (f"app {CLIENT} got an Exchange token from tenant B carrying full_access_as_app; xtcheck "
                               f"{SIGNED_IN}; the token was issued to this machine's network, not to Dynamics', and a "
                               "location-based Conditional Access policy in tenant B can treat the two differently "
                               "(EXO-005)")
    assert outcome.evidence["claims"]["roles"] == ["full_access_as_app"]


def test_exo_003_fails_on_aadsts50000_with_its_configuration_cause() -> None:
    live = {"configured": True, "resource": "https://outlook.office365.com", "acquired": False, "code": 50000,
            "error": f"sign-in of {CLIENT} to tenant {TENANT_B} failed: AADSTS50000: There was an error issuing a "
                     "token or an issue with our sign-in service."}
    [outcome] = app_token_carries_full_access(live, TENANT_B, CLIENT)
    assert (outcome.status, outcome.subject) == (Status.FAIL, APP)
    assert outcome.message.startswith(f"app {CLIENT} could not get an Exchange token from tenant B: AADSTS50000 "
                                      "(Error issuing a token (often a configuration cause)): There was an error")
    assert "type Symmetric and usage Sign" in fix("EXO-003", outcome).summary


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
    remedy = fix("EXO-003", outcome)
    assert remedy.summary == entry.fix and entry.link in remedy.links


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
    assert outcome.evidence["known_cause"] is None
    assert fix("EXO-003", outcome).summary.startswith(f"Make the app {CLIENT} able to get an Exchange token")


def test_exo_003_is_undecided_when_the_token_is_opaque() -> None:
    live = {"configured": True, "acquired": True, "claims": {}}
    assert [o.status for o in app_token_carries_full_access(live, TENANT_B, CLIENT)] == [Status.ERROR]


def test_exo_003_never_puts_a_secret_or_token_in_evidence() -> None:
    for live in (token(), {"configured": True, "acquired": False, "code": 7000215, "error": "AADSTS7000215"}):
        [outcome] = app_token_carries_full_access(live, TENANT_B, CLIENT)
        assert not {"secret", "token", "access_token"} & set(outcome.evidence)


def test_the_evidence_leaves_out_what_differs_from_one_token_to_the_next() -> None:
    first = list(app_token_carries_full_access(token(exp=1796614400, iat=1796610800, uti="abc"), TENANT_B, CLIENT))
    second = list(app_token_carries_full_access(token(exp=1796614401, iat=1796610801, uti="xyz"), TENANT_B, CLIENT))
    assert [o.status for o in first] == [Status.PASS]
    assert first[0].evidence == second[0].evidence and "exp" not in first[0].evidence["claims"]
