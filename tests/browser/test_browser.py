"""The demo scenario's HTML report in a real browser (Debian's chromium, headless): it renders, prints and reads."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.audit import audit
from checks.config import load
from checks.gate import verdict
from checks.model import AuditResult
from checks.report.html import render_html
from checks.sandbox.scenario import load as load_scenario
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions

TIMEOUT = 60  # seconds per browser run: a hung chromium fails the test instead of the whole job
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars")
MISSING = "chromium is not installed (Debian: apt-get install -y chromium)"


@pytest.fixture(scope="module")
def chromium() -> str:
    """The browser. Missing, it skips these tests on a workstation; in CI (which installs it) each test fails."""
    path = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
    if not path and not os.environ.get("CI"):
        pytest.skip(f"{MISSING}; CI installs it and runs these tests")
    return path or ""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AuditResult, Path]]:
    """The demo scenario audited against the sandbox and rendered to an HTML file."""
    with Sandbox("demo") as cloud:
        result = audit(load(cloud.write_config(), RunOptions(), {}))
    page = tmp_path_factory.mktemp("report") / "xtcheck-report.html"
    with page.open("w", encoding="utf-8") as stream:
        render_html(result.findings, result.run, stream)
    yield result, page


def browse(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """One headless chromium run with a fresh profile; fails with chromium's own words when it does."""
    assert chromium, f"CI is set but {MISSING}: the CI script must install it"
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    try:
        done = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              timeout=TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"chromium did not finish within {TIMEOUT} s: {' '.join(args)}")
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_report_renders_as_a_screenshot(chromium: str, demo: tuple[AuditResult, Path], tmp_path: Path) -> None:
    _, page = demo
    shot = tmp_path / "report.png"
    browse(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri())
    data = shot.read_bytes()
    assert png_size(data) == (1280, 2400)
    assert len(data) > 20_000, "a blank page compresses to a few KB"


def test_the_report_prints_to_pdf(chromium: str, demo: tuple[AuditResult, Path], tmp_path: Path) -> None:
    _, page = demo
    pdf = tmp_path / "report.pdf"
    browse(chromium, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(data) > 10_000


def test_the_browser_reads_the_verdict_and_every_check(chromium: str, demo: tuple[AuditResult, Path],
                                                       tmp_path: Path) -> None:
    result, page = demo
    dom = browse(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout.decode()
    assert "</html>" in dom
    gated = [f for f in result.findings if not f.waived]
    assert f'class="verdict-word">{verdict(gated).value.upper()}<' in dom
    assert result.run.checks, "the demo ran no checks"
    missing = [check_id for check_id in result.run.check_ids if f'id="check-{check_id}"' not in dom]
    assert missing == []
    assert dom.count('class="node node-') == 5


LARGE = 10_000


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditResult, Path]:
    """The healthy scenario with 10,000 generated mailboxes, audited and rendered to an HTML file."""
    scenario = load_scenario("healthy", dt.datetime.now(dt.UTC))
    scenario["environments"][0]["generate"] = {"mailboxes": LARGE}
    with Sandbox(scenario) as cloud:
        result = audit(load(cloud.write_config(), RunOptions(), {}))
    page = tmp_path_factory.mktemp("large") / "xtcheck-report.html"
    with page.open("w", encoding="utf-8") as stream:
        render_html(result.findings, result.run, stream)
    return result, page


def test_a_report_of_ten_thousand_mailboxes_renders_with_every_mailbox_findable(
        chromium: str, large: tuple[AuditResult, Path], tmp_path: Path) -> None:
    result, page = large
    mailboxes = {f.subject for f in result.findings if f.check_id == "MBX-001"}
    assert len(mailboxes) > LARGE
    assert page.stat().st_size < 1_000_000  # a line per mailbox, not five articles
    shot = tmp_path / "large.png"
    browse(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri())
    assert png_size(shot.read_bytes()) == (1280, 2400)
    dom = browse(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout.decode()
    assert dom.count("<article") < 60  # the checks about single things; no element per passing mailbox
    listed = dom.split('id="passing-MBX"', 1)[1].split("</section>", 1)[0]
    assert all(address in listed for address in sorted(mailboxes)[::997])  # in the DOM: find in page reaches them
