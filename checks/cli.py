"""The `xtcheck` command line: parse arguments, run a command, turn failures into one clear line and an exit code."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from . import __version__

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3

_EPILOG = """\
exit codes:
  0  nothing at or above the threshold
  1  a check failed
  2  usage or configuration error
  3  a check could not decide (error) and none failed

Run `xtcheck COMMAND --help` for a command's options."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xtcheck",
        description="Read-only checks for Dynamics 365 server-side sync with Exchange Online in another tenant.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"xtcheck {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_sandbox(commands)
    return parser


def _add_sandbox(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = commands.add_parser(
        "sandbox", help="a local Microsoft cloud (Entra, Graph, Dataverse) over HTTPS for trying xtcheck",
        description="A local stand-in for Microsoft's cloud on 127.0.0.1, driven by scenario files.",
    )
    actions = sandbox.add_subparsers(dest="action", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve", help="start the sandbox and print its URLs, CA and a ready config",
        description="Start the sandbox on 127.0.0.1 until Ctrl-C. Every service gets its own HTTPS origin "
                    "(port), signed by a throwaway CA made at start; a ready xtcheck config is written.",
        epilog="example:\n  xtcheck sandbox serve --scenario consent-missing --port 8441\n"
               "  xtcheck sandbox list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--scenario", default="healthy", metavar="NAME",
                       help="a built-in scenario name (see `xtcheck sandbox list`) or a path to a scenario .json "
                            "(default: healthy)")
    serve.add_argument("--port", type=int, default=0, metavar="N",
                       help="first port: login on N, Graph on N+1, Exchange on N+2, Dataverse from N+3 "
                            "(default: free ports)")
    serve.add_argument("--config-out", type=Path, metavar="PATH",
                       help="where to write the xtcheck config (default: inside the sandbox's temp folder)")
    serve.add_argument("--graph-page-size", type=int, default=100, metavar="N",
                       help="rows per Graph page, small values exercise paging (default: 100)")
    serve.add_argument("--mailboxes", type=int, metavar="N",
                       help="add N generated healthy mailboxes to the first environment (large-tenant tests)")
    listing = actions.add_parser("list", help="list the built-in scenarios",
                                 description="List the built-in scenarios with what each one breaks.")
    listing.add_argument("--markdown", action="store_true", help="print a Markdown table (as in the README)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        from .sandbox import cli as sandbox_cli
        return sandbox_cli.run(args)
    except KeyboardInterrupt:
        print("xtcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `xtcheck ... | head`: the reader left; not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stop.wait()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


if __name__ == "__main__":
    raise SystemExit(main())
