"""The commands that answer questions rather than audit: the catalog (`xtcheck checks`), `explain`, and the `doctor`
preflight of the reader identities."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, registry
from .audit import DEFAULT_TIMEOUT
from .commands import environment
from .config import load
from .errors import ConfigError, XtcheckError
from .exits import EXIT_USAGE
from .model import CheckSpec
from .settings import RunOptions, Settings
from .terminal import line_width
from .text import json_visible, one_line, visible, visible_line

if TYPE_CHECKING:
    from .doctor import IdentityReport

_INDENT = " " * 10  # under the title, past "APP-001  high      "


def cmd_checks(args: argparse.Namespace) -> int:
    catalog, _ = registry.load()
    if args.permissions:
        print(permission_table())
        return 0
    if args.markdown:
        print(check_table())
        return 0
    for spec in sorted(catalog.values(), key=lambda c: c.id):
        print(f"{spec.id}  {spec.severity:<8}  {spec.title}")
        if args.verbose:
            _describe(spec)
    return 0


def _describe(spec: CheckSpec) -> None:
    """A check's rationale, where it lives, what it guards and needs, each paragraph indented under its title and
    wrapped to the terminal (110 columns into a file or a pipe)."""
    width = line_width(sys.stdout, environment()) or 110
    for paragraph in spec.rationale.split("\n\n"):
        print(textwrap.fill(" ".join(paragraph.split()), width=width, initial_indent=_INDENT,
                            subsequent_indent=_INDENT))
    print(f"{_INDENT}guards the {spec.link} link; defined in {spec.func.__module__.replace('.', '/')}.py")
    for permission in spec.permissions:
        print(f"{_INDENT}needs {permission.service} {permission.name} in {permission.where}")
    for reference in spec.references:
        print(f"{_INDENT}see {reference}")


def check_table() -> str:
    """The catalog as Markdown, for the README: every check with what it reads (generated, never written by hand)."""
    catalog, _ = registry.load()
    rows = ["| id | passes when | severity | link | reads with |", "|---|---|---|---|---|"]
    for spec in sorted(catalog.values(), key=lambda c: c.id):
        reads = ", ".join(dict.fromkeys(f"`{p.name.split(' ', 1)[0]}`" for p in spec.permissions)) or "no permission"
        rows.append(f"| {spec.id} | {spec.title} | {spec.severity} | {spec.link} | {reads} |")
    return "\n".join(rows)


def cmd_explain(args: argparse.Namespace) -> int:
    from . import knowledge

    query = " ".join(args.query).strip()
    entry = knowledge.lookup(query)
    if entry is None:
        suggestions = knowledge.near(query[:_ECHOED * 10])  # a pasted log is matched by its start, not its megabytes
        print(f"xtcheck: nothing known about {_echo(query)}", file=sys.stderr)
        if suggestions:
            print(f"did you mean: {', '.join(suggestions)}", file=sys.stderr)
        return EXIT_USAGE  # not a verdict: 1 means a check failed
    print(knowledge.render(entry))
    return 0


_ECHOED = 80  # characters of what the user typed that a message repeats


def _echo(text: str) -> str:
    """What the user typed, as a message may repeat it: one visible line, cut after _ECHOED characters."""
    shown = visible_line(text[:_ECHOED])
    return repr(shown) + (f" (and {len(text) - _ECHOED:,} more characters)" if len(text) > _ECHOED else "")


def permission_table() -> str:
    """Least privilege per tenant, generated from what the checks and their probes declare (README embeds it)."""
    catalog, _ = registry.load()
    needed: dict[tuple[str, str, str, bool], set[str]] = {}
    for spec in catalog.values():
        for p in spec.permissions:
            needed.setdefault((p.where, p.service, p.name, p.optional), set()).add(spec.id)
    rows = ["| where | service | permission | needed by |", "|---|---|---|---|"]
    for (where, service, name, optional), ids in sorted(needed.items()):
        skips = f" (optional: without it {_and(sorted(ids))} skip)" if optional else ""
        rows.append(f"| {where} | {service} | `{name}`{skips} | {', '.join(sorted(ids))} |")
    return "\n".join(rows)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def cmd_doctor(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Preflight: can each reader sign in, and do its tokens carry what the selected checks need (and no more)?
    Every request ends by the command's deadline (`--timeout` where the parser offers it, else the audit's default),
    and every line is escaped: roles, errors and ids come from servers."""
    from .doctor import examine, grant_commands

    deadline = time.monotonic() + float(getattr(args, "timeout", DEFAULT_TIMEOUT))
    try:
        settings = load(Path(args.config), doctor_options(args), environ)
        exchange = _exchange_tenant_id(settings, deadline)
    except (ConfigError, XtcheckError) as exc:
        print(f"xtcheck: {_shown(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    reports = examine(settings, exchange, deadline=deadline)
    code = 3 if any(not r.signed_in for r in reports) else 1 if any(r.missing or r.excessive for r in reports) else 0
    if args.format == "json":
        document = {"tool": {"name": "xtcheck", "version": __version__}, "exchange_tenant": exchange,
                    "readers": [_reader(report, exchange, settings) for report in reports], "exit_code": code}
        sys.stdout.write(json_visible(json.dumps(document, indent=2, ensure_ascii=False)) + "\n")
        return code
    for report in reports:
        credential = report.credential
        _say(f"reader {credential.client_id} in {report.tenant_label} ({credential.tenant_id}), {credential.key}")
        if not report.signed_in:
            _say(f"  cannot sign in: {report.error}")
            continue
        _say(f"  carries    {', '.join(report.carried) or 'no roles'}")
        for role, ids in sorted(report.needed.items()):
            _say(f"  needs      {role} for {', '.join(sorted(set(ids)))}")
        for role in report.missing:
            _say(f"  MISSING    {role}")
        for command in grant_commands(report, exchange, settings.cloud.login):
            _say(f"             {command}")
        for role in report.excessive:
            _say(f"  EXCESSIVE  {role}: a write permission; xtcheck only reads, remove it from this identity")
        for note in report.notes:
            _say(f"  note       {note}")
    return code


def doctor_options(args: argparse.Namespace) -> RunOptions:
    """What doctor honours: the checks whose permissions it compares with (--only, --skip)."""
    if args.only is not None and not _ids(args.only):
        raise ConfigError("--only", "no check id given; name ids or area prefixes, such as --only MBX-004,APP")
    return RunOptions(only=frozenset(_ids(args.only)), skip=frozenset(_ids(args.skip)))


def _ids(text: str | None) -> list[str]:
    return [i.strip().upper() for i in (text or "").split(",") if i.strip()]


def _reader(report: IdentityReport, exchange: str, settings: Settings) -> dict[str, Any]:
    """One reader identity as doctor's JSON shows it (what the console shows, as data)."""
    from .doctor import grant_commands

    credential = report.credential
    return {"client_id": credential.client_id, "tenant_id": credential.tenant_id, "tenant": report.tenant_label,
            "credential": credential.key, "signed_in": report.signed_in, "error": report.error or None,
            "carries": list(report.carried),
            "needs": {role: sorted(set(ids)) for role, ids in sorted(report.needed.items())},
            "missing": report.missing, "excessive": report.excessive,
            "grant_commands": grant_commands(report, exchange, settings.cloud.login), "notes": report.notes}


def _shown(text: str) -> str:
    """Server text (roles, error descriptions, ids) as one line of visible characters: no escape sequence, no line
    break that could start a forged line (a `::error::` workflow command, a fake verdict)."""
    return one_line(visible(text))


def _say(line: str) -> None:
    """One line of doctor's report on stdout; each begins with our own words, so server text never starts a line."""
    print(_shown(line))


def _exchange_tenant_id(settings: Settings, deadline: float) -> str:
    import re

    if re.fullmatch(r"[0-9a-f-]{36}", settings.exchange_tenant):
        return settings.exchange_tenant
    from .http.apis import Apis
    from .http.auth import Tokens
    from .http.client import Http
    from .probes.discovery import exchange_tenant_discovery

    http = Http(settings.cloud.login, settings.ca_bundle, options=settings.http, graph_origin=settings.cloud.graph,
                run_deadline=deadline)
    try:
        found = exchange_tenant_discovery(settings, Apis(settings, http, Tokens(settings, http)))
    finally:
        http.close()
    if not found.get("tenant_id"):
        raise ConfigError("exchange.tenant_id", f"{settings.exchange_tenant} is not a tenant in this cloud")
    return str(found["tenant_id"])
