"""Faults on demand, the request log and write refusal, exercised over real TLS."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from checks.sandbox.faults import Fault
from checks.sandbox.server import Sandbox
from conftest import trusting

TENANT_B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
OIDC = f"/{TENANT_B}/v2.0/.well-known/openid-configuration"

StartSandbox = Callable[..., Sandbox]


@pytest.fixture
def cloud(start_sandbox: StartSandbox) -> Sandbox:
    return start_sandbox()


def test_the_request_log_records_method_path_status_and_duration(cloud: Sandbox) -> None:
    with trusting(cloud) as http:
        http.get(f"{cloud.login_url}{OIDC}")
        http.get(f"{cloud.login_url}/nowhere.example/v2.0/.well-known/openid-configuration")
    entries = cloud.log.entries("login")
    assert [(e.method, e.path, e.status) for e in entries] == [
        ("GET", OIDC, 200), ("GET", "/nowhere.example/v2.0/.well-known/openid-configuration", 400)]
    assert all(e.duration_ms >= 0 and not e.write for e in entries)


def test_a_fault_fires_count_times_then_the_service_answers_again(cloud: Sandbox) -> None:
    cloud.add_fault("status", service="login", path="openid-configuration", status=503, count=2)
    with trusting(cloud) as http:
        statuses = [http.get(f"{cloud.login_url}{OIDC}").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert [e.fault for e in cloud.log.entries()] == ["status", "status", None]


def test_a_fault_can_pick_requests_by_their_body(cloud: Sandbox) -> None:
    """One client's sign-in among many: the token requests differ only in their form body."""
    cloud.add_fault("status", service="login", body="client_id=the-app", status=503, count=None)
    token = f"{cloud.login_url}/{TENANT_B}/oauth2/v2.0/token"
    with trusting(cloud) as http:
        statuses = [http.post(token, data={"client_id": client, "grant_type": "client_credentials"}).status_code
                    for client in ("the-app", "the-reader", "the-app")]
    assert statuses[0] == statuses[2] == 503 and statuses[1] != 503
    assert [e.fault for e in cloud.log.entries()] == ["status", None, "status"]


@pytest.mark.parametrize("status", [500, 503, 504])
def test_server_errors_come_in_the_services_own_error_shape(cloud: Sandbox, status: int) -> None:
    cloud.add_fault("status", service="login", status=status)
    with trusting(cloud) as http:
        response = http.get(f"{cloud.login_url}{OIDC}")
    assert response.status_code == status
    assert response.json()["error_codes"] == [90033]


def test_throttling_carries_retry_after(cloud: Sandbox) -> None:
    cloud.add_fault("throttle", service="login", retry_after=7)
    with trusting(cloud) as http:
        response = http.get(f"{cloud.login_url}{OIDC}")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"


def test_a_gateway_fault_answers_an_html_502_page(cloud: Sandbox) -> None:
    cloud.add_fault("gateway", service="login")
    with trusting(cloud) as http:
        response = http.get(f"{cloud.login_url}{OIDC}")
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    assert b"502 Bad Gateway" in response.content


def test_a_malformed_fault_sends_json_that_does_not_parse(cloud: Sandbox) -> None:
    cloud.add_fault("malformed", service="login")
    with trusting(cloud) as http:
        response = http.get(f"{cloud.login_url}{OIDC}")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_a_dropped_connection_reaches_the_client_as_a_transport_error(cloud: Sandbox) -> None:
    cloud.add_fault("drop", service="login")
    with trusting(cloud) as http, pytest.raises(httpx.TransportError):
        http.get(f"{cloud.login_url}{OIDC}")
    assert cloud.log.entries()[0].status == 0


def test_a_stalled_body_times_out_the_reader(cloud: Sandbox) -> None:
    cloud.add_fault("stall", service="login", delay=5)
    with trusting(cloud, timeout=httpx.Timeout(2, read=0.3)) as http, pytest.raises(httpx.ReadTimeout):
        http.get(f"{cloud.login_url}{OIDC}")


def test_latency_delays_but_answers(cloud: Sandbox) -> None:
    cloud.add_fault("latency", service="login", delay=0.2)
    with trusting(cloud) as http:
        response = http.get(f"{cloud.login_url}{OIDC}")
    assert response.status_code == 200
    assert cloud.log.entries()[0].duration_ms >= 200


def test_faults_match_by_service_method_and_path(cloud: Sandbox) -> None:
    cloud.add_fault("status", service="graph", status=500)
    cloud.add_fault("status", service="login", method="POST", status=500)
    cloud.add_fault("status", service="login", path="^/nowhere", status=500)
    with trusting(cloud) as http:
        response = http.get(f"{cloud.login_url}{OIDC}")
    assert response.status_code == 200


def test_an_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind 'explode'"):
        Fault("explode")


def test_faults_from_the_scenario_file_are_armed(start_sandbox: StartSandbox, tmp_path: object) -> None:
    path = Path(str(tmp_path)) / "faulty.json"
    path.write_text(json.dumps({"name": "faulty", "summary": "login throttles once", "extends": "healthy",
                                "faults": [{"kind": "throttle", "service": "login", "retry_after": 2}]}))
    cloud = start_sandbox(str(path))
    with trusting(cloud) as http:
        assert http.get(f"{cloud.login_url}{OIDC}").status_code == 429
        assert http.get(f"{cloud.login_url}{OIDC}").status_code == 200


def test_the_certificate_is_only_trusted_through_the_sandbox_ca(cloud: Sandbox) -> None:
    with httpx.Client(verify=ssl.create_default_context()) as http, pytest.raises(httpx.ConnectError):
        http.get(f"{cloud.login_url}{OIDC}")
    with trusting(cloud) as http:
        assert http.get(f"https://localhost:{cloud.login_url.rsplit(':', 1)[1]}{OIDC}").status_code == 200


def test_each_service_has_its_own_origin(cloud: Sandbox) -> None:
    origins = {cloud.login_url, cloud.graph_url, cloud.exchange_resource, cloud.environment_url()}
    assert len(origins) == 4
    assert all(o.startswith("https://127.0.0.1:") for o in origins)


# -- a hostile server ------------------------------------------------------------------------------------------


def test_a_redirect_fault_answers_302_with_a_body_that_looks_like_data(cloud: Sandbox) -> None:
    cloud.add_fault("redirect", service="login")
    with trusting(cloud) as http:
        response = http.get(f"{cloud.login_url}{OIDC}")
    assert (response.status_code, response.json()) == (302, {"value": []})
    assert response.headers["Location"] == f"{cloud.login_url}{OIDC}"
    cloud.add_fault("redirect", service="login", status=307, payload={"access_token": "forged"})
    with trusting(cloud) as http:
        response = http.get(f"{cloud.login_url}{OIDC}")
    assert (response.status_code, response.json()) == (307, {"access_token": "forged"})


def test_an_empty_fault_answers_204_without_a_body(cloud: Sandbox) -> None:
    cloud.add_fault("empty", service="login")
    with trusting(cloud) as http:
        response = http.get(f"{cloud.login_url}{OIDC}")
    assert (response.status_code, response.content) == (204, b"")
    assert "Content-Length" not in response.headers


def test_a_content_type_fault_labels_the_real_answer_as_something_else(cloud: Sandbox) -> None:
    cloud.add_fault("content-type", service="login")
    cloud.add_fault("content-type", service="login", content_type="application/xml")
    with trusting(cloud) as http:
        first, second = (http.get(f"{cloud.login_url}{OIDC}") for _ in range(2))
    assert first.headers["Content-Type"] == "text/html; charset=utf-8" and "token_endpoint" in first.json()
    assert second.headers["Content-Type"] == "application/xml"


def test_an_echo_fault_repeats_the_requests_secret_and_authorization(cloud: Sandbox) -> None:
    cloud.add_fault("echo", service="login")
    cloud.add_fault("echo", service="graph", status=400, text="no such thing\n::error::{authorization}")
    with trusting(cloud) as http:
        login = http.post(f"{cloud.login_url}/{TENANT_B}/oauth2/v2.0/token",
                          data={"client_id": "x", "client_secret": "s3cr3t-value", "grant_type": "client_credentials"})
        graph = http.get(f"{cloud.graph_url}/v1.0/domains", headers={"Authorization": "Bearer the.bearer.token"})
    assert login.status_code == 401 and login.json()["error"] == "invalid_client"
    assert "'s3cr3t-value'" in login.json()["error_description"]
    assert graph.status_code == 400
    assert graph.json()["error"]["message"] == "no such thing\n::error::Bearer the.bearer.token"


def test_a_reply_fault_answers_what_it_is_given(cloud: Sandbox) -> None:
    cloud.add_fault("reply", service="login", payload={"UserId": "\x1b[31mx"})
    with trusting(cloud) as http:
        response = http.get(f"{cloud.login_url}{OIDC}")
    assert (response.status_code, response.json()) == (200, {"UserId": "\x1b[31mx"})


def test_a_self_link_fault_names_the_page_just_sent_as_the_next(cloud: Sandbox) -> None:
    token = cloud.issue_token("B", "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3", cloud.graph_url,
                              roles=["Domain.Read.All"])
    cloud.add_fault("self-link", service="graph", count=None)
    url = f"{cloud.graph_url}/v1.0/domains?$top=1"
    with trusting(cloud) as http:
        page = http.get(url, headers={"Authorization": f"Bearer {token}"}).json()
    assert page["@odata.nextLink"] == url and len(page["value"]) == 1


def test_an_endless_fault_sends_a_body_without_end(cloud: Sandbox) -> None:
    cloud.add_fault("endless", service="login")
    read = 0
    with trusting(cloud) as http, http.stream("GET", f"{cloud.login_url}{OIDC}") as response:
        assert response.status_code == 200 and response.headers["Transfer-Encoding"] == "chunked"
        for chunk in response.iter_raw():
            read += len(chunk)
            if read > 8 * 1024 * 1024:
                break
    assert read > 8 * 1024 * 1024


def test_a_drip_fault_sends_the_whole_answer_a_byte_at_a_time(cloud: Sandbox) -> None:
    """Status line, headers and body, one byte per TLS record: each well within a read timeout, so only a deadline
    for the whole answer ends the wait."""
    cloud.add_fault("drip", service="graph", delay=0.002)
    with trusting(cloud, timeout=httpx.Timeout(5, read=2)) as http:
        response = http.get(f"{cloud.graph_url}/v1.0/domains")  # no token: Graph's small 401, dripped
    assert response.status_code == 401 and response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert cloud.log.entries()[0].fault == "drip"
