"""The whole `xtcheck audit` command against a hand-written minimal client, and what its reports cost, for 1,000 to
100,000 mailboxes.

Run: python tests/bench/audit_bench.py [--short] [--latency SECONDS] [--json FILE]
  --short   1,000 and 10,000 mailboxes only (CI); the full run adds 100,000 and takes a few minutes.
  --json    also write every figure to FILE (the README's table is generated from it).
Prints figures beside the targets; asserts nothing about time (tests assert behaviour, benchmarks measure). It fails
only when a child process crashes (or hangs for half an hour).

The sandbox (healthy scenario + generated mailboxes, its cross-tenant profile named in the config, `latency` added to
every request) runs in this process; everything measured runs in a fresh child process, from cached bytecode:
- xtcheck vs minimal, per size: `xtcheck audit --config X --format json --output-dir D -q` and
  tests/bench/minimal_client.py (the same reads, each started as soon as its inputs are known, nothing judged),
  alternated, 3 runs each at 1,000 and 10,000 (medians), 1 at 100,000:
  - wall: spawn to exit on the system's monotonic clock (interpreter start, imports, every read, for xtcheck also
    the checks and the JSON report); ratio: xtcheck's wall / the minimal client's;
  - first request: spawn to the first request the sandbox saw (LogEntry.started, the same clock);
  - requests: what the sandbox's request log saw; peak RSS: the child's ru_maxrss (benchkit.Launcher);
  - the requests one side made and the other did not (the last run of each), and which mailbox query the minimal
    client used (by the profile's name, or by its id when the sandbox refuses the navigation filter).
- JSON report: its size per size, and bytes per passing mailbox = (size at 10,000 - size at 1,000) / 9,000.
- per format (json, junit, sarif, html, markdown) at 10,000 (and 100,000): in a process of its own, the snapshot of
  an untimed `audit --save-evidence` run is read and evaluated (checks.snapshot), then
  checks.report.write_reports(findings, run, [format], dir) is timed: write time, file size, the process's peak RSS
  before writing and after (interpreter, evaluated findings and the writer together).
- the whole command with all five formats at once at the largest size: wall and peak RSS.
- the HTML report of that run: its size, and Chromium's time to load it and take a screenshot beyond its time for a
  tiny page (so browser start-up is not counted); skipped with a note without chromium.
- `xtcheck diff` of two reports of the largest size (the all-format run's and `xtcheck evaluate`'s of the snapshot);
  `xtcheck evaluate SNAPSHOT --format json -q` of the largest size (best of 3); `xtcheck --version` (best of 5).
- targets: met / NOT met, or not measured (a 100,000 target in --short).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchkit import Child, best_of, close_launcher, render_figures, spawn, write_format, xtcheck
from figures_text import print_figures

from checks.sandbox.requestlog import LogEntry
from checks.sandbox.scenario import load
from checks.sandbox.server import Sandbox

MINIMAL = Path(__file__).with_name("minimal_client.py")
FORMATS = ("json", "junit", "sarif", "html", "markdown")
VERDICTS = (0, 1, 3)  # exit codes that are an audit's verdict, not a crash
BEGUN = time.monotonic()


@dataclass(frozen=True)
class Sample:
    """One run of one side."""

    wall_s: float
    requests: int
    first_request_s: float | None
    rss_mb: float
    exit: int

    @classmethod
    def of(cls, child: Child) -> Sample:
        return cls(child.wall_s, len(child.entries), child.first_request_s, child.rss_mb, child.exit)


@dataclass
class SizeFigures:
    """xtcheck and the minimal client at one number of mailboxes."""

    mailboxes: int
    xtcheck: list[Sample] = field(default_factory=list)
    minimal: list[Sample] = field(default_factory=list)
    minimal_says: dict[str, Any] = field(default_factory=dict)  # the minimal client's own JSON line (last run)
    report_bytes: int = 0
    only_xtcheck: list[str] = field(default_factory=list)  # requests the other side did not make, counted
    only_minimal: list[str] = field(default_factory=list)

    medians: dict[str, dict[str, float | None]] = field(default_factory=dict)  # side -> Sample field -> median
    ratio: float = 0.0  # xtcheck's median wall / the minimal client's

    def summarize(self) -> None:
        for side in ("xtcheck", "minimal"):
            samples: list[Sample] = getattr(self, side)
            self.medians[side] = {name: median([getattr(s, name) for s in samples])
                                  for name in ("wall_s", "first_request_s", "requests", "rss_mb")}
        self.ratio = (self.medians["xtcheck"]["wall_s"] or 0) / (self.medians["minimal"]["wall_s"] or 1)


def median(values: list[Any]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


@dataclass
class Figures:
    """Everything the bench measured; --json writes it as is."""

    latency: float
    short: bool
    cpus: int | None = os.cpu_count()
    python: str = sys.version.split()[0]
    sizes: list[SizeFigures] = field(default_factory=list)
    formats: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # mailboxes -> format -> figures
    all_formats: dict[str, Any] = field(default_factory=dict)
    html: dict[str, Any] = field(default_factory=dict)
    diff: dict[str, Any] = field(default_factory=dict)
    evaluate: dict[str, Any] = field(default_factory=dict)
    version_s: float = 0.0
    targets: list[dict[str, Any]] = field(default_factory=list)


def scenario(mailboxes: int) -> dict[str, Any]:
    """The healthy scenario with `mailboxes` generated, and its cross-tenant profile named (dynamics.profile), so
    that a client can start the mailbox query without reading the profiles first."""
    data = load("healthy", dt.datetime.now(dt.UTC))
    environment = data["environments"][0]
    environment["generate"] = {"mailboxes": mailboxes}
    data["audit"]["profile"] = next(p["name"] for p in environment["emailserverprofiles"]
                                    if p.get("oauthclientid") == data["audit"]["clientId"])
    return data


def audit_argv(config: Path, outdir: Path, formats: str = "json", *extra: str) -> list[str]:
    return [*xtcheck(), "audit", "--config", str(config), "--format", formats, "--output-dir", str(outdir), "-q",
            *extra]


def differences(mine: list[LogEntry], theirs: list[LogEntry], names: dict[str, str]) -> list[str]:
    """The requests in `mine` and not in `theirs`, counted, as 'N x service METHOD status path'."""
    def key(entry: LogEntry) -> str:
        path = entry.path
        for tenant, name in names.items():
            path = path.replace(tenant, name)
        return f"{entry.service.split(':')[0]} {entry.method} {entry.status} {path}"

    extra = Counter(map(key, mine)) - Counter(map(key, theirs))
    return [f"{count} x {request}" for request, count in sorted(extra.items())]


def compare(size: int, cloud: Sandbox, config: Path, workdir: Path) -> SizeFigures:
    """xtcheck and the minimal client, alternated: 3 runs each up to 10,000 mailboxes, 1 above."""
    figures = SizeFigures(size)
    outdir = workdir / f"audit-{size}"
    xt = mini = None
    for _ in range(3 if size <= 10_000 else 1):
        xt = spawn(audit_argv(config, outdir), workdir, cloud=cloud, ok=VERDICTS)
        figures.xtcheck.append(Sample.of(xt))
        mini = spawn([sys.executable, str(MINIMAL), "--config", str(config)], workdir, cloud=cloud)
        figures.minimal.append(Sample.of(mini))
    assert xt is not None and mini is not None
    figures.minimal_says = mini.last_line()
    figures.report_bytes = (outdir / "xtcheck-report.json").stat().st_size
    names = {cloud.tenant("A").id: "{A}", cloud.tenant("B").id: "{B}"}
    figures.only_xtcheck = differences(xt.entries, mini.entries, names)
    figures.only_minimal = differences(mini.entries, xt.entries, names)
    figures.summarize()
    return figures


def measure_size(size: int, figures: Figures, workdir: Path, *, deep: bool, largest: bool) -> Path | None:
    """Everything that needs the sandbox at this size; returns the saved snapshot when `deep`."""
    progress(f"{size:,} mailboxes: building the sandbox")
    with Sandbox(scenario(size), latency=figures.latency) as cloud:
        config = cloud.write_config(workdir / f"xtcheck-{size}.yaml")
        progress(f"{size:,} mailboxes: xtcheck audit vs the minimal client")
        figures.sizes.append(compare(size, cloud, config, workdir))
        snapshot = None
        if deep:
            snapshot = workdir / f"evidence-{size}.json"
            spawn(audit_argv(config, workdir / f"saved-{size}", "json", "--save-evidence", str(snapshot)), workdir,
                  ok=VERDICTS)
        if largest:
            progress(f"{size:,} mailboxes: the whole command with every format")
            outdir = workdir / f"all-{size}"
            child = spawn(audit_argv(config, outdir, ",".join(FORMATS)), workdir, ok=VERDICTS)
            figures.all_formats = {"mailboxes": size, "wall_s": child.wall_s, "rss_mb": child.rss_mb,
                                   "exit": child.exit, "bytes": {p.name: p.stat().st_size for p in outdir.iterdir()}}
    return snapshot


def measure_formats(size: int, snapshot: Path, figures: Figures, workdir: Path) -> None:
    progress(f"{size:,} mailboxes: each report format in its own process")
    figures.formats[str(size)] = {fmt: write_format(snapshot, fmt, workdir / f"format-{size}-{fmt}")
                                  for fmt in FORMATS}


def measure_offline(size: int, snapshot: Path, figures: Figures, workdir: Path) -> None:
    """The largest size's HTML in Chromium, `evaluate` of its snapshot, and `diff` of two of its reports."""
    outdir = workdir / f"all-{size}"
    progress(f"{size:,} mailboxes: Chromium, evaluate, diff")
    html = outdir / "xtcheck-report.html"
    figures.html = {"mailboxes": size, "bytes": html.stat().st_size, **render_figures(html, workdir)}
    evaluated = workdir / f"evaluate-{size}"
    argv = [*xtcheck(), "evaluate", str(snapshot), "--format", "json", "-q", "--output-dir", str(evaluated)]
    figures.evaluate = {"mailboxes": size, "best_s": best_of(3, argv, workdir, VERDICTS),
                        "snapshot_bytes": snapshot.stat().st_size}
    diff = spawn([*xtcheck(), "diff", str(outdir / "xtcheck-report.json"), str(evaluated / "xtcheck-report.json")],
                 workdir, ok=(0, 1))
    figures.diff = {"mailboxes": size, "wall_s": diff.wall_s, "exit": diff.exit}


def progress(message: str) -> None:
    print(f"[bench {time.monotonic() - BEGUN:5.0f}s] {message}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--short", action="store_true", help="1,000 and 10,000 mailboxes only (CI)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every request (default 0.1)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE as JSON")
    args = parser.parse_args()
    sizes = [1_000, 10_000] if args.short else [1_000, 10_000, 100_000]
    figures = Figures(args.latency, args.short)
    workdir = Path(tempfile.mkdtemp(prefix="xtcheck-bench-"))
    try:
        figures.version_s = best_of(5, [*xtcheck(), "--version"], workdir)
        snapshots = {}
        for size in sizes:
            snapshot = measure_size(size, figures, workdir, deep=size >= 10_000, largest=size == sizes[-1])
            if snapshot is not None:
                snapshots[size] = snapshot
        for size, snapshot in snapshots.items():
            measure_formats(size, snapshot, figures, workdir)
        measure_offline(sizes[-1], snapshots[sizes[-1]], figures, workdir)
        figures.targets = print_figures(figures)
        if args.json:
            args.json.write_text(json.dumps(asdict(figures), indent=1) + "\n", encoding="utf-8")
    finally:
        close_launcher()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
