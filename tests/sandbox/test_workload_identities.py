"""The sync app as a workload identity: secrets on its service principal, apps Microsoft disabled, and Conditional
Access for workload identities, through Graph and the token endpoint with real msal and httpx."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx

from checks.sandbox.scenario import load
from checks.sandbox.server import Sandbox
from conftest import get_token, trusting

READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
READER_SECRET = "sandbox-reader-secret-8f3k2q"
SYNC_APP = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
SYNC_SP = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
SYNC_SECRET = "Zr5~Kp2.valid-secret-value-2026"
SP_SECRET = "Sp9~Qw4.service-principal-secret"
VIOLATION = "DisabledDueToViolationOfServicesAgreement"
StartSandbox = Callable[..., Sandbox]


def healthy() -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(load("healthy", dt.datetime.now(dt.UTC)))
    return data


def item(data: dict[str, Any], key: str, ref: str) -> dict[str, Any]:
    found: dict[str, Any] = next(x for x in data[key] if x["ref"] == ref)
    return found


def graph_get(cloud: Sandbox, path: str) -> dict[str, Any]:
    token = get_token(cloud, "B", READER, READER_SECRET, cloud.graph_url)
    with trusting(cloud, timeout=10) as http:
        response = http.get(f"{cloud.graph_url}/v1.0{path}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def sp_secret(start: str = "-10d", end: str | None = "+30d") -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)

    def when(value: str) -> str:
        return (now + dt.timedelta(days=float(value[:-1]))).strftime("%Y-%m-%dT%H:%M:%SZ")

    return {"keyId": "6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c", "displayName": "sp-secret", "secret": SP_SECRET,
            "startDateTime": when(start), "endDateTime": None if end is None else when(end)}


# -- what Graph shows ---------------------------------------------------------------------------------------


def test_a_service_principals_secrets_show_as_hints(start_sandbox: StartSandbox) -> None:
    data = healthy()
    item(data, "servicePrincipals", "sync-app-sp")["passwordCredentials"] = [sp_secret()]
    cloud = start_sandbox(data)
    sp = graph_get(cloud, f"/servicePrincipals/{SYNC_SP}")
    [password] = sp["passwordCredentials"]
    assert password["hint"] == "Sp9" and password["secretText"] is None
    assert password["keyId"] == "6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c" and password["displayName"] == "sp-secret"
    assert set(password) == {"customKeyIdentifier", "displayName", "endDateTime", "hint", "keyId", "secretText",
                             "startDateTime"}
    assert password["endDateTime"].endswith("Z")
    app = graph_get(cloud, f"/applications(appId='{SYNC_APP}')")
    assert [p["hint"] for p in app["passwordCredentials"]] == ["Ab3", "Zr5"]  # the application's own, unchanged


def test_disabled_by_microsoft_status_is_served_on_both_objects(start_sandbox: StartSandbox,
                                                                sandbox: Sandbox) -> None:
    assert graph_get(sandbox, f"/servicePrincipals/{SYNC_SP}")["disabledByMicrosoftStatus"] is None
    data = healthy()
    item(data, "applications", "sync-app")["disabledByMicrosoftStatus"] = VIOLATION
    item(data, "servicePrincipals", "sync-app-sp")["disabledByMicrosoftStatus"] = "NotDisabled"
    cloud = start_sandbox(data)
    assert graph_get(cloud, f"/applications(appId='{SYNC_APP}')")["disabledByMicrosoftStatus"] == VIOLATION
    assert graph_get(cloud, f"/servicePrincipals/{SYNC_SP}")["disabledByMicrosoftStatus"] == "NotDisabled"
    listed = graph_get(cloud, "/servicePrincipals?$filter=disabledByMicrosoftStatus eq 'NotDisabled'&$select=id")
    assert listed["value"] == [{"id": SYNC_SP}]


def token_response(cloud: Sandbox, tenant: str, client_id: str, secret: str,
                   resource: str | None = None) -> httpx.Response:
    """A raw client credentials request (msal's view of errors is checked elsewhere)."""
    with trusting(cloud, timeout=10) as http:
        return http.post(f"{cloud.login_url}/{cloud.tenant(tenant).id}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
            "scope": f"{resource or cloud.exchange_resource}/.default"})
