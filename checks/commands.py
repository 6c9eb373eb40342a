"""The audit-side commands: `audit`, `demo`, `evaluate`, `diff` and `checks` (argparse in cli.py hands over here)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import gc
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .audit import DEFAULT_TIMEOUT, audit
from .config import load_any
from .errors import ConfigError, XtcheckError
from .exits import EXIT_USAGE
from .files import shown
from .findings import Digest
from .gate import decide
from .model import AuditResult
from .progress import ProgressLine
from .runflags import chatter, load_waivers, run_options, sign, signing_key, snapshot_file, verifier
from .settings import EstateSettings, Settings
from .terminal import line_width, use_color
from .text import visible_line

if TYPE_CHECKING:  # the reporters and the waiver schema load after the audit's reads, not before its first request
    from .signing import SigningKey
    from .waivers import Waiver


def cmd_audit(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    try:
        loaded = load_any(Path(args.config), run_options(args), environ)
    except ConfigError as exc:
        print(f"xtcheck: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return audit_loaded(loaded, environ, timeout=args.timeout)


def audit_loaded(loaded: Settings | EstateSettings, environ: Mapping[str, str], *,
                 timeout: float | None = DEFAULT_TIMEOUT) -> int:
    """One target's audit, or an estate's."""
    if isinstance(loaded, EstateSettings):
        from .estate_commands import report_estate

        return report_estate(loaded, environ, timeout=timeout)
    if loaded.run.shard is not None:
        print("xtcheck: config error: --shard: shares an estate's targets, and this config names one environment "
              "(dynamics.environment_url); list targets: or use dynamics.environments: all", file=sys.stderr)
        return EXIT_USAGE
    return report(loaded, environ, timeout=timeout)


def report(settings: Settings, environ: Mapping[str, str], *, timeout: float | None = DEFAULT_TIMEOUT) -> int:
    """Run the audit (reads unfinished after `timeout` seconds become `error` findings), print the console report,
    write the file reports and the evidence snapshot; the exit code follows the findings. On a terminal, a progress
    line on stderr says what is being read meanwhile (not with -q)."""
    try:
        waivers = load_waivers(settings.run)
        key = signing_key(settings.run, environ)
        snapshot_file(settings.run.save_evidence)
    except XtcheckError as exc:
        print(f"xtcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    progress = ProgressLine.for_stream(sys.stderr, quiet=settings.run.verbosity < 0)
    try:
        result = audit(settings, timeout=timeout, progress=progress)
    except ConfigError as exc:
        print(f"xtcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if progress is not None:
            progress.close()
    code = present(result, settings, waivers, environ, key)
    if settings.run.save_evidence is not None:
        from . import snapshot

        try:
            snapshot.save(result, settings, settings.run.save_evidence)
            if settings.run.verbosity >= 0:
                print(f"wrote {settings.run.save_evidence}", file=sys.stderr)  # stdout is the report alone
            sign([settings.run.save_evidence], key, settings.run)
        except XtcheckError as exc:
            print(f"xtcheck: {exc}", file=sys.stderr)
            return EXIT_USAGE
    return code


def present(result: AuditResult, settings: Settings, waivers: Sequence[Waiver], environ: Mapping[str, str],
            key: SigningKey | None = None) -> int:
    """Apply the waivers, print the console report, write the file reports, and return the exit code."""
    from .report.console import render_console
    from .waivers import apply as apply_waivers

    findings, unused = apply_waivers(result.findings, waivers, dt.datetime.now(dt.UTC).date())
    result = dataclasses.replace(result, findings=findings,
                                 run=dataclasses.replace(result.run, unused_waivers=unused))
    options = settings.run
    report = Digest.of(result.findings)  # sorted once, shared by every format
    decision = decide(report.full, options.fail_on, options.min_severity)  # a pass never gates
    result = dataclasses.replace(result, run=dataclasses.replace(result.run, gate=decision))
    if not options.to_stdout:  # with `--output -`, stdout is the one report asked for
        render_console(report, result.run, sys.stdout, color=use_color(options.color, sys.stdout, environ),
                       quiet=options.verbosity < 0, verbose=options.verbosity > 0,
                       width=line_width(sys.stdout, environ))
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary:  # a GitHub Actions job: the Markdown summary goes on the run's page
        from .report.markdown import write_step_summary

        try:
            write_step_summary(report, result.run, Path(summary))
        except OSError as exc:  # a warning: the verdict and the exit code stand without the job summary
            print(f"xtcheck: cannot append to GITHUB_STEP_SUMMARY ({shown(summary)}): "
                  f"{exc.strerror or type(exc).__name__}; the job summary was not written", file=sys.stderr)
    return _write_files(result, report, settings, key) or decision.exit_code


def _write_files(result: AuditResult, report: Digest, settings: Settings, key: SigningKey | None = None
                 ) -> int | None:
    """Write the file reports (or the one asked for to stdout); EXIT_USAGE when they cannot be written, else None."""
    formats = [f for f in settings.run.formats if f != "console"]
    if formats and settings.run.to_stdout:
        from .report import REPORTERS

        REPORTERS[formats[0]](report, result.run, sys.stdout)
        return None
    if formats:
        from .report import write_reports

        try:
            paths = write_reports(report, result.run, formats, settings.run.output_dir)
        except XtcheckError as exc:
            print(f"xtcheck: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if settings.run.verbosity >= 0:
            for path in paths:
                print(f"wrote {path}", file=sys.stderr)  # stdout is the report alone, its last line the gate
        try:
            sign(paths, key, settings.run)
        except XtcheckError as exc:
            print(f"xtcheck: {exc}", file=sys.stderr)
            return EXIT_USAGE
    return None


def cmd_evaluate(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Offline: the checks on a saved snapshot, reported exactly as an audit is; no probe, no network."""
    from . import snapshot

    try:
        options = run_options(args)
        waivers = load_waivers(options)
        key = signing_key(options, environ)
        with collector_paused():
            saved = snapshot.read(Path(args.snapshot), verifier(args))
            result, settings = snapshot.evaluate(saved, options)
    except XtcheckError as exc:
        print(f"xtcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if options.verbosity >= 0:
        tool = saved["tool"]
        print(visible_line(f"xtcheck evaluate: evidence read by {tool['name']} {tool['version']} at {saved['now']}, "
                           "evaluated offline") + "\n", file=chatter(options))
    try:
        return present(result, settings, waivers, environ, key)
    finally:
        gc.unfreeze()  # (in process, as tests run it, the collector sees everything again)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cycle collection while a snapshot is parsed and judged, and what that made then frozen out of the
    collector's sight (gc.freeze): millions of rows and findings that live until the command ends and hold no
    cycles, which every collection would otherwise walk again (a tenth of an evaluate of 100,000 mailboxes); the
    command unfreezes them when it is done. An audit leaves the collector alone: httpx's responses are cycles, each
    holding a page of up to 5,000 rows."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def cmd_diff(args: argparse.Namespace) -> int:
    """What changed between two JSON reports (single-target or estate); exit 1 on a regression at or above the
    floor."""
    from . import drift, estate_drift

    try:
        verify = verifier(args)
        old, new = estate_drift.read_either(Path(args.old), verify), estate_drift.read_either(Path(args.new), verify)
        problem = estate_drift.mixed(old, new, (args.old, args.new))
        if problem is not None:
            raise problem
    except XtcheckError as exc:
        print(f"xtcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if estate_drift.is_estate(old):
        estates = estate_drift.compare_estates(old, new, args.min_severity)
        labels = (f"{args.old} ({old['estate']['started']})", f"{args.new} ({new['estate']['started']})")
        print("\n".join(estate_drift.render_estate(estates, *labels)))
        return 1 if estates.regressions else 0
    changes = drift.compare(old, new, args.min_severity)
    labels = (f"{args.old} ({old['run']['started']})", f"{args.new} ({new['run']['started']})")
    print("\n".join(drift.render(changes, *labels)))
    return 1 if changes.regressions else 0


def cmd_demo(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from .sandbox.scenario import ScenarioError, builtin_names, load_raw
    from .sandbox.server import Sandbox

    if args.list:
        for name in builtin_names():
            print(f"{name:30} {load_raw(name)['summary']}")
        return 0
    environments = getattr(args, "environments", None)
    try:
        options = run_options(args)
        if environments is not None and args.scenario != "demo":
            raise ConfigError("--environments", f"builds an estate of its own; it does not combine with the scenario "
                                                f"{args.scenario[:40]!r}: give one or the other")
        cloud = Sandbox(environments=environments) if environments is not None else Sandbox(args.scenario)
    except (ConfigError, ScenarioError) as exc:
        print(f"xtcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with cloud:
        if options.verbosity >= 0:
            what = (f"an estate of {environments} environment{'s' if environments != 1 else ''}"
                    if environments is not None else f"the sandbox scenario '{args.scenario}'")
            print(f"xtcheck demo: auditing {what} — {cloud.scenario['summary']}\n", file=chatter(options))
        return audit_loaded(load_any(cloud.write_config(), options, {}), environ, timeout=args.timeout)


def environment() -> Mapping[str, str]:
    """The process environment: read here, at the edge, and nowhere else."""
    return os.environ
