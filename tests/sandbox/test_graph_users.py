"""The sandbox's Graph /users: v1.0 user objects, $select, $filter, paging and permissions, over real TLS and msal."""

from __future__ import annotations

import datetime as dt
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from checks.sandbox.scenario import load
from checks.sandbox.server import Sandbox
from conftest import get_token, trusting

READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
READER_SECRET = "sandbox-reader-secret-8f3k2q"
ALICE = "3c4d5e6f-7a8b-4c9d-8e0f-000000000001"
SALES = "3c4d5e6f-7a8b-4c9d-8e0f-000000000006"
EXCHANGE_PLAN_1 = "9aaf7827-d63c-4b61-89c3-182f06f82e5c"
EXCHANGE_PLAN_2 = "efb87545-963c-4e0d-99df-69c6916d9eb0"
DEFAULT = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
           "preferredLanguage", "surname", "userPrincipalName", "id"]
MAILBOX_PROPERTIES = "id,displayName,userPrincipalName,mail,proxyAddresses,accountEnabled,userType,assignedPlans"
Get = Callable[..., httpx.Response]


@pytest.fixture(scope="module")
def token_b(sandbox: Sandbox) -> str:
    return get_token(sandbox, "B", READER, READER_SECRET, sandbox.graph_url)


@pytest.fixture
def graph(client: httpx.Client, sandbox: Sandbox, token_b: str) -> Get:
    def get(path: str, token: str | None = None, **params: str) -> httpx.Response:
        return client.get(f"{sandbox.graph_url}/v1.0{path}", params=params or None,
                          headers={"Authorization": f"Bearer {token or token_b}"})

    return get


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def test_users_without_select_carry_graphs_default_properties(graph: Get, sandbox: Sandbox) -> None:
    body = graph("/users").json()
    assert body["@odata.context"] == f"{sandbox.graph_url}/v1.0/$metadata#users"
    assert "@odata.nextLink" not in body
    assert [u["userPrincipalName"] for u in body["value"]] == [
        "alice.moreau@contoso.com", "bruno.keller@contoso.com", "chloe.nguyen@contoso.com",
        "dmitri.ivanov@contoso.com", "esther.obi@contoso.com", "sales@contoso.com"]
    alice = body["value"][0]
    assert list(alice) == DEFAULT  # accountEnabled, proxyAddresses, assignedPlans: only on $select
    assert (alice["id"], alice["displayName"], alice["givenName"], alice["surname"]) == (
        ALICE, "Alice Moreau", "Alice", "Moreau")
    assert alice["businessPhones"] == [] and alice["jobTitle"] is None
    one = graph(f"/users/{ALICE}").json()
    assert one["@odata.context"] == f"{sandbox.graph_url}/v1.0/$metadata#users/$entity"
    assert list(one) == ["@odata.context", *DEFAULT]


def test_select_returns_the_mailbox_properties(graph: Get, sandbox: Sandbox) -> None:
    body = graph("/users", **{"$select": MAILBOX_PROPERTIES}).json()
    assert body["@odata.context"] == f"{sandbox.graph_url}/v1.0/$metadata#users({MAILBOX_PROPERTIES})"
    users = {u["mail"]: u for u in body["value"]}
    assert all(list(u) == MAILBOX_PROPERTIES.split(",") for u in users.values())
    alice = users["alice.moreau@contoso.com"]
    assert alice["proxyAddresses"] == ["SMTP:alice.moreau@contoso.com", "smtp:alice.moreau@contoso.onmicrosoft.com"]
    assert (alice["accountEnabled"], alice["userType"]) == (True, "Member")
    exchange = [p for p in alice["assignedPlans"] if p["service"] == "exchange"]
    assert exchange == [{"assignedDateTime": "2025-01-01T00:00:00Z", "capabilityStatus": "Enabled",
                         "service": "exchange", "servicePlanId": EXCHANGE_PLAN_2}]
    assert all(set(p) == {"assignedDateTime", "capabilityStatus", "service", "servicePlanId"}
               for p in alice["assignedPlans"])
    sales = users["sales@contoso.com"]  # a shared mailbox: sign-in blocked, no licence
    assert (sales["id"], sales["accountEnabled"], sales["assignedPlans"]) == (SALES, False, [])
    licences = graph(f"/users/{ALICE}", **{"$select": "assignedLicenses,department,usageLocation"}).json()
    assert licences["assignedLicenses"] == [{"disabledPlans": [], "skuId": "05e9a617-0261-4cee-bb44-138d3ef5d965"}]
    assert licences["department"] is None and licences["usageLocation"] == "DE"
    error_of(graph("/users", **{"$select": "id,mailboxQuota"}), 400, "Request_BadRequest")


@pytest.mark.parametrize("query", [
    "mail eq 'bruno.keller@contoso.com'", "userPrincipalName eq 'bruno.keller@contoso.com'",
    "startswith(mail,'bruno.')", "accountEnabled eq true and displayName eq 'Bruno Keller'"])
def test_filter_finds_a_user(graph: Get, query: str) -> None:
    found = graph("/users", **{"$filter": query, "$select": "id,mail"}).json()["value"]
    assert found == [{"id": "3c4d5e6f-7a8b-4c9d-8e0f-000000000002", "mail": "bruno.keller@contoso.com"}]


def test_filter_on_enabled_and_no_match(graph: Get) -> None:
    disabled = graph("/users", **{"$filter": "accountEnabled eq false", "$select": "mail"}).json()["value"]
    assert disabled == [{"mail": "sales@contoso.com"}]
    assert graph("/users", **{"$filter": "mail eq 'nobody@contoso.com'"}).json()["value"] == []
    error_of(graph("/users", **{"$filter": "mail eq"}), 400, "Request_BadRequest")


def test_a_user_by_id_or_by_user_principal_name(graph: Get) -> None:
    by_name = graph("/users/esther.obi@contoso.com", **{"$select": "id,accountEnabled"}).json()
    assert by_name["accountEnabled"] is True
    assert graph(f"/users/{by_name['id']}", **{"$select": "mail"}).json()["mail"] == "esther.obi@contoso.com"
    error_of(graph("/users/nobody@contoso.com"), 404, "Request_ResourceNotFound")
    error_of(graph("/users/00000000-0000-4000-8000-000000000000"), 404, "Request_ResourceNotFound")


def test_users_page_with_top_and_next_link(graph: Get, client: httpx.Client, token_b: str) -> None:
    first = graph("/users", **{"$top": "4", "$select": "mail"}).json()
    assert [u["mail"] for u in first["value"]][:1] == ["alice.moreau@contoso.com"] and len(first["value"]) == 4
    second = client.get(first["@odata.nextLink"], headers={"Authorization": f"Bearer {token_b}"}).json()
    assert [u["mail"] for u in second["value"]] == ["esther.obi@contoso.com", "sales@contoso.com"]
    assert "@odata.nextLink" not in second


def test_paging_under_a_page_cap_keeps_select_and_filter(start_sandbox: Callable[..., Sandbox]) -> None:
    cloud = start_sandbox("healthy", graph_page_size=2)
    token = get_token(cloud, "B", READER, READER_SECRET, cloud.graph_url)
    headers = {"Authorization": f"Bearer {token}"}
    url: str | None = f"{cloud.graph_url}/v1.0/users?$select=mail&$filter=accountEnabled eq true&$top=999"
    pages: list[list[str]] = []
    with trusting(cloud, timeout=10) as http:
        while url is not None:
            body = http.get(url, headers=headers).json()
            pages.append([u["mail"] for u in body["value"]])
            url = body.get("@odata.nextLink")
    assert pages == [["alice.moreau@contoso.com", "bruno.keller@contoso.com"],
                     ["chloe.nguyen@contoso.com", "dmitri.ivanov@contoso.com"], ["esther.obi@contoso.com"]]


def test_reading_users_needs_a_user_or_directory_role(graph: Get, sandbox: Sandbox) -> None:
    token_a = get_token(sandbox, "A", READER, READER_SECRET, sandbox.graph_url)  # A granted Application.Read.All
    error = error_of(graph("/users", token=token_a), 403, "Authorization_RequestDenied")
    assert error["message"] == "Insufficient privileges to complete the operation."
    error_of(graph(f"/users/{ALICE}", token=token_a), 403, "Authorization_RequestDenied")
    for role in ("User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"):
        token = sandbox.issue_token("B", READER, sandbox.graph_url, roles=[role])
        assert len(graph("/users", token=token).json()["value"]) == 6
    other = sandbox.issue_token("A", READER, sandbox.graph_url, roles=["User.Read.All"])
    assert graph("/users", token=other).json()["value"] == []  # tenant A has no users declared
    error_of(graph(f"/users/{ALICE}", token=other), 404, "Request_ResourceNotFound")


# -- users of generated mailboxes ---------------------------------------------------------------------------


def generated(count: int) -> dict[str, Any]:
    """Healthy with `count` generated mailboxes, as `xtcheck sandbox serve --mailboxes N` makes it."""
    data: dict[str, Any] = load("healthy", dt.datetime.now(dt.UTC))
    data["environments"][0]["generate"] = {"mailboxes": count}
    return data


def test_every_generated_mailbox_has_a_licensed_user_in_the_tenant_of_its_domain(
        start_sandbox: Callable[..., Sandbox]) -> None:
    cloud = start_sandbox(generated(250))
    token = get_token(cloud, "B", READER, READER_SECRET, cloud.graph_url)
    headers = {"Authorization": f"Bearer {token}"}
    with trusting(cloud, timeout=10) as http:
        first = http.get(f"{cloud.graph_url}/v1.0/users", headers=headers).json()
        assert len(first["value"]) == 100 and "@odata.nextLink" in first  # Graph's page without $top
        body = http.get(f"{cloud.graph_url}/v1.0/users?$top=999&$select={MAILBOX_PROPERTIES}", headers=headers).json()
        assert "@odata.nextLink" not in body and len(body["value"]) == 256
        last = body["value"][-1]
        assert last["mail"] == last["userPrincipalName"] == "user00250@contoso.com"
        assert last["proxyAddresses"] == ["SMTP:user00250@contoso.com"]
        assert (last["accountEnabled"], last["userType"], last["displayName"]) == (True, "Member", "User 00250")
        assert last["assignedPlans"] == [{"assignedDateTime": "2025-01-01T00:00:00Z", "capabilityStatus": "Enabled",
                                          "service": "exchange", "servicePlanId": EXCHANGE_PLAN_1}]
        assert len({u["id"] for u in body["value"]}) == 256
        found = http.get(f"{cloud.graph_url}/v1.0/users?$filter=mail eq 'user00042@contoso.com'&$select=id",
                         headers=headers).json()["value"]
        [user] = found
        again = http.get(f"{cloud.graph_url}/v1.0/users/{user['id']}?$select=mail", headers=headers).json()
        assert again["mail"] == "user00042@contoso.com"
        by_name = http.get(f"{cloud.graph_url}/v1.0/users/user00042@contoso.com?$select=id", headers=headers)
        assert by_name.json()["id"] == user["id"]
        for absent in ("user00251@contoso.com", "user00042@fabrikam.com"):
            response = http.get(f"{cloud.graph_url}/v1.0/users?$filter=mail eq '{absent}'", headers=headers)
            assert response.json()["value"] == []
        token_a = get_token(cloud, "A", READER, READER_SECRET, cloud.environment_url())
        mailboxes = http.get(f"{cloud.environment_url()}/api/data/v9.2/mailboxes?$select=emailaddress"
                             "&$filter=startswith(emailaddress,'user')",
                             headers={"Authorization": f"Bearer {token_a}"}).json()["value"]
    assert sorted(m["emailaddress"] for m in mailboxes) == sorted(u["mail"] for u in body["value"][6:])


def test_a_hundred_thousand_generated_users_cost_no_memory_until_read() -> None:
    scenario = generated(100_000)
    tracemalloc.start()
    try:
        cloud = Sandbox(scenario)  # the directory alone: nothing is started
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < 5_000_000  # bytes: a user kept as a dict would take over 100 MB here
    store = cloud.directory.users[cloud.tenant("B").id]
    assert len(store) == 100_006
    assert store[-1]["mail"] == "user100000@contoso.com"
    assert store.candidates("mail", "USER99999@contoso.com") == [store[100_004]]
    assert store.candidates("id", str(store[50_000]["id"]).upper()) == [store[50_000]]
    assert store.candidates("displayName", "User 00001") is None  # not indexed: a filter reads every user
