"""The HTTP seam against the sandbox: the read-only guard, retries, paging verbatim, errors as ProbeErrors."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Callable

import httpx
import jwt
import pytest

from checks.errors import NotFound, PermissionDenied, ProbeError, Throttled, WriteRefused
from checks.http.api import Api
from checks.http.client import Http
from checks.http.guard import is_read
from checks.http.retry import RetryPolicy
from checks.http.signin import claims_of
from checks.sandbox.server import Sandbox
from checks.settings import HttpOptions

LOGIN = "https://login.example"
B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
StartSandbox = Callable[..., Sandbox]
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, budget=3.0)


@pytest.mark.parametrize(("method", "url", "body", "allowed"), [
    ("GET", "https://graph.example/v1.0/applications", b"", True),
    ("HEAD", "https://graph.example/v1.0/applications", b"", True),
    ("POST", f"{LOGIN}/{B}/oauth2/v2.0/token", b"grant_type=client_credentials", True),
    ("POST", f"{LOGIN}/{B}/oauth2/v2.0/devicecode", b"", True),
    ("POST", f"https://evil.example/{B}/oauth2/v2.0/devicecode", b"", False),
    ("POST", f"https://evil.example/{B}/oauth2/v2.0/token", b"", False),
    ("POST", "https://graph.example/v1.0/$batch", json.dumps({"requests": [{"id": "1", "method": "get",
                                                                             "url": "/domains"}]}).encode(), True),
    ("POST", "https://graph.example/v1.0/$batch", json.dumps({"requests": [
        {"id": "1", "method": "GET", "url": "/domains"},
        {"id": "2", "method": "PATCH", "url": "/applications/x"}]}).encode(), False),
    ("POST", "https://graph.example/v1.0/$batch", b"not json", False),
    ("POST", "https://graph.example/v1.0/$batch", json.dumps({"requests": []}).encode(), False),
    ("POST", "https://org.crm.dynamics.com/api/data/v9.2/mailboxes", b"{}", False),
    ("PATCH", "https://org.crm.dynamics.com/api/data/v9.2/mailboxes(1)", b'{"testemailconfigurationscheduled":true}',
     False),
    ("PUT", "https://graph.example/v1.0/applications/1", b"", False),
    ("DELETE", "https://graph.example/v1.0/applications/1", b"", False),
])
def test_only_reads_pass_the_guard(method: str, url: str, body: bytes, allowed: bool) -> None:
    assert is_read(method, url, body, LOGIN, graph_origin="https://graph.example") is allowed


GETS = json.dumps({"requests": [{"id": "1", "method": "GET", "url": "/domains"}]}).encode()


@pytest.mark.parametrize(("url", "graph_origin", "allowed"), [
    ("https://graph.example/v1.0/$batch", "https://graph.example", True),
    ("https://GRAPH.example/v1.0/$batch", "https://graph.example/", True),
    ("https://graph.example/v1.0/$batch", None, False),  # no Graph host named: no $batch at all
    ("https://org.crm.dynamics.com/api/data/v9.2/$batch", "https://graph.example", False),
    (f"{LOGIN}/v1.0/$batch", "https://graph.example", False),
    ("https://graph.example.evil.example/v1.0/$batch", "https://graph.example", False),
    ("http://graph.example/v1.0/$batch", "https://graph.example", False),
    ("https://graph.example:8443/v1.0/$batch", "https://graph.example", False),
])
def test_a_batch_passes_only_to_the_graph_host(url: str, graph_origin: str | None, allowed: bool) -> None:
    assert is_read("POST", url, GETS, LOGIN, graph_origin=graph_origin) is allowed


@pytest.mark.parametrize(("item", "allowed"), [
    ({"headers": {"ConsistencyLevel": "eventual"}}, True),
    ({"headers": {}}, True),
    ({"headers": {"X-HTTP-Method-Override": "PATCH"}}, False),
    ({"headers": {"x-http-method": "DELETE"}}, False),
    ({"headers": {"X-Method-Override": "MERGE"}}, False),
    ({"headers": {"X-HTTP-Method-Override ": "PATCH"}}, False),
    ({"headers": [["X-HTTP-Method-Override", "PATCH"]]}, False),
    ({"headers": None}, False),
    ({"body": {}}, False),
])
def test_a_batch_item_is_a_plain_get_or_the_batch_is_refused(item: dict[str, object], allowed: bool) -> None:
    body = json.dumps({"requests": [{"id": "1", "method": "GET", "url": "/domains"},
                                    {"id": "2", "method": "GET", "url": "/applications", **item}]}).encode()
    assert is_read("POST", "https://graph.example/v1.0/$batch", body, LOGIN,
                   graph_origin="https://graph.example") is allowed


def http_for(cloud: Sandbox, retry: RetryPolicy = FAST) -> Http:
    return Http(cloud.login_url, cloud.ca_path, retry=retry)


def graph(cloud: Sandbox, http: Http, roles: list[str] | None = None) -> Api:
    reader = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
    token = cloud.issue_token("B", reader, cloud.graph_url, roles=roles or ["Application.Read.All"])
    return Api(http.client(), f"{cloud.graph_url}/v1.0", lambda _: token, service="Microsoft Graph")


def test_a_write_is_refused_before_it_leaves_the_process(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    http = http_for(cloud)
    with pytest.raises(WriteRefused, match="refused PATCH .*xtcheck never writes"):
        http.client().patch(f"{cloud.environment_url()}/api/data/v9.2/mailboxes(x)", json={"a": 1})
    assert cloud.log.entries() == []  # nothing reached the sandbox
    assert http.log.writes_attempted() == 1


def test_throttling_is_retried_after_retry_after_and_logged(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    cloud.add_fault("throttle", service="graph", path="/domains", retry_after=1, count=1)
    cloud.add_fault("status", service="graph", path="/domains", status=503, count=1)
    http = http_for(cloud)
    domains = graph(cloud, http, ["Domain.Read.All"]).get_all("domains")
    assert {d["id"] for d in domains.items} >= {"contoso.com"}
    assert [e.status for e in cloud.log.entries("graph")] == [429, 503, 200]
    assert [r.status for r in http.log.records()] == [429, 503, 200]


def test_the_config_sets_retries_and_timeouts_and_its_defaults_are_the_built_in_ones() -> None:
    assert RetryPolicy.configured(HttpOptions()) == RetryPolicy()
    assert Http(LOGIN).client().timeout == httpx.Timeout(10.0, read=30.0)
    tight = HttpOptions(retries=2, retry_budget=3.0, connect_timeout=2.0, read_timeout=5.0)
    # a budget of a tenth of the default makes each backoff step a tenth as long, so every attempt still fits
    assert RetryPolicy.configured(tight) == RetryPolicy(attempts=2, base_delay=0.05, max_delay=0.8, budget=3.0)
    assert RetryPolicy.configured(HttpOptions(retry_budget=120.0)) == RetryPolicy(budget=120.0)
    assert Http(LOGIN, options=tight).client().timeout == httpx.Timeout(2.0, read=5.0)


def test_throttling_past_the_budget_is_a_throttled_error(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    cloud.add_fault("throttle", service="graph", retry_after=60, count=None)
    with pytest.raises(Throttled, match=r"429 TooManyRequests .* \(still after retries\)"):
        graph(cloud, http_for(cloud)).get("servicePrincipals")
    assert len(cloud.log.entries("graph")) == 1  # a 60 s Retry-After exceeds the budget: no blind retries


def test_lost_connections_are_retried_then_reported(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    cloud.add_fault("drop", service="graph", count=None)
    with pytest.raises(ProbeError, match="cannot reach Microsoft Graph at 127.0.0.1"):
        graph(cloud, http_for(cloud)).get("servicePrincipals")
    assert len(cloud.log.entries("graph")) == 3


@pytest.mark.parametrize(("kind", "message"), [
    ("malformed", "malformed reply from Microsoft Graph .*not JSON"),
    ("gateway", "Microsoft Graph answered 502 to GET .*: Bad Gateway \\(an HTML page\\)"),
])
def test_broken_replies_are_probe_errors(start_sandbox: StartSandbox, kind: str, message: str) -> None:
    cloud = start_sandbox()
    cloud.add_fault(kind, service="graph")
    with pytest.raises(ProbeError, match=message):
        graph(cloud, http_for(cloud)).get("servicePrincipals")


def test_a_page_that_fails_midway_fails_the_whole_read(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox(graph_page_size=2)
    cloud.add_fault("status", service="graph", path="skiptoken", status=500, count=None)
    with pytest.raises(ProbeError, match="answered 500"):
        graph(cloud, http_for(cloud)).get_all("servicePrincipals")


def test_paging_follows_next_links_verbatim(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox(graph_page_size=2)
    collection = graph(cloud, http_for(cloud)).get_all("servicePrincipals", {"$select": "id,appId"})
    assert collection.pages == 3 and len(collection.items) == 5
    assert len({sp["id"] for sp in collection.items}) == 5


def test_dataverse_paging_keeps_the_skiptoken_cookie_intact(sandbox: Sandbox) -> None:
    http = http_for(sandbox)
    token = sandbox.issue_token("A", "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3", sandbox.environment_url())
    api = Api(http.client({"Prefer": "odata.maxpagesize=2"}), f"{sandbox.environment_url()}/api/data/v9.2",
              lambda _: token, service="Dataverse")
    collection = api.get_all("mailboxes", {"$select": "emailaddress"})
    assert collection.pages == 4 and len(collection.items) == 8


def test_status_codes_map_to_the_error_tree(sandbox: Sandbox) -> None:
    http = http_for(sandbox)
    with pytest.raises(PermissionDenied, match="403 Authorization_RequestDenied"):
        graph(sandbox, http, ["User.Read.All"]).get("servicePrincipals")
    with pytest.raises(NotFound, match="404 Request_ResourceNotFound"):
        graph(sandbox, http).get("servicePrincipals(appId='00000000-0000-4000-8000-000000000000')")
    assert graph(sandbox, http).get_optional("servicePrincipals(appId='00000000-0000-4000-8000-000000000000')") is None


def test_graph_requests_carry_a_client_request_id(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    seen: list[str] = []

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request.headers.get("client-request-id", ""))
            return super().handle_request(request)

    http = Http(cloud.login_url, transport=Recording(verify=ssl.create_default_context(cafile=str(cloud.ca_path))))
    graph(cloud, http).get("servicePrincipals")
    assert len(seen) == 1 and len(seen[0]) == 36


def test_tls_is_verified_and_a_ca_bundle_is_the_only_way_to_trust_more(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    untrusting = Http(cloud.login_url, None, retry=FAST)
    with pytest.raises(ProbeError, match="TLS certificate is not trusted; .* tls.ca_bundle"):
        graph(cloud, untrusting).get("servicePrincipals")


EXO = "https://outlook.example"
INVOKE = f"{EXO}/adminapi/beta/{B}/InvokeCommand"


@pytest.mark.parametrize(("cmdlet", "opted_in", "allowed"), [
    ("Get-OrganizationConfig", True, True),
    ("Get-OrganizationConfig", False, False),
    ("Set-OrganizationConfig", True, False),
    ("Get-Foo; Set-OrganizationConfig", True, False),
    ("New-ApplicationAccessPolicy", True, False),
])
def test_the_exchange_admin_api_passes_only_get_cmdlets_and_only_when_opted_in(cmdlet: str, opted_in: bool,
                                                                               allowed: bool) -> None:
    body = json.dumps({"CmdletInput": {"CmdletName": cmdlet, "Parameters": {}}}).encode()
    assert is_read("POST", INVOKE, body, LOGIN, EXO if opted_in else None) is allowed
    assert is_read("POST", f"{EXO}/adminapi/beta/{B}/Other", body, LOGIN, EXO) is False


def test_a_tokens_claims_are_read_from_its_payload_without_a_jwt_library(sandbox: Sandbox) -> None:
    """claims_of decodes the middle segment by hand (no PyJWT, no cryptography on the sign-in path): a token the
    sandbox's login service issues reads as PyJWT reads it, and anything that is not a JWT reads as no claims."""
    token = sandbox.issue_token("B", "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e", "https://outlook.office365.com",
                                roles=["full_access_as_app"])
    assert claims_of(token) == jwt.decode(token, options={"verify_signature": False})
    assert claims_of(token)["roles"] == ["full_access_as_app"]
    payload = base64.urlsafe_b64encode(b'{"tid":"x"}').rstrip(b"=").decode()
    assert claims_of(f"e30.{payload}.") == {"tid": "x"}  # unpadded base64url, an empty signature
    for opaque in ("", "opaque-token", "a.b", "a.b.c.d", "e30.bm90IGpzb24.x", "e30.WyJ4Il0.x", "e30.gA.x"):
        assert claims_of(opaque) == {}, opaque
