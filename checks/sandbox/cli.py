"""`xtcheck sandbox serve|list`: the sandbox on its own, for trying xtcheck by hand."""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import threading
from types import FrameType
from typing import Any

from ..exits import EXIT_OK, EXIT_USAGE
from .estate import estate_scenario
from .scenario import ScenarioError, builtin_names, load, load_raw, scenario_table
from .server import Sandbox

__all__ = ["run"]

_SHOWN = 20  # Dataverse origins the banner lists; an estate's others are in the config and the admin API


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _list(markdown=args.markdown)
    return _serve(args)


def _list(*, markdown: bool) -> int:
    if markdown:
        print(scenario_table())
        return EXIT_OK
    for name in builtin_names():
        print(f"{name:30} {load_raw(name)['summary']}")
    return EXIT_OK


def _scenario(args: argparse.Namespace) -> dict[str, Any] | str:
    """The scenario to serve, or what is wrong with the options."""
    environments = getattr(args, "environments", None)
    now = dt.datetime.now(dt.UTC)
    if environments is None:
        if getattr(args, "targets", False):
            return "--targets needs --environments N"
        try:
            return load(args.scenario, now)
        except ScenarioError as exc:
            return str(exc)
    try:
        return estate_scenario(environments, mailboxes=3 if args.mailboxes is None else args.mailboxes, now=now)
    except ValueError as exc:
        return f"--environments: {exc}"


def _serve(args: argparse.Namespace) -> int:
    scenario = _scenario(args)
    if isinstance(scenario, str):
        print(f"xtcheck: {scenario}", file=sys.stderr)
        return EXIT_USAGE
    if args.mailboxes is not None and getattr(args, "environments", None) is None:  # (an estate's: per profile)
        if not scenario.get("environments") or args.mailboxes < 0:
            print("xtcheck: --mailboxes needs a scenario with an environment and N >= 0", file=sys.stderr)
            return EXIT_USAGE
        scenario["environments"][0]["generate"] = {"mailboxes": args.mailboxes}
    if args.graph_page_size is not None and args.graph_page_size < 1:
        print("xtcheck: --graph-page-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    served = [e for e in scenario.get("environments", []) if e.get("dataverse", True)]
    problem = port_problem(args.port, services=4 + len(served))
    if problem:
        print(f"xtcheck: {problem}", file=sys.stderr)
        return EXIT_USAGE
    cloud = Sandbox(scenario, port=args.port, graph_page_size=args.graph_page_size)
    try:
        cloud.start()
    except OSError as exc:
        cloud.stop()
        print(f"xtcheck: cannot listen on 127.0.0.1 port {args.port} and up ({exc.strerror}); "
              "choose another --port or leave it out to use free ports", file=sys.stderr)
        return EXIT_USAGE
    except BaseException:
        cloud.stop()  # its temporary folder holds the CA's and the server's private keys: never left behind
        raise
    try:
        config = cloud.write_config(args.config_out.resolve() if args.config_out else None,
                                    estate=getattr(args, "environments", None) is not None,
                                    targets=getattr(args, "targets", False))
        _print_banner(cloud, str(config))
        wait_for_interrupt()
    finally:
        cloud.stop()
        print("sandbox stopped", file=sys.stderr)
    return EXIT_OK


def port_problem(port: int, services: int) -> str | None:
    """What is wrong with --port for a sandbox of `services` consecutive ports (N to N + services - 1), or None.
    Said before the sandbox makes its temporary folder and keys, so a wrong port leaves nothing behind."""
    if port == 0:
        return None
    highest = 65535 - (services - 1)
    if 1 <= port <= highest:
        return None
    return (f"--port {port} is out of range: the sandbox listens on {services} ports from N up, so give N from 1 to "
            f"{highest}, or 0 (the default) for free ports")


def _print_banner(cloud: Sandbox, config: str) -> None:
    scenario = cloud.scenario
    lines = [
        f"xtcheck sandbox: scenario {scenario['name']} — {scenario['summary']}",
        f"  login (Entra)      {cloud.login_url}",
        f"  Microsoft Graph    {cloud.graph_url}/v1.0",
        f"  Exchange resource  {cloud.exchange_resource}",
    ]
    served = [env for env in scenario.get("environments", []) if env.get("dataverse", True)]
    for env in served[:_SHOWN]:
        lines.append(f"  Dataverse          {cloud.environment_url(env['ref'])}  ({env['ref']})")
    if len(served) > _SHOWN:
        lines.append(f"  Dataverse          ... and {len(served) - _SHOWN} more (listed by the admin API)")
    lines.append(f"  Power Platform     {cloud.admin_url}  (admin API, endpoints.bap and endpoints.powerapps)")
    for tenant in cloud.directory.tenants.values():
        lines.append(f"  tenant {tenant.ref:11} {tenant.id}  {tenant.display_name}")
    lines += [
        f"  CA certificate     {cloud.ca_path}",
        f"  xtcheck config     {config}",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stop.wait()
