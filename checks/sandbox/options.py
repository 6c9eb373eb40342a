"""The sandbox's estate options (`sandbox serve --environments`, `demo --environments`), in a module that imports
nothing heavy: the CLI builds its parser on every run, before it knows whether the sandbox is wanted."""

from __future__ import annotations

import argparse

SMALLEST_ESTATE = 14  # one environment of each kind checks/sandbox/estate.py documents
LARGEST_ESTATE = 10_000


def estate_size(text: str) -> int:
    """An estate's number of environments, from SMALLEST_ESTATE to LARGEST_ESTATE (argparse's `type`)."""
    if not text.strip().isdigit() or not SMALLEST_ESTATE <= int(text) <= LARGEST_ESTATE:
        raise argparse.ArgumentTypeError(f"{text[:20]!r}: give a whole number from {SMALLEST_ESTATE} (one environment "
                                         f"of each kind the sandbox estate has) to {LARGEST_ESTATE}")
    return int(text)


def add_estate_options(serve: argparse.ArgumentParser) -> None:
    """Add --environments and --targets to the `sandbox serve` parser."""
    serve.add_argument("--environments", type=estate_size, metavar="N",
                       help=f"serve an estate instead of --scenario: N environments ({SMALLEST_ESTATE} or more) of "
                            "tenant A over two tenants B, some broken on purpose (checks/sandbox/estate.py), and the "
                            "Power Platform admin API; the config written discovers them (dynamics.environments: "
                            "all); with --mailboxes, that many mailboxes per cross-tenant profile (default 3)")
    serve.add_argument("--targets", action="store_true",
                       help="with --environments: the config lists every cross-tenant profile under targets: "
                            "instead of discovering the environments")
