"""The bounds on what servers send, at the seam: a body larger than `http.max_response_mb` (counted as it arrives,
decoded, or refused from its Content-Length), all answers together past `http.max_run_mb`, a request not answered
whole within `http.request_timeout` (a server dripping a byte now and then included) or by the command's deadline,
and next links that loop. Each is a ProbeError naming what was exceeded and the setting to raise; none is retried."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from checks.errors import ProbeError
from checks.http.api import Api
from checks.http.client import Http
from checks.http.retry import RetryPolicy
from checks.sandbox.server import Sandbox
from checks.settings import HttpOptions

StartSandbox = Callable[..., Sandbox]
READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
MIB = 1024 * 1024
ROOT = "https://graph.example/v1.0"


def graph(cloud: Sandbox, options: HttpOptions, **http: object) -> tuple[Api, Http]:
    client = Http(cloud.login_url, cloud.ca_path, options=options, **http)  # type: ignore[arg-type]
    token = cloud.issue_token("B", READER, cloud.graph_url, roles=["Application.Read.All", "Domain.Read.All"])
    return Api(client.client(), f"{cloud.graph_url}/v1.0", lambda _: token, service="Microsoft Graph"), client


def mocked(answer: Callable[[httpx.Request], httpx.Response], options: HttpOptions | None = None) -> Api:
    http = Http("https://login.example", transport=httpx.MockTransport(answer), retry=RetryPolicy(attempts=1),
                options=options)
    return Api(http.client(), ROOT, lambda _: "t", service="Microsoft Graph")


class Untouched(httpx.SyncByteStream):
    """A body that must never be read."""

    def __init__(self) -> None:
        self.read = False

    def __iter__(self) -> Iterator[bytes]:
        self.read = True
        yield b"{}"


# -- size --------------------------------------------------------------------------------------------------------


def test_a_body_without_end_stops_at_the_response_cap(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    cloud.add_fault("endless", service="graph", path="/domains", count=None)
    api, http = graph(cloud, HttpOptions(max_response_mb=1))
    with pytest.raises(ProbeError, match=r"^Microsoft Graph: the answer to GET 127\.0\.0\.1:\d+/v1\.0/domains is "
                                         r"larger than http\.max_response_mb \(1 MiB\); it was not read further"):
        api.get("domains")
    assert len(cloud.log.entries()) == 1, "a refused answer is not retried"
    assert api.get_optional("applications", {"$top": "1"}) is not None, "the next request is answered as usual"
    http.close()


def test_an_answer_that_announces_more_than_the_cap_is_not_read() -> None:
    body = Untouched()
    api = mocked(lambda request: httpx.Response(200, headers={"Content-Length": str(2 * MIB),
                                                              "Content-Type": "application/json"}, stream=body),
                 HttpOptions(max_response_mb=1))
    with pytest.raises(ProbeError, match=r"larger than http\.max_response_mb \(1 MiB\)"):
        api.get("domains")
    assert not body.read


def test_a_compressed_answer_counts_by_what_it_unpacks_to() -> None:
    """A few KiB of gzip that unpack to 2 MiB are 2 MiB of memory."""
    packed = gzip.compress(b'{"value": [' + b" " * (2 * MIB) + b"]}")
    assert len(packed) < 16 * 1024
    api = mocked(lambda request: httpx.Response(200, content=packed, headers={
        "Content-Encoding": "gzip", "Content-Type": "application/json"}), HttpOptions(max_response_mb=1))
    with pytest.raises(ProbeError, match=r"larger than http\.max_response_mb \(1 MiB\)"):
        api.get("domains")


def test_an_answer_within_the_cap_is_read_whole_and_decoded() -> None:
    packed = gzip.compress(b'{"value": [{"id": "1"}]}')
    api = mocked(lambda request: httpx.Response(200, content=packed, headers={
        "Content-Encoding": "gzip", "Content-Type": "application/json"}), HttpOptions(max_response_mb=1))
    assert api.get_all("domains").items == [{"id": "1"}]


def test_the_run_stops_reading_at_its_cap_and_sends_nothing_after_it() -> None:
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, json={"value": [], "pad": "x" * (600 * 1024)})

    api = mocked(answer, HttpOptions(max_response_mb=1, max_run_mb=1))
    api.get("first")
    with pytest.raises(ProbeError, match=r"^Microsoft Graph: the run has read http\.max_run_mb \(1 MiB\) in all; "
                                         r"GET graph\.example/v1\.0/second was not read whole"):
        api.get("second")
    with pytest.raises(ProbeError, match=r"http\.max_run_mb \(1 MiB\)"):
        api.get("third")
    assert sent == ["/v1.0/first", "/v1.0/second"]


# -- time --------------------------------------------------------------------------------------------------------


def test_a_dripping_answer_ends_at_the_request_deadline_not_byte_by_byte(start_sandbox: StartSandbox) -> None:
    """A byte every 0.05 s never lets the 30 s read timeout fire; the whole-request deadline does, once."""
    cloud = start_sandbox()
    cloud.add_fault("drip", service="graph", path="/domains", delay=0.05, count=None)
    api, http = graph(cloud, HttpOptions(request_timeout=0.5))
    with pytest.raises(ProbeError, match=r"^Microsoft Graph: no whole answer to GET 127\.0\.0\.1:\d+/v1\.0/domains "
                                         r"within http\.request_timeout \(0\.5 s, retries included\)"):
        api.get("domains")
    assert len(cloud.log.entries()) == 1, "a request past its deadline is not retried"
    http.close()


def test_the_commands_deadline_ends_a_request_and_refuses_the_next(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    cloud.add_fault("drip", service="graph", path="/domains", delay=0.05, count=None)
    api, http = graph(cloud, HttpOptions(), run_deadline=time.monotonic() + 0.5)
    with pytest.raises(ProbeError, match=r"the command's deadline passed before GET 127\.0\.0\.1:\d+/v1\.0/domains "
                                         "was answered"):
        api.get("domains")
    with pytest.raises(ProbeError, match=r"the command's deadline passed before GET .*/v1\.0/applications"):
        api.get("applications")
    assert [e.path for e in cloud.log.entries()] == ["/v1.0/domains"], "nothing is sent past the deadline"
    http.close()


def test_a_retry_wait_that_would_pass_the_deadline_is_not_waited(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox()
    cloud.add_fault("throttle", service="graph", path="/domains", retry_after=5, count=None)
    api, http = graph(cloud, HttpOptions(request_timeout=1, retry_budget=60))
    with pytest.raises(ProbeError, match="answered 429"):
        api.get("domains")
    assert len(cloud.log.entries()) == 1
    http.close()


# -- next links --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("links", "pages_read"), [
    ({"/v1.0/domains": "/v1.0/domains"}, 1),  # a page naming itself
    ({"/v1.0/domains": "/v1.0/domains?page=2", "/v1.0/domains?page=2": "/v1.0/domains"}, 2),  # back to the first
    ({"/v1.0/domains": "/v1.0/domains?page=2", "/v1.0/domains?page=2": "/v1.0/domains?page=3",
      "/v1.0/domains?page=3": "/v1.0/domains?page=2"}, 3),  # back to one in between
])
def test_a_next_link_to_a_page_already_read_ends_the_read_as_incomplete(links: dict[str, str],
                                                                          pages_read: int) -> None:
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        here = request.url.raw_path.decode()
        sent.append(here)
        return httpx.Response(200, json={"value": [{"id": here}],
                                         "@odata.nextLink": f"https://graph.example{links[here]}"})

    with pytest.raises(ProbeError, match=rf"named a page it had already sent as the next page of /v1\.0/domains "
                                         rf"\(after {pages_read} pages?\); following it would loop"):
        mocked(answer).get_all("domains")
    assert len(sent) == pages_read


def test_a_next_link_back_to_the_first_page_is_seen_however_its_query_was_given() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"value": [], "@odata.nextLink": f"{ROOT}/domains?$select=id&$top=2"})

    with pytest.raises(ProbeError, match="already sent"):
        mocked(answer).get_all("domains", {"$select": "id", "$top": "2"})
