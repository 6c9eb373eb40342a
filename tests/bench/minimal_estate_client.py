"""A hand-written minimal client for an estate: minimal_client.py's reads for every target of a `targets:` config, the
reads that do not depend on the environment made once per (tenant B, app), every sign-in once per identity and
resource, all of it at once.

Run: python tests/bench/minimal_estate_client.py --config ESTATE.yaml   (a `targets:` config as the sandbox writes
it: each target names its environment, profile, tenant B and app, and every mailbox is read).
Prints one JSON line: requests, wall time and time to first request (from the first line of this script), targets,
and rows read. It judges nothing; estate_bench.py compares the whole `xtcheck audit` command with it.
"""

# ruff: noqa: E402 (the clock is read before the other imports: they are part of what the client costs)
from __future__ import annotations

import time

STARTED = time.monotonic()

import argparse
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml
from minimal_client import Run, SignIn, Wire, read_dynamics, read_exchange_tenant, read_users, secret

TARGETS_AT_ONCE = 64


class Estate:
    """What every target shares: one wire, one set of msal apps (one http_cache), one pool for the reads."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.wire = Wire(config["tls"]["ca_bundle"])
        self.secrets = {(c["client_id"], c["tenant_id"]): secret(c["client_secret"]) for c in config["credentials"]}
        self.readers = {c["tenant_id"]: c["client_id"] for c in config["credentials"]}
        app = config.get("app", {})
        if app.get("secret"):
            self.secrets[(app["client_id"], config["exchange"]["tenant_id"])] = secret(app["secret"])
        self.sign_in = SignIn(self.wire, config["endpoints"]["login"], self.secrets)
        self.pool = ThreadPoolExecutor(max_workers=256)

    def target(self, raw: dict[str, Any]) -> Run:
        """A Run (minimal_client's) for one target, sharing the estate's wire, sign-ins and pool."""
        run = Run.__new__(Run)
        run.config = {**self.config, "dynamics": {**self.config["dynamics"], "environment_url": raw["environment_url"],
                                                  "profile": raw["profile"]},
                      "exchange": {"tenant_id": raw.get("exchange_tenant") or self.config["exchange"]["tenant_id"]},
                      "app": {"client_id": raw.get("client_id") or self.config["app"]["client_id"]}}
        run.wire, run.sign_in, run.pool, run.readers = self.wire, self.sign_in, self.pool, self.readers
        run.app_id, run.tenant_a = run.config["app"]["client_id"], self.config["dynamics"]["tenant_id"]
        run.tenant_b = run.config["exchange"]["tenant_id"]
        return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--config", required=True, type=Path, help="the estate's targets: config")
    config = yaml.safe_load(parser.parse_args().config.read_text(encoding="utf-8"))
    estate = Estate(config)
    runs = [estate.target(raw) for raw in config["targets"]]
    tenants: dict[tuple[str, str], Future[dict[str, Any]]] = {}
    users: dict[str, Future[dict[str, Any]]] = {}
    with ThreadPoolExecutor(max_workers=TARGETS_AT_ONCE) as targets:
        for run in runs:  # tenant B's reads once per (tenant, app), its users once per tenant
            key = (run.tenant_b, run.app_id)
            if key not in tenants:
                live = (run.app_id, run.tenant_b) in estate.secrets
                tenants[key] = targets.submit(tolerant, read_exchange_tenant, run, live, False)
            if run.tenant_b not in users:
                users[run.tenant_b] = targets.submit(tolerant, lambda r: {"users": read_users(r.graph(r.tenant_b))},
                                                     run)
        dynamics = [targets.submit(tolerant, read_dynamics, run) for run in runs]
        a = [future.result() for future in dynamics]
        b = [future.result() for future in [*tenants.values(), *users.values()]]
    finished = time.monotonic()
    estate.pool.shutdown()
    estate.wire.close()
    first = estate.wire.first or finished
    print(json.dumps({
        "requests": estate.wire.requests, "wall_s": round(finished - STARTED, 4),
        "first_request_s": round(first - STARTED, 4), "started": STARTED, "first_request_at": first,
        "targets": len(runs), "tenant_app_pairs": len(tenants), "tenants_b": len(users),
        "failed": sum(1 for x in [*a, *b] if "failed" in x),
        "rows": {"mailboxes": sum(len(x.get("mailboxes", [])) for x in a),
                 "users": sum(len(x.get("users", [])) for x in b)},
    }))


def tolerant(read: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """A read that may fail as xtcheck's may (an environment the reader cannot read, a tenant B that does not
    exist): its failure noted, the other targets' reads unaffected."""
    try:
        return read(*args)
    except (httpx.HTTPError, SystemExit, KeyError, TypeError) as exc:
        return {"failed": type(exc).__name__}


if __name__ == "__main__":
    main()
