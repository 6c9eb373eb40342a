"""The README's generated tables and samples: each is the output of real xtcheck commands between two markers, never
typed by hand.

Run `python tests/readme_tables.py` after changing a check, a probe's permissions, a scenario or what a command
prints: it rewrites every marked block from its commands. tests/test_cli.py only compares.

The samples run against the sandbox, whose scenarios are dated from today: every date a sample prints is moved to
the same distance from SAMPLE_DAY, so "expired on 2026-11-24 (2 days ago)" reads the same whatever the day the
sample is made (and the test compares it)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"
SAMPLE_DAY = dt.date(2026, 11, 26)  # the day the README's samples are shown as of
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}Z)?\b")
_SANDBOX = re.compile(r"https://127\.0\.0\.1:\d+")

# marker name -> the command whose output goes between <!-- name:start --> and <!-- name:end -->
SECTIONS = {
    "checks": ("checks", "--markdown"),
    "permissions": ("checks", "--permissions"),
    "scenarios": ("sandbox", "list", "--markdown"),
}


def xtcheck(*args: str) -> tuple[int, str]:
    """Run `xtcheck ARGS` in this process: its exit code and what it printed on stdout."""
    from checks.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(args))
    return code, out.getvalue()


def as_of_sample_day(text: str, today: dt.date | None = None) -> str:
    """`text` with every date moved by the days between today and SAMPLE_DAY (a run's clock time shown as 06:00),
    and the sandbox's ports, which change from run to run, numbered from 8441 in the order they appear."""
    shift = SAMPLE_DAY - (today or dt.datetime.now(dt.UTC).date())

    def moved(match: re.Match[str]) -> str:
        day = dt.date.fromisoformat(match.group(1)) + shift
        return day.isoformat() + ("T06:00:00Z" if match.group(2) else "")

    ports: dict[str, str] = {}
    return _SANDBOX.sub(lambda m: ports.setdefault(m.group(), f"https://127.0.0.1:{8441 + len(ports)}"),
                        _DATE.sub(moved, text))


def sample(*commands: str) -> str:
    """A code block: each command line (`$ xtcheck ...`) and what it printed."""
    return "```\n" + "".join(commands) + "```\n"


def demo_sample() -> str:
    args = ("demo", "-q", "--only", "EXO-005,MBX-006")
    return sample(f"$ xtcheck {' '.join(args)}\n{xtcheck(*args, '--color', 'never')[1]}")


def explain_sample() -> str:
    query = "Http server returned 401"
    return sample(f'$ xtcheck explain "{query}"\n{xtcheck("explain", query)[1]}')


def diagnose_sample() -> str:
    args = ("demo", "secrets-expired", "-q", "--only", "APP-004,EXO-003")
    return sample(f"$ xtcheck {' '.join(args)}\n{as_of_sample_day(xtcheck(*args, '--color', 'never')[1])}")


def waiver_sample() -> str:
    """The demo with the waiver file the README shows, its dates as far from today as the file's from SAMPLE_DAY."""
    today = dt.datetime.now(dt.UTC).date()
    until = today + (dt.date(2027, 1, 31) - SAMPLE_DAY)
    with tempfile.TemporaryDirectory() as folder:
        waivers = Path(folder) / "waivers.yaml"
        waivers.write_text(
            "waivers:\n"
            "  - {check: GRA-001, subject: app 9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e, reason: Graph roles are granted "
            f"with the EWS migration (CHG-1234), owner: it-ops@contoso.com, expires: {until}}}\n"
            "  - {check: MBX-004, subject: '*@contoso.com', reason: the Sales queue mailbox is being retired, "
            f"owner: crm-team@contoso.com, expires: {until}, fingerprint: '{'0' * 64}'}}\n"
            "  - {check: MBX-002, subject: '*@fabrikam.com', reason: Fabrikam mailboxes move in March, "
            f"owner: crm-team@contoso.com, expires: {until}}}\n", encoding="utf-8")
        _, out = xtcheck("demo", "-q", "--only", "GRA-001,MBX-004", "--waivers", str(waivers), "--color", "never")
    return sample("$ xtcheck demo -q --only GRA-001,MBX-004 --waivers waivers.yaml\n", as_of_sample_day(out, today))


def diff_sample() -> str:
    """Yesterday's healthy report against today's with the secrets expired."""
    with tempfile.TemporaryDirectory() as folder:
        base, now = Path(folder) / "baseline", Path(folder) / "reports"
        xtcheck("demo", "healthy", "-q", "--format", "json", "--output-dir", str(base))
        xtcheck("demo", "secrets-expired", "-q", "--format", "json", "--output-dir", str(now))
        _, out = xtcheck("diff", str(base / "xtcheck-report.json"), str(now / "xtcheck-report.json"))
        out = out.replace(str(base / "xtcheck-report.json"), "baseline.json")
        out = out.replace(str(now / "xtcheck-report.json"), "reports/xtcheck-report.json")
    return sample("$ xtcheck diff baseline.json reports/xtcheck-report.json\n", as_of_sample_day(out))


SAMPLES: dict[str, Callable[[], str]] = {
    "demo-sample": demo_sample, "explain-sample": explain_sample, "diagnose-sample": diagnose_sample,
    "waiver-sample": waiver_sample, "diff-sample": diff_sample,
}
NAMES = (*SECTIONS, *SAMPLES)


def generated(name: str) -> str:
    """What the commands for `name` print, as the README holds it."""
    if name in SAMPLES:
        return SAMPLES[name]()
    code, out = xtcheck(*SECTIONS[name])
    if code != 0:
        raise RuntimeError(f"xtcheck {' '.join(SECTIONS[name])} exited {code}")
    return out


def in_readme(name: str, text: str | None = None) -> str:
    """The block between the markers for `name` in the README (or in `text`)."""
    readme = README.read_text(encoding="utf-8") if text is None else text
    return readme.split(f"<!-- {name}:start -->\n")[1].split(f"<!-- {name}:end -->")[0]


def refresh() -> list[str]:
    """Rewrite every marked block from its commands; the names of those that changed."""
    text = README.read_text(encoding="utf-8")
    changed = []
    for name in NAMES:
        old, new = in_readme(name, text), generated(name)
        if old != new:
            text = text.replace(f"<!-- {name}:start -->\n{old}", f"<!-- {name}:start -->\n{new}")
            changed.append(name)
    README.write_text(text, encoding="utf-8")
    return changed


if __name__ == "__main__":
    sys.path.insert(0, str(README.parent))
    names = refresh()
    print(f"README: refreshed {', '.join(names)}" if names else "README: every generated block is up to date")
