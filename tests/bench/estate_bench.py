"""The whole `xtcheck audit` of an estate (issue 15's targets: 500 targets of 100 mailboxes, 100 ms per request, all
formats, under 15 s and 500 MB), beside a hand-written minimal client making the same reads, and 5,000 targets.

Run: python tests/bench/estate_bench.py [--short] [--latency SECONDS] [--json FILE]
  --short   50 targets only (CI); the full run adds 500 and 5,000 and takes several minutes.
Prints figures beside the targets; asserts nothing about time. It fails only when a child process crashes or hangs.

The sandbox (checks/sandbox/estate.py: environments broken by index, two tenants B, `latency` on every request)
runs in this process; everything measured runs in a fresh child process (benchkit):
- xtcheck, the targets listed (`targets:`, the config the sandbox writes), `--format json`: wall, peak RSS,
  requests by service; beside it tests/bench/minimal_estate_client.py on the same config (the same reads: each
  environment's Dataverse reads, tenant B's once per tenant and app, one sign-in per identity and resource);
- the same with every format at once (json, junit, sarif, html, markdown, calendar): wall, peak RSS, file sizes;
- discovery (`dynamics.environments: all`): the Power Platform admin API lists the environments first;
- requests per target, and the reads the targets share (Graph, sign-ins): these must not grow with the targets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchkit import Child, close_launcher, render_figures, spawn, xtcheck

from checks.sandbox.estate import estate_scenario
from checks.sandbox.server import Sandbox

MINIMAL = Path(__file__).with_name("minimal_estate_client.py")
FORMATS = "json,junit,sarif,html,markdown,calendar"
VERDICTS = (0, 1, 3)
TARGET_WALL_S, TARGET_RSS_MB = 15.0, 500.0  # at 500 targets of 100 mailboxes, every format
BEGUN = time.monotonic()


@dataclass
class Run:
    """One child: its wall time, peak memory, exit code and what the sandbox saw, by service."""

    wall_s: float
    rss_mb: float
    exit: int
    requests: dict[str, int]

    @classmethod
    def of(cls, child: Child) -> Run:
        services = Counter(_service(entry.service) for entry in child.entries)
        return cls(round(child.wall_s, 2), round(child.rss_mb, 1), child.exit, dict(sorted(services.items())))

    @property
    def total(self) -> int:
        return sum(self.requests.values())


@dataclass
class Size:
    environments: int
    mailboxes: int
    targets: int = 0
    json_only: Run | None = None
    minimal: Run | None = None
    minimal_says: dict[str, Any] = field(default_factory=dict)
    all_formats: Run | None = None
    files: dict[str, int] = field(default_factory=dict)
    discovery: Run | None = None
    startup_s: float = 0.0
    html: dict[str, Any] = field(default_factory=dict)  # Chromium's time for the HTML report (up to 500 targets)


def _service(name: str) -> str:
    return "dataverse" if name.startswith("dataverse:") else name


def measure(environments: int, mailboxes: int, latency: float, workdir: Path, *, minimal: bool = True) -> Size:
    figures = Size(environments, mailboxes)
    progress(f"{environments:,} environments x {mailboxes} mailboxes: building the sandbox")
    began = time.monotonic()
    scenario = estate_scenario(environments, mailboxes=mailboxes, now=dt.datetime.now(dt.UTC).replace(microsecond=0))
    with Sandbox(scenario, latency=latency) as cloud:
        figures.startup_s = round(time.monotonic() - began, 1)
        listed = cloud.write_config(workdir / f"targets-{environments}.yaml", targets=True)
        found = cloud.write_config(workdir / f"discover-{environments}.yaml", estate=True)
        figures.targets = len(_yaml(listed)["targets"])
        out = workdir / f"json-{environments}"
        progress("xtcheck audit --format json")
        figures.json_only = Run.of(spawn(_audit(listed, out, "json"), workdir, cloud=cloud, ok=VERDICTS))
        if minimal:
            progress("the minimal client")
            child = spawn([sys.executable, str(MINIMAL), "--config", str(listed)], workdir, cloud=cloud)
            figures.minimal, figures.minimal_says = Run.of(child), child.last_line()
        progress(f"xtcheck audit --format {FORMATS}")
        every = workdir / f"all-{environments}"
        figures.all_formats = Run.of(spawn(_audit(listed, every, FORMATS), workdir, cloud=cloud, ok=VERDICTS))
        figures.files = {p.name: p.stat().st_size for p in sorted(every.iterdir())}
        if environments <= 500:
            progress("Chromium draws the HTML report")
            figures.html = render_figures(every / "xtcheck-report.html", workdir)
        progress("xtcheck audit, environments discovered")
        figures.discovery = Run.of(spawn(_audit(found, workdir / f"found-{environments}", "json"), workdir,
                                         cloud=cloud, ok=VERDICTS))
    return figures


def _audit(config: Path, outdir: Path, formats: str) -> list[str]:
    return [*xtcheck(), "audit", "--config", str(config), "--format", formats, "--output-dir", str(outdir), "-q",
            "--timeout", "3600"]  # the run deadline is not what is measured: 5,000 targets take minutes here


def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def progress(text: str) -> None:
    print(f"[{time.monotonic() - BEGUN:6.1f} s] {text}", file=sys.stderr, flush=True)


def report(sizes: list[Size], latency: float) -> None:
    print(f"\nEstate audit, {latency * 1000:.0f} ms added to every request; fresh processes (benchkit)\n")
    print("| environments | targets | mailboxes | xtcheck json | minimal client | ratio | all formats | peak memory "
          "(all formats) | discovery | requests (xtcheck / minimal) | per target | Graph + sign-ins |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in sizes:
        assert s.json_only and s.all_formats and s.discovery
        mini = f"{s.minimal.wall_s:.2f} s" if s.minimal else "not run"
        ratio = f"{s.json_only.wall_s / s.minimal.wall_s:.2f}" if s.minimal else "-"
        shared = s.json_only.requests.get("graph", 0) + s.json_only.requests.get("login", 0)
        print(f"| {s.environments:,} | {s.targets:,} | {s.mailboxes} per target | {s.json_only.wall_s:.2f} s | "
              f"{mini} | {ratio} | {s.all_formats.wall_s:.2f} s | {s.all_formats.rss_mb:.0f} MB | "
              f"{s.discovery.wall_s:.2f} s | {s.json_only.total:,} / {s.minimal.total if s.minimal else '-'} | "
              f"{s.json_only.total / max(s.targets, 1):.2f} | {shared} |")
    print()
    for s in sizes:
        assert s.json_only and s.discovery
        drawn = (f"; Chromium draws the HTML in {s.html['render_s']:.2f} s" if "render_s" in s.html
                 else f"; HTML: {s.html['note']}" if s.html else "")
        print(f"{s.environments:,} environments: sandbox up in {s.startup_s} s{drawn}; requests by service "
              f"{s.json_only.requests} (discovery adds {s.discovery.total - s.json_only.total:+,}: "
              f"{s.discovery.requests}); files {s.files}")
    target = next((s for s in sizes if s.environments == 500 and s.mailboxes == 100), None)
    if target is None or target.all_formats is None:
        print("\ntarget (500 targets x 100 mailboxes, all formats, < 15 s, < 500 MB): not measured (--short)")
        return
    wall, rss = target.all_formats.wall_s, target.all_formats.rss_mb
    met = "met" if wall < TARGET_WALL_S and rss < TARGET_RSS_MB else "NOT met"
    print(f"\ntarget (500 targets x 100 mailboxes, all formats, < {TARGET_WALL_S:.0f} s, < {TARGET_RSS_MB:.0f} MB): "
          f"{wall:.2f} s, {rss:.0f} MB: {met}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--short", action="store_true", help="50 environments only (CI)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every request (default 0.1)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    plan = [(50, 100)] if args.short else [(50, 100), (500, 100), (5000, 10)]
    sizes = []
    with tempfile.TemporaryDirectory(prefix="xtcheck-estate-bench-") as scratch:
        try:
            for environments, mailboxes in plan:
                sizes.append(measure(environments, mailboxes, args.latency, Path(scratch),
                                     minimal=environments <= 500))
        finally:
            close_launcher()
    report(sizes, args.latency)
    if args.json:
        args.json.write_text(json.dumps([asdict(s) for s in sizes], indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
