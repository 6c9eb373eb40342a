"""National clouds: each cloud name gives the login, Graph and Exchange hosts of the domain notes (entra.md 3.6),
`custom` gives the configured endpoints, and an audit signs in and reads there (no network: a mock transport)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
import yaml

from checks.config import load
from checks.http.apis import Apis
from checks.http.auth import Tokens
from checks.http.client import Http
from checks.settings import CLOUDS, RunOptions, Settings

A = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"

# cloud: (login host, Graph root, Exchange Online resource), as the domain notes list them.
DOCUMENTED = {
    "public": ("https://login.microsoftonline.com", "https://graph.microsoft.com", "https://outlook.office365.com"),
    "usgov": ("https://login.microsoftonline.us", "https://graph.microsoft.us", "https://outlook.office365.us"),
    "usgov-dod": ("https://login.microsoftonline.us", "https://dod-graph.microsoft.us",
                  "https://outlook-dod.office365.us"),
    "china": ("https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn",
              "https://partner.outlook.cn"),
}
CUSTOM = {"login": "https://login.proxy.example:8441/", "graph": "https://graph.proxy.example:8442",
          "exchange_resource": "https://login.proxy.example:8441/exchange"}


def settings_for(tmp_path: Path, cloud: str) -> Settings:
    (tmp_path / "reader.secret").write_text("reader-secret-value", encoding="utf-8")
    config: dict[str, Any] = {
        "dynamics": {"environment_url": "https://contoso.crm4.dynamics.com", "tenant_id": A},
        "exchange": {"tenant_id": B},
        "cloud": cloud,
        "credentials": [{"tenant_id": B, "client_id": READER, "client_secret": "file:reader.secret"}],
    }
    if cloud == "custom":
        config["endpoints"] = CUSTOM
    path = tmp_path / "xtcheck.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return load(path, RunOptions(), {})


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_each_cloud_name_gives_the_documented_hosts(tmp_path: Path, name: str) -> None:
    cloud = settings_for(tmp_path, name).cloud
    assert (cloud.name, cloud.login, cloud.graph, cloud.exchange_resource) == (name, *DOCUMENTED[name])


def test_every_cloud_name_of_the_schema_is_covered() -> None:
    assert set(CLOUDS) == set(DOCUMENTED)


def test_custom_gives_the_configured_endpoints_without_trailing_slashes(tmp_path: Path) -> None:
    cloud = settings_for(tmp_path, "custom").cloud
    assert (cloud.name, cloud.login, cloud.graph, cloud.exchange_resource) == (
        "custom", "https://login.proxy.example:8441", "https://graph.proxy.example:8442",
        "https://login.proxy.example:8441/exchange")


class FakeCloud:
    """Answers OIDC discovery, the token endpoint and Graph for whatever hosts it is asked; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
        path = request.url.path
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            base = f"{origin}{path.removesuffix('/v2.0/.well-known/openid-configuration')}"
            return httpx.Response(200, json={"authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                                             "token_endpoint": f"{base}/oauth2/v2.0/token", "issuer": f"{base}/v2.0"})
        if path.endswith("/oauth2/v2.0/token"):
            scope = parse_qs(request.content.decode())["scope"][0]
            token = jwt.encode({"aud": scope.removesuffix("/.default"), "roles": ["Domain.Read.All"]}, "k" * 32)
            return httpx.Response(200, json={"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
        return httpx.Response(200, json={"value": [{"id": "contoso.com"}]})


@pytest.mark.parametrize("name", [*sorted(DOCUMENTED), "custom"])
def test_an_audit_signs_in_at_the_clouds_login_host_and_reads_its_graph(tmp_path: Path, name: str) -> None:
    settings = settings_for(tmp_path, name)
    login, graph = settings.cloud.login, settings.cloud.graph
    fake = FakeCloud()
    http = Http(login, settings.ca_bundle, transport=httpx.MockTransport(fake))
    try:
        api = Apis(settings, http, Tokens(settings, http)).graph(B)
        assert api.root == f"{graph}/v1.0"
        assert api.get_all("domains").items == [{"id": "contoso.com"}]
    finally:
        http.close()
    sent = [(r.method, f"{r.url.scheme}://{r.url.netloc.decode()}", r.url.path) for r in fake.requests]
    assert sent == [
        ("GET", login, f"/{B}/v2.0/.well-known/openid-configuration"),
        ("POST", login, f"/{B}/oauth2/v2.0/token"),
        ("GET", graph, "/v1.0/domains"),
    ], "no instance discovery elsewhere, no other host"  # and the attestation names exactly these hosts:
    token_request = fake.requests[1]
    assert parse_qs(token_request.content.decode())["scope"] == [f"{graph}/.default"]
    assert set(http.log.by_method_and_host()) == {f"GET {login.split('//')[1]}", f"POST {login.split('//')[1]}",
                                                  f"GET {graph.split('//')[1]}"}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_the_exchange_resource_is_the_clouds(tmp_path: Path, name: str) -> None:
    """The Exchange token (live probe, admin API) is asked for the cloud's Exchange Online resource."""
    settings = settings_for(tmp_path, name)
    fake = FakeCloud()
    http = Http(settings.cloud.login, settings.ca_bundle, transport=httpx.MockTransport(fake))
    try:
        Tokens(settings, http).for_tenant(B, settings.cloud.exchange_resource)
    finally:
        http.close()
    assert parse_qs(fake.requests[-1].content.decode())["scope"] == [f"{DOCUMENTED[name][2]}/.default"]
