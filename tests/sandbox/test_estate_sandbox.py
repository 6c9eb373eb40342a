"""An estate in the sandbox: the Power Platform admin API over real HTTPS, the generated scenario, thousands of
origins served by one reactor, a fault aimed at one environment, and the configs written for an estate audit."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

import schemas
from checks.config import load_any
from checks.estate import audit_estate
from checks.sandbox.estate import EXPECTED, FIXED, NO_TARGET, READER_APP_ID, environment_ref, estate_scenario, kind_of
from checks.sandbox.options import SMALLEST_ESTATE
from checks.sandbox.powerplatform import ENVIRONMENTS
from checks.sandbox.server import Sandbox
from checks.settings import EstateSettings, RunOptions
from conftest import trusting

READER_SECRET = "sandbox-reader-secret-8f3k2q"
LIST = f"{ENVIRONMENTS}?api-version=2020-10-01"
N = 200


@pytest.fixture(scope="module")
def estate() -> Iterator[Sandbox]:
    with Sandbox(environments=N, admin_page_size=50) as cloud:
        yield cloud


def admin_token(cloud: Sandbox, tenant: str = "A") -> str:
    """The reader's token for the admin API, from the login service as xtcheck gets it (client credentials)."""
    with trusting(cloud) as http:
        answer = http.post(f"{cloud.login_url}/{cloud.tenant(tenant).id}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": READER_APP_ID, "client_secret": READER_SECRET,
            "scope": f"{cloud.admin_url}/.default"})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def listed(cloud: Sandbox, token: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Every environment the admin API lists, following nextLink; and the links followed."""
    environments: list[dict[str, Any]] = []
    links: list[str] = []
    url: str | None = f"{cloud.admin_url}{LIST}"
    with trusting(cloud) as http:
        while url is not None:
            page = http.get(url, headers={"Authorization": f"Bearer {token}"})
            assert page.status_code == 200, page.text
            environments += page.json()["value"]
            url = page.json().get("nextLink")
            links += [url] if url else []
    return environments, links


# -- the generated scenario ------------------------------------------------------------------------------------------


def test_the_generated_estate_is_a_valid_scenario() -> None:
    validator = jsonschema.Draft202012Validator(schemas.load("scenario"))
    assert not list(validator.iter_errors(estate_scenario(60)))
    assert not list(validator.iter_errors(estate_scenario(14, reader_registered=False)))


def test_every_kind_is_in_the_first_environments_and_the_rest_is_mostly_healthy() -> None:
    assert [kind_of(i) for i in range(len(FIXED))] == list(FIXED)
    tail = [kind_of(i) for i in range(len(FIXED), 5000)]
    assert tail.count("healthy") + tail.count("healthy-b2") > 0.9 * len(tail)
    assert {kind for kind in tail if not kind.startswith("healthy")} == set(FIXED[1:])
    assert set(EXPECTED) | NO_TARGET == set(FIXED) | {"healthy-b2"}


def test_an_estate_too_small_for_every_kind_is_refused() -> None:
    assert len(FIXED) == SMALLEST_ESTATE
    with pytest.raises(ValueError, match="at least 14"):
        estate_scenario(13)


def test_each_environment_is_generated_the_same_whatever_the_estate_size() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    small, large = estate_scenario(20, now=now), estate_scenario(40, now=now)
    assert small["environments"] == large["environments"][:20]


# -- the Power Platform admin API ------------------------------------------------------------------------------------


def test_the_admin_api_lists_every_environment_in_pages_linked_by_next_link(estate: Sandbox) -> None:
    environments, links = listed(estate, admin_token(estate))
    assert len(environments) == N
    assert len(links) == N // 50 - 1
    assert all(link.startswith(f"{estate.admin_url}{ENVIRONMENTS}?") and "api-version=2020-10-01" in link
               for link in links)
    names = [e["name"] for e in environments]
    assert len(set(names)) == N
    assert all(e["id"] == f"{ENVIRONMENTS}/{e['name']}" for e in environments)
    assert {e["type"] for e in environments} == {"Microsoft.BusinessAppPlatform/scopes/environments"}


def test_an_environment_with_dataverse_names_its_instance_url_and_one_without_does_not(estate: Sandbox) -> None:
    environments, _ = listed(estate, admin_token(estate))
    for index, environment in enumerate(environments):
        metadata = environment["properties"].get("linkedEnvironmentMetadata")
        if kind_of(index) == "no-dataverse":
            assert metadata is None
        else:
            assert metadata["instanceUrl"] == f"{estate.environment_url(environment_ref(index))}/"
    assert {e["properties"]["environmentSku"] for e in environments} == {"Production", "Sandbox"}


def test_the_admin_api_lists_only_the_callers_tenants_environments(estate: Sandbox) -> None:
    environments, _ = listed(estate, admin_token(estate, "B"))
    assert environments == []


@pytest.mark.parametrize(("target", "headers", "status", "code"), [
    (LIST, {}, 401, "MissingAuthenticationToken"),
    (ENVIRONMENTS, None, 400, "MissingApiVersionParameter"),
    ("/providers/Microsoft.BusinessAppPlatform/nowhere?api-version=2020-10-01", None, 404, "NotFound"),
])
def test_the_admin_api_refuses_in_its_own_error_shape(estate: Sandbox, target: str, headers: dict[str, str] | None,
                                                      status: int, code: str) -> None:
    sent = {"Authorization": f"Bearer {admin_token(estate)}"} if headers is None else headers
    with trusting(estate) as http:
        answer = http.get(f"{estate.admin_url}{target}", headers=sent)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code


def test_a_reader_not_registered_for_power_platform_management_gets_403(start_sandbox: Any) -> None:
    cloud = start_sandbox(estate_scenario(14, reader_registered=False, now=dt.datetime.now(dt.UTC)))
    with trusting(cloud) as http:
        answer = http.get(f"{cloud.admin_url}{LIST}", headers={"Authorization": f"Bearer {admin_token(cloud)}"})
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["code"] == "Forbidden" and READER_APP_ID in error["message"]
    assert [(e.service, e.status) for e in cloud.log.entries("bap")] == [("bap", 403)]


def test_admin_api_requests_go_through_the_fault_book(estate: Sandbox) -> None:
    estate.add_fault("throttle", service=estate.admin_url, retry_after=1)
    with trusting(estate) as http:
        answer = http.get(f"{estate.admin_url}{LIST}", headers={"Authorization": f"Bearer {admin_token(estate)}"})
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]["code"] == "TooManyRequests"


# -- every environment answers; a fault hits one -------------------------------------------------------------------


def whoami(cloud: Sandbox, http: httpx.Client, ref: str) -> int:
    url = cloud.environment_url(ref)
    token = cloud.issue_token("A", READER_APP_ID, url)
    return http.get(f"{url}/api/data/v9.2/WhoAmI", headers={"Authorization": f"Bearer {token}"}).status_code


def test_every_environment_of_the_estate_answers_on_its_own_origin(estate: Sandbox) -> None:
    refs = [environment_ref(i) for i in range(N) if kind_of(i) != "no-dataverse"]
    assert len({estate.environment_url(ref) for ref in refs}) == len(refs)
    with trusting(estate) as http:
        statuses = {ref: whoami(estate, http, ref) for ref in refs}
    assert {ref for ref, status in statuses.items() if status != 200} == {
        environment_ref(i) for i in range(N) if kind_of(i) == "unreadable"}
    assert set(statuses.values()) == {200, 403}


def test_a_fault_aimed_at_one_environment_leaves_the_others_answering(estate: Sandbox) -> None:
    broken, fine = environment_ref(42), [environment_ref(i) for i in (14, 41, 43, 199)]
    fault = estate.add_fault("status", service=estate.environment_url(broken), status=503, count=None)
    try:
        with trusting(estate) as http:
            statuses = [whoami(estate, http, ref) for ref in [broken, *fine, broken]]
    finally:
        estate.faults.clear()
    assert fault.service == f"dataverse:{broken}"
    assert statuses == [503, 200, 200, 200, 200, 503]
    faulted = {e.service for e in estate.log.entries() if e.fault == "status"}
    assert faulted == {f"dataverse:{broken}"}


def test_a_stalled_environment_holds_only_its_own_request(estate: Sandbox) -> None:
    """One environment stalls mid-answer; the others are served meanwhile by other workers."""
    stalled = environment_ref(43)
    estate.add_fault("stall", service=f"dataverse:{stalled}", delay=30)
    try:
        with trusting(estate, timeout=httpx.Timeout(10, read=1)) as slow, trusting(estate) as http:
            with pytest.raises(httpx.ReadTimeout):
                whoami(estate, slow, stalled)
            assert [whoami(estate, http, environment_ref(i)) for i in (44, 45)] == [200, 200]
    finally:
        estate.faults.clear()


# -- the configs written for an estate -----------------------------------------------------------------------------


def loaded(path: Any) -> EstateSettings:
    settings = load_any(path, RunOptions(), os.environ)
    assert isinstance(settings, EstateSettings)
    return settings


def test_the_estate_config_discovers_tenant_a_through_the_admin_api(estate: Sandbox) -> None:
    settings = loaded(estate.write_config())
    assert settings.discover and not settings.targets
    assert settings.shared.cloud.bap == settings.shared.cloud.powerapps == estate.admin_url
    assert settings.shared.dynamics_tenant == estate.tenant("A").id


def test_the_targets_config_lists_every_cross_tenant_profile(estate: Sandbox) -> None:
    settings = loaded(estate.write_config(estate.workdir / "targets.yaml", targets=True))
    assert not settings.discover
    expected = sum(2 if kind_of(i) == "two-profiles" else 0 if kind_of(i) in ("no-dataverse",
                   "no-cross-tenant-profile") else 1 for i in range(N))
    assert len(settings.targets) == expected
    assert len({t.name for t in settings.targets}) == expected


def test_an_estate_audit_reports_what_the_generator_documents(start_sandbox: Any) -> None:
    """The table in checks/sandbox/estate.py is true: each kind's targets fail or warn on exactly what it says."""
    cloud = start_sandbox(environments=len(FIXED) + 2)
    result = audit_estate(loaded(cloud.write_config()))
    kinds = {cloud.environment_url(environment_ref(i)): kind_of(i) for i in range(len(FIXED) + 2)
             if kind_of(i) != "no-dataverse"}
    seen: dict[str, list[dict[str, str]]] = {}
    for target in result.targets:
        worst: dict[str, str] = {}
        for finding in target.findings:
            if finding.status.value not in ("pass", "skip") and worst.get(finding.check_id) != "fail":
                worst[finding.check_id] = finding.status.value
        seen.setdefault(kinds[target.target.environment_url.rstrip("/")], []).append(worst)
    also = {"secret-expired": {"APP-004": "fail"}, "graph-not-ready": {"GRA-001": "fail", "EWS-001": "warn"}}
    assert set(seen) == set(FIXED) - NO_TARGET
    assert len(seen["two-profiles"]) == 2
    for kind, outcomes in seen.items():
        assert outcomes == [also.get(kind, EXPECTED[kind])] * len(outcomes), kind
    assert [u.environment for u in result.unreadable] == ["Fabrikam 00001 (unreadable)"]
