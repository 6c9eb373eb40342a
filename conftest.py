"""Test-suite glue: the sandbox as fixtures, clients that trust its CA, and a scrubbed environment."""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Callable, Iterator

import httpx
import msal
import pytest

from checks.http.msalhttp import MsalHttpClient
from checks.sandbox.server import Sandbox

# Proxies or a forced msal region on the developer's machine must not steer the sandbox's traffic.
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
              "MSAL_FORCE_REGION", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
    os.environ.pop(_name, None)
os.environ["NO_PROXY"] = "127.0.0.1,localhost"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--live", action="store_true", help="also run tests that reach real Microsoft endpoints")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault matrix's table, whenever its cases ran (in any order, or alone)."""
    matrix = sys.modules.get("test_fault_matrix")
    for line in matrix.render_matrix() if matrix is not None else []:
        terminalreporter.write_line(line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--live"):
        return
    skip = pytest.mark.skip(reason="reaches real Microsoft endpoints; run with --live")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """The healthy scenario, shared by the session: tests must not change it (use `start_sandbox`)."""
    with Sandbox("healthy") as cloud:
        yield cloud


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Start a private sandbox: `start_sandbox("consent-missing", graph_page_size=2)`."""
    started: list[Sandbox] = []

    def start(scenario: str = "healthy", **options: object) -> Sandbox:
        cloud = Sandbox(scenario, **options).start()  # type: ignore[arg-type]
        started.append(cloud)
        return cloud

    yield start
    for cloud in started:
        cloud.stop()


def trusting(cloud: Sandbox, **options: object) -> httpx.Client:
    """An httpx client that trusts the sandbox's CA (and nothing is turned off)."""
    context = ssl.create_default_context(cafile=str(cloud.ca_path))
    return httpx.Client(verify=context, **options)  # type: ignore[arg-type]


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with trusting(sandbox, timeout=10) as http:
        yield http


def msal_app(cloud: Sandbox, tenant: str, client_id: str, credential: str | dict[str, str]
             ) -> msal.ConfidentialClientApplication:
    """A real msal confidential client pointed at the sandbox's login origin."""
    return msal.ConfidentialClientApplication(
        client_id, client_credential=credential, authority=f"{cloud.login_url}/{tenant}",
        http_client=MsalHttpClient(trusting(cloud, timeout=10)), azure_region=False, instance_discovery=False,
        token_cache=msal.TokenCache(),
    )


def get_token(cloud: Sandbox, tenant_ref: str, client_id: str, secret: str, resource: str) -> str:
    result = msal_app(cloud, cloud.tenant(tenant_ref).id, client_id, secret).acquire_token_for_client(
        [f"{resource}/.default"])
    assert "access_token" in result, result
    token: str = result["access_token"]
    return token
