"""The estate side of `audit` and `demo` (a config of `targets:` or `dynamics.environments: all`), and `merge`:
waivers applied and the gate decided per target, then one console report, one set of files and one exit code for
the estate."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .audit import DEFAULT_TIMEOUT
from .errors import ConfigError, XtcheckError
from .exits import EXIT_ERROR, EXIT_USAGE
from .gate import decide
from .model import AuditResult, EstateResult, TargetResult
from .progress import ProgressLine
from .runflags import load_waivers, run_options, sign, signing_key, verifier
from .settings import EstateSettings, RunOptions, Settings, TargetSpec
from .terminal import line_width, use_color

SARIF_RUNS_GITHUB_TAKES = 20  # "Runs per file: 20" (GitHub Docs, SARIF results exceed limits)

if TYPE_CHECKING:
    from .report.estate import EstateReport
    from .signing import SigningKey
    from .waivers import Waiver


def report_estate(estate: EstateSettings, environ: Mapping[str, str], *,
                  timeout: float | None = DEFAULT_TIMEOUT) -> int:
    """Audit every target of `estate` at once, print the estate's console report, write its files (and, with
    --save-evidence, one snapshot per target in that folder); the exit code is the worst across the targets."""
    from .estate import audit_estate

    options = estate.shared.run
    try:
        waivers = load_waivers(options)
        key = signing_key(options, environ)
        keep = _evidence_keeper(options.save_evidence)
    except XtcheckError as exc:
        print(f"xtcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    progress = ProgressLine.for_stream(sys.stderr, quiet=options.verbosity < 0)
    try:
        result = audit_estate(estate, timeout=timeout, progress=progress, shard=options.shard, keep=keep)
    except ConfigError as exc:
        print(f"xtcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except XtcheckError as exc:  # tenant A's environments could not be listed: nothing was audited
        print(f"xtcheck: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if progress is not None:
            progress.close()
    code = present_estate(result, options, waivers, environ, key)
    if keep is not None:
        written = keep.written
        if options.verbosity >= 0 and written:
            print(f"wrote {len(written)} evidence snapshot{'s' if len(written) != 1 else ''} in "
                  f"{options.save_evidence}", file=sys.stderr)
        try:
            sign(written, key, options)
        except XtcheckError as exc:
            print(f"xtcheck: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if keep.failed:
            print(f"xtcheck: {keep.failed}", file=sys.stderr)
            return EXIT_USAGE
    return code


def present_estate(result: EstateResult, options: RunOptions, waivers: Sequence[Waiver],
                   environ: Mapping[str, str], key: SigningKey | None = None) -> int:
    """Each target's waivers and gate, then the estate shown; the exit code."""
    from .report.estate import as_estate_report

    estate = as_estate_report(judged(result, options, waivers, dt.datetime.now(dt.UTC).date()))
    return show_estate(estate, options, environ, key)


def show_estate(estate: EstateReport, options: RunOptions, environ: Mapping[str, str],
                key: SigningKey | None) -> int:
    """The console report, the GitHub step summary and the files of an estate (a run's or a merge's); the exit
    code."""
    from .report.estate import estate_gate
    from .report.estate_console import render_estate_console

    if not options.to_stdout:
        render_estate_console(estate, sys.stdout, color=use_color(options.color, sys.stdout, environ),
                              quiet=options.verbosity < 0, verbose=options.verbosity > 0,
                              width=line_width(sys.stdout, environ))
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        from .files import shown
        from .report.estate_markdown import write_estate_step_summary

        try:
            write_estate_step_summary(estate, Path(summary))
        except OSError as exc:
            print(f"xtcheck: cannot append to GITHUB_STEP_SUMMARY ({shown(summary)}): "
                  f"{exc.strerror or type(exc).__name__}; the job summary was not written", file=sys.stderr)
    return write_estate_files(estate, options, key) or estate_gate(estate).exit_code


def judged(result: EstateResult, options: RunOptions, waivers: Sequence[Waiver], today: dt.date) -> EstateResult:
    """The estate with each target's waivers applied (a waiver may name a target) and its gate decided."""
    from .waivers import apply as apply_waivers

    targets = []
    for item in result.targets:
        findings, unused = apply_waivers(item.findings, waivers, today, target=item.target.name)
        gate = decide(findings, options.fail_on, options.min_severity)
        targets.append(TargetResult(item.target, findings,
                                    dataclasses.replace(item.run, unused_waivers=unused, gate=gate)))
    return dataclasses.replace(result, targets=targets)


def write_estate_files(estate: EstateReport, options: RunOptions, key: SigningKey | None) -> int | None:
    """The file reports (or the one asked for on stdout); EXIT_USAGE when they cannot be written, else None."""

    formats = [f for f in options.formats if f != "console"]
    if not formats:
        return None
    from .report.estate_files import ESTATE_REPORTERS, write_estate_reports

    if options.to_stdout:
        ESTATE_REPORTERS[formats[0]](estate, sys.stdout)
        return None
    try:
        paths = write_estate_reports(estate, formats, options.output_dir)
        if options.verbosity >= 0:
            for path in paths:
                print(f"wrote {path}", file=sys.stderr)
        if "sarif" in formats and len(estate.targets) > SARIF_RUNS_GITHUB_TAKES:
            print(f"xtcheck: note: xtcheck.sarif has a run per target ({len(estate.targets):,}); GitHub code scanning "
                  f"takes at most {SARIF_RUNS_GITHUB_TAKES} runs in one file: upload the SARIF of shares of at most "
                  f"{SARIF_RUNS_GITHUB_TAKES} targets (--shard I/N)", file=sys.stderr)
        sign(paths, key, options)
    except XtcheckError as exc:
        print(f"xtcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return None


class _EvidenceKeeper:
    """Writes each target's evidence snapshot as soon as its audit ends (so an estate's evidence is never all in
    memory at once), one file per target in the --save-evidence folder, each one `xtcheck evaluate` reads."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[Path] = []
        self.failed = ""

    def __call__(self, spec: TargetSpec, settings: Settings, result: AuditResult) -> None:
        from . import snapshot

        path = self.folder / snapshot_name(spec.name)
        try:
            snapshot.save(result, settings, path)
        except XtcheckError as exc:
            self.failed = self.failed or str(exc)
            return
        self.written.append(path)


def _evidence_keeper(folder: Path | None) -> _EvidenceKeeper | None:
    if folder is None:
        return None
    if folder.exists() and not folder.is_dir():
        raise ConfigError("--save-evidence", f"{folder} is a file; an estate's evidence is one snapshot per target: "
                                             "name a folder")
    return _EvidenceKeeper(folder)


def snapshot_name(target: str) -> str:
    """A file name for a target's snapshot: readable, safe on every file system, and unique (the name's hash)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", target).strip("-.")[:60] or "target"
    return f"{readable}-{hashlib.sha256(target.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}.json"


def cmd_merge(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Join the shares' JSON reports (`audit --shard I/N`) into one estate report: console, files, exit code."""
    from .merge import merge_reports

    try:
        options = run_options(args)
        key = signing_key(options, environ)
        estate = merge_reports([Path(p) for p in args.reports], verifier(args))
    except XtcheckError as exc:
        print(f"xtcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return show_estate(estate, options, environ, key)
