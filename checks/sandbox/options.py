"""`xtcheck sandbox serve`'s estate options, in a module that imports nothing heavy: the CLI builds its parser on
every run, before it knows whether the sandbox is wanted."""

from __future__ import annotations

import argparse

SMALLEST_ESTATE = 14  # one environment of each kind checks/sandbox/estate.py documents


def add_estate_options(serve: argparse.ArgumentParser) -> None:
    """Add --environments and --targets to the `sandbox serve` parser."""
    serve.add_argument("--environments", type=int, metavar="N",
                       help=f"serve an estate of N environments (at least {SMALLEST_ESTATE}) in two tenants B instead "
                            "of --scenario, some broken by index (checks/sandbox/estate.py), and a Power Platform "
                            "admin API; the config written discovers them (dynamics.environments: all)")
    serve.add_argument("--targets", action="store_true",
                       help="with --environments: the config lists every cross-tenant profile under targets: "
                            "instead of discovering them")
