"""What audit_bench.py runs its measurements with: fresh child processes timed and sized from the parent, a report
format written in a process of its own, and Chromium rendering a page."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.sandbox.requestlog import LogEntry
from checks.sandbox.server import Sandbox

# A user's xtcheck runs from cached bytecode; a CI image that sets PYTHONDONTWRITEBYTECODE would time the compiler
# instead (0.3 s on every command), so the children may write and use .pyc files.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CRASHED = "a child process crashed"
HUNG = "a child process hung"
HANG_S = 1800.0  # a child still running after this long is hung (the slowest, a 100,000-mailbox diff, takes minutes)

# One report format in a process of its own: evaluate the saved snapshot (untimed), then time write_reports.
# tune_for_large_runs is what every xtcheck command sets first (cli.main), so the writer meets the same collector.
FORMAT_CHILD = """
import json, resource, sys, time
from pathlib import Path
from checks import memory, report, settings, snapshot
memory.tune_for_large_runs()
def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
saved = snapshot.read(Path(sys.argv[1]))
result, _ = snapshot.evaluate(saved, settings.RunOptions())
before = rss_mb()
t0 = time.perf_counter()
paths = report.write_reports(result.findings, result.run, [sys.argv[2]], sys.argv[3])
write_s = time.perf_counter() - t0
print(json.dumps({"write_s": write_s, "bytes": sum(p.stat().st_size for p in paths), "rss_before_mb": before,
                  "rss_peak_mb": rss_mb()}))
"""


@dataclass(frozen=True)
class Child:
    """One finished child process, as its parent saw it."""

    argv: list[str]
    wall_s: float  # spawn to exit, on the parent's monotonic clock
    exit: int
    rss_mb: float  # the child's own ru_maxrss (os.wait4 in the Launcher), interpreter and libraries included
    stdout: str
    stderr: str
    entries: list[LogEntry]  # what the sandbox saw while it ran (empty without a sandbox)
    spawned: float  # time.monotonic() just before the spawn (system-wide: the sandbox's clock too)

    @property
    def first_request_s(self) -> float | None:
        """From the spawn to the first request the sandbox saw (needs LogEntry.started)."""
        arrivals = [e.started for e in self.entries if e.started > 0]
        return min(arrivals) - self.spawned if arrivals else None

    def last_line(self) -> dict[str, Any]:
        lines = self.stdout.strip().splitlines()
        loaded: dict[str, Any] = json.loads(lines[-1])
        return loaded


class Launcher:
    """Starts every measured child from a small process of its own and reports its ru_maxrss and times.

    On Linux a child's ru_maxrss starts at the peak RSS of the process that spawned it (the high-water mark of the
    address space it replaced at exec): spawned from this bench, which has held a 100,000-mailbox sandbox, every
    child would count the bench's memory as its own. The launcher is a fresh interpreter that stays small."""

    SCRIPT = """
import json, os, subprocess, sys, threading, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["stdout"], "wb") as out, open(job["stderr"], "wb") as err:
        spawned = time.monotonic()
        process = subprocess.Popen(job["argv"], stdout=out, stderr=err, cwd=job["cwd"])
        watchdog = threading.Timer(job["hang"], process.kill)
        watchdog.start()
        _, status, usage = os.wait4(process.pid, 0)
        ended = time.monotonic()
        watchdog.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    print(json.dumps({"spawned": spawned, "ended": ended, "exit": process.returncode, "rss_kb": usage.ru_maxrss,
                      "hung": ended - spawned >= job["hang"]}), flush=True)
"""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=CHILD_ENV)

    def run(self, argv: list[str], cwd: Path, out: Path, err: Path, hang: float) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        job = {"argv": argv, "cwd": str(cwd), "stdout": str(out), "stderr": str(err), "hang": hang}
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        reply: dict[str, Any] = json.loads(self.process.stdout.readline())
        return reply

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


_launcher: list[Launcher] = []  # started at the first spawn, before any sandbox grows this process


def close_launcher() -> None:
    while _launcher:
        _launcher.pop().close()


def spawn(argv: list[str], cwd: Path, *, cloud: Sandbox | None = None, ok: tuple[int, ...] = (0,),
          hang: float = HANG_S) -> Child:
    """Run `argv` to its end in a fresh process; SystemExit (the bench's only failure) when it exits otherwise, or
    is still running after `hang` seconds (then it is killed: a hung child, not a slow one)."""
    if not _launcher:
        _launcher.append(Launcher())
    with tempfile.TemporaryDirectory() as scratch:
        out, err = Path(scratch) / "stdout", Path(scratch) / "stderr"
        if cloud is not None:
            cloud.log.clear()
        done = _launcher[0].run(argv, cwd, out, err, hang)
        child = Child(argv, done["ended"] - done["spawned"], done["exit"], done["rss_kb"] / 1024,
                      out.read_text(errors="replace"), err.read_text(errors="replace"),
                      cloud.log.entries() if cloud else [], done["spawned"])
    if done["hung"]:
        raise SystemExit(f"{HUNG}: {' '.join(argv)} was still running after {hang:.0f} s")
    if child.exit not in ok:
        raise SystemExit(f"{CRASHED}: {' '.join(argv)} exited {child.exit}\n{child.stderr[-3000:]}")
    return child


def xtcheck() -> list[str]:
    script = Path(sys.executable).with_name("xtcheck")
    return [str(script)] if script.exists() else [sys.executable, "-m", "checks.cli"]


def best_of(times: int, argv: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> float:
    return min(spawn(argv, cwd, ok=ok).wall_s for _ in range(times))


def write_format(snapshot: Path, fmt: str, outdir: Path) -> dict[str, float]:
    """{"write_s", "bytes", "rss_before_mb" (after evaluating), "rss_peak_mb"} of one format written in its own
    process from the saved snapshot."""
    child = spawn([sys.executable, "-c", FORMAT_CHILD, str(snapshot), fmt, str(outdir)], outdir.parent)
    figures: dict[str, float] = child.last_line()
    return figures


def chromium() -> str | None:
    found = Path("/usr/bin/chromium")
    return str(found) if found.exists() else shutil.which("chromium")


def render_s(browser: str, page: Path, scratch: Path, timeout: float = 600) -> float | None:
    """Headless Chromium's wall time to load `page` and write a screenshot of it; None when it wrote none."""
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=scratch))
    shot = profile.with_suffix(".png")
    argv = [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
            f"--screenshot={shot}", "--window-size=1280,2000", page.resolve().as_uri()]
    started = time.monotonic()
    try:
        subprocess.run(argv, capture_output=True, timeout=timeout, check=False, env=CHILD_ENV)
    except subprocess.TimeoutExpired:
        return None
    wall = time.monotonic() - started
    return wall if shot.exists() and shot.stat().st_size > 0 else None


def render_figures(page: Path, scratch: Path) -> dict[str, Any]:
    """{"render_s": the page's time beyond a tiny page's (browser start-up excluded), "page_s", "baseline_s"}, or
    {"note": why not measured}."""
    browser = chromium()
    if browser is None:
        return {"note": "skipped: chromium is not installed"}
    tiny = scratch / "tiny.html"
    tiny.write_text("<!doctype html><title>tiny</title><p>tiny page", encoding="utf-8")
    baselines = [render_s(browser, tiny, scratch, 120) for _ in range(2)]  # the first also warms the disk cache
    page_s = render_s(browser, page, scratch)
    if page_s is None or None in baselines:
        return {"note": "chromium wrote no screenshot (crashed or timed out)"}
    baseline = min(b for b in baselines if b is not None)
    return {"render_s": page_s - baseline, "page_s": page_s, "baseline_s": baseline}
