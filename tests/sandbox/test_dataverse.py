"""Tests for the sandbox's Dataverse Web API, through real TLS, httpx and msal-issued tokens."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest

from checks.sandbox.server import Sandbox
from conftest import get_token, trusting

READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
READER_SECRET = "sandbox-reader-secret-8f3k2q"
SYNC_APP = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
TENANT_A = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
ORG_ID = "0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f"
CROSS_PROFILE = "3f6e2d1c-0b9a-4c8d-a7e6-5f4e3d2c1b0a"
SAME_PROFILE = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d"
ALICE = "6c1d2e3f-4a5b-4c6d-8e7f-000000000001"
SALES = "6c1d2e3f-4a5b-4c6d-8e7f-000000000006"
FORWARD = "6c1d2e3f-4a5b-4c6d-8e7f-000000000007"
HANS = "6c1d2e3f-4a5b-4c6d-8e7f-000000000008"
ALL_MAILBOXES = {f"6c1d2e3f-4a5b-4c6d-8e7f-00000000000{i}" for i in range(1, 9)}
API = "/api/data/v9.2/"
FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOGICAL = "Microsoft.Dynamics.CRM.lookuplogicalname"
NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"
ANNOTATIONS = f'odata.include-annotations="{FORMATTED},{LOGICAL},{NAVIGATION}"'
ETAG = re.compile(r'W/"\d+"')

# Documented option values (Dataverse entity reference), written out here independently of dvmodel.
MAILBOX_OPTIONS: dict[str, set[int]] = {
    "emailrouteraccessapproval": {0, 1, 2, 3},
    "incomingemaildeliverymethod": {0, 1, 2, 3},
    "outgoingemaildeliverymethod": {0, 1, 2},
    "actdeliverymethod": {0, 1, 2},
    "incomingemailstatus": {0, 1, 2},
    "outgoingemailstatus": {0, 1, 2},
    "actstatus": {0, 1, 2},
    "mailboxstatus": {0, 1, 2},
    "statecode": {0, 1},
    "statuscode": {1, 2},
}
PROFILE_OPTIONS: dict[str, set[int]] = {
    "servertype": {0, 1, 2, 3, 4},
    "serverauthority": {0, 1, 2, 3},
    "incomingcredentialretrieval": set(range(8)),
    "outgoingcredentialretrieval": set(range(8)),
    "incomingauthenticationprotocol": {0, 1, 2, 3, 4},
    "outgoingauthenticationprotocol": {0, 1, 2, 3, 4},
    "lasttestexecutionstatus": {0, 1, 2},
    "lasttestvalidationstatus": {0, 1},
    "lastauthorizationstatus": {0, 1},
    "statecode": {0, 1},
    "statuscode": {1, 2},
}
TRACELOG_OPTIONS: dict[str, set[int]] = {"level": {1, 2, 3}}


@pytest.fixture(scope="module")
def token(sandbox: Sandbox) -> str:
    return get_token(sandbox, "A", READER, READER_SECRET, sandbox.environment_url())


def call(http: httpx.Client, cloud: Sandbox, path: str, token: str | None, *,
         params: dict[str, str] | None = None, prefer: str | None = None, method: str = "GET",
         **options: Any) -> httpx.Response:
    headers = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if prefer is not None:
        headers["Prefer"] = prefer
    url = path if path.startswith("https://") else f"{cloud.environment_url()}{API}{path}"
    return http.request(method, url, params=params, headers=headers, **options)


def error_of(response: httpx.Response) -> tuple[str, str]:
    error = response.json()["error"]
    return error["code"], error["message"]


def scenario_file(tmp_path: Path, name: str, *patch: dict[str, Any]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "summary": "test variant", "extends": "healthy",
                                "patch": list(patch)}), encoding="utf-8")
    return str(path)


def follow(http: httpx.Client, cloud: Sandbox, token: str, first: httpx.Response,
           prefer: str) -> Iterator[httpx.Response]:
    response = first
    while True:
        assert response.status_code == 200, response.text
        yield response
        link = response.json().get("@odata.nextLink")
        if link is None:
            return
        response = call(http, cloud, link, token, prefer=prefer)


# ---- WhoAmI and plain reads --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["WhoAmI", "WhoAmI()"])
def test_whoami(client: httpx.Client, sandbox: Sandbox, token: str, path: str) -> None:
    response = call(client, sandbox, path, token)
    assert response.status_code == 200
    body = response.json()
    origin = sandbox.environment_url()
    assert body["@odata.context"] == f"{origin}{API}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse"
    assert body["OrganizationId"] == ORG_ID
    users = call(client, sandbox, "systemusers", token,
                 params={"$filter": f"applicationid eq {READER}"}).json()
    [user] = users["value"]
    assert body["UserId"] == user["systemuserid"]
    assert body["BusinessUnitId"] == user["_businessunitid_value"]
    assert user["fullname"] == "# auditor" and user["accessmode"] == 4


def test_common_headers(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    for response in (call(client, sandbox, "mailboxes", token), call(client, sandbox, "nothing", token)):
        assert response.headers["OData-Version"] == "4.0"
        assert response.headers["Content-Type"] == "application/json; odata.metadata=minimal"
        assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["REQ_ID"])
        assert response.headers["x-ms-service-request-id"]


def test_collection_returns_every_readable_column(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    body = call(client, sandbox, "mailboxes", token).json()
    assert body["@odata.context"] == f"{sandbox.environment_url()}{API}$metadata#mailboxes"
    assert {row["mailboxid"] for row in body["value"]} == ALL_MAILBOXES
    alice = next(row for row in body["value"] if row["mailboxid"] == ALICE)
    assert alice["emailaddress"] == "alice.moreau@contoso.com"
    assert alice["testemailconfigurationscheduled"] is False
    assert ETAG.fullmatch(alice["@odata.etag"])
    assert "@odata.nextLink" not in body and "@odata.count" not in body
    profiles = call(client, sandbox, "emailserverprofiles", token).json()["value"]
    assert len(profiles) == 2
    assert all("oauthclientsecret" not in p for p in profiles)
    cross = next(p for p in profiles if p["emailserverprofileid"] == CROSS_PROFILE)
    assert cross["isoauthclientsecretset"] is True and cross["oauthclientid"] == SYNC_APP
    assert cross["_organizationid_value"] == ORG_ID
    [org] = call(client, sandbox, "organizations", token).json()["value"]
    assert org["_defaultemailserverprofileid_value"] == SAME_PROFILE


def test_by_key(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    origin = sandbox.environment_url()
    body = call(client, sandbox, f"mailboxes({ALICE})", token).json()
    assert body["@odata.context"] == f"{origin}{API}$metadata#mailboxes/$entity"
    assert body["name"] == "Alice Moreau"
    selected = call(client, sandbox, f"mailboxes({ALICE.upper()})", token,
                    params={"$select": "name,emailaddress"}).json()
    assert selected["@odata.context"] == f"{origin}{API}$metadata#mailboxes(name,emailaddress)/$entity"
    assert list(selected) == ["@odata.context", "@odata.etag", "name", "emailaddress", "mailboxid"]
    assert selected["mailboxid"] == ALICE
    assert ETAG.fullmatch(selected["@odata.etag"])


def test_select_shape(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    body = call(client, sandbox, "emailserverprofiles", token,
                params={"$select": "name,oauthclientid,isoauthclientsecretset"}).json()
    assert body["@odata.context"].endswith(
        "$metadata#emailserverprofiles(name,oauthclientid,isoauthclientsecretset)")
    for row in body["value"]:
        assert set(row) == {"@odata.etag", "name", "oauthclientid", "isoauthclientsecretset",
                            "emailserverprofileid"}


@pytest.mark.parametrize(("params", "name"), [
    ({"$select": "Name"}, "Name"),
    ({"$select": "name,oauthclientsecret"}, "oauthclientsecret"),
    ({"$filter": "oauthclientsecret ne null"}, "oauthclientsecret"),
    ({"$filter": "name eq 'x' or nosuchcolumn eq 1"}, "nosuchcolumn"),
    ({"$orderby": "nosuchcolumn desc"}, "nosuchcolumn"),
    ({"$expand": "nosuchnavigation"}, "nosuchnavigation"),
])
def test_unknown_property_is_400(client: httpx.Client, sandbox: Sandbox, token: str, params: dict[str, str],
                                 name: str) -> None:
    response = call(client, sandbox, "emailserverprofiles", token, params=params)
    assert response.status_code == 400
    assert error_of(response) == (
        "0x0",
        f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.emailserverprofile'.")


@pytest.mark.parametrize("params", [{"$filter": "name eq"}, {"$filter": "name eq 'x"}, {"$select": "name,"},
                                    {"$top": "two"}, {"$expand": "emailserverprofile($select=name"}])
def test_syntax_errors_are_400(client: httpx.Client, sandbox: Sandbox, token: str,
                               params: dict[str, str]) -> None:
    response = call(client, sandbox, "mailboxes", token, params=params)
    assert response.status_code == 400
    assert error_of(response)[0] == "0x80060888"


def test_skip_is_not_supported(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    response = call(client, sandbox, "mailboxes", token, params={"$skip": "2"})
    assert response.status_code == 400
    assert "$skip" in error_of(response)[1]


# ---- $filter -----------------------------------------------------------------------------------------------


def _ago(cloud: Sandbox, days: int) -> str:
    return (cloud.now - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


FILTERS: list[tuple[str, set[str]]] = [
    ("emailaddress eq 'ALICE.MOREAU@CONTOSO.COM'", {ALICE}),
    ("emailaddress eq 'alice.moreau@contoso.com'", {ALICE}),
    ("name ne 'alice moreau' and regardingobjecttypecode eq 'queue'", {SALES}),
    (f"_emailserverprofile_value eq {SAME_PROFILE}", {FORWARD, HANS}),
    (f"_emailserverprofile_value eq {SAME_PROFILE.upper()}", {FORWARD, HANS}),
    (f"_emailserverprofile_value ne {CROSS_PROFILE}", {FORWARD, HANS}),
    ("incomingemaildeliverymethod eq 3", {FORWARD}),
    ("incomingemaildeliverymethod lt 3 and emailrouteraccessapproval eq 1", ALL_MAILBOXES - {FORWARD}),
    ("isforwardmailbox eq true", {FORWARD}),
    ("isforwardmailbox eq false and statecode eq 0", ALL_MAILBOXES - {FORWARD}),
    ("not (isforwardmailbox eq false)", {FORWARD}),
    ("(startswith(name,'ALICE') or contains(emailaddress,'sales')) and not isforwardmailbox eq true",
     {ALICE, SALES}),
    ("lastsyncerrorcode eq null", ALL_MAILBOXES),
    ("lastsyncerrorcode ne null", set()),
    ("lastsyncerrorcount gt 0", set()),
    ("lastsyncerrorcount lt 1", ALL_MAILBOXES),
    ("emailaddress eq 'hans.berg@fabrikam.com' or emailaddress eq 'SALES@contoso.com'", {HANS, SALES}),
    # Through the lookup's navigation property, compared in SQL: case and trailing blanks do not count.
    ("emailserverprofile/name eq 'Microsoft Exchange Online'", {FORWARD, HANS}),
    ("emailserverprofile/name eq 'EXCHANGE ONLINE CROSS-TENANT (CONTOSO)  '", ALL_MAILBOXES - {FORWARD, HANS}),
    ("emailserverprofile/name eq 'Exchange Online cross-tenant' and statecode eq 0", set()),
    (f"emailserverprofile/emailserverprofileid eq {SAME_PROFILE} and isforwardmailbox eq false", {HANS}),
    ("emailserverprofile/oauthclientid eq null", {FORWARD, HANS}),
]


@pytest.mark.parametrize(("expression", "expected"), FILTERS)
def test_filter(client: httpx.Client, sandbox: Sandbox, token: str, expression: str,
                expected: set[str]) -> None:
    response = call(client, sandbox, "mailboxes", token, params={"$filter": expression, "$select": "name"})
    assert response.status_code == 200, response.text
    assert {row["mailboxid"] for row in response.json()["value"]} == expected


def test_filter_datetimes(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    def ids(expression: str) -> set[str]:
        rows = call(client, sandbox, "mailboxes", token, params={"$filter": expression}).json()["value"]
        return {row["mailboxid"] for row in rows}

    assert ids(f"createdon lt {_ago(sandbox, 100)}") == ALL_MAILBOXES
    assert ids(f"createdon gt {_ago(sandbox, 100)}") == set()
    assert ids(f"lastsuccessfulsynccompletedon ge {_ago(sandbox, 1)} and modifiedon le {_ago(sandbox, 29)}") \
        == ALL_MAILBOXES
    logs = call(client, sandbox, "tracelogs", token,
                params={"$filter": f"createdon gt {_ago(sandbox, 40)} and level eq 1"}).json()["value"]
    assert [log["_regardingobjectid_value"] for log in logs] == [ALICE]


def test_filter_tracelogs_by_regarding_and_level(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    rows = call(client, sandbox, "tracelogs", token, params={
        "$filter": "_regardingobjectid_value eq 6c1d2e3f-4a5b-4c6d-8e7f-000000000002 and level ge 2",
        "$orderby": "modifiedon desc"}).json()["value"]
    assert [r["tracelogid"] for r in rows] == ["9d8c7b6a-5f4e-4d3c-8b2a-000000000002"]


@pytest.mark.parametrize(("expression", "name", "entity"), [
    ("emailserverprofiles/name eq 'x'", "emailserverprofiles", "mailbox"),
    ("name/length eq 1", "name", "mailbox"),
    ("emailserverprofile/nam eq 'x'", "nam", "emailserverprofile"),
    ("emailserverprofile/oauthclientsecret eq 'x'", "oauthclientsecret", "emailserverprofile"),
])
def test_filter_through_an_unknown_navigation_or_column_is_400(client: httpx.Client, sandbox: Sandbox, token: str,
                                                                expression: str, name: str, entity: str) -> None:
    response = call(client, sandbox, "mailboxes", token, params={"$filter": expression})
    assert response.status_code == 400
    assert error_of(response) == (
        "0x0", f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{entity}'.")


# ---- $expand, $orderby, $top, $count -----------------------------------------------------------------------


def test_expand_profile(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    body = call(client, sandbox, "mailboxes", token, params={
        "$select": "name", "$expand": "emailserverprofile($select=name,oauthclientid)"}).json()
    assert body["@odata.context"].endswith(
        "$metadata#mailboxes(name,emailserverprofile,emailserverprofile(name,oauthclientid))")
    by_id = {row["mailboxid"]: row for row in body["value"]}
    profile = by_id[ALICE]["emailserverprofile"]
    assert set(profile) == {"@odata.etag", "name", "oauthclientid", "emailserverprofileid"}
    assert profile["oauthclientid"] == SYNC_APP and profile["emailserverprofileid"] == CROSS_PROFILE
    assert by_id[HANS]["emailserverprofile"]["oauthclientid"] is None
    assert by_id[HANS]["emailserverprofile"]["name"] == "Microsoft Exchange Online"


def test_expand_polymorphic_lookup_only_on_matching_type(client: httpx.Client, sandbox: Sandbox,
                                                         token: str) -> None:
    rows = call(client, sandbox, "tracelogs", token, params={
        "$expand": "regardingobjectid_mailbox($select=emailaddress),regardingobjectid_emailserverprofile"
    }).json()["value"]
    emails = {row["regardingobjectid_mailbox"]["emailaddress"] for row in rows}
    assert emails == {"alice.moreau@contoso.com", "bruno.keller@contoso.com"}
    assert all(row["regardingobjectid_emailserverprofile"] is None for row in rows)


def test_orderby_top_and_count(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    rows = call(client, sandbox, "mailboxes", token,
                params={"$select": "name", "$orderby": "name desc"}).json()
    names = [row["name"] for row in rows["value"]]
    assert names == sorted(names, key=str.lower, reverse=True)
    params = {"$select": "emailaddress", "$orderby": "emailaddress", "$top": "3", "$count": "true"}
    top = call(client, sandbox, "mailboxes", token, params=params).json()
    assert [r["emailaddress"] for r in top["value"]] == [
        "alice.moreau@contoso.com", "bruno.keller@contoso.com", "chloe.nguyen@contoso.com"]
    assert top["@odata.count"] == 8
    assert "@odata.nextLink" not in top
    ordered = call(client, sandbox, "mailboxes", token,
                   params={"$orderby": "_emailserverprofile_value desc,name asc", "$select": "name"}).json()
    assert [r["name"] for r in ordered["value"]][:2] == ["Forward mailbox", "Hans Berg"]


# ---- paging ------------------------------------------------------------------------------------------------


def test_paging_follows_next_links(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    params = {"$select": "name,emailaddress", "$filter": "statecode eq 0", "$top": "1"}
    prefer = "odata.maxpagesize=2"
    first = call(client, sandbox, "mailboxes", token, params=params, prefer=prefer)
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=2"
    pages = list(follow(client, sandbox, token, first, prefer))
    assert [len(p.json()["value"]) for p in pages] == [2, 2, 2, 2]  # $top is ignored with maxpagesize
    paged = [row for page in pages for row in page.json()["value"]]
    without_top = {k: v for k, v in params.items() if k != "$top"}
    unpaged = call(client, sandbox, "mailboxes", token, params=without_top)
    assert paged == unpaged.json()["value"]
    link = first.json()["@odata.nextLink"]
    assert link.startswith(f"{sandbox.environment_url()}{API}mailboxes?")
    assert "%3Ccookie%20pagenumber=%222%22" in link and "istracking=%22False%22%20/%3E" in link
    rows = first.json()["value"]
    last, first_id = rows[1]["mailboxid"].upper(), rows[0]["mailboxid"].upper()
    expected_cookie = (
        "%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e"
        f"%253cmailboxid%2520last%253d%2522%257b{last}%257d%2522%2520first%253d%2522%257b{first_id}%257d"
        "%2522%2520%252f%253e%253c%252fcookie%253e%22%20istracking=%22False%22%20/%3E")
    assert link.endswith(f"&$skiptoken={expected_cookie}")
    assert "@odata.nextLink" not in pages[-1].json()


def test_paging_without_prefer_uses_top(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    response = call(client, sandbox, "mailboxes", token, params={"$top": "2"})
    assert len(response.json()["value"]) == 2
    assert "Preference-Applied" not in response.headers


def _tamper(link: str, transform: Callable[[str], str]) -> str:
    head, _, cookie = link.partition("$skiptoken=")
    return f"{head}$skiptoken={transform(cookie)}"


@pytest.mark.parametrize("transform", [
    lambda cookie: quote(unquote(cookie), safe=""),
    lambda cookie: quote(unquote(cookie)),
    lambda cookie: re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), cookie),
    unquote,
    lambda cookie: cookie.replace("pagenumber=%222%22", "pagenumber=%223%22"),
    lambda cookie: "%3Ccookie%20pagenumber=%222%22%20/%3E",
], ids=["requoted", "requoted-default", "lowercased", "decoded", "page-number-edited", "forged"])
def test_modified_skiptoken_is_400(client: httpx.Client, sandbox: Sandbox, token: str,
                                   transform: Callable[[str], str]) -> None:
    prefer = "odata.maxpagesize=3"
    link = call(client, sandbox, "mailboxes", token, prefer=prefer).json()["@odata.nextLink"]
    assert transform(link.partition("$skiptoken=")[2]) != link.partition("$skiptoken=")[2]
    response = call(client, sandbox, _tamper(link, transform), token, prefer=prefer)
    assert response.status_code == 400
    assert error_of(response) == (
        "0x80040203", "Invalid skip token: the paging cookie was modified or was not issued by this server.")


def test_skiptoken_belongs_to_its_query(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    prefer = "odata.maxpagesize=3"
    link = call(client, sandbox, "mailboxes", token, params={"$select": "name"}, prefer=prefer).json()
    cookie = link["@odata.nextLink"].partition("$skiptoken=")[2]
    origin = sandbox.environment_url()
    other_query = f"{origin}{API}mailboxes?$select=emailaddress,statecode&$skiptoken={cookie}"
    response = call(client, sandbox, other_query, token, prefer=prefer)
    assert response.status_code == 400
    assert error_of(response)[0] == "0x80040203"


# ---- annotations -------------------------------------------------------------------------------------------


def test_formatted_values_and_lookup_annotations(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    response = call(client, sandbox, "mailboxes", token, prefer=ANNOTATIONS)
    assert response.headers["Preference-Applied"] == ANNOTATIONS
    rows = {row["mailboxid"]: row for row in response.json()["value"]}
    alice, sales = rows[ALICE], rows[SALES]
    assert alice[f"incomingemaildeliverymethod@{FORMATTED}"] == "Server-Side Synchronization"
    assert alice["incomingemaildeliverymethod"] == 2
    assert alice[f"emailrouteraccessapproval@{FORMATTED}"] == "Approved"
    assert alice[f"actdeliverymethod@{FORMATTED}"] == "Server-Side Synchronization"
    assert alice[f"statecode@{FORMATTED}"] == "Active" and alice[f"statuscode@{FORMATTED}"] == "Active"
    assert alice[f"enabledforincomingemail@{FORMATTED}"] == "Yes"
    assert alice[f"lastsyncerrorcount@{FORMATTED}"] == "0"
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2} [AP]M", alice[f"createdon@{FORMATTED}"])
    assert f"lastsyncerrorcode@{FORMATTED}" not in alice  # null values carry no annotation
    assert f"emailaddress@{FORMATTED}" not in alice
    assert alice[f"_emailserverprofile_value@{FORMATTED}"] == "Exchange Online cross-tenant (Contoso)"
    assert alice[f"_emailserverprofile_value@{LOGICAL}"] == "emailserverprofile"
    assert alice[f"_emailserverprofile_value@{NAVIGATION}"] == "emailserverprofile"
    assert alice[f"_regardingobjectid_value@{LOGICAL}"] == "systemuser"
    assert sales[f"_regardingobjectid_value@{LOGICAL}"] == "queue"
    assert sales[f"_regardingobjectid_value@{NAVIGATION}"] == "regardingobjectid_queue"
    keys = list(alice)
    assert keys.index(f"statecode@{FORMATTED}") == keys.index("statecode") - 1


def test_profile_formatted_values(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    prefer = f'odata.include-annotations="{FORMATTED}"'
    profile = call(client, sandbox, f"emailserverprofiles({CROSS_PROFILE})", token, prefer=prefer).json()
    assert profile[f"servertype@{FORMATTED}"] == "Exchange Server"
    assert profile[f"incomingcredentialretrieval@{FORMATTED}"] == "OAuth with Microsoft Entra ID"
    assert profile[f"lasttestexecutionstatus@{FORMATTED}"] == "Success"
    assert profile[f"_organizationid_value@{FORMATTED}"] == "fabrikam-prod"
    assert f"_organizationid_value@{LOGICAL}" not in profile  # only the annotation that was asked for


def test_no_annotations_without_prefer(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    row = call(client, sandbox, f"mailboxes({ALICE})", token).json()
    assert [key for key in row if "@" in key[1:]] == []


def test_several_preferences_in_one_header(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    prefer = f'odata.include-annotations="{LOGICAL},{FORMATTED}", odata.maxpagesize=5'
    response = call(client, sandbox, "mailboxes", token, params={"$select": "_emailserverprofile_value"},
                    prefer=prefer)
    applied = response.headers["Preference-Applied"]
    assert "odata.maxpagesize=5" in applied
    assert f'odata.include-annotations="{LOGICAL},{FORMATTED}"' in applied
    body = response.json()
    assert len(body["value"]) == 5
    assert body["value"][0][f"_emailserverprofile_value@{LOGICAL}"] == "emailserverprofile"


def test_star_annotations(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    row = call(client, sandbox, f"mailboxes({SALES})", token, params={"$select": "_regardingobjectid_value"},
               prefer='odata.include-annotations="*"').json()
    assert row[f"_regardingobjectid_value@{LOGICAL}"] == "queue"
    assert row[f"_regardingobjectid_value@{NAVIGATION}"] == "regardingobjectid_queue"


# ---- authentication and authorization ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "other-tenant", "graph-audience", "expired", "garbage"])
def test_401(client: httpx.Client, sandbox: Sandbox, kind: str) -> None:
    origin = sandbox.environment_url()
    tokens = {
        "missing": None,
        "other-tenant": sandbox.issue_token("B", READER, origin),
        "graph-audience": sandbox.issue_token("A", READER, "https://graph.microsoft.com"),
        "expired": sandbox.issue_token("A", READER, origin, lifetime=-60),
        "garbage": "not-a-jwt",
    }
    response = call(client, sandbox, "mailboxes", tokens[kind])
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer authorization_uri=")
    assert f"/{TENANT_A}/oauth2/authorize, resource_id={origin}/" in challenge
    if kind not in ("missing", "garbage"):
        assert challenge.startswith(f"Bearer authorization_uri={sandbox.login_url}/")
    code, message = error_of(response)
    assert code == "" and message


def test_msal_token_for_graph_is_refused(client: httpx.Client, sandbox: Sandbox) -> None:
    graph_token = get_token(sandbox, "A", READER, READER_SECRET, "https://graph.microsoft.com")
    assert call(client, sandbox, "WhoAmI", graph_token).status_code == 401


def test_non_member_application_is_403(client: httpx.Client, sandbox: Sandbox) -> None:
    stranger = sandbox.issue_token("A", SYNC_APP, sandbox.environment_url())
    for path in ("WhoAmI", "mailboxes"):
        response = call(client, sandbox, path, stranger)
        assert response.status_code == 403
        assert error_of(response) == ("0x80072560", "The user is not a member of the organization.")


def test_missing_privilege_is_403(start_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    path = scenario_file(tmp_path, "no-mailbox-read", {
        "op": "replace", "path": "/environments/[ref=fabrikam-prod]/applicationUsers/0/privileges",
        "value": ["prvReadEmailServerProfile"]})
    cloud = start_sandbox(path)
    token = get_token(cloud, "A", READER, READER_SECRET, cloud.environment_url())
    with trusting(cloud, timeout=10) as http:
        user_id = call(http, cloud, "WhoAmI", token).json()["UserId"]
        assert call(http, cloud, "emailserverprofiles", token).status_code == 200
        for target in ("mailboxes", f"mailboxes({ALICE})"):
            response = call(http, cloud, target, token)
            assert response.status_code == 403
            code, message = error_of(response)
            assert code == "0x80040220"
            assert message.startswith(f"Principal user (Id={user_id}, type=8, roleCount=1, privilegeCount=1, "
                                      "accessMode=4), is missing prvReadMailbox privilege (Id=")
            assert message.endswith(f"on OTC=9606 for entity 'mailbox'. context.Caller={user_id}")
        response = call(http, cloud, "tracelogs", token, params={"$select": "text"})
        assert response.status_code == 403 and "prvReadTraceLog" in error_of(response)[1]


def test_expand_and_filter_through_a_lookup_need_the_target_privilege(start_sandbox: Callable[..., Sandbox],
                                                                     tmp_path: Path) -> None:
    path = scenario_file(tmp_path, "no-profile-read", {
        "op": "replace", "path": "/environments/[ref=fabrikam-prod]/applicationUsers/0/privileges",
        "value": ["prvReadMailbox"]})
    cloud = start_sandbox(path)
    token = get_token(cloud, "A", READER, READER_SECRET, cloud.environment_url())
    with trusting(cloud, timeout=10) as http:
        assert call(http, cloud, "mailboxes", token).status_code == 200
        for params in ({"$expand": "emailserverprofile($select=name)"},
                       {"$filter": "emailserverprofile/name eq 'Microsoft Exchange Online'"}):
            response = call(http, cloud, "mailboxes", token, params=params)
            assert response.status_code == 403
            assert "prvReadEmailServerProfile" in error_of(response)[1] and "OTC=9605" in error_of(response)[1]


# ---- not found, writes, faults -----------------------------------------------------------------------------


def test_404_shapes(client: httpx.Client, sandbox: Sandbox, token: str) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    response = call(client, sandbox, f"mailboxes({missing})", token)
    assert response.status_code == 404
    assert error_of(response) == ("0x80040217", f"Entity 'mailbox' With Id = {missing} Does Not Exist")
    response = call(client, sandbox, "accounts", token)
    assert response.status_code == 404
    assert error_of(response) == ("0x8006088a", "Resource not found for the segment 'accounts'.")
    star = 'odata.include-annotations="*"'
    annotated = call(client, sandbox, "Mailboxes", token, prefer=star).json()["error"]
    assert annotated["@Microsoft.PowerApps.CDS.ErrorDetails.ApiExceptionHttpStatusCode"] == "404"
    assert annotated["message"] == "Resource not found for the segment 'Mailboxes'."


def test_writes_are_refused_and_logged(start_sandbox: Callable[..., Sandbox]) -> None:
    cloud = start_sandbox("healthy")
    token = get_token(cloud, "A", READER, READER_SECRET, cloud.environment_url())
    with trusting(cloud, timeout=10) as http:
        attempts = [
            ("POST", "mailboxes", {"name": "x"}),
            ("PATCH", f"mailboxes({ALICE})", {"testemailconfigurationscheduled": True}),
            ("PUT", f"mailboxes({ALICE})/testemailconfigurationscheduled", {"value": True}),
            ("DELETE", f"mailboxes({ALICE})", None),
        ]
        for method, target, payload in attempts:
            response = call(http, cloud, target, token, method=method, json=payload)
            assert response.status_code == 405
            assert error_of(response) == (
                "0x80060888", f"The requested resource does not support http method '{method}'.")
        writes = cloud.log.writes()
        assert [(w.method, w.service, w.status) for w in writes] == [
            (m, "dataverse:fabrikam-prod", 405) for m, _, _ in attempts]
        alice = call(http, cloud, f"mailboxes({ALICE})", token,
                     params={"$select": "testemailconfigurationscheduled"})
        assert alice.json()["testemailconfigurationscheduled"] is False


def test_fault_bodies(start_sandbox: Callable[..., Sandbox]) -> None:
    cloud = start_sandbox("healthy")
    token = get_token(cloud, "A", READER, READER_SECRET, cloud.environment_url())
    with trusting(cloud, timeout=10) as http:
        cloud.add_fault("throttle", service="dataverse:fabrikam-prod", retry_after=2)
        response = call(http, cloud, "mailboxes", token)
        assert response.status_code == 429 and response.headers["Retry-After"] == "2"
        assert error_of(response) == (
            "0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds.")
        cloud.add_fault("status", service="dataverse:fabrikam-prod", status=500)
        response = call(http, cloud, "mailboxes", token)
        assert response.status_code == 500 and error_of(response)[0] == "0x80040216"
        assert call(http, cloud, "mailboxes", token).status_code == 200


# ---- fidelity ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("entity_set", "documented"), [
    ("mailboxes", MAILBOX_OPTIONS),
    ("emailserverprofiles", PROFILE_OPTIONS),
    ("tracelogs", TRACELOG_OPTIONS),
])
def test_option_values_are_documented(client: httpx.Client, sandbox: Sandbox, token: str, entity_set: str,
                                      documented: dict[str, set[int]]) -> None:
    rows = call(client, sandbox, entity_set, token, prefer=f'odata.include-annotations="{FORMATTED}"').json()
    assert rows["value"]
    for row in rows["value"]:
        for column, values in documented.items():
            value = row[column]
            assert value is None or value in values, (entity_set, column, value)
            if value is not None:
                assert row[f"{column}@{FORMATTED}"], (entity_set, column)
        for key, text in row.items():
            if key.endswith(f"@{FORMATTED}"):
                assert isinstance(text, str) and text


# ---- generated environments --------------------------------------------------------------------------------


def test_generated_environment_pages(start_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    path = scenario_file(tmp_path, "big", {"op": "add", "path": "/environments/[ref=fabrikam-prod]/generate",
                                           "value": {"mailboxes": 2500, "alerts_per_mailbox": 1}})
    cloud = start_sandbox(path)
    token = get_token(cloud, "A", READER, READER_SECRET, cloud.environment_url())
    params = {"$select": "emailaddress,_emailserverprofile_value,statecode"}
    with trusting(cloud, timeout=30) as http:
        prefer = "odata.maxpagesize=5000"
        pages = list(follow(http, cloud, token, call(http, cloud, "mailboxes", token, params=params,
                                                     prefer=prefer), prefer))
        assert [len(p.json()["value"]) for p in pages] == [2508]
        everything = pages[0].json()["value"]
        prefer = "odata.maxpagesize=1000"
        pages = list(follow(http, cloud, token, call(http, cloud, "mailboxes", token, params=params,
                                                     prefer=prefer), prefer))
        assert [len(p.json()["value"]) for p in pages] == [1000, 1000, 508]
        assert [row for p in pages for row in p.json()["value"]] == everything
        assert len({row["mailboxid"] for row in everything}) == 2508
        generated = [row for row in everything if row["emailaddress"].startswith("user")]
        assert generated[0]["emailaddress"] == "user00001@contoso.com"
        assert generated[-1]["emailaddress"] == "user02500@contoso.com"
        assert {row["_emailserverprofile_value"] for row in generated} == {CROSS_PROFILE}
        assert {row["statecode"] for row in generated} == {0}
        count = call(http, cloud, "tracelogs", token, params={"$count": "true", "$select": "level",
                                                              "$filter": "level eq 1"}).json()
        assert count["@odata.count"] == 2501


def test_the_cross_tenant_profile_names_the_public_cloud_authority(client: httpx.Client, sandbox: Sandbox,
                                                                   token: str) -> None:
    response = call(client, sandbox, f"emailserverprofiles({CROSS_PROFILE})", token,
                    params={"$select": "serverauthority"}, prefer='odata.include-annotations="*"')
    body = response.json()
    assert body["serverauthority"] == 0
    assert body[f"serverauthority@{FORMATTED}"] == "Public (+GCC) (https://login.microsoftonline.com)"
