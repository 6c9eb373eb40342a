"""Sign-in discovery once per authority and run: every msal app one run builds shares msal's http_cache, so a second
identity in a tenant, and the live sign-in as the sync app (EXO-003), read the tenant's OpenID configuration from it
instead of asking again; and what msal caches of a refused sign-in is never another app's answer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from checks.audit import audit
from checks.config import load
from checks.http.auth import Tokens
from checks.http.client import Http
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions, Settings

StartSandbox = Callable[..., Sandbox]
SYNC_APP = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"


def settings_for(cloud: Sandbox) -> Settings:
    return load(cloud.write_config(), RunOptions(), {})


@contextmanager
def tokens_for(settings: Settings) -> Iterator[Tokens]:
    http = Http(settings.cloud.login, settings.ca_bundle)
    try:
        yield Tokens(settings, http)
    finally:
        http.close()


def discoveries(cloud: Sandbox, tenant_id: str) -> int:
    return sum(1 for e in cloud.log.entries("login")
               if e.method == "GET" and e.path == f"/{tenant_id}/v2.0/.well-known/openid-configuration")


def sign_ins(cloud: Sandbox, tenant_id: str) -> int:
    return sum(1 for e in cloud.log.entries("login") if e.method == "POST" and e.path.startswith(f"/{tenant_id}/"))


def live(tokens: Tokens, settings: Settings) -> dict[str, Any]:
    assert settings.app_secret is not None
    return tokens.live_probe(SYNC_APP, settings.exchange_tenant, settings.app_secret.reveal(),
                             settings.cloud.exchange_resource)


def test_the_live_sign_in_reads_no_discovery_the_reader_already_read(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox("healthy")
    settings = settings_for(cloud)
    with tokens_for(settings) as tokens:
        tokens.for_tenant(settings.exchange_tenant, settings.cloud.graph)
        assert live(tokens, settings)["acquired"] is True
    assert discoveries(cloud, settings.exchange_tenant) == 1
    assert sign_ins(cloud, settings.exchange_tenant) == 2  # each identity still signs in itself


def test_identities_signing_in_at_once_in_one_tenant_read_its_discovery_once(start_sandbox: StartSandbox) -> None:
    cloud = start_sandbox("healthy", latency=0.2)  # slow answers: both sign-ins are under way together
    settings = settings_for(cloud)
    results: list[object] = []
    with tokens_for(settings) as tokens:
        threads = [threading.Thread(target=lambda: results.append(live(tokens, settings)["acquired"])),
                   threading.Thread(target=lambda: results.append(
                       bool(tokens.for_tenant(settings.exchange_tenant, settings.cloud.graph))))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert results == [True, True]
    assert discoveries(cloud, settings.exchange_tenant) == 1


def test_a_refused_sign_in_is_not_another_apps_answer(start_sandbox: StartSandbox) -> None:
    """Without a service principal in tenant B, Entra refuses the sync app with a 400 (AADSTS7000229), which msal
    keeps for 60 s under that request's own form; the reader's sign-in there is still asked of Entra, and succeeds."""
    cloud = start_sandbox("no-service-principal")
    settings = settings_for(cloud)
    with tokens_for(settings) as tokens:
        refused = live(tokens, settings)
        assert refused["acquired"] is False and refused["code"] == 7000229
        assert tokens.for_tenant(settings.exchange_tenant, settings.cloud.graph)
        assert live(tokens, settings)["code"] == 7000229  # the app's own refusal, still (from msal's cache)
    assert sign_ins(cloud, settings.exchange_tenant) == 2
    assert discoveries(cloud, settings.exchange_tenant) == 1


def test_an_audit_reads_each_tenants_discovery_once_for_its_sign_ins(start_sandbox: StartSandbox) -> None:
    """Tenant B's document is read twice: once by EXO-004's own anonymous probe (is the tenant there, which cloud),
    once for every sign-in there (the reader's and the sync app's live one)."""
    cloud = start_sandbox("healthy")
    settings = settings_for(cloud)
    result = audit(settings)
    assert result.evidence["live_token"]["acquired"] is True
    assert discoveries(cloud, settings.exchange_tenant) == 2
    assert discoveries(cloud, settings.dynamics_tenant) == 1
