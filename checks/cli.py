"""The `xtcheck` command line: parse arguments, run a command, turn failures into one clear line and an exit code."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__
from .crash import crashed, open_closed_streams
from .exits import EXIT_CRASH, EXIT_ERROR, EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .model import Severity
from .terminal import COLOR_CHOICES

__all__ = ["EXIT_CRASH", "EXIT_ERROR", "EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "main", "run"]

_EPILOG = """\
exit codes:
  0  nothing at or above the threshold
  1  a check failed
  2  usage or configuration error
  3  a check could not decide (error) and none failed
  4  xtcheck itself failed (an internal error): one line says what; --debug prints the trace
Findings below --min-severity and findings under an applied waiver are reported but never
change the exit code.

Run `xtcheck COMMAND --help` for a command's options."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xtcheck",
        description="Read-only checks for Dynamics 365 server-side sync with Exchange Online in another tenant.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"xtcheck {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_audit(commands)
    _add_demo(commands)
    _add_checks(commands)
    _add_explain(commands)
    _add_doctor(commands)
    _add_evaluate(commands)
    _add_diff(commands)
    _add_merge(commands)
    _add_sandbox(commands)
    _add_completion(commands)
    _add_debug(parser, top=True)
    return parser


def _add_completion(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    completion = commands.add_parser(
        "completion", help="print a shell completion script (bash, zsh, fish)",
        description="Print the completion script for your shell: commands, options, their values and file names "
                    "complete on TAB.",
        epilog="install:\n  bash: xtcheck completion bash > ~/.local/share/bash-completion/completions/xtcheck\n"
               "  zsh:  xtcheck completion zsh > ~/.zfunc/_xtcheck  (or: source <(xtcheck completion zsh))\n"
               "  fish: xtcheck completion fish > ~/.config/fish/completions/xtcheck.fish",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    completion.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell to complete in")


def _add_debug(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """`--debug` on the command and on every subcommand (`xtcheck --debug audit` and `xtcheck audit --debug`)."""
    parser.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="on an internal error (exit 4), print the full trace to stderr, secrets redacted")
    for action in parser._actions:  # (argparse lists its subcommands nowhere else)
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_debug(child, top=False)


def _gate_options(parser: argparse.ArgumentParser, *, save: bool) -> None:
    """The CI-gate flags of audit, demo and evaluate."""
    parser.add_argument("--min-severity", choices=[s.value for s in Severity], default="info",
                        help="findings below this severity are reported but do not change the exit code "
                             "(default: info, everything counts)")
    parser.add_argument("--waivers", metavar="FILE",
                        help="accepted findings with reason, owner and expiry (YAML or JSON, see README)")
    if save:
        parser.add_argument("--save-evidence", metavar="PATH",
                            help="also write what was read as an evidence snapshot (JSON, no secrets) for "
                                 "`xtcheck evaluate`; for an estate, PATH is a folder: one snapshot per target")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number of seconds")
    return value


# A sandbox estate's size (checks/sandbox/options.py holds the same bounds; the parser is built on every run, so it
# imports nothing of the sandbox, and a test keeps the two equal).
SMALLEST_ESTATE, LARGEST_ESTATE = 14, 10_000


def estate_size(text: str) -> int:
    """An estate's number of environments for --environments (demo, sandbox serve)."""
    if not text.strip().isdigit() or not SMALLEST_ESTATE <= int(text) <= LARGEST_ESTATE:
        raise argparse.ArgumentTypeError(f"{text[:20]!r}: give a whole number from {SMALLEST_ESTATE} (one environment "
                                         f"of each kind the sandbox estate has) to {LARGEST_ESTATE}")
    return int(text)


def _timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=_seconds, default=120.0, metavar="SECONDS",
                        help="reads not finished this long after the start become `error` findings, the reports are "
                             "still written (exit 3, or 1 if a check failed) (default: 120); how long one request "
                             "may take and how often it is retried is the config's http: section")


def _add_evaluate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = commands.add_parser(
        "evaluate", help="run the checks offline on a saved evidence snapshot",
        description="Verify a snapshot written by `xtcheck audit --save-evidence`, run the checks on it with the "
                    "run's own clock (no probe, no network) and report exactly as the audit did. A snapshot that "
                    "was changed after it was written is exit 2.",
        epilog="example:\n  xtcheck evaluate customer-evidence.json --format json --waivers waivers.yaml\n\n"
               + _EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluate.add_argument("snapshot", metavar="SNAPSHOT", help="the evidence snapshot (JSON)")
    evaluate.add_argument("--verify-key", metavar="FILE",
                          help="refuse the snapshot unless SNAPSHOT.sig verifies with this public key (PEM, or a "
                               "certificate): it is then, byte for byte, what the signer's run wrote")
    _report_options(evaluate)
    _gate_options(evaluate, save=False)


def _add_diff(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = commands.add_parser(
        "diff", help="what changed between two JSON reports (exit 1 on a regression)",
        description="Compare two JSON reports by check id and subject: findings that appeared, were resolved or "
                    "changed status. Exit 1 when something regressed (a new finding that is not a pass, or a "
                    "status that got worse: pass < skip < warn < error < fail) at or above --min-severity and "
                    "not under an applied waiver; 0 otherwise; 2 when a report cannot be read or is invalid.",
        epilog="example:\n  xtcheck diff baseline/xtcheck-report.json reports/xtcheck-report.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    diff.add_argument("old", metavar="OLD.json", help="the earlier report (the baseline)")
    diff.add_argument("new", metavar="NEW.json", help="the later report")
    diff.add_argument("--min-severity", choices=[s.value for s in Severity], default="info",
                      help="changes below this severity are listed but are not regressions (default: info)")
    diff.add_argument("--verify-key", metavar="FILE",
                      help="refuse either report unless its .sig verifies with this public key (PEM, or a certificate)")


def _add_explain(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain = commands.add_parser(
        "explain", help="what an AADSTS code, a sync error code or an alert text means, and the fix",
        description="Look up an Entra AADSTS code, a Dynamics sync error code or an alert text.",
        epilog='examples:\n  xtcheck explain AADSTS7000222\n  xtcheck explain 8005E272\n'
               '  xtcheck explain "Http server returned 401"', formatter_class=argparse.RawDescriptionHelpFormatter)
    explain.add_argument("query", nargs="+", metavar="CODE_OR_TEXT", help="a code or a piece of an alert text")


def _add_doctor(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser(
        "doctor", help="preflight: can each reader sign in, and does it hold what the checks need (and no more)",
        description="Sign in as each configured reader identity, list the roles its tokens carry, and compare them "
                    "with the permissions the selected checks declare: what is missing (with the grant command) and "
                    "what is excessive (any write permission). Exit 0 all good, 1 missing or excessive, 3 a sign-in "
                    "failed, 2 config error.",
        epilog="examples:\n  xtcheck doctor --config xtcheck.yaml\n"
               "  xtcheck doctor --config xtcheck.yaml --format json > doctor.json   # for a support ticket",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    doctor.add_argument("--config", required=True, metavar="FILE", help="the YAML or JSON config")
    doctor.add_argument("--format", choices=("console", "json"), default="console",
                        help="console (default), or one JSON document on stdout (no secret, no token in it)")
    doctor.add_argument("--only", metavar="IDS", help="compare with the permissions of these checks or areas only")
    doctor.add_argument("--skip", metavar="IDS", help="leave these checks or areas out of the comparison")
    _timeout_option(doctor)


def _report_options(parser: argparse.ArgumentParser) -> None:
    _output_options(parser)
    parser.add_argument("--fail-on", choices=("fail", "warn"), default="fail",
                        help="exit 1 on a fail (default), or also on a warn")
    parser.add_argument("--only", metavar="IDS", help="run only these checks or areas, e.g. APP-004,EXO")
    parser.add_argument("--skip", metavar="IDS", help="leave these checks or areas out, e.g. MBX")
    _loudness_options(parser)


def _output_options(parser: argparse.ArgumentParser) -> None:
    """Where the reports go, and how: every command that writes reports (audit, demo, evaluate, merge)."""
    parser.add_argument("--format", default="console", metavar="LIST",
                        help="comma-separated: console, json, junit, html, markdown, sarif, calendar (an .ics file "
                             "of the dates something will break) (the console report is printed unless a report goes "
                             "to stdout; default: console)")
    parser.add_argument("--output-dir", "--output", "-o", default="reports", metavar="DIR",
                        help="where the file reports are written (default: reports/); '-' writes the one file format "
                             "asked for to stdout, and nothing else goes there")
    parser.add_argument("--sign-key", metavar="FILE",
                        help="sign every file this run writes (reports, the evidence snapshot): FILE.sig beside each, "
                             "with this private key (PEM, Ed25519 or RSA; see README 'Signed evidence')")
    parser.add_argument("--sign-key-password", metavar="REF",
                        help="the signing key's password, as env:NAME or file:PATH (never inline)")
    parser.add_argument("--color", choices=COLOR_CHOICES, default="auto",
                        help="colour the console report: auto (default: on a terminal, unless NO_COLOR is set or "
                             "TERM=dumb; FORCE_COLOR turns it on), always, never")


def _loudness_options(parser: argparse.ArgumentParser) -> None:
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="count", default=0,
                          help="show every passing mailbox instead of a count")
    loudness.add_argument("-q", "--quiet", action="count", default=0,
                          help="print only what is not a pass, and the summary")


def _shard_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shard", metavar="I/N",
                        help="audit only the I-th of N shares of an estate's targets (chosen by each target's name, "
                             "the same on every machine); `xtcheck merge` joins the shares' JSON reports")


def _add_audit(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser(
        "audit", help="check the cross-tenant setup described by a config file (read-only)",
        description="Read the app registration, its consent in tenant B, the email server profile and the mailboxes, "
                    "and say condition by condition whether sync can work. Nothing is ever written. A config with "
                    "targets: (or dynamics.environments: all) audits an estate: every target at once, one report.",
        epilog="examples:\n  xtcheck audit --config xtcheck.yaml --format console,json,junit --fail-on warn\n"
               "  xtcheck audit --config estate.yaml --format html,calendar          # every environment\n"
               "  xtcheck audit --config estate.yaml --shard 2/4 --format json -q   # one machine of four\n\n"
               + _EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    audit.add_argument("--config", required=True, metavar="FILE", help="the YAML or JSON config (see README)")
    _report_options(audit)
    _gate_options(audit, save=True)
    _shard_option(audit)
    _timeout_option(audit)


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo", help="audit a built-in sandbox scenario: see xtcheck at work without a tenant",
        description="Start the local sandbox with a scenario, write a config for it, audit it and print the report.",
        epilog="examples:\n  xtcheck demo\n  xtcheck demo consent-missing\n  xtcheck demo --environments 20\n"
               "  xtcheck demo --list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("scenario", nargs="?", default="demo", metavar="SCENARIO",
                      help="a built-in scenario (default: demo, a setup with a few realistic problems)")
    demo.add_argument("--list", action="store_true", help="list the scenarios and exit")
    demo.add_argument("--environments", type=estate_size, metavar="N",
                      help="audit an estate instead: N sandbox environments over two Exchange tenants, found through "
                           "the Power Platform admin API as `dynamics.environments: all` finds them (try 20)")
    _report_options(demo)
    _gate_options(demo, save=True)
    _shard_option(demo)
    _timeout_option(demo)


def _add_merge(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    merge = commands.add_parser(
        "merge", help="join the JSON reports of an estate's shares (audit --shard I/N) into one report",
        description="Read the estate JSON reports that the machines of a CI matrix wrote with `xtcheck audit "
                    "--shard I/N --format json`, check they are shares of one estate (the same N, each share once, "
                    "no target twice), and report them as one run: console, files and exit code. A share that is "
                    "missing is named, and the estate is then incomplete: never exit 0.",
        epilog="example:\n  xtcheck merge shard-*/xtcheck-report.json --format html,junit --output-dir estate\n\n"
               + _EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    merge.add_argument("reports", nargs="+", metavar="REPORT.json", help="the shares' estate JSON reports")
    merge.add_argument("--verify-key", metavar="FILE",
                       help="refuse a report unless its .sig verifies with this public key (PEM, or a certificate)")
    _output_options(merge)
    _loudness_options(merge)
    merge.set_defaults(fail_on="fail", only=None, skip=None, min_severity="info", waivers=None, save_evidence=None)


def _add_checks(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    checks = commands.add_parser("checks", help="list the catalog: ids, severities, titles, permissions",
                                 description="The checks xtcheck runs, with the permissions each one needs.",
                                 epilog="examples:\n  xtcheck checks -v\n  xtcheck checks --permissions",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    shown = checks.add_mutually_exclusive_group()
    shown.add_argument("-v", "--verbose", action="store_true",
                       help="add each check's rationale, where it is defined, its permissions and references")
    shown.add_argument("--permissions", action="store_true",
                       help="print the least-privilege permission table (Markdown, as in the README)")
    shown.add_argument("--markdown", action="store_true",
                       help="print the catalog as a Markdown table (as in the README)")


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
    serve.add_argument("--graph-page-size", type=int, metavar="N",
                       help="cap on the rows of every Graph page, whatever $top asks; small values exercise paging "
                            "(default: no cap, Graph's own 100 per page, up to 999 with $top)")
    serve.add_argument("--mailboxes", type=int, metavar="N",
                       help="add N generated healthy mailboxes to the first environment (large-tenant tests)")
    serve.add_argument("--environments", type=estate_size, metavar="N",
                       help=f"serve an estate instead of --scenario: N environments ({SMALLEST_ESTATE} or more) of "
                            "tenant A over two tenants B, some broken on purpose (checks/sandbox/estate.py), and the "
                            "Power Platform admin API; the config written discovers them (dynamics.environments: "
                            "all); with --mailboxes, that many mailboxes per cross-tenant profile (default 3)")
    serve.add_argument("--targets", action="store_true",
                       help="with --environments: the config lists every cross-tenant profile under targets: "
                            "instead of discovering the environments")
    listing = actions.add_parser("list", help="list the built-in scenarios",
                                 description="List the built-in scenarios with what each one breaks.")
    listing.add_argument("--markdown", action="store_true", help="print a Markdown table (as in the README)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code. Whatever goes wrong ends in one line on stderr, never a traceback:
    an unexpected exception is EXIT_CRASH (4), its trace printed only with --debug."""
    open_closed_streams()
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(arguments)
    except KeyboardInterrupt:
        print("xtcheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `xtcheck ... | head`: the reader left; not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # the one place an unexpected failure becomes one line and an exit code of its own
        return crashed(exc, debug="--debug" in arguments)


def _main(arguments: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(arguments)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "completion":
        from .completion import script

        sys.stdout.write(script(parser, args.shell))
        return EXIT_OK
    from .memory import tune_for_large_runs

    tune_for_large_runs()
    return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    from . import commands, estate_commands, helpdesk

    environ = commands.environment
    handlers: dict[str, Callable[[], int]] = {
        "audit": lambda: commands.cmd_audit(args, environ()),
        "demo": lambda: commands.cmd_demo(args, environ()),
        "checks": lambda: helpdesk.cmd_checks(args),
        "explain": lambda: helpdesk.cmd_explain(args),
        "doctor": lambda: helpdesk.cmd_doctor(args, environ()),
        "evaluate": lambda: commands.cmd_evaluate(args, environ()),
        "diff": lambda: commands.cmd_diff(args),
        "merge": lambda: estate_commands.cmd_merge(args, environ()),
    }
    handler = handlers.get(args.command)
    if handler is not None:
        return handler()
    from .sandbox import cli as sandbox_cli

    return sandbox_cli.run(args)




def run() -> NoReturn:
    """The `xtcheck` command: `main`, then out without tearing the heap down object by object. Everything is
    written by then (report files are fsynced and closed, the terminal streams flushed below); the operating system
    takes the memory back at once, where Python's teardown would free the rows and findings of 100,000 mailboxes
    one at a time (half a second)."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing more can reach it anyway
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
