"""The scenario catalog: every built-in scenario loads, holds the broken state it claims, and Entra answers as
Microsoft's would for it (through real msal, httpx and TLS against a started sandbox)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import jwt
import msal
import pytest

import schemas
from checks import registry
from checks.http.msalhttp import MsalHttpClient
from checks.sandbox import firstparty
from checks.sandbox.directory import Directory
from checks.sandbox.directorybuilder import build_directory
from checks.sandbox.dvenvironment import build_environment
from checks.sandbox.dvmodel import TABLES
from checks.sandbox.dvvalues import normalize_row
from checks.sandbox.pki import make_app_cert
from checks.sandbox.scenario import builtin_names, load
from checks.sandbox.server import Sandbox
from conftest import get_token, msal_app, trusting

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
CATALOG = set(registry.load()[0])

BROKEN = [name for name in builtin_names() if name != "healthy"]
StartSandbox = Callable[..., Sandbox]

APP = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
APP_OBJECT_ID = "5e0f6a7b-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
A = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
EXO = firstparty.EXCHANGE.app_id
GRAPH = firstparty.GRAPH.app_id
FULL_ACCESS = "full_access_as_app"
FULL_ACCESS_ID = firstparty.role_id(firstparty.EXCHANGE, FULL_ACCESS)
XT_PROFILE = "3f6e2d1c-0b9a-4c8d-a7e6-5f4e3d2c1b0a"
XT_PROFILE_NAME = "Exchange Online cross-tenant (Contoso)"
ST_PROFILE = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d"
GRAPH_SYNC_ROLES = {"Mail.ReadWrite", "Mail.Send", "MailboxSettings.ReadWrite", "Calendars.ReadWrite",
                    "Contacts.ReadWrite", "Tasks.ReadWrite.All", "MailboxConfigItem.ReadWrite",
                    "Chat.Read.All", "OnlineMeetings.ReadWrite.All", "CallRecords.Read.All", "User.Read.All"}
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")
READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
READER_SECRET = "sandbox-reader-secret-8f3k2q"
EWS_SETTINGS = ("EwsEnabled", "EwsAllowedAppIDs", "EwsApplicationAccessPolicy", "EwsAllowList", "EwsBlockList")
AAD_ERROR_FIELDS = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id",
                    "error_uri"}


# -- the loaded model --------------------------------------------------------------------------------------

def raw(name: str) -> dict[str, Any]:
    """The scenario file as written (before extends and patch)."""
    text = resources.files("checks.sandbox").joinpath("scenarios", f"{name}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@functools.cache
def scenario(name: str) -> dict[str, Any]:
    return load(name, NOW)


@functools.cache
def directory(name: str) -> Directory:
    return build_directory(scenario(name))


def environment(name: str) -> dict[str, Any]:
    env: dict[str, Any] = scenario(name)["environments"][0]
    return env


def profile(name: str, profile_id: str = XT_PROFILE) -> dict[str, Any] | None:
    rows = environment(name)["emailserverprofiles"]
    return next((p for p in rows if p["emailserverprofileid"] == profile_id), None)


def normalized_mailboxes(name: str) -> list[dict[str, Any]]:
    return [normalize_row(TABLES["mailboxes"], m) for m in environment(name)["mailboxes"]]


def mailbox(name: str, address: str) -> dict[str, Any]:
    """A mailbox row as Dataverse would serve it (defaults filled in)."""
    return next(m for m in normalized_mailboxes(name) if m["emailaddress"] == address)


def alerts(name: str, regarding: str, level: int = 3) -> list[dict[str, Any]]:
    return [t for t in environment(name)["tracelogs"]
            if t["_regardingobjectid_value"] == regarding and t["level"] == level]


def at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def sync_app(data: dict[str, Any]) -> dict[str, Any]:
    app: dict[str, Any] = next(a for a in data["applications"] if a["ref"] == "sync-app")
    return app


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


# -- the catalog as a whole ---------------------------------------------------------------------------------

def test_the_catalog_ships_healthy_and_a_scenario_that_breaks_every_check() -> None:
    assert "healthy" in builtin_names()
    broken = {check for name in BROKEN for check, status in raw(name)["expect"].items() if status != "skip"}
    assert broken >= CATALOG, f"no scenario breaks {sorted(CATALOG - broken)}: add one (CONTRIBUTING.md)"


@pytest.mark.parametrize("name", builtin_names())
def test_every_scenario_loads_validates_and_builds(name: str) -> None:
    data = scenario(name)
    jsonschema.Draft202012Validator(schemas.load("scenario")).validate(data)
    jsonschema.Draft202012Validator(schemas.load("scenario")).validate(raw(name))
    assert data["name"] == raw(name)["name"] == name
    assert raw(name)["$schema"] == "../../../schemas/scenario.schema.json"
    assert data["summary"].strip() and "\n" not in data["summary"]
    assert data.get("description", "").strip()
    built = directory(name)
    assert (built.application(APP) is not None) == (data["expect"].get("APP-001") != "fail")  # the app, unless gone
    for env in data["environments"]:  # every Dataverse row is one the Web API model accepts
        build_environment(env, built, NOW)
        normalize_row(TABLES["organizations"], env["organization"])
        for table in ("emailserverprofiles", "mailboxes", "tracelogs"):
            for row in env.get(table, []):
                normalize_row(TABLES[table], row)


@pytest.mark.parametrize("name", BROKEN)
def test_each_misconfiguration_extends_healthy_and_expects_catalog_checks(name: str) -> None:
    data = raw(name)
    assert data["extends"] == "healthy"
    assert data["patch"]
    assert data["expect"]
    assert set(data["expect"]) <= CATALOG
    optional = {c for c, spec in registry.load()[0].items() if any(p.optional for p in spec.permissions)}
    # the check the scenario is about: one it breaks, or one that skips for want of an optional permission
    assert any(status != "skip" or check in optional for check, status in data["expect"].items())


@pytest.mark.parametrize("name", BROKEN)
def test_scenario_files_use_lower_case_guids_and_relative_times(name: str) -> None:
    for text in strings(raw(name)):
        for guid in GUID.findall(text):
            assert guid == guid.lower(), f"{name}: {guid}"
        assert not ISO_TIME.match(text), f"{name}: {text!r} should be relative (-3h, +12d)"


def test_new_objects_get_ids_of_their_own() -> None:
    """Rows a scenario adds never reuse an id another object already has."""
    seen: dict[str, str] = {}
    healthy = set(strings(scenario("healthy")))
    for name in BROKEN:
        for op in raw(name)["patch"]:
            value = op.get("value")
            if op["op"] != "add" or not isinstance(value, dict):
                continue
            for key in ("id", "mailboxid", "tracelogid", "emailserverprofileid"):
                if key in value:
                    assert value[key] not in healthy, f"{name}: {key} reused"
                    first = seen.setdefault(value[key], name)
                    assert first == name, f"{name} and {first} share an id"


# -- each scenario has the broken state it claims -----------------------------------------------------------

def test_healthy_is_whole() -> None:
    built = directory("healthy")
    assert built.application(APP)["signInAudience"] == "AzureADMultipleOrgs"  # type: ignore[index]
    assert built.service_principal(B, APP)["accountEnabled"] is True  # type: ignore[index]
    assert built.granted_roles(B, APP, EXO) == [FULL_ACCESS]
    assert set(built.granted_roles(B, APP, GRAPH)) == GRAPH_SYNC_ROLES
    assert any(s.valid_at(NOW) for s in built.secrets[APP])
    contoso = built.tenants[B].exchange_organization
    assert contoso["EwsEnabled"] is True and contoso["EwsAllowedAppIDs"] == [APP]
    assert scenario("healthy")["audit"]["orgConfig"] == "export"
    assert built.tenants[A].exchange_organization == dict.fromkeys(EWS_SETTINGS)  # nobody touched Fabrikam's
    assert built.granted_roles(B, READER, EXO) == []


def test_single_tenant_app() -> None:
    built = directory("single-tenant-app")
    assert built.application(APP)["signInAudience"] == "AzureADMyOrg"  # type: ignore[index]
    assert built.app_home[APP] == B
    assert built.granted_roles(B, APP, EXO) == [FULL_ACCESS]


def test_consent_missing_keeps_the_graph_roles() -> None:
    built = directory("consent-missing")
    assert built.granted_roles(B, APP, EXO) == []
    assert set(built.granted_roles(B, APP, GRAPH)) == GRAPH_SYNC_ROLES
    assert {"id": FULL_ACCESS_ID, "type": "Role"} in next(  # still requested, just not consented
        r for r in built.application(APP)["requiredResourceAccess"] if r["resourceAppId"] == EXO  # type: ignore[index]
    )["resourceAccess"]


def test_consent_wrong_role() -> None:
    built = directory("consent-wrong-role")
    assert built.granted_roles(B, APP, EXO) == ["Exchange.ManageAsApp"]
    exchange = next(r for r in built.application(APP)["requiredResourceAccess"]  # type: ignore[index]
                    if r["resourceAppId"] == EXO)
    assert exchange["resourceAccess"] == [{"id": "dc50a0fb-09a3-484d-be87-e023b12c6440", "type": "Role"}]


def test_delegated_not_application() -> None:
    built = directory("delegated-not-application")
    exchange = next(r for r in built.application(APP)["requiredResourceAccess"]  # type: ignore[index]
                    if r["resourceAppId"] == EXO)
    assert exchange["resourceAccess"] == [{"id": "3b5f3d61-589b-4a3c-a359-5dd4b5ee5bd5", "type": "Scope"}]
    assert built.granted_roles(B, APP, EXO) == []


def test_no_service_principal_in_b() -> None:
    built = directory("no-service-principal")
    assert built.app_home[APP] == A
    assert built.service_principal(B, APP) is None
    assert built.service_principal(A, APP) is not None
    assert built.granted_roles(B, APP, EXO) == built.granted_roles(B, APP, GRAPH) == []
    sync_principals = {sp["id"] for sps in built.service_principals.values() for sp in sps
                       if sp["appId"] == APP}
    assert not any(a["principalId"] in sync_principals for rows in built.assignments.values() for a in rows)


def test_service_principal_disabled() -> None:
    assert directory("service-principal-disabled").service_principal(B, APP)["accountEnabled"] is False  # type: ignore[index]


def test_secrets_expired() -> None:
    secrets = directory("secrets-expired").secrets[APP]
    assert secrets and all(s.end is not None and s.end < NOW for s in secrets)


def test_secret_expiring() -> None:
    valid = [s for s in directory("secret-expiring").secrets[APP] if s.valid_at(NOW)]
    assert len(valid) == 1
    assert valid[0].end == NOW + dt.timedelta(days=12)


def test_graph_permissions_partial() -> None:
    built = directory("graph-permissions-partial")
    missing = GRAPH_SYNC_ROLES - set(built.granted_roles(B, APP, GRAPH))
    assert missing == {"Tasks.ReadWrite.All", "MailboxConfigItem.ReadWrite", "User.Read.All"}
    assert built.granted_roles(B, APP, EXO) == [FULL_ACCESS]


def test_profile_client_id_mismatch() -> None:
    found = profile("profile-client-id-mismatch")
    assert found is not None
    assert found["oauthclientid"] != APP
    assert found["oauthclientid"] == APP_OBJECT_ID  # the object id, pasted from the overview page
    assert directory("profile-client-id-mismatch").application(found["oauthclientid"]) is None
    assert scenario("profile-client-id-mismatch")["audit"]["profile"] == found["name"]


def test_profile_tenant_id_mismatch() -> None:
    found = profile("profile-tenant-id-mismatch")
    assert found is not None
    tenant_id = found["exchangeonlinetenantid"]
    assert tenant_id != B and sorted(tenant_id) == sorted(B)  # a transposition, not another tenant
    assert directory("profile-tenant-id-mismatch").tenant(tenant_id) is None


def test_profile_missing() -> None:
    data = scenario("profile-missing")
    assert profile("profile-missing") is None
    assert all(p["name"] != XT_PROFILE_NAME for p in environment("profile-missing")["emailserverprofiles"])
    assert data["audit"]["profile"] == XT_PROFILE_NAME
    contoso = [m for m in normalized_mailboxes("profile-missing")
               if m["emailaddress"].endswith("@contoso.com")]
    assert len(contoso) == 6 and all(m["_emailserverprofile_value"] == ST_PROFILE for m in contoso)


def test_profile_inactive() -> None:
    found = profile("profile-inactive")
    assert found is not None
    row = normalize_row(TABLES["emailserverprofiles"], found)
    assert (row["statecode"], row["statuscode"]) == (1, 2)
    assert scenario("profile-inactive")["audit"]["profile"] == found["name"]


def test_profile_secret_not_set() -> None:
    found = profile("profile-secret-not-set")
    assert found is not None
    assert found["isoauthclientsecretset"] is False and found["oauthclientid"] == APP
    assert scenario("profile-secret-not-set")["audit"]["profile"] == found["name"]


def test_mailbox_pending_approval() -> None:
    pending = [m for m in normalized_mailboxes("mailbox-pending-approval")
               if m["emailrouteraccessapproval"] != 1]
    assert len(pending) == 1
    assert pending[0]["emailrouteraccessapproval"] == 2
    assert pending[0]["isemailaddressapprovedbyo365admin"] is False
    assert pending[0]["emailaddressapprovedon"] is None
    assert pending[0]["_emailserverprofile_value"] == XT_PROFILE


def test_mailbox_test_failed() -> None:
    row = mailbox("mailbox-test-failed", "dmitri.ivanov@contoso.com")
    assert row["incomingemailstatus"] == row["mailboxstatus"] == 2
    assert not (row["enabledforincomingemail"] or row["enabledforoutgoingemail"] or row["enabledforact"])
    assert row["lastsyncerrorcode"] == 0x8005E272 - 2**32 and row["lastsyncerror"]
    assert NOW - at(row["lastsyncerroroccurredon"]) == dt.timedelta(hours=2)
    (alert,) = alerts("mailbox-test-failed", row["mailboxid"])
    assert "8005E272" in alert["text"] and "Http server returned 401 Unauthorized exception" in alert["text"]
    assert alert["regardingobjecttypecode"] == "mailbox"
    others = [m for m in normalized_mailboxes("mailbox-test-failed") if m["mailboxid"] != row["mailboxid"]]
    assert all(m["incomingemailstatus"] == 1 for m in others)


def test_mailbox_never_tested() -> None:
    untested = [m for m in normalized_mailboxes("mailbox-never-tested") if m["mailboxstatus"] == 0]
    assert len(untested) == 1
    row = untested[0]
    assert row["incomingemailstatus"] == row["outgoingemailstatus"] == row["actstatus"] == 0
    assert row["testmailboxaccesscompletedon"] is None and row["lastsuccessfulsynccompletedon"] is None
    assert row["_emailserverprofile_value"] == XT_PROFILE and row["emailrouteraccessapproval"] == 1


def test_mailbox_other_profile() -> None:
    listed = scenario("mailbox-other-profile")["audit"]["mailboxes"]
    assert isinstance(listed, list) and len(listed) == 3
    profiles = {a: mailbox("mailbox-other-profile", a)["_emailserverprofile_value"] for a in listed}
    assert sorted(profiles.values()) == sorted([XT_PROFILE, XT_PROFILE, ST_PROFILE])


def test_alerts_stale_sync() -> None:
    stale = [m for m in normalized_mailboxes("alerts-stale-sync")
             if NOW - at(m["lastsuccessfulsynccompletedon"]) > dt.timedelta(days=1)]
    assert len(stale) == 2
    mailbox_alerts = [a for m in stale for a in alerts("alerts-stale-sync", m["mailboxid"])]
    ages = sorted(NOW - at(a["createdon"]) for a in mailbox_alerts)
    assert ages == [dt.timedelta(hours=3), dt.timedelta(days=1)]
    assert all(NOW - at(m["lastsuccessfulsynccompletedon"]) == dt.timedelta(days=3) for m in stale)
    texts = " ".join(a["text"] for a in mailbox_alerts)
    assert "credentials specified in the associated email server profile" in texts
    assert "no user was found with the email address" in texts
    (on_profile,) = alerts("alerts-stale-sync", XT_PROFILE)
    assert on_profile["regardingobjecttypecode"] == "emailserverprofile"


def test_unknown_exchange_tenant() -> None:
    data = scenario("unknown-exchange-tenant")
    found = profile("unknown-exchange-tenant")
    assert found is not None
    assert data["audit"]["exchangeTenant"] == found["exchangeonlinetenantid"]
    assert GUID.fullmatch(found["exchangeonlinetenantid"])
    assert directory("unknown-exchange-tenant").tenant(found["exchangeonlinetenantid"]) is None


def test_profile_test_failed() -> None:
    found, healthy = profile("profile-test-failed"), profile("healthy")
    assert found is not None and healthy is not None
    row = normalize_row(TABLES["emailserverprofiles"], found)
    statuses = ("lasttestexecutionstatus", "lasttestvalidationstatus", "lastauthorizationstatus")
    assert [row[column] for column in statuses] == [0, 0, 0]  # Failure, Failure, Failure
    assert NOW - at(row["lastteststarttime"]) == dt.timedelta(hours=2)
    assert "AADSTS7000222" in row["lastcrmmessage"] and APP in row["lastcrmmessage"]
    tested = {"lasttestexecutionstatus", "lasttestvalidationstatus", "lastauthorizationstatus", "lastteststarttime",
              "lastcrmmessage", "modifiedon"}
    assert {k: v for k, v in found.items() if k not in tested} == {k: v for k, v in healthy.items() if k not in tested}
    assert normalized_mailboxes("profile-test-failed") == normalized_mailboxes("healthy")


def test_mailbox_foreign_domain() -> None:
    built = directory("mailbox-foreign-domain")
    contoso = {d["id"] for d in built.tenants[B].domains}
    on_profile = [m for m in normalized_mailboxes("mailbox-foreign-domain")
                  if m["_emailserverprofile_value"] == XT_PROFILE]
    (foreign,) = [m for m in on_profile if m["emailaddress"].split("@")[1] not in contoso]
    domain = foreign["emailaddress"].split("@")[1]
    assert domain in built.tenants[A].verified_domains()  # Fabrikam's, not Contoso's
    assert foreign["emailrouteraccessapproval"] == 1 and foreign["mailboxstatus"] == 1
    assert foreign["statecode"] == 0 and foreign["isforwardmailbox"] is False  # in scope of "all"
    assert len(on_profile) == 7


def test_app_secret_wrong() -> None:
    given = scenario("app-secret-wrong")["audit"]["appSecret"]
    secrets = directory("app-secret-wrong").secrets[APP]
    assert given not in {s.value for s in secrets}
    assert given in {s.key_id for s in secrets}  # the secret's ID, pasted where its value belongs


def test_ews_app_not_allowed() -> None:
    contoso = directory("ews-app-not-allowed").tenants[B].exchange_organization
    assert contoso["EwsEnabled"] is True
    assert contoso["EwsAllowedAppIDs"] and APP not in contoso["EwsAllowedAppIDs"]


def test_ews_disabled() -> None:
    contoso = directory("ews-disabled").tenants[B].exchange_organization
    assert contoso["EwsEnabled"] is False
    assert contoso["EwsAllowedAppIDs"] == [APP]  # the list is still there; False overrides it


def test_ews_admin_api() -> None:
    built = directory("ews-admin-api")
    assert scenario("ews-admin-api")["audit"]["orgConfig"] == "admin-api"
    assert built.granted_roles(B, READER, EXO) == ["Exchange.ManageAsApp"]
    assert built.granted_roles(A, READER, EXO) == []
    assert built.granted_roles(B, READER, GRAPH) == directory("healthy").granted_roles(B, READER, GRAPH)
    assert built.tenants[B].exchange_organization == directory("healthy").tenants[B].exchange_organization


def test_tenant_other_cloud() -> None:
    built = directory("tenant-other-cloud")
    assert built.tenants[B].cloud == "usgov"
    assert built.tenants[A].cloud == "public"
    found = profile("tenant-other-cloud")
    assert found is not None and found["exchangeonlinetenantid"] == B


def test_demo_has_its_four_findings_and_nothing_else_broken() -> None:
    built = directory("demo")
    valid = [s for s in built.secrets[APP] if s.valid_at(NOW)]
    assert len(valid) == 1 and valid[0].end == NOW + dt.timedelta(days=12)
    assert GRAPH_SYNC_ROLES - set(built.granted_roles(B, APP, GRAPH)) == {"Tasks.ReadWrite.All",
                                                                       "MailboxConfigItem.ReadWrite"}
    assert built.granted_roles(B, APP, EXO) == [FULL_ACCESS]
    rows = normalized_mailboxes("demo")
    pending = [m["emailaddress"] for m in rows if m["emailrouteraccessapproval"] == 2]
    assert pending == ["esther.obi@contoso.com"]
    failing = {a["_regardingobjectid_value"] for a in environment("demo")["tracelogs"] if a["level"] == 3}
    (sales,) = [m for m in rows if m["mailboxid"] in failing]
    assert NOW - at(sales["lastsuccessfulsynccompletedon"]) == dt.timedelta(days=2)
    assert all(m["incomingemailstatus"] == 1 and m["enabledforincomingemail"] for m in rows)
    assert profile("demo") == profile("healthy")


# -- the Dataverse Web API serves the broken rows ----------------------------------------------------------

def test_the_auditor_reads_the_pending_mailbox_through_the_web_api(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox("mailbox-pending-approval")
    url = cloud.environment_url()
    token = get_token(cloud, "A", READER, READER_SECRET, url)
    with trusting(cloud, timeout=10) as http:
        response = http.get(f"{url}/api/data/v9.2/mailboxes", params={
            "$select": "emailaddress,emailrouteraccessapproval,isemailaddressapprovedbyo365admin",
            "$filter": "emailrouteraccessapproval ne 1"}, headers={
            "Authorization": f"Bearer {token}",
            "Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'})
    assert response.status_code == 200
    (row,) = response.json()["value"]
    assert row["emailaddress"] == "chloe.nguyen@contoso.com"
    assert row["emailrouteraccessapproval@OData.Community.Display.V1.FormattedValue"] == "Pending Approval"
    assert row["isemailaddressapprovedbyo365admin"] is False


# -- Entra answers through real msal ----------------------------------------------------------------------

def app_secret(cloud: Sandbox) -> str:
    """The secret the scenario gives the sync app (the newest one, as the profile would hold it)."""
    secret: str = sync_app(cloud.scenario)["passwordCredentials"][-1]["secret"]
    return secret


def exchange_token(cloud: Sandbox, tenant_id: str, credential: str | dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = msal_app(cloud, tenant_id, APP, credential).acquire_token_for_client(
        [f"{cloud.exchange_resource}/.default"])
    return result


def claims(result: dict[str, Any]) -> dict[str, Any]:
    assert "access_token" in result, result
    decoded: dict[str, Any] = jwt.decode(result["access_token"], options={"verify_signature": False})
    return decoded


def write_scenario(tmp_path: Path, name: str, patch: list[dict[str, Any]]) -> str:
    path = tmp_path / f"{name}.json"
    document = {"name": name, "summary": f"test: {name}", "extends": "healthy", "patch": patch}
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_healthy_token_carries_full_access_as_app_from_b(sandbox: Sandbox) -> None:
    token = claims(exchange_token(sandbox, B, app_secret(sandbox)))
    assert FULL_ACCESS in token["roles"]
    assert token["tid"] == B and token["appid"] == APP and token["appidacr"] == "1"


def test_a_wrong_secret_is_7000215(sandbox: Sandbox) -> None:
    result = exchange_token(sandbox, B, "Zr5~Kp2.not-the-secret-value")
    assert result["error_codes"] == [7000215] and result["error"] == "invalid_client"


def test_no_credential_at_all_is_401_7000218(sandbox: Sandbox) -> None:
    form = {"grant_type": "client_credentials", "client_id": APP,
            "scope": f"{sandbox.exchange_resource}/.default"}
    with trusting(sandbox, timeout=10) as http:
        response = http.post(f"{sandbox.login_url}/{B}/oauth2/v2.0/token", data=form)
    assert response.status_code == 401
    body = response.json()
    assert set(body) >= AAD_ERROR_FIELDS
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000218]
    assert body["error_description"].startswith("AADSTS7000218:")


@pytest.mark.parametrize(("name", "roles"), [
    ("consent-missing", None),
    ("consent-wrong-role", ["Exchange.ManageAsApp"]),
])
def test_tokens_without_consent_lack_full_access_as_app(start_sandbox: StartSandbox, name: str,
                                                        roles: list[str] | None) -> None:
    cloud = start_sandbox(name)
    token = claims(exchange_token(cloud, B, app_secret(cloud)))
    assert FULL_ACCESS not in token.get("roles", [])
    assert token.get("roles") == roles  # no roles at all: no `roles` claim
    assert token["tid"] == B


@pytest.mark.parametrize(("name", "code"), [
    ("secrets-expired", 7000222),
    ("service-principal-disabled", 7000112),
    ("no-service-principal", 7000229),
])
def test_broken_app_setups_get_their_aadsts_code(start_sandbox: StartSandbox, name: str, code: int) -> None:
    cloud = start_sandbox(name)
    result = exchange_token(cloud, B, app_secret(cloud))
    assert "access_token" not in result
    assert result["error_codes"] == [code]
    assert result["error_description"].startswith(f"AADSTS{code}: ")


def test_single_tenant_app_works_at_home_only(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox("single-tenant-app")
    assert FULL_ACCESS in claims(exchange_token(cloud, B, app_secret(cloud)))["roles"]
    abroad = exchange_token(cloud, A, app_secret(cloud))
    assert abroad["error_codes"] == [700016] and abroad["error"] == "unauthorized_client"


def test_msal_cannot_even_start_for_an_unknown_exchange_tenant(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox("unknown-exchange-tenant")
    unknown = cloud.scenario["audit"]["exchangeTenant"]
    with pytest.raises(ValueError, match="Unable to get authority configuration") as caught:
        msal_app(cloud, unknown, APP, app_secret(cloud))
    assert "AADSTS90002" in str(caught.value.__context__)


def test_a_secret_id_given_as_the_secret_is_7000215(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox("app-secret-wrong")
    result = exchange_token(cloud, B, cloud.scenario["audit"]["appSecret"])
    assert result["error_codes"] == [7000215] and "not the client secret ID" in result["error_description"]


def test_a_tenant_in_another_cloud_is_found_by_discovery_but_gets_no_tokens(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox("tenant-other-cloud")
    with trusting(cloud, timeout=10) as http:
        document = http.get(f"{cloud.login_url}/{B}/v2.0/.well-known/openid-configuration").json()
    assert document["cloud_instance_name"] == "microsoftonline.us"
    assert document["tenant_region_scope"] == "USGov"
    result = exchange_token(cloud, B, app_secret(cloud))
    assert result["error_codes"] == [90002] and result["error"] == "invalid_tenant"


def test_a_resource_missing_from_the_tenant_is_500011(start_sandbox: StartSandbox, tmp_path: Path) -> None:
    path = write_scenario(tmp_path, "no-exchange-in-b", [
        {"op": "add", "path": "/tenants/[ref=B]/services", "value": ["graph", "dataverse"]},
        # no Exchange service principal, so nothing to consent on either
        {"op": "remove", "path": "/appRoleAssignments/[appRole=full_access_as_app]"}])
    cloud = start_sandbox(path)
    result = exchange_token(cloud, B, app_secret(cloud))
    assert result["error_codes"] == [500011] and result["error"] == "invalid_resource"
    graph = msal_app(cloud, B, APP, app_secret(cloud)).acquire_token_for_client(
        [f"{cloud.graph_url}/.default"])
    assert "Mail.ReadWrite" in claims(graph)["roles"]


# -- certificate credentials ----------------------------------------------------------------------------

class RecordingHttpClient(MsalHttpClient):
    """Keeps the forms msal posts, so a test can look at the client assertion it signed."""

    def __init__(self, cloud: Sandbox) -> None:
        super().__init__(trusting(cloud, timeout=10))
        self.forms: list[dict[str, Any]] = []

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            self.forms.append(dict(data))
        return super().post(url, params=params, data=data, headers=headers, **kwargs)


def certificate_token(cloud: Sandbox, credential: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """msal's answer, and the header of the client assertion it sent."""
    http = RecordingHttpClient(cloud)
    app = msal.ConfidentialClientApplication(
        APP, client_credential=credential, authority=f"{cloud.login_url}/{B}", http_client=http,
        azure_region=False, instance_discovery=False, token_cache=msal.TokenCache())
    result: dict[str, Any] = app.acquire_token_for_client([f"{cloud.exchange_resource}/.default"])
    assertion = next(f["client_assertion"] for f in http.forms if "client_assertion" in f)
    if isinstance(assertion, bytes):
        assertion = assertion.decode()
    return result, jwt.get_unverified_header(assertion)


@pytest.fixture
def cert_cloud(start_sandbox: StartSandbox, tmp_path: Path) -> Sandbox:
    path = write_scenario(tmp_path, "sync-app-with-certificate", [
        {"op": "add", "path": "/applications/[ref=sync-app]/keyCredentials", "value": [
            {"keyId": "a678a702-9e76-4b07-99ef-d68e9fefd137", "certificate": "sync-cert",
             "startDateTime": "-1d", "endDateTime": "+365d"}]}])
    return start_sandbox(path)


def credentials_for(cloud: Sandbox, name: str) -> dict[str, dict[str, str]]:
    """The two ways msal takes a certificate: SHA-1 thumbprint (RS256, x5t) or the PEM (PS256, x5t#S256)."""
    cert = cloud.certificate(name)
    key = cert.key_pem.decode()
    return {"sha1": {"private_key": key, "thumbprint": cert.sha1_thumbprint},
            "sha256": {"private_key": key, "public_certificate": cert.cert_pem.decode()}}


def test_msal_signs_its_assertion_rs256_with_x5t_or_ps256_with_x5t_s256(cert_cloud: Sandbox) -> None:
    cert = cert_cloud.certificate("sync-cert")
    credentials = credentials_for(cert_cloud, "sync-cert")
    _, sha1 = certificate_token(cert_cloud, credentials["sha1"])
    _, sha256 = certificate_token(cert_cloud, credentials["sha256"])
    # msal writes the thumbprints base64url *with* padding; the registered ones are compared without it.
    assert sha1["alg"] == "RS256" and sha1["x5t"].rstrip("=") == cert.x5t
    assert sha256["alg"] == "PS256" and sha256["x5t#S256"].rstrip("=") == cert.x5t_s256


@pytest.mark.parametrize("kind", ["sha1", "sha256"])
def test_a_registered_certificate_signs_in(cert_cloud: Sandbox, kind: str) -> None:
    result, _ = certificate_token(cert_cloud, credentials_for(cert_cloud, "sync-cert")[kind])
    token = claims(result)
    assert token["appidacr"] == token["azpacr"] == "2"
    assert token["roles"] == [FULL_ACCESS] and token["tid"] == B


def test_an_unregistered_certificate_is_700027(cert_cloud: Sandbox) -> None:
    other = make_app_cert("other", NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=30))
    result, _ = certificate_token(cert_cloud, {"private_key": other.key_pem.decode(),
                                               "thumbprint": other.sha1_thumbprint})
    assert result["error_codes"] == [700027] and result["error"] == "invalid_client"
