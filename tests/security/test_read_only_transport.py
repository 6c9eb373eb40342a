"""The read-only guard, proven at the transport: through the clients xtcheck builds (`Http(...).client()`), every
method that can write is refused on every origin before a byte leaves the process (the network transport under
the guard is never called, and the sandbox sees nothing), while GET and HEAD go through. The few POSTs that only
read pass only in their read-only shape; and a bearer token never follows a next-page link to another host."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator

import httpx
import pytest

from checks.errors import ProbeError, WriteRefused
from checks.http.api import Api
from checks.http.client import Http
from checks.http.retry import RetryPolicy
from checks.sandbox.server import Sandbox

WRITES = ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "MERGE", "PROPFIND", "LOCK", "COPY",
          "MOVE", "get-ish", "PURGE"]
READS = ["GET", "HEAD"]
ORIGINS = ["login", "graph", "exchange", "dataverse"]
B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"


class Counting(httpx.BaseTransport):
    """The network, counting what reaches it: a refused request must never get here."""

    def __init__(self, cloud: Sandbox) -> None:
        self.seen: list[str] = []
        self._inner = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(cloud.ca_path)))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url}")
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@pytest.fixture(scope="module")
def cloud() -> Iterator[Sandbox]:
    with Sandbox("healthy") as sandbox:
        yield sandbox


def origin(cloud: Sandbox, name: str) -> str:
    return {"login": cloud.login_url, "graph": cloud.graph_url, "exchange": cloud.exchange_resource,
            "dataverse": cloud.environment_url()}[name]


def wire(cloud: Sandbox, *, admin_api: bool = False) -> tuple[Http, Counting]:
    network = Counting(cloud)
    http = Http(cloud.login_url, transport=network, retry=RetryPolicy(attempts=1), graph_origin=cloud.graph_url,
                exchange_admin_origin=cloud.exchange_resource if admin_api else None)
    return http, network


def refused(cloud: Sandbox, send: Callable[[httpx.Client], object], *, admin_api: bool = False) -> None:
    """`send` raises WriteRefused, the network transport never saw it, nothing reached the sandbox."""
    http, network = wire(cloud, admin_api=admin_api)
    cloud.log.clear()
    with pytest.raises(WriteRefused, match="xtcheck never writes to a tenant"):
        send(http.client())
    assert network.seen == []
    assert cloud.log.entries() == []
    assert http.log.writes_attempted() == 1
    http.close()


def arrived(cloud: Sandbox, send: Callable[[httpx.Client], httpx.Response], *, admin_api: bool = False) -> int:
    http, network = wire(cloud, admin_api=admin_api)
    cloud.log.clear()
    status = send(http.client()).status_code
    assert len(network.seen) == 1 and len(cloud.log.entries()) == 1
    assert http.log.writes_attempted() == 0
    http.close()
    return status


@pytest.mark.parametrize("where", ORIGINS)
@pytest.mark.parametrize("method", WRITES)
def test_every_method_that_can_write_is_refused_before_it_leaves(cloud: Sandbox, method: str, where: str) -> None:
    url = f"{origin(cloud, where)}/api/data/v9.2/mailboxes(6c1d2e3f-4a5b-4c6d-8e7f-000000000001)"
    refused(cloud, lambda client: client.request(method, url, json={"name": "changed"}))


@pytest.mark.parametrize("where", ORIGINS)
@pytest.mark.parametrize("method", READS)
def test_get_and_head_go_through(cloud: Sandbox, method: str, where: str) -> None:
    status = arrived(cloud, lambda client: client.request(method, f"{origin(cloud, where)}/v1.0/domains"))
    [entry] = cloud.log.entries()  # the server itself took the request and gave the answer the client got
    assert (entry.method, entry.path, entry.status) == (method, "/v1.0/domains", status)
    assert not entry.write and entry.fault is None


@pytest.mark.parametrize("where", ORIGINS)
@pytest.mark.parametrize("header", ["X-HTTP-Method", "X-HTTP-Method-Override", "X-Method-Override"])
def test_a_get_that_asks_to_be_treated_as_a_write_is_refused(cloud: Sandbox, header: str, where: str) -> None:
    url = f"{origin(cloud, where)}/api/data/v9.2/mailboxes(6c1d2e3f-4a5b-4c6d-8e7f-000000000001)"
    refused(cloud, lambda client: client.get(url, headers={header: "DELETE"}))


def test_the_token_post_passes_only_to_the_login_origin(cloud: Sandbox) -> None:
    form = {"grant_type": "client_credentials", "client_id": READER, "client_secret": "x", "scope": "x/.default"}
    assert arrived(cloud, lambda c: c.post(f"{cloud.login_url}/{B}/oauth2/v2.0/token", data=form)) in (400, 401)
    for other in ("graph", "exchange", "dataverse"):
        refused(cloud, lambda c, o=other: c.post(f"{origin(cloud, o)}/{B}/oauth2/v2.0/token", data=form))


def batch(*methods: str) -> bytes:
    return json.dumps({"requests": [{"id": str(n), "method": m, "url": "/domains"}
                                    for n, m in enumerate(methods, start=1)]}).encode()


def test_a_batch_with_one_write_in_it_is_refused(cloud: Sandbox) -> None:
    url = f"{cloud.graph_url}/v1.0/$batch"
    headers = {"Content-Type": "application/json"}
    refused(cloud, lambda c: c.post(url, content=batch("GET", "PATCH"), headers=headers))
    refused(cloud, lambda c: c.post(url, content=batch("DELETE"), headers=headers))
    refused(cloud, lambda c: c.post(url, content=b'{"requests": [{"id": "1", "method": "PATCH", "url": "/x"}], '
                                                 b'"requests": [{"id": "1", "method": "GET", "url": "/x"}]}',
                                    headers=headers))  # a key given twice: which one counts depends on the parser
    with_body = {"requests": [{"id": "1", "method": "GET", "url": "/domains", "body": {"a": 1}}]}
    refused(cloud, lambda c: c.post(url, json=with_body))
    assert arrived(cloud, lambda c: c.post(url, content=batch("GET", "get"), headers=headers)) == 401  # no token


@pytest.mark.parametrize("where", ["login", "exchange", "dataverse"])
def test_a_batch_of_gets_passes_only_to_the_graph_host(cloud: Sandbox, where: str) -> None:
    """Another service could read the same body as something else (Dataverse's own $batch takes writes)."""
    for path in ("/v1.0/$batch", "/api/data/v9.2/$batch"):
        refused(cloud, lambda c, p=path: c.post(f"{origin(cloud, where)}{p}", content=batch("GET"),
                                                headers={"Content-Type": "application/json"}))


@pytest.mark.parametrize("header", ["X-HTTP-Method", "X-HTTP-Method-Override", "X-Method-Override",
                                    "x-http-method-override", " X-HTTP-Method "])
def test_a_batch_item_that_asks_to_be_treated_as_a_write_is_refused(cloud: Sandbox, header: str) -> None:
    body = {"requests": [{"id": "1", "method": "GET", "url": "/domains"},
                         {"id": "2", "method": "GET", "url": "/applications/x", "headers": {header: "DELETE"}}]}
    refused(cloud, lambda c: c.post(f"{cloud.graph_url}/v1.0/$batch", json=body))


@pytest.mark.parametrize("headers", [["X-HTTP-Method", "DELETE"], "X-HTTP-Method: DELETE", None])
def test_a_batch_item_with_headers_that_are_not_an_object_is_refused(cloud: Sandbox, headers: object) -> None:
    body = {"requests": [{"id": "1", "method": "GET", "url": "/domains", "headers": headers}]}
    refused(cloud, lambda c: c.post(f"{cloud.graph_url}/v1.0/$batch", json=body))


def test_a_batch_item_with_ordinary_headers_passes(cloud: Sandbox) -> None:
    body = {"requests": [{"id": "1", "method": "GET", "url": "/domains", "headers": {"ConsistencyLevel": "eventual"}}]}
    assert arrived(cloud, lambda c: c.post(f"{cloud.graph_url}/v1.0/$batch", json=body)) == 401  # no token


def invoke(cmdlet: str) -> dict[str, object]:
    return {"CmdletInput": {"CmdletName": cmdlet, "Parameters": {}}}


@pytest.mark.parametrize("cmdlet", ["Set-OrganizationConfig", "New-ApplicationAccessPolicy", "Remove-Mailbox",
                                    "Get-Mailbox; Set-Mailbox", "get-OrganizationConfig", ""])
def test_the_exchange_admin_api_refuses_every_cmdlet_but_get_even_when_opted_in(cloud: Sandbox, cmdlet: str) -> None:
    url = f"{cloud.exchange_resource}/adminapi/beta/{B}/InvokeCommand"
    refused(cloud, lambda c: c.post(url, json=invoke(cmdlet)), admin_api=True)


def test_the_exchange_admin_api_passes_a_get_cmdlet_only_when_opted_in(cloud: Sandbox) -> None:
    url = f"{cloud.exchange_resource}/adminapi/beta/{B}/InvokeCommand"
    refused(cloud, lambda c: c.post(url, json=invoke("Get-OrganizationConfig")))
    assert arrived(cloud, lambda c: c.post(url, json=invoke("Get-OrganizationConfig")), admin_api=True) == 401
    twice = b'{"CmdletInput": {"CmdletName": "Get-OrganizationConfig", "CmdletName": "Set-OrganizationConfig"}}'
    refused(cloud, lambda c: c.post(url, content=twice, headers={"Content-Type": "application/json"}), admin_api=True)
    refused(cloud, lambda c: c.post(f"{cloud.graph_url}/adminapi/beta/{B}/InvokeCommand",
                                    json=invoke("Get-OrganizationConfig")), admin_api=True)


def test_a_token_never_follows_a_next_link_to_another_host() -> None:
    """A service (or anything in between) that names a next page elsewhere does not get the bearer token there."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"value": [{"id": "1"}],
                                         "@odata.nextLink": "https://collector.example/v1.0/applications?page=2"})

    http = Http("https://login.example", transport=httpx.MockTransport(answer), retry=RetryPolicy(attempts=1))
    graph = Api(http.client(), "https://graph.example/v1.0", lambda _: "the-bearer-token", service="Microsoft Graph")
    with pytest.raises(ProbeError, match=r"next page on another host \(collector.example\).*incomplete"):
        graph.get_all("applications")
    assert [r.url.host for r in sent] == ["graph.example"]


@pytest.mark.parametrize("link", ["http://graph.example/v1.0/applications?page=2",
                                  "https://graph.example:8443/v1.0/applications?page=2",
                                  "https://graph.example.collector.example/v1.0/applications"])
def test_a_next_link_on_another_scheme_or_port_is_another_host(link: str) -> None:
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, json={"value": [], "@odata.nextLink": link})

    http = Http("https://login.example", transport=httpx.MockTransport(answer), retry=RetryPolicy(attempts=1))
    graph = Api(http.client(), "https://graph.example/v1.0", lambda _: "t", service="Microsoft Graph")
    with pytest.raises(ProbeError, match="another host"):
        graph.get_all("applications")
    assert len(sent) == 1
