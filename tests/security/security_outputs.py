"""What a run shows the world, gathered for the security tests: stdout, stderr, what was logged (no logging is
configured, so records at WARNING or above reach stderr through logging.lastResort in a real run), and every file
it wrote."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from checks.cli import main
from checks.sandbox.server import Sandbox

ALL_FORMATS = "console,json,junit,html,markdown,sarif"
# A JWT (header.payload[.signature]); an access token is far longer than 100 characters.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){1,2}")


def secrets_of(cloud: Sandbox) -> list[str]:
    """Every secret the scenario knows: the apps' client secrets, the readers' secrets, the app secret the audit
    was given (a wrong one included)."""
    scenario = cloud.scenario
    values = [p["secret"] for a in scenario.get("applications", []) for p in a.get("passwordCredentials", [])]
    values += [r["secret"] for r in scenario.get("readers", []) if "secret" in r]
    given = scenario.get("audit", {}).get("appSecret")
    key_ids = {p.get("keyId") for a in scenario.get("applications", []) for p in a.get("passwordCredentials", [])}
    if given and given not in key_ids:  # a secret's id given for its value (app-secret-wrong) is public, not secret
        values.append(given)
    return [v for v in values if v]


# The libraries xtcheck calls that log: collected at every level, kept out of pytest's own log report (noise).
LOGGERS = ("msal", "httpx", "httpcore", "checks", "jwt", "urllib3", "jinja2")


class Records(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def every_log_record() -> Iterator[list[logging.LogRecord]]:
    """Every record the libraries log, at every level, while the block runs."""
    handler = Records()
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    try:
        yield handler.records
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


def run_cli(args: Sequence[str], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
            ) -> tuple[int, dict[str, str]]:
    """Run `xtcheck ARGS` in-process; the exit code and every text it produced, by where it went."""
    capsys.readouterr()
    caplog.clear()
    with every_log_record() as records:
        code = main(list(args))
    captured = capsys.readouterr()
    records = [*records, *caplog.records]  # other loggers, at WARNING and above
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    texts = {"stdout": captured.out, "stderr": captured.err,
             "stderr (logging)": "\n".join(formatter.format(r) for r in records if r.levelno >= logging.WARNING),
             "log records below WARNING": "\n".join(formatter.format(r) for r in records
                                                    if r.levelno < logging.WARNING)}
    return code, texts


def files_in(folder: Path) -> dict[str, str]:
    return {str(p): p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file()}


def audit_args(config: Path, out: Path, *extra: str, evidence: bool = True) -> list[str]:
    args = ["audit", "--config", str(config), "--format", ALL_FORMATS, "--output-dir", str(out), *extra]
    return [*args, "--save-evidence", str(out / "evidence.json")] if evidence else args


def assert_no_leak(texts: dict[str, str], secrets: Iterable[str]) -> None:
    """No secret (nor its first 12 characters) and no JWT-looking string longer than 100 characters anywhere."""
    for secret in secrets:
        for where, text in texts.items():
            assert secret not in text, f"a secret leaked into {where}"
            if len(secret) >= 16:
                assert secret[:12] not in text, f"the start of a secret leaked into {where}"
    for where, text in texts.items():
        tokens = [m.group() for m in JWT.finditer(text) if len(m.group()) > 100]
        assert tokens == [], f"an access token leaked into {where}: {tokens[0][:40]}..."


def report_of(out: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((out / "xtcheck-report.json").read_text(encoding="utf-8"))
    return report
