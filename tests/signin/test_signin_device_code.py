"""Device code (interactive, delegated): an admin approves a code at a browser; the tokens carry the admin's
consented delegated permissions in `scp`, never `roles`. The prompt goes to stderr, once per identity."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import msal
import pytest
from signin_support import environment, guard_allows_device_code, json_report, outputs, reader, scenario

from checks.config import load
from checks.http.auth import Tokens
from checks.http.client import Http
from checks.http.msalhttp import MsalHttpClient
from checks.sandbox.identity import Signer
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions
from conftest import trusting

StartSandbox = Callable[..., Sandbox]
READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
SYNC_APP = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
CODE = re.compile(r"enter the code ([A-Z0-9]+) to authenticate")
needs_guard = pytest.mark.skipif(
    not guard_allows_device_code(),
    reason="the read-only guard (checks/http/guard.py) refuses POST /{tenant}/oauth2/v2.0/devicecode, so a "
           "device code sign-in cannot start; the sandbox side is tested above")


def device_code_scenario(**settings: Any) -> dict[str, Any]:
    data = copy.deepcopy(scenario("signin-device-code"))
    reader(data, "auditor")["deviceCode"].update(settings)
    return data


def public_client(cloud: Sandbox, tenant: str = "B", client_id: str = READER) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        client_id, authority=f"{cloud.login_url}/{cloud.tenant(tenant).id}", instance_discovery=False,
        http_client=MsalHttpClient(trusting(cloud, timeout=10)), token_cache=msal.TokenCache())


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


# -- the sandbox's login service, through real msal (no xtcheck code in between) ----------------------------

def test_a_pending_code_is_authorization_pending_until_the_admin_approves(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox(scenario("signin-device-code"))
    app = public_client(cloud)
    flow = app.initiate_device_flow([f"{cloud.graph_url}/.default"])
    assert flow["verification_uri"] == f"{cloud.login_url}/devicelogin"
    assert flow["user_code"] in flow["message"] and flow["device_code"] not in flow["message"]
    assert cloud.pending_device_codes() == [flow["user_code"]]
    pending = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)  # one poll
    assert (pending["error"], pending["error_codes"]) == ("authorization_pending", [70016])
    cloud.approve_device_code(flow["user_code"])
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    token = claims(result["access_token"])
    assert token["scp"] == "Application.Read.All Domain.Read.All Policy.Read.All User.Read.All"
    assert "roles" not in token
    assert (token["idtyp"], token["appid"], token["appidacr"]) == ("user", READER, "0")
    assert (token["upn"], token["tid"]) == ("admin@contoso.com", cloud.tenant("B").id)
    assert result["id_token_claims"]["preferred_username"] == "admin@contoso.com"
    assert cloud.log.writes() == [], "the device code POST is a sign-in, not a write"


def test_the_refresh_token_gets_the_other_resources_without_a_second_prompt(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox(device_code_scenario(approveAfterPolls=0))
    app = public_client(cloud, "A")
    flow = app.initiate_device_flow([f"{cloud.graph_url}/.default"])
    assert "scp" in claims(app.acquire_token_by_device_flow(flow)["access_token"])
    account = app.get_accounts()[0]
    dataverse = app.acquire_token_silent([f"{cloud.environment_url()}/.default"], account)
    assert dataverse is not None
    token = claims(dataverse["access_token"])
    assert (token["aud"], token["scp"]) == (cloud.environment_url(), "user_impersonation")
    assert len(cloud.issued_device_codes()) == 1


def test_an_unapproved_code_expires(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox(device_code_scenario(expiresIn=1))
    app = public_client(cloud)
    flow = app.initiate_device_flow([f"{cloud.graph_url}/.default"])
    result = app.acquire_token_by_device_flow(flow)  # msal polls every second until the sandbox says expired
    assert (result["error"], result["error_codes"]) == ("expired_token", [70019])


def test_a_confidential_client_cannot_use_the_device_code_flow(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox(scenario("signin-device-code"))
    app = public_client(cloud, client_id=SYNC_APP)
    flow = app.initiate_device_flow([f"{cloud.graph_url}/.default"])
    cloud.approve_device_code(flow["user_code"])
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert result["error_codes"] == [7000218]


def test_a_resource_the_tenant_does_not_have_is_refused_before_any_prompt(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox(scenario("signin-device-code"))
    flow = public_client(cloud).initiate_device_flow(["https://nothing.example/.default"])
    assert "user_code" not in flow
    assert flow["error_codes"] == [500011]


# -- xtcheck's own sign-in -------------------------------------------------------------------------------

@needs_guard
def test_the_prompt_goes_to_the_prompt_callback_once_per_identity(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox(device_code_scenario(approveAfterPolls=0))
    settings = load(cloud.write_config(), RunOptions(), {})
    prompts: list[str] = []
    http = Http(settings.cloud.login, settings.ca_bundle)
    tokens = Tokens(settings, http, prompt=prompts.append)
    tenant_a = settings.credential_for(cloud.tenant("A").id)
    assert tenant_a is not None and tenant_a.kind == "device_code"
    try:
        graph = claims(tokens.token(tenant_a, cloud.graph_url))
        dataverse = claims(tokens.token(tenant_a, cloud.environment_url()))
        again = claims(tokens.token(tenant_a, cloud.graph_url))
    finally:
        http.close()
    assert len(prompts) == 1 and cloud.tenant("A").id in prompts[0] and "credentials[0]" in prompts[0]
    assert (graph["scp"], dataverse["scp"], again["uti"]) == ("Application.Read.All", "user_impersonation",
                                                              graph["uti"])
    assert tokens.carried[f"{READER} in {cloud.tenant('A').id} for {cloud.graph_url}"] == ("Application.Read.All",)


@needs_guard
def test_an_admin_approves_each_prompt_read_off_stderr_and_nothing_secret_reaches_stdout(
        start_sandbox: StartSandbox, tmp_path: Path) -> None:
    cloud = start_sandbox(scenario("signin-device-code"))
    child = subprocess.Popen(
        [sys.executable, "-m", "checks.cli", "audit", "--config", str(cloud.write_config()), "--format",
         "console,json", "--output-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
    assert child.stderr is not None and child.stdout is not None
    stdout: list[str] = []
    reading = threading.Thread(target=lambda: stdout.append(child.stdout.read() if child.stdout else ""))
    reading.start()
    deadline = threading.Timer(120, child.kill)  # a prompt nobody approves would poll for 15 minutes
    deadline.start()
    stderr = []
    for line in child.stderr:  # the admin reads the prompt and approves the code at the browser
        stderr.append(line)
        if match := CODE.search(line):
            cloud.approve_device_code(match.group(1))
    child.wait(timeout=120)
    deadline.cancel()
    reading.join(timeout=10)
    prompts = [line for line in stderr if CODE.search(line)]
    assert len(prompts) == 2, stderr  # tenant A and tenant B: one sign-in per identity
    assert {cloud.tenant("A").id, cloud.tenant("B").id} == {t for p in prompts for t in re.findall(
        r"sign in to tenant (\S+) for", p)}
    assert "devicelogin" not in stdout[0] and not CODE.search(stdout[0])
    texts = outputs(tmp_path, stdout[0], "".join(stderr))
    issued = cloud.issued_device_codes()
    assert len(issued) == 2
    assert all(code not in text and code[:16] not in text for code in issued for text in texts)
    carried = json_report(tmp_path)["run"]["attestation"]["token_roles"]
    assert carried[f"{READER} in {cloud.tenant('B').id} for {cloud.graph_url}"] == [
        "Application.Read.All", "Domain.Read.All", "Policy.Read.All", "User.Read.All"]
    if not graph_accepts_delegated_tokens(cloud):
        pytest.skip("the sandbox's Graph grants by `roles` only (checks/sandbox/graph.py): delegated reads are 403")
    assert child.returncode == 0, stderr
    assert {f["status"] for f in json_report(tmp_path)["findings"]} == {"pass"}


def graph_accepts_delegated_tokens(cloud: Sandbox) -> bool:
    """Whether the sandbox's Graph honours `scp` as Entra's Graph does (delegated Domain.Read.All reads domains)."""
    assert isinstance(cloud.issuer, Signer)
    tenant = cloud.tenant("B").id
    token = cloud.issuer.mint_delegated(
        issuer=f"{cloud.login_url}/{tenant}/v2.0", tenant_id=tenant, audience=cloud.graph_url, app_id=READER,
        user_id=cloud.directory.user_id(tenant, "admin@contoso.com"), user_principal_name="admin@contoso.com",
        scopes=["Domain.Read.All"])
    with trusting(cloud, timeout=10) as http:
        answer: httpx.Response = http.get(f"{cloud.graph_url}/v1.0/domains",
                                          headers={"Authorization": f"Bearer {token}"})
    return answer.status_code == 200
