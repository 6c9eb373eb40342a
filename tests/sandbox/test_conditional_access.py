"""Conditional Access in the sandbox: Graph's /identity/conditionalAccess/policies, over real TLS, msal and httpx."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from checks.sandbox.scenario import load
from checks.sandbox.server import Sandbox
from conftest import get_token, trusting

READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
READER_SECRET = "sandbox-reader-secret-8f3k2q"
SYNC_SP = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
MFA_FOR_ADMINS = "7f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f"
POLICIES = "/identity/conditionalAccess/policies"
POLICY_KEYS = ["id", "templateId", "displayName", "createdDateTime", "modifiedDateTime", "state", "sessionControls",
               "conditions", "grantControls"]
CONDITION_KEYS = {"userRiskLevels", "signInRiskLevels", "clientAppTypes", "servicePrincipalRiskLevels",
                  "insiderRiskLevels", "platforms", "locations", "devices", "clientApplications", "authenticationFlows",
                  "applications", "users"}
Get = Callable[..., httpx.Response]


def scenario_with(*policies: dict[str, Any], tenant: str = "B") -> dict[str, Any]:
    """The healthy scenario, resolved, with more Conditional Access policies in `tenant`."""
    data = copy.deepcopy(load("healthy", dt.datetime.now(dt.UTC)))
    target = next(t for t in data["tenants"] if t["ref"] == tenant)
    target.setdefault("conditionalAccessPolicies", []).extend(policies)
    return data


@pytest.fixture(scope="module")
def token_b(sandbox: Sandbox) -> str:
    return get_token(sandbox, "B", READER, READER_SECRET, sandbox.graph_url)


@pytest.fixture
def graph(client: httpx.Client, sandbox: Sandbox, token_b: str) -> Get:
    def get(path: str, token: str | None = None, **params: str) -> httpx.Response:
        return client.get(f"{sandbox.graph_url}/v1.0{path}", params=params or None,
                          headers={"Authorization": f"Bearer {token or token_b}"})

    return get


def test_policies_in_graphs_v1_shape(graph: Get, sandbox: Sandbox) -> None:
    body = graph(POLICIES).json()
    assert body["@odata.context"] == f"{sandbox.graph_url}/v1.0/$metadata#identity/conditionalAccess/policies"
    [policy] = body["value"]
    assert list(policy) == POLICY_KEYS
    assert (policy["id"], policy["displayName"], policy["state"]) == (
        MFA_FOR_ADMINS, "Require multifactor authentication for admins", "enabled")
    assert policy["templateId"] == "c7503427-338e-4c5e-902d-abe252abfb43"
    assert policy["createdDateTime"].endswith("Z") and policy["modifiedDateTime"] is None
    assert policy["sessionControls"] is None
    conditions = policy["conditions"]
    assert set(conditions) == CONDITION_KEYS
    assert conditions["clientApplications"] is None and conditions["locations"] is None
    assert conditions["platforms"] is None and conditions["clientAppTypes"] == ["all"]
    assert conditions["applications"] == {"includeApplications": ["All"], "excludeApplications": [],
                                          "includeUserActions": [], "includeAuthenticationContextClassReferences": [],
                                          "applicationFilter": None}
    users = conditions["users"]
    assert len(users["includeRoles"]) == 14 and users["includeUsers"] == [] and users["excludeRoles"] == []
    assert users["includeGuestsOrExternalUsers"] is None
    assert policy["grantControls"] == {"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [],
                                       "termsOfUse": [], "authenticationStrength": None}


def test_one_policy_by_id_and_select(graph: Get, sandbox: Sandbox) -> None:
    one = graph(f"{POLICIES}/{MFA_FOR_ADMINS}").json()
    assert one["@odata.context"] == f"{sandbox.graph_url}/v1.0/$metadata#identity/conditionalAccess/policies/$entity"
    assert one["id"] == MFA_FOR_ADMINS
    narrow = graph(POLICIES, **{"$select": "id,state"}).json()
    assert narrow["value"] == [{"id": MFA_FOR_ADMINS, "state": "enabled"}]
    enabled = graph(POLICIES, **{"$filter": "state eq 'enabled'", "$select": "displayName"}).json()["value"]
    assert enabled == [{"displayName": "Require multifactor authentication for admins"}]
    missing = graph(f"{POLICIES}/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"
    assert graph(f"{POLICIES}/not-a-guid").status_code == 400
    assert graph(POLICIES, **{"$select": "id,noSuchThing"}).status_code == 400
    assert graph(f"{POLICIES}/{MFA_FOR_ADMINS}/excludedUsers").status_code == 400


def test_reading_policies_needs_policy_read_all(graph: Get, sandbox: Sandbox) -> None:
    for roles in (["Directory.Read.All"], ["Application.Read.All", "User.Read.All"], []):
        token = sandbox.issue_token("B", READER, sandbox.graph_url, roles=roles)
        response = graph(POLICIES, token=token)
        assert response.status_code == 403 and response.json()["error"]["code"] == "Authorization_RequestDenied"
    for role in ("Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"):
        token = sandbox.issue_token("B", READER, sandbox.graph_url, roles=[role])
        assert graph(POLICIES, token=token).status_code == 200
    in_a = sandbox.issue_token("A", READER, sandbox.graph_url, roles=["Policy.Read.All"])
    assert graph(POLICIES, token=in_a).json()["value"] == []  # tenant A has none


def test_a_scenario_policy_names_a_service_principal_by_ref_and_pages(start_sandbox: Callable[..., Sandbox]) -> None:
    block = {"displayName": "Block the sync app outside", "state": "enabledForReportingButNotEnforced",
             "conditions": {"applications": {"includeApplications": ["All"]},
                            "users": {"includeUsers": ["None"]},
                            "clientApplications": {"includeServicePrincipals": ["sp:sync-app-sp"]},
                            "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}},
             "grantControls": {"operator": "OR", "builtInControls": ["block"]}}
    mine = {"displayName": "Every workload identity", "state": "disabled",
            "conditions": {"clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"],
                                                  "excludeServicePrincipals": ["sp:auditor"]}},
            "grantControls": {"builtInControls": ["block"]}}
    cloud = start_sandbox(scenario_with(block, mine), graph_page_size=2)
    token = get_token(cloud, "B", READER, READER_SECRET, cloud.graph_url)
    headers = {"Authorization": f"Bearer {token}"}
    with trusting(cloud, timeout=10) as http:
        first = http.get(f"{cloud.graph_url}/v1.0{POLICIES}", headers=headers).json()
        assert len(first["value"]) == 2
        rest = http.get(first["@odata.nextLink"], headers=headers).json()
    policies = {p["displayName"]: p for p in [*first["value"], *rest["value"]]}
    assert len(policies) == 3 and "@odata.nextLink" not in rest
    clients = policies["Block the sync app outside"]["conditions"]["clientApplications"]
    assert clients == {"includeServicePrincipals": [SYNC_SP], "excludeServicePrincipals": [],
                       "servicePrincipalFilter": None}
    locations = policies["Block the sync app outside"]["conditions"]["locations"]
    assert locations == {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
    auditor_sp = cloud.directory.service_principal(cloud.tenant("B").id, READER)
    assert auditor_sp is not None
    every = policies["Every workload identity"]
    assert every["conditions"]["clientApplications"]["excludeServicePrincipals"] == [auditor_sp["id"]]
    assert every["grantControls"]["operator"] == "OR"
    assert every["conditions"]["applications"]["includeApplications"] == []


def test_a_policy_naming_an_unknown_service_principal_is_refused() -> None:
    bad = {"displayName": "Typo", "state": "enabled",
           "conditions": {"clientApplications": {"includeServicePrincipals": ["sp:no-such-sp"]}}}
    with pytest.raises(ValueError, match="no service principal 'no-such-sp'"):
        Sandbox(scenario_with(bad))
