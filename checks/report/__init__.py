"""Reporters by format name, and writing the file formats atomically into the output folder.

`REPORTERS[name](findings, run, stream)` renders one file format from the findings or, shared by every format of a
run, their `Digest`; the console report has its own signature (colour, quiet, verbose) and lives in
`checks.report.console.render_console`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from ..errors import ConfigError, XtcheckError
from ..files import ensure_directory, write_atomic
from ..findings import Digest, as_digest
from ..model import Finding, Run
from .calendar import render_target_calendar
from .console import render_console
from .html import render_html
from .jsonreport import render_json
from .junit import render_junit
from .markdown import render_markdown
from .sarif import render_sarif

Reporter = Callable[[Digest | Iterable[Finding], Run, TextIO], None]


def render_code_scanning_sarif(findings: Digest | Iterable[Finding], run: Run, stream: TextIO) -> None:
    """SARIF as code-scanning services accept it: results anchored to the config file, and only the findings that
    need a person (a pass would become an alert there)."""
    render_sarif(findings, run, stream, artifact_uri=run.source or None, problems_only=True)


REPORTERS: dict[str, Reporter] = {"json": render_json, "junit": render_junit, "html": render_html,
                                  "markdown": render_markdown, "sarif": render_code_scanning_sarif,
                                  "calendar": render_target_calendar}
EXTENSIONS: dict[str, str] = {"json": "xtcheck-report.json", "junit": "xtcheck-junit.xml",
                              "html": "xtcheck-report.html", "markdown": "xtcheck-summary.md",
                              "sarif": "xtcheck.sarif", "calendar": "xtcheck-calendar.ics"}
CONSOLE = "console"

__all__ = ["CONSOLE", "EXTENSIONS", "REPORTERS", "Reporter", "render_console", "write_reports"]


def write_reports(findings: Digest | Iterable[Finding], run: Run, formats: Iterable[str],
                  output_dir: Path | str) -> list[Path]:
    """Write each file format in `formats` (console is skipped: it goes to the terminal) into `output_dir`, each from
    the same `Digest` of the findings.

    Returns the paths written, in the order asked. An unknown format is a ConfigError (exit 2) raised
    before anything is written; a folder that cannot be written is an XtcheckError with one line.
    """
    wanted = file_formats(formats)
    if not wanted:
        return []
    report = as_digest(findings)
    return write_files(wanted, output_dir, lambda name: _bound(REPORTERS[name], report, run))


def write_files(formats: Iterable[str], output_dir: Path | str,
                writer: Callable[[str], Callable[[TextIO], None]]) -> list[Path]:
    """Write each of `formats` (already checked) into `output_dir`, atomically, with `writer(format)`; the paths in
    that order. A folder that cannot be written is an XtcheckError of one line."""
    directory = Path(output_dir)
    try:
        ensure_directory(directory)
        paths = []
        for name in formats:
            path = directory / EXTENSIONS[name]
            write_atomic(path, writer(name))
            paths.append(path)
    except OSError as exc:
        raise XtcheckError(f"cannot write reports to {directory}: {reason(exc)}; choose another --output-dir") from exc
    return paths


def file_formats(formats: Iterable[str]) -> list[str]:
    wanted: list[str] = []
    for raw in formats:
        name = raw.strip().lower()
        if not name or name == CONSOLE or name in wanted:
            continue
        if name not in REPORTERS:
            known = ", ".join([CONSOLE, *sorted(REPORTERS)])
            raise ConfigError("--format", f"unknown report format {raw.strip()!r}; choose from {known}")
        wanted.append(name)
    return wanted


def _bound(reporter: Reporter, report: Digest, run: Run) -> Callable[[TextIO], None]:
    def render(stream: TextIO) -> None:
        reporter(report, run, stream)

    return render


def reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or type(exc).__name__).lower()
