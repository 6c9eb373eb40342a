"""Evidence snapshots (schemas/evidence.schema.json): what an audit read, saved without secrets and sealed with a
digest, and the same checks evaluated offline on it, with no probe and no network."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn, TextIO

import jsonschema

import schemas

from . import __version__, registry
from .documents import brief, describe
from .engine import run
from .errors import AuthError, InputError, NotFound, PermissionDenied, ProbeError, Throttled, XtcheckError
from .evidence import SEEDS, Evidence
from .facts import completeness, run_ids
from .files import DOCUMENT_LIMIT, decode_text, ensure_directory, read_bytes, shown, write_atomic
from .findings import jsonable
from .model import Attestation, AuditResult, Run
from .parsing import TOO_DEEP, TooDeep, load_json
from .redact import redact, redact_data
from .registry import ProbeSpec, select
from .settings import Cloud, Credential, RunOptions, Settings, Thresholds
from .text import json_visible

SCHEMA_VERSION = "2"  # 2: row lists written as tables (see `_table`); "1" is still read
# The exception types a failed read may have; a saved failure is raised again as the same type.
_PROBE_ERRORS: dict[str, type[ProbeError]] = {cls.__name__: cls for cls in
                                              (ProbeError, PermissionDenied, NotFound, Throttled)}
FAILURE_TYPES = (*_PROBE_ERRORS, AuthError.__name__)


Verify = Callable[[bytes, Path], None]  # raises when the bytes read from the path are not what was signed


class SnapshotError(XtcheckError):
    """A snapshot that cannot be read, was changed after it was written, or breaks its schema (exit 2)."""


def document(result: AuditResult, settings: Settings) -> dict[str, Any]:
    """The snapshot as plain data, unsealed: what `save` writes before its `sha256`."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "xtcheck", "version": __version__},
        "created": _iso(dt.datetime.now(dt.UTC)),
        "settings": settings_view(settings),
        "now": _iso(result.evidence["now"]),
        "evidence": {name: _table(value) for name, value in sorted(result.evidence.items())
                     if name not in SEEDS and not _derived(name)},
        "failures": {name: _failure(exc) for name, exc in sorted(result.failures.items())},
        "run": _run(result.run),
    }


def save(result: AuditResult, settings: Settings, path: Path) -> None:
    """Write the snapshot atomically, a row at a time, as its canonical JSON with the `sha256` of that text last;
    an OSError becomes one line for the operator."""
    def render(stream: TextIO) -> None:
        seal = hashlib.sha256()
        pieces = canonical_pieces(document(result, settings))
        closing = next(pieces)
        for piece in pieces:  # one piece behind: the body's closing brace is sealed, then the seal goes before it
            stream.write(closing)
            seal.update(closing.encode("utf-8"))
            closing = piece
        seal.update(closing.encode("utf-8"))
        stream.write(f',"sha256":"{seal.hexdigest()}"}}\n')

    try:
        ensure_directory(path.parent)
        write_atomic(path, render)
    except OSError as exc:
        raise SnapshotError(f"cannot write the evidence snapshot to {path}: "
                            f"{(exc.strerror or type(exc).__name__).lower()}") from exc


def canonical_pieces(value: Any, depth: int = 0) -> Iterator[str]:
    """The canonical JSON of `value` (see `digest`) in pieces: the containers of the first levels are walked, and
    below them each value (one mailbox row, say) is encoded whole, so no piece is larger than one row."""
    if depth < _WALKED and isinstance(value, Mapping):
        items = sorted(((k if type(k) is str else str(jsonable(k)), v) for k, v in value.items()), key=_key)
        yield "{"
        for index, (key, item) in enumerate(items):
            yield ("," if index else "") + _redacted(key) + ":"
            yield from canonical_pieces(item, depth + 1)
        yield "}"
    elif depth < _WALKED and isinstance(value, (list, tuple, _TableRows)):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from canonical_pieces(item, depth + 1)
        yield "]"
    else:
        yield _redacted(value)


def _redacted(value: Any) -> str:
    """The canonical JSON of a value from outside with secrets and tokens redacted (a server may have echoed one into
    what was read). The text is looked at first, one pass per row; only when it holds something is the value itself
    redacted and encoded again, so the JSON stays whole whatever the secret's escaping."""
    text = _canonical(value)
    return text if redact(text) == text else _canonical(redact_data(value))


_WALKED = 6  # body -> evidence -> mailboxes -> rows -> table -> values -> (each row whole)


def _key(item: tuple[str, Any]) -> str:
    return item[0]  # (never the values: two keys that read the same must not compare what they hold)


def _canonical(value: Any) -> str:
    return json_visible(json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def digest(body: dict[str, Any]) -> str:
    """SHA-256 of the body's canonical JSON: keys sorted, no spaces, UTF-8, and the characters no file should hold
    raw (lone surrogates, bidirectional overrides, line separators) written as \\u escapes."""
    return hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()


def read(path: Path, verify: Verify | None = None) -> dict[str, Any]:
    """The snapshot at `path`, its digest verified first and then its schema; with `verify` (checks/signing.py), its
    signature first of all, on the very bytes that are then parsed."""
    raw, data = _parse(path, "snapshot", verify)
    name = shown(path)
    if not isinstance(data, dict) or not isinstance(data.get("sha256"), str):
        raise SnapshotError(f"{name} is not an xtcheck evidence snapshot (it has no sha256); write one with "
                            "`xtcheck audit --save-evidence FILE`")
    if not _sealed_as_written(raw, data["sha256"]) and \
            digest({k: v for k, v in data.items() if k != "sha256"}) != data["sha256"]:
        raise SnapshotError(f"{name}: the snapshot was changed after it was written (its sha256 does not match)")
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schemas.load("evidence")).iter_errors(data))
    if error is not None:
        key, problem = describe(error, brief)
        raise SnapshotError(f"{name} is not a valid evidence snapshot at {key or '(top level)'}: {problem}")
    try:
        data["evidence"] = {name: _untable(value) for name, value in data["evidence"].items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"{name} is not a valid evidence snapshot: a table of rows is malformed ({exc})") from None
    return data


def _parse(path: Path, what: str, verify: Verify | None = None) -> tuple[bytes, Any]:
    """The file's bytes and its JSON: a regular file within DOCUMENT_LIMIT, UTF-8 or UTF-16 text, nested at most
    MAX_DEPTH deep; anything else is one SnapshotError."""
    name = shown(path)
    try:
        raw = read_bytes(path, what, DOCUMENT_LIMIT)
        if verify is not None:
            verify(raw, path)
        return raw, load_json(decode_text(raw, f"the {what} {name}"))
    except InputError as exc:
        raise SnapshotError(str(exc)) from None
    except TooDeep:
        raise SnapshotError(f"{name} is not an xtcheck evidence snapshot: it {TOO_DEEP}") from None
    except ValueError as exc:
        raise SnapshotError(f"{name} is not an xtcheck evidence snapshot: not JSON ({exc})") from None


def _table(value: Any) -> Any:
    """A probe result whose `rows` all have the same columns (a Dataverse or Graph page does), with the rows written
    as one table: the column names once, then each row's values in their order. For 100,000 mailboxes the names
    were two thirds of the file; a file a third the size reads three times as fast."""
    rows = value.get("rows") if isinstance(value, Mapping) else None
    if not isinstance(rows, list) or len(rows) < 2 or not all(isinstance(row, Mapping) for row in rows):
        return value
    columns = sorted(rows[0])
    if any(row.keys() != rows[0].keys() for row in rows):
        return value  # a row with other columns: kept as read
    return {**value, "rows": {"table": {"columns": columns, "values": _TableRows(rows, columns)}}}


class _TableRows:
    """A table's values, each row's list made as it is written: a list of them all would be a second copy of
    100,000 rows in memory while the snapshot is saved."""

    def __init__(self, rows: list[Mapping[str, Any]], columns: list[str]) -> None:
        self.rows, self.columns = rows, columns

    def __iter__(self) -> Iterator[list[Any]]:
        return ([row[c] for c in self.columns] for row in self.rows)


def _untable(value: Any) -> Any:
    """The probe result with its rows as read (the inverse of `_table`)."""
    rows = value.get("rows") if isinstance(value, dict) else None
    if not isinstance(rows, dict) or set(rows) != {"table"}:
        return value
    columns, values = rows["table"]["columns"], rows["table"]["values"]
    if any(len(row) != len(columns) for row in values):
        raise ValueError(f"a row has other than the {len(columns)} columns named")
    return {**value, "rows": [dict(zip(columns, row)) for row in values]}  # noqa: B905 (lengths checked above)


def _sealed_as_written(raw: bytes, sha256: str) -> bool:
    """Whether `raw` is the canonical body followed by its seal, as `save` writes it: then hashing the bytes is the
    whole check, with no re-encoding of 100,000 rows. Any other layout (pretty-printed by a tool, say) is checked
    the slow way, on the parsed data."""
    tail = f',"sha256":"{sha256}"}}'.encode()
    end = len(raw)
    while raw[end - 1:end] == b"\n":  # (no rstrip: that would copy 100 MB)
        end -= 1
    if raw[end - len(tail):end] != tail:
        return False
    seal = hashlib.sha256(memoryview(raw)[:end - len(tail)])
    seal.update(b"}")
    return seal.hexdigest() == sha256


def evaluate(snapshot: dict[str, Any], options: RunOptions) -> tuple[AuditResult, Settings]:
    """Run the checks on the saved evidence: the snapshot's checks (or --only/--skip), its clock, its failures."""
    settings = rebuild_settings(snapshot["settings"], options)
    catalog, probes = registry.load()
    saved, values = snapshot["run"], snapshot["evidence"]
    only = options.only or frozenset(c for c in saved["checks"] if c in catalog)
    checks = select(catalog, only, options.skip)
    errors = {name: _exception(failure) for name, failure in snapshot["failures"].items()}
    # What was read comes from the snapshot; what is derived from it without a read is derived again.
    offline = {name: spec if _derived(name) else _absent(name, spec.what) for name, spec in probes.items()
               if name not in values and name not in errors}
    seeds = {**values, "settings": settings, "thresholds": settings.thresholds,
             "now": dt.datetime.fromisoformat(snapshot["now"])}
    evidence = Evidence(offline, seeds, errors)
    findings = run(checks, evidence, lambda collected: run_ids(settings, collected))
    meta = Run(
        tool_version=__version__, started=saved["started"], finished=saved["finished"],
        environment_url=saved["environment_url"], dynamics_tenant=saved["dynamics_tenant"],
        exchange_tenant=saved["exchange_tenant"], client_id=saved["client_id"], profile=saved["profile"],
        cloud=saved["cloud"], checks=tuple(sorted(checks, key=lambda c: c.id)), names=dict(saved["names"]),
        completeness=completeness(evidence.collected()),
        attestation=_attestation(saved["attestation"]),
    )
    return AuditResult(findings, meta, evidence.collected(), evidence.failures()), settings


def settings_view(settings: Settings) -> dict[str, Any]:
    """What the checks read from Settings, and no secret: only whether one was configured, and of what kind."""
    return {
        "environment_url": settings.environment_url,
        "dynamics_tenant": settings.dynamics_tenant,
        "exchange_tenant": settings.exchange_tenant,
        "cloud": dataclasses.asdict(settings.cloud),
        "profile": settings.profile,
        "client_id": settings.client_id,
        "mailboxes": settings.mailboxes if settings.mailboxes == "all" else list(settings.mailboxes),
        "thresholds": dataclasses.asdict(settings.thresholds),
        "org_config_export": settings.org_config_export.as_posix() if settings.org_config_export else None,
        "exchange_admin_api": settings.exchange_admin_api,
        "app_secret_configured": settings.app_secret is not None,
        "credentials": [{"tenant_id": c.tenant_id, "client_id": c.client_id,
                         "kind": c.kind}
                        for c in settings.credentials],
    }


def rebuild_settings(view: dict[str, Any], options: RunOptions) -> Settings:
    """A real Settings from the saved view: no secrets, no certificates (the checks read ids, thresholds, scope)."""
    mailboxes = view["mailboxes"]
    return Settings(
        environment_url=view["environment_url"], dynamics_tenant=view["dynamics_tenant"],
        exchange_tenant=view["exchange_tenant"], cloud=Cloud(**view["cloud"]),
        credentials=tuple(Credential(f"credentials[{i}]", c["tenant_id"], c["client_id"])
                          for i, c in enumerate(view["credentials"])),
        profile=view["profile"], client_id=view["client_id"],
        mailboxes=mailboxes if mailboxes == "all" else tuple(mailboxes),
        org_config_export=Path(view["org_config_export"]) if view["org_config_export"] else None,
        exchange_admin_api=view["exchange_admin_api"], thresholds=Thresholds(**view["thresholds"]), run=options,
    )


def _failure(exc: XtcheckError) -> dict[str, Any]:
    kind = next(cls.__name__ for cls in type(exc).__mro__ if cls.__name__ in FAILURE_TYPES)
    return {"type": kind, "message": str(exc), "status": getattr(exc, "status", None),
            "code": getattr(exc, "code", None)}


def _exception(failure: dict[str, Any]) -> XtcheckError:
    if failure["type"] == AuthError.__name__:
        return AuthError(failure["message"], code=failure["code"])
    return _PROBE_ERRORS[failure["type"]](failure["message"], status=failure["status"], code=failure["code"] or "")


def _derived(name: str) -> bool:
    """Evidence a probe derives from other evidence without reading anything (it is not given the `apis`)."""
    spec = registry.PROBES.get(name)
    return spec is not None and "apis" not in spec.params


def _absent(name: str, what: str) -> ProbeSpec:
    def read() -> NoReturn:
        raise ProbeError(f"{what} (\"{name}\") is not in the snapshot (the run that wrote it did not read it)")

    return ProbeSpec(name, read, (), what=what)


def _run(meta: Run) -> dict[str, Any]:
    """The run metadata that rebuilds the report header (the tool version is the snapshot's `tool`)."""
    attestation = meta.attestation
    return {
        "started": meta.started, "finished": meta.finished, "environment_url": meta.environment_url,
        "dynamics_tenant": meta.dynamics_tenant, "exchange_tenant": meta.exchange_tenant,
        "client_id": meta.client_id, "profile": meta.profile, "cloud": meta.cloud, "checks": meta.check_ids,
        "names": dict(sorted(meta.names.items())), "completeness": list(meta.completeness),
        "attestation": {"requests": dict(sorted(attestation.requests.items())),
                        "writes_attempted": attestation.writes_attempted,
                        "token_roles": {k: sorted(v) for k, v in sorted(attestation.token_roles.items())},
                        "live_probe": {k: sorted(v) for k, v in sorted(attestation.live_probe.items())}},
    }


_OLD_LIVE_PROBE = "(live probe) "  # how snapshots written before the live probe was attested apart label its token


def _attestation(saved: dict[str, Any]) -> Attestation:
    """The saved attestation; an older snapshot's live probe token, listed among the readers' under a label, is
    moved where it belongs."""
    roles = {k: tuple(v) for k, v in saved["token_roles"].items()}
    live = {k: tuple(v) for k, v in saved.get("live_probe", {}).items()}
    live.update({k.removeprefix(_OLD_LIVE_PROBE): v for k, v in roles.items() if k.startswith(_OLD_LIVE_PROBE)})
    readers = {k: v for k, v in roles.items() if not k.startswith(_OLD_LIVE_PROBE)}
    return Attestation(dict(saved["requests"]), saved["writes_attempted"], readers, live)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
