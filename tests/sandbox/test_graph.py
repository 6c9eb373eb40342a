"""The sandbox's Microsoft Graph v1.0, over real TLS with httpx and tokens from real msal."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from checks.sandbox.server import Sandbox
from conftest import get_token, trusting

READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
READER_SECRET = "sandbox-reader-secret-8f3k2q"
SYNC_APP = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
SYNC_APP_OBJECT = "5e0f6a7b-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
SYNC_SP = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
EXCHANGE = "00000002-0000-0ff1-ce00-000000000000"
GRAPH = "00000003-0000-0000-c000-000000000000"
FULL_ACCESS = "dc890d15-9560-4a4c-9b7f-a736ec74ec40"
MISSING = "00000000-0000-4000-8000-000000000000"
CONTENT_TYPE = ("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
                "charset=utf-8")
GUID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")
Get = Callable[..., httpx.Response]
Types = dict[str, tuple[type | None, ...]]

# Documented v1.0 properties and their JSON types (None: the property may be null).
APPLICATION_TYPES: Types = {
    "id": (str,), "deletedDateTime": (str, None), "appId": (str,), "applicationTemplateId": (str, None),
    "disabledByMicrosoftStatus": (str, None), "createdDateTime": (str,), "displayName": (str,),
    "description": (str, None), "groupMembershipClaims": (str, None), "identifierUris": (list,),
    "isDeviceOnlyAuthSupported": (bool, None), "isFallbackPublicClient": (bool, None), "notes": (str, None),
    "publisherDomain": (str, None), "serviceManagementReference": (str, None), "signInAudience": (str,),
    "tags": (list,), "tokenEncryptionKeyId": (str, None), "uniqueName": (str, None),
    "keyCredentials": (list,), "passwordCredentials": (list,), "requiredResourceAccess": (list,),
    "api": (dict,), "appRoles": (list,), "info": (dict,), "web": (dict,),
}
PASSWORD_TYPES: Types = {
    "customKeyIdentifier": (str, None), "displayName": (str, None), "endDateTime": (str,), "hint": (str,),
    "keyId": (str,), "secretText": (None,), "startDateTime": (str,),
}
KEY_TYPES: Types = {
    "customKeyIdentifier": (str, None), "displayName": (str, None), "endDateTime": (str,), "key": (str, None),
    "keyId": (str,), "startDateTime": (str,), "type": (str,), "usage": (str,),
}
REQUIRED_ACCESS_TYPES: Types = {"resourceAppId": (str,), "resourceAccess": (list,)}
SERVICE_PRINCIPAL_TYPES: Types = {
    "id": (str,), "deletedDateTime": (str, None), "accountEnabled": (bool,), "alternativeNames": (list,),
    "appDisplayName": (str, None), "appDescription": (str, None), "appId": (str,),
    "appOwnerOrganizationId": (str, None), "appRoleAssignmentRequired": (bool,), "appRoles": (list,),
    "description": (str, None), "displayName": (str,), "homepage": (str, None), "info": (dict, None),
    "keyCredentials": (list,), "loginUrl": (str, None), "logoutUrl": (str, None), "notes": (str, None),
    "notificationEmailAddresses": (list,), "oauth2PermissionScopes": (list,), "passwordCredentials": (list,),
    "preferredSingleSignOnMode": (str, None), "replyUrls": (list,), "servicePrincipalNames": (list,),
    "servicePrincipalType": (str,), "signInAudience": (str, None), "tags": (list,),
    "verifiedPublisher": (dict,),
}
APP_ROLE_TYPES: Types = {
    "allowedMemberTypes": (list,), "description": (str, None), "displayName": (str, None), "id": (str,),
    "isEnabled": (bool,), "origin": (str, None), "value": (str, None),
}
ASSIGNMENT_TYPES: Types = {
    "id": (str,), "deletedDateTime": (str, None), "appRoleId": (str,), "createdDateTime": (str,),
    "principalDisplayName": (str,), "principalId": (str,), "principalType": (str,),
    "resourceDisplayName": (str,), "resourceId": (str,),
}


def assert_shape(obj: dict[str, Any], types: Types, what: str) -> None:
    for name, allowed in types.items():
        assert name in obj, f"{what} lacks {name}"
        value = obj[name]
        ok = any(value is None if kind is None else isinstance(value, kind) for kind in allowed)
        assert ok, f"{what}.{name} = {value!r} is not one of {allowed}"


# -- helpers and fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_b(sandbox: Sandbox) -> str:
    return get_token(sandbox, "B", READER, READER_SECRET, sandbox.graph_url)


@pytest.fixture(scope="module")
def token_a(sandbox: Sandbox) -> str:
    return get_token(sandbox, "A", READER, READER_SECRET, sandbox.graph_url)


@pytest.fixture
def graph(client: httpx.Client, sandbox: Sandbox, token_b: str) -> Callable[..., httpx.Response]:
    """GET a /v1.0 path with tenant B's reader token (or `token=`)."""

    def get(path: str, token: str | None = None, headers: dict[str, str] | None = None,
            **params: str) -> httpx.Response:
        auth = {"Authorization": f"Bearer {token or token_b}", **(headers or {})}
        return client.get(f"{sandbox.graph_url}/v1.0{path}", params=params or None, headers=auth)

    return get


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def collect(http: httpx.Client, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of a collection, following @odata.nextLink verbatim."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url is not None:
        response = http.get(next_url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["value"])
        next_url = body.get("@odata.nextLink")
    return items


# -- applications ------------------------------------------------------------------------------------------


def test_application_by_id_by_app_id_and_by_filter(graph: Get, sandbox: Sandbox) -> None:
    by_id = graph(f"/applications/{SYNC_APP_OBJECT}")
    assert by_id.status_code == 200
    assert by_id.headers["content-type"] == CONTENT_TYPE
    assert by_id.json()["@odata.context"] == f"{sandbox.graph_url}/v1.0/$metadata#applications/$entity"
    by_key = graph(f"/applications(appId='{SYNC_APP}')").json()
    listed = graph("/applications", **{"$filter": f"appId eq '{SYNC_APP}'"}).json()
    assert listed["@odata.context"] == f"{sandbox.graph_url}/v1.0/$metadata#applications"
    assert [a["id"] for a in listed["value"]] == [SYNC_APP_OBJECT]
    for app in (by_id.json(), by_key, listed["value"][0]):
        assert app["appId"] == SYNC_APP
        assert app["displayName"] == "Dynamics 365 cross-tenant sync"
        assert [p["hint"] for p in app["passwordCredentials"]] == ["Ab3", "Zr5"]
    absent = graph("/applications", **{"$filter": f"appId eq '{MISSING}'"})
    assert absent.json()["value"] == []
    error_of(graph(f"/applications(appId='{MISSING}')"), 404, "Request_ResourceNotFound")


# -- service principals ------------------------------------------------------------------------------------


def test_service_principal_by_id_by_app_id_and_by_filter(graph: Get,
                                                         sandbox: Sandbox) -> None:
    by_id = graph(f"/servicePrincipals/{SYNC_SP}").json()
    by_key = graph(f"/servicePrincipals(appId='{SYNC_APP}')").json()
    listed = graph("/servicePrincipals", **{"$filter": f"appId eq '{SYNC_APP}'"}).json()
    assert by_id["@odata.context"] == f"{sandbox.graph_url}/v1.0/$metadata#servicePrincipals/$entity"
    assert len(listed["value"]) == 1
    for sp in (by_id, by_key, listed["value"][0]):
        assert sp["id"] == SYNC_SP
        assert sp["appOwnerOrganizationId"] == sandbox.tenant("B").id
        assert sp["accountEnabled"] is True
    by_name = graph("/servicePrincipals", **{"$filter": "displayName eq 'Office 365 Exchange Online'"}).json()
    assert [sp["appId"] for sp in by_name["value"]] == [EXCHANGE]
    starting = graph("/servicePrincipals", **{"$filter": "startswith(displayName,'Dynamics')"}).json()
    assert [sp["id"] for sp in starting["value"]] == [SYNC_SP]


def test_app_role_assignments_filtered_by_resource(graph: Get, sandbox: Sandbox) -> None:
    exchange = graph(f"/servicePrincipals(appId='{EXCHANGE}')", **{"$select": "id"}).json()["id"]
    everything = graph(f"/servicePrincipals/{SYNC_SP}/appRoleAssignments").json()
    assert everything["@odata.context"] == f"{sandbox.graph_url}/v1.0/$metadata#appRoleAssignments"
    assert len(everything["value"]) == 12
    for assignment in everything["value"]:
        assert_shape(assignment, ASSIGNMENT_TYPES, "appRoleAssignment")
        assert assignment["principalId"] == SYNC_SP
    narrowed = graph(f"/servicePrincipals/{SYNC_SP}/appRoleAssignments",
                     **{"$filter": f"resourceId eq {exchange}"}).json()["value"]
    assert [(a["resourceId"], a["appRoleId"]) for a in narrowed] == [(exchange, FULL_ACCESS)]
    assert narrowed[0]["resourceDisplayName"] == "Office 365 Exchange Online"
    via_key = graph(f"/servicePrincipals(appId='{SYNC_APP}')/appRoleAssignments",
                    **{"$filter": f"resourceId eq {exchange}"}).json()["value"]
    assert via_key == narrowed


def test_app_role_assigned_to(graph: Get) -> None:
    exchange = graph(f"/servicePrincipals(appId='{EXCHANGE}')").json()
    granted = graph(f"/servicePrincipals/{exchange['id']}/appRoleAssignedTo").json()["value"]
    assert [(a["principalId"], a["appRoleId"], a["resourceId"]) for a in granted] == [
        (SYNC_SP, FULL_ACCESS, exchange["id"])]


def test_expand_app_role_assignments(graph: Get, sandbox: Sandbox) -> None:
    sp = graph(f"/servicePrincipals(appId='{SYNC_APP}')", **{"$expand": "appRoleAssignments"}).json()
    assert sp["appRoleAssignments@odata.context"].startswith(f"{sandbox.graph_url}/v1.0/$metadata#")
    assert len(sp["appRoleAssignments"]) == 12
    assert sp["displayName"] == "Dynamics 365 cross-tenant sync"
    listed = graph("/servicePrincipals", **{"$expand": "appRoleAssignments", "$select": "id,appId"}).json()
    sync = next(s for s in listed["value"] if s["id"] == SYNC_SP)
    assert set(sync) == {"id", "appId", "appRoleAssignments", "appRoleAssignments@odata.context"}
    assert len(sync["appRoleAssignments"]) == 12
    error_of(graph("/servicePrincipals", **{"$expand": "owners"}), 400, "Request_BadRequest")


def test_select_returns_only_the_selected_properties(graph: Get,
                                                     sandbox: Sandbox) -> None:
    listed = graph("/servicePrincipals", **{"$select": "id,appId"}).json()
    assert listed["@odata.context"] == f"{sandbox.graph_url}/v1.0/$metadata#servicePrincipals(id,appId)"
    assert listed["value"] and all(set(sp) == {"id", "appId"} for sp in listed["value"])
    single = graph(f"/applications(appId='{SYNC_APP}')", **{"$select": "id,appId,passwordCredentials"}).json()
    assert single["@odata.context"] == (
        f"{sandbox.graph_url}/v1.0/$metadata#applications(id,appId,passwordCredentials)/$entity")
    assert set(single) == {"@odata.context", "id", "appId", "passwordCredentials"}
    # the stored object is untouched by the projection
    assert "displayName" in graph(f"/applications(appId='{SYNC_APP}')").json()
    error_of(graph("/servicePrincipals", **{"$select": "id,noSuchThing"}), 400, "Request_BadRequest")


# -- paging and query options ------------------------------------------------------------------------------


def test_paging_follows_next_link_verbatim(start_sandbox: Callable[..., Sandbox], sandbox: Sandbox,
                                           graph: Get) -> None:
    unpaged = graph("/servicePrincipals").json()
    assert "@odata.nextLink" not in unpaged
    paged = start_sandbox("healthy", graph_page_size=2)
    token = get_token(paged, "B", READER, READER_SECRET, paged.graph_url)
    headers = {"Authorization": f"Bearer {token}"}
    with trusting(paged, timeout=10) as http:
        first = http.get(f"{paged.graph_url}/v1.0/servicePrincipals", headers=headers).json()
        assert len(first["value"]) == 2
        assert first["@odata.nextLink"].startswith(f"{paged.graph_url}/v1.0/servicePrincipals?")
        items = collect(http, f"{paged.graph_url}/v1.0/servicePrincipals", headers)
        assert items == unpaged["value"]
        query = "$select=id,displayName&$filter=accountEnabled eq true"
        selected = collect(http, f"{paged.graph_url}/v1.0/servicePrincipals?{query}", headers)
        assert selected == [{"id": s["id"], "displayName": s["displayName"]} for s in unpaged["value"]]
        assignments = collect(http, f"{paged.graph_url}/v1.0/servicePrincipals(appId='{SYNC_APP}')"
                                    "/appRoleAssignments", headers)
        assert len(assignments) == 12


def test_count_only_on_the_first_page_and_only_with_consistency_level(
        start_sandbox: Callable[..., Sandbox], graph: Get) -> None:
    error_of(graph("/servicePrincipals", **{"$count": "true"}), 400, "Request_BadRequest")
    paged = start_sandbox("healthy", graph_page_size=2)
    token = get_token(paged, "B", READER, READER_SECRET, paged.graph_url)
    headers = {"Authorization": f"Bearer {token}", "ConsistencyLevel": "eventual"}
    with trusting(paged, timeout=10) as http:
        first = http.get(f"{paged.graph_url}/v1.0/servicePrincipals?$count=true", headers=headers).json()
        assert first["@odata.count"] == 5
        second = http.get(first["@odata.nextLink"], headers=headers).json()
        assert "@odata.count" not in second
        assert len(second["value"]) == 2


def test_tampered_or_reused_skiptoken_has_expired(client: httpx.Client, sandbox: Sandbox,
                                                  token_b: str) -> None:
    headers = {"Authorization": f"Bearer {token_b}"}
    first = client.get(f"{sandbox.graph_url}/v1.0/servicePrincipals?$top=2", headers=headers).json()
    link = first["@odata.nextLink"]
    assert client.get(link, headers=headers).status_code == 200
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    error = error_of(client.get(tampered, headers=headers), 400, "Directory_ExpiredPageToken")
    assert error["message"] == ("The specified page token value has expired and can no longer be included in "
                                "your request.")
    changed_query = link.replace("$top=2", "$top=3")
    error_of(client.get(changed_query, headers=headers), 400, "Directory_ExpiredPageToken")
    other_path = link.replace("/servicePrincipals?", "/applications?")
    error_of(client.get(other_path, headers=headers), 400, "Directory_ExpiredPageToken")


def test_top(graph: Get) -> None:
    one = graph("/servicePrincipals", **{"$top": "1"}).json()
    assert len(one["value"]) == 1
    assert "%24top=1&$skiptoken=" in one["@odata.nextLink"]  # the query options as the client sent them
    assert len(graph("/servicePrincipals", **{"$top": "999"}).json()["value"]) == 5
    for bad in ("0", "1000", "-1", "x"):
        error_of(graph("/servicePrincipals", **{"$top": bad}), 400, "Request_BadRequest")


def test_the_page_size_option_caps_every_page_whatever_top_asks(start_sandbox: Callable[..., Sandbox]) -> None:
    capped = start_sandbox("healthy", graph_page_size=2)
    token = get_token(capped, "B", READER, READER_SECRET, capped.graph_url)
    headers = {"Authorization": f"Bearer {token}"}
    with trusting(capped, timeout=10) as http:
        for top in ("1", "3", "999"):
            page = http.get(f"{capped.graph_url}/v1.0/servicePrincipals?$top={top}", headers=headers).json()
            assert len(page["value"]) == min(int(top), 2)
            assert "@odata.nextLink" in page


def test_bad_query_options(graph: Get) -> None:
    error = error_of(graph("/servicePrincipals", **{"$filter": "appId eq"}), 400, "Request_BadRequest")
    assert "$filter" in error["message"]
    error_of(graph("/servicePrincipals", **{"$search": '"displayName:x"'}), 400, "Request_BadRequest")
    error_of(graph("/servicePrincipals", **{"$skip": "1"}), 400, "Request_BadRequest")
    assert graph("/servicePrincipals", **{"api-version": "1"}).status_code == 200  # not a $ option: ignored


def test_unknown_route_and_bad_identifiers(graph: Get) -> None:
    error = error_of(graph("/groups"), 400, "BadRequest")
    assert error["message"] == "Resource not found for the segment 'groups'."
    error = error_of(graph("/identity/conditionalAccess/namedLocations"), 400, "BadRequest")
    assert error["message"] == "Resource not found for the segment 'identity'."
    error = error_of(graph(f"/servicePrincipals/{SYNC_SP}/owners"), 400, "BadRequest")
    assert error["message"] == "Resource not found for the segment 'owners'."
    error = error_of(graph("/applications/not-a-guid"), 400, "Request_BadRequest")
    assert error["message"] == "Invalid object identifier 'not-a-guid'."
    error_of(graph(f'/applications(appId="{SYNC_APP}")'), 400, "BadRequest")


# -- domains and organization ------------------------------------------------------------------------------


def test_domains(graph: Get, sandbox: Sandbox, token_a: str) -> None:
    domains = graph("/domains").json()["value"]
    assert [d["id"] for d in domains] == ["contoso.onmicrosoft.com", "contoso.com", "contoso-legacy.com"]
    assert [d["isVerified"] for d in domains] == [True, True, False]
    assert [d["isDefault"] for d in domains] == [False, True, False]
    one = graph("/domains/contoso.com").json()
    assert one["@odata.context"] == f"{sandbox.graph_url}/v1.0/$metadata#domains/$entity"
    assert one["isDefault"] is True
    assert isinstance(one["supportedServices"], list)
    error_of(graph("/domains/fabrikam.com"), 404, "Request_ResourceNotFound")
    # tenant A did not grant Domain.Read.All
    error_of(graph("/domains", token=token_a), 403, "Authorization_RequestDenied")


def test_organization(graph: Get, sandbox: Sandbox, token_b: str) -> None:
    # the reader was not granted Organization.Read.All
    error_of(graph("/organization"), 403, "Authorization_RequestDenied")
    token = sandbox.issue_token("B", READER, sandbox.graph_url, roles=["Organization.Read.All"])
    tenant = sandbox.tenant("B")
    orgs = graph("/organization", token=token).json()["value"]
    assert len(orgs) == 1
    org = orgs[0]
    assert (org["id"], org["displayName"], org["tenantType"]) == (tenant.id, "Contoso Ltd", "AAD")
    assert isinstance(org["countryLetterCode"], str) and isinstance(org["createdDateTime"], str)
    assert [d["name"] for d in org["verifiedDomains"]] == ["contoso.onmicrosoft.com", "contoso.com"]
    for domain in org["verifiedDomains"]:
        assert set(domain) == {"capabilities", "isDefault", "isInitial", "name", "type"}
    assert graph(f"/organization/{tenant.id}", token=token).json()["id"] == tenant.id
    error_of(graph(f"/organization/{sandbox.tenant('A').id}", token=token), 404, "Request_ResourceNotFound")


# -- authentication, authorisation, tenant isolation -------------------------------------------------------


def test_missing_expired_and_wrong_audience_tokens_are_401(client: httpx.Client, sandbox: Sandbox) -> None:
    url = f"{sandbox.graph_url}/v1.0/servicePrincipals"
    roles = ["Application.Read.All"]
    expired = sandbox.issue_token("B", READER, sandbox.graph_url, roles=roles, lifetime=-60)
    dataverse = sandbox.issue_token("B", READER, sandbox.environment_url(), roles=roles)
    cases = [({}, "Access token is empty."),
             ({"Authorization": f"Bearer {expired}"}, "Lifetime validation failed, the token is expired."),
             ({"Authorization": f"Bearer {dataverse}"}, "Invalid audience.")]
    for headers, message in cases:
        response = client.get(url, headers=headers)
        assert error_of(response, 401, "InvalidAuthenticationToken")["message"] == message
        assert response.headers["www-authenticate"].startswith("Bearer")
    public = sandbox.issue_token("B", READER, "https://graph.microsoft.com", roles=["Application.Read.All"])
    assert client.get(url, headers={"Authorization": f"Bearer {public}"}).status_code == 200


def test_token_without_roles_is_403(graph: Get, sandbox: Sandbox) -> None:
    bare = sandbox.issue_token("B", READER, sandbox.graph_url)
    for path in ("/servicePrincipals", f"/applications/{SYNC_APP_OBJECT}", f"/servicePrincipals/{SYNC_SP}"
                 "/appRoleAssignments", "/domains"):
        error = error_of(graph(path, token=bare), 403, "Authorization_RequestDenied")
        assert error["message"] == "Insufficient privileges to complete the operation."


def test_tenant_isolation(graph: Get, token_a: str) -> None:
    error_of(graph(f"/servicePrincipals/{SYNC_SP}", token=token_a), 404, "Request_ResourceNotFound")
    error_of(graph(f"/servicePrincipals(appId='{SYNC_APP}')", token=token_a), 404, "Request_ResourceNotFound")
    assert SYNC_SP not in {sp["id"] for sp in graph("/servicePrincipals", token=token_a).json()["value"]}
    error_of(graph(f"/applications(appId='{SYNC_APP}')", token=token_a), 404, "Request_ResourceNotFound")
    filtered = graph("/applications", token=token_a, **{"$filter": f"appId eq '{SYNC_APP}'"}).json()
    assert filtered["value"] == []
    assert [a["appId"] for a in graph("/applications", token=token_a).json()["value"]] == [READER]
    # the reader's application lives in A: B's token sees only its service principal
    error_of(graph(f"/applications(appId='{READER}')"), 404, "Request_ResourceNotFound")
    assert graph(f"/servicePrincipals(appId='{READER}')").status_code == 200


def test_not_found_body_and_request_ids(graph: Get) -> None:
    response = graph(f"/servicePrincipals/{MISSING}")
    error = error_of(response, 404, "Request_ResourceNotFound")
    assert error["message"] == (f"Resource '{MISSING}' does not exist or one of its queried "
                                "reference-property objects are not present.")
    inner = error["innerError"]
    assert set(inner) == {"date", "request-id", "client-request-id"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", inner["date"])
    assert GUID.fullmatch(inner["request-id"])
    assert inner["request-id"] == response.headers["request-id"] == inner["client-request-id"]
    assert response.headers["content-type"] == CONTENT_TYPE
    mine = str(uuid.uuid4())
    echoed = graph(f"/servicePrincipals/{MISSING}", headers={"client-request-id": mine})
    assert echoed.headers["client-request-id"] == mine
    assert echoed.json()["error"]["innerError"]["client-request-id"] == mine
    ok = graph("/domains", headers={"client-request-id": mine})
    assert ok.headers["client-request-id"] == mine and GUID.fullmatch(ok.headers["request-id"])


# -- $batch ------------------------------------------------------------------------------------------------


def batch(client: httpx.Client, sandbox: Sandbox, token: str,
          requests: list[dict[str, Any]]) -> httpx.Response:
    return client.post(f"{sandbox.graph_url}/v1.0/$batch", json={"requests": requests},
                       headers={"Authorization": f"Bearer {token}"})


def test_batch_of_three_reads(client: httpx.Client, sandbox: Sandbox, token_b: str) -> None:
    response = batch(client, sandbox, token_b, [
        {"id": "1", "method": "GET", "url": f"/servicePrincipals(appId='{SYNC_APP}')?$select=id,appId"},
        {"id": "2", "method": "get", "url": f"applications?$filter=appId eq '{SYNC_APP}'"},
        {"id": "3", "method": "GET", "url": "/servicePrincipals?$count=true&$top=1",
         "headers": {"ConsistencyLevel": "eventual"}},
    ])
    assert response.status_code == 200
    replies = {r["id"]: r for r in response.json()["responses"]}
    assert [replies[i]["status"] for i in "123"] == [200, 200, 200]
    assert replies["1"]["body"]["id"] == SYNC_SP
    assert replies["1"]["headers"]["Content-Type"] == CONTENT_TYPE
    assert [a["id"] for a in replies["2"]["body"]["value"]] == [SYNC_APP_OBJECT]
    assert replies["3"]["body"]["@odata.count"] == 5
    assert len(replies["3"]["body"]["value"]) == 1


def test_batch_failed_dependency_is_424(client: httpx.Client, sandbox: Sandbox, token_b: str) -> None:
    response = batch(client, sandbox, token_b, [
        {"id": "c", "method": "GET", "url": f"/servicePrincipals/{SYNC_SP}", "dependsOn": ["b"]},
        {"id": "a", "method": "GET", "url": f"/servicePrincipals(appId='{MISSING}')"},
        {"id": "b", "method": "GET", "url": "/domains", "dependsOn": ["a"]},
        {"id": "d", "method": "GET", "url": "/domains"},
    ])
    assert response.status_code == 200
    replies = response.json()["responses"]
    assert [r["id"] for r in replies] == ["a", "b", "c", "d"]  # dependencies run first
    assert [r["status"] for r in replies] == [404, 424, 424, 200]
    assert replies[0]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert replies[1]["body"]["error"]["code"] == "Failed dependency"


def test_batch_limits(client: httpx.Client, sandbox: Sandbox, token_b: str) -> None:
    many = [{"id": str(n), "method": "GET", "url": "/domains"} for n in range(21)]
    error = error_of(batch(client, sandbox, token_b, many), 400, "Request_BadRequest")
    assert error["message"] == "Number of requests exceeds the maximum of 20."
    assert batch(client, sandbox, token_b, many[:20]).status_code == 200
    twice = [{"id": "1", "method": "GET", "url": "/domains"}] * 2
    error_of(batch(client, sandbox, token_b, twice), 400, "Request_BadRequest")
    dangling = [{"id": "1", "method": "GET", "url": "/domains", "dependsOn": ["9"]}]
    error_of(batch(client, sandbox, token_b, dangling), 400, "Request_BadRequest")
    unsigned = client.post(f"{sandbox.graph_url}/v1.0/$batch", json={"requests": many[:1]})
    error_of(unsigned, 401, "InvalidAuthenticationToken")


def test_batch_with_a_write_is_refused_and_recorded(start_sandbox: Callable[..., Sandbox]) -> None:
    cloud = start_sandbox("healthy")
    token = get_token(cloud, "B", READER, READER_SECRET, cloud.graph_url)
    with trusting(cloud, timeout=10) as http:
        response = batch(http, cloud, token, [
            {"id": "1", "method": "GET", "url": "/domains"},
            {"id": "2", "method": "PATCH", "url": f"/applications/{SYNC_APP_OBJECT}",
             "headers": {"Content-Type": "application/json"}, "body": {"displayName": "x"}},
        ])
    error_of(response, 405, "Request_BadRequest")
    writes = cloud.log.writes()
    assert [(w.service, w.method, w.path, w.status) for w in writes] == [
        ("graph", "POST", "/v1.0/$batch", 405)]


def test_writes_are_refused_and_recorded(start_sandbox: Callable[..., Sandbox]) -> None:
    cloud = start_sandbox("healthy")
    token = get_token(cloud, "B", READER, READER_SECRET, cloud.graph_url)
    url = f"{cloud.graph_url}/v1.0/applications/{SYNC_APP_OBJECT}"
    with trusting(cloud, timeout=10) as http:
        for method in ("PATCH", "DELETE", "PUT"):
            response = http.request(method, url, json={"displayName": "x"},
                                    headers={"Authorization": f"Bearer {token}"})
            error = error_of(response, 405, "Request_BadRequest")
            assert error["message"] == "Specified HTTP method is not allowed for the request uri."
            assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    writes = [(w.method, w.status) for w in cloud.log.writes()]
    assert writes == [("PATCH", 405), ("DELETE", 405), ("PUT", 405)]


def test_injected_faults_use_graph_error_bodies(start_sandbox: Callable[..., Sandbox]) -> None:
    cloud = start_sandbox("healthy")
    token = get_token(cloud, "B", READER, READER_SECRET, cloud.graph_url)
    cloud.add_fault("throttle", service="graph", path="/servicePrincipals", retry_after=2)
    cloud.add_fault("status", service="graph", path="/domains", status=503)
    headers = {"Authorization": f"Bearer {token}"}
    with trusting(cloud, timeout=10) as http:
        throttled = http.get(f"{cloud.graph_url}/v1.0/servicePrincipals", headers=headers)
        assert error_of(throttled, 429, "TooManyRequests")["message"] == "Too many requests."
        assert throttled.headers["retry-after"] == "2"
        error_of(http.get(f"{cloud.graph_url}/v1.0/domains", headers=headers), 503, "serviceNotAvailable")
        assert http.get(f"{cloud.graph_url}/v1.0/servicePrincipals", headers=headers).status_code == 200


# -- fidelity ------------------------------------------------------------------------------------------------


def test_every_application_has_the_documented_shape(graph: Get, token_a: str) -> None:
    apps = graph("/applications").json()["value"] + graph("/applications", token=token_a).json()["value"]
    assert len(apps) == 2
    for app in apps:
        assert_shape(app, APPLICATION_TYPES, "application")
        assert GUID.fullmatch(app["id"]) and GUID.fullmatch(app["appId"])
        for password in app["passwordCredentials"]:
            assert_shape(password, PASSWORD_TYPES, "passwordCredential")
            assert len(password["hint"]) == 3
        for key in app["keyCredentials"]:
            assert_shape(key, KEY_TYPES, "keyCredential")
        for access in app["requiredResourceAccess"]:
            assert_shape(access, REQUIRED_ACCESS_TYPES, "requiredResourceAccess")
            for access_item in access["resourceAccess"]:
                assert set(access_item) == {"id", "type"} and access_item["type"] in ("Role", "Scope")


def test_every_service_principal_has_the_documented_shape(graph: Get,
                                                          token_a: str) -> None:
    sps = [*graph("/servicePrincipals").json()["value"],
           *graph("/servicePrincipals", token=token_a).json()["value"]]
    assert len(sps) == 9
    for sp in sps:
        assert_shape(sp, SERVICE_PRINCIPAL_TYPES, "servicePrincipal")
        for name in ("id", "appId", "appOwnerOrganizationId"):
            assert GUID.fullmatch(sp[name]), (name, sp[name])
        for role in sp["appRoles"]:
            assert_shape(role, APP_ROLE_TYPES, "appRole")
    exchange = next(sp for sp in sps if sp["appId"] == EXCHANGE)
    roles = {role["value"]: role for role in exchange["appRoles"]}
    assert roles["full_access_as_app"]["id"] == FULL_ACCESS
    assert roles["full_access_as_app"]["allowedMemberTypes"] == ["Application"]
    assert roles["full_access_as_app"]["isEnabled"] is True
    graph_sp = next(sp for sp in sps if sp["appId"] == GRAPH)
    assert "Application.Read.All" in {role["value"] for role in graph_sp["appRoles"]}
