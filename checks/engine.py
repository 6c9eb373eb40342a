"""Runs checks: resolves the evidence each one names, blocks dependents of a failed root, never passes on doubt.

Evidence is safe to share between threads: each name is computed once, by the first thread that asks; the others
wait for it. A run may read ahead (`prefetch`) on a few daemon worker threads and may have a deadline, after which
every read not finished is an error and no read starts."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from .errors import AuthError, PermissionDenied, ProbeError, XtcheckError
from .model import BriefPass, CheckSpec, Finding, Outcome, Remediation, RunIds, Status
from .registry import ProbeSpec

_BLOCKING = (Status.FAIL, Status.ERROR)
_REMEMBERED = (ProbeError, AuthError)  # failed reads are remembered; anything else (a bug) is raised again


class Unfinished(ProbeError):
    """A read that was not finished when the run's deadline passed."""


@dataclass(frozen=True)
class Deadline:
    """When reads must be finished: `seconds` after the run started (time.monotonic() based)."""

    seconds: float
    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())


class Workers:
    """A few daemon threads that run submitted calls: a read stuck past the deadline never keeps the process alive
    (unlike ThreadPoolExecutor's workers, which the interpreter joins at exit)."""

    def __init__(self, size: int, name: str = "xtcheck-read") -> None:
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._local = threading.local()
        self._threads = [threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True) for i in range(size)]
        for thread in self._threads:
            thread.start()

    def submit(self, task: Callable[[], None]) -> None:
        self._tasks.put(task)

    def is_worker(self) -> bool:
        return getattr(self._local, "worker", False)

    def shutdown(self) -> None:
        """Let every idle worker end; one still inside a task ends with it (or with the process)."""
        for _ in self._threads:
            self._tasks.put(None)

    def _loop(self) -> None:
        self._local.worker = True
        while (task := self._tasks.get()) is not None:
            with contextlib.suppress(Exception):  # a task reports through its own future; the worker lives on
                task()


class _Slot:
    """One computation in flight: who computes it, and (once done) its value or exception."""

    __slots__ = ("done", "error", "owner", "value")

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None


class Evidence:
    """Evidence by name: seeded values (settings, a snapshot) or probes run once each, failures remembered.

    Thread-safe: the first thread to ask for a name computes it, others wait for that computation (never a second
    one). With `workers`, `prefetch` reads ahead and a caller that is not a worker hands its read to a worker, so
    that with a `deadline` no caller ever waits past it: at the deadline every unfinished read becomes an
    `Unfinished` error and no new read starts."""

    def __init__(self, probes: Mapping[str, ProbeSpec], seeds: Mapping[str, Any],
                 errors: Mapping[str, XtcheckError] | None = None, *, workers: Workers | None = None,
                 deadline: Deadline | None = None) -> None:
        self._probes = probes
        self._values: dict[str, Any] = dict(seeds)
        self._errors: dict[str, XtcheckError] = dict(errors or {})  # a snapshot's failed reads fail again
        self._workers = workers
        self._deadline = deadline
        self._changed = threading.Condition()  # guards everything below; notified whenever a read settles
        self._pending: dict[str, _Slot] = {}
        self._waiting: dict[int, str] = {}  # thread id -> the name that thread waits for
        self._wanted: dict[str, None] = {}  # reads ahead waiting for the probes they name
        self._scheduled = 0  # reads ahead handed to the workers and not yet returned
        self._version = 0
        self._expired = False
        self._local = threading.local()  # per thread: the names it is computing, innermost last

    # -- reading ------------------------------------------------------------------------------------

    def get(self, name: str) -> Any:
        if name == "evidence":  # probes that need other evidence only sometimes ask for it lazily
            return self
        with self._changed:
            if name in self._values:
                return self._values[name]
            if name in self._errors:
                raise self._errors[name]
            spec = self._probes.get(name)
            if spec is None:
                raise LookupError(f"no probe or value provides {name!r}")
            active = self._active()
            if name in active:
                raise LookupError(f"probes depend on each other in a circle: {' -> '.join([*active, name])}")
            slot = self._pending.get(name)
            if slot is not None:
                return self._wait(name, slot)
            if self._expired:
                raise self._unfinished(name)
            if self._workers is not None and not self._workers.is_worker():
                mine = None  # hand the read to a worker, and wait for it no longer than the deadline
            else:
                mine = self._pending[name] = _Slot(threading.get_ident())
        if mine is None:
            return self._delegate(name)
        return self._compute(name, spec, mine)

    def prefetch(self, names: Iterable[str]) -> None:
        """Read `names` ahead on the workers (no-op without workers), each as soon as the probes it names are read, so
        a worker never sits waiting for a dependency; failures are remembered, not raised."""
        if self._workers is None:
            return
        with self._changed:
            self._wanted.update(dict.fromkeys(names))
            self._pump()

    def _pump(self) -> None:
        """(Lock held.) Hand every wanted read whose probe parameters are settled to a worker."""
        if self._workers is None or self._expired:
            return
        for name in list(self._wanted):
            if name in self._values or name in self._errors or name in self._pending:
                del self._wanted[name]
                continue
            spec = self._probes.get(name)
            params = spec.params if spec is not None else ()
            if all(p in self._values or p in self._errors or p not in self._probes for p in params):
                del self._wanted[name]
                self._scheduled += 1
                self._workers.submit(lambda name=name: self._read_ahead(name))  # type: ignore[misc]

    def _read_ahead(self, name: str) -> None:
        try:
            self.get(name)
        except Exception:  # noqa: S110 - remembered (a failed read), or raised again to whoever asks (a bug)
            pass
        finally:
            with self._changed:
                self._scheduled -= 1
                self._touch()

    def _delegate(self, name: str) -> Any:
        future: Future[Any] = Future()

        def task() -> None:
            try:
                future.set_result(self.get(name))
            except BaseException as exc:
                future.set_exception(exc)

        assert self._workers is not None
        self._workers.submit(task)
        try:
            return future.result(timeout=self._deadline.remaining() if self._deadline else None)
        except TimeoutError:
            pass
        self.expire()
        if future.done():
            return future.result()
        with self._changed:
            if name in self._values:
                return self._values[name]
            raise self._errors.get(name) or self._unfinished(name)

    def _compute(self, name: str, spec: ProbeSpec, slot: _Slot) -> Any:
        active = self._active()
        active.append(name)
        try:
            value = spec.func(**{param: self.get(param) for param in spec.params})
        except (XtcheckError, LookupError) as exc:
            self._settle(name, slot, None, exc)
            raise
        except Exception as exc:  # a library's surprise must become an `error` finding, never a crash
            detail = traceback.format_exception_only(exc)[-1].strip()
            failure = ProbeError(f"reading {name} failed unexpectedly: {detail}")
            self._settle(name, slot, None, failure)
            raise failure from None
        except BaseException as exc:
            self._settle(name, slot, None, exc)
            raise
        finally:
            active.pop()
        self._settle(name, slot, value, None)
        if slot.error is not None:  # the deadline passed while this read ran: its late value is not used
            raise slot.error
        return value

    def _settle(self, name: str, slot: _Slot, value: Any, error: BaseException | None) -> None:
        with self._changed:
            if self._pending.get(name) is not slot:
                return  # expired meanwhile: the slot already holds its Unfinished error
            del self._pending[name]
            slot.done, slot.value, slot.error = True, value, error
            if error is None:
                self._values[name] = value
            elif isinstance(error, _REMEMBERED):
                self._errors[name] = error
            self._touch()

    def _wait(self, name: str, slot: _Slot) -> Any:
        """Wait (the lock held on entry) for another thread's computation of `name`."""
        me = threading.get_ident()
        self._refuse_circle(name, slot, me)
        self._waiting[me] = name
        try:
            while not slot.done:
                self._wait_locked()
        finally:
            del self._waiting[me]
        if slot.error is not None:
            raise slot.error
        return slot.value

    def _refuse_circle(self, name: str, slot: _Slot, me: int) -> None:
        """Waiting for `name` must not close a circle of threads each waiting for the next (probes that depend on
        each other, computed by different threads)."""
        chain, owner = [name], slot.owner
        while owner != me:
            wanted = self._waiting.get(owner)
            held = self._pending.get(wanted) if wanted is not None else None
            if wanted is None or held is None:
                return
            chain.append(wanted)
            owner = held.owner
        raise LookupError(f"probes depend on each other in a circle: {' -> '.join([*self._active(), *chain])}")

    def _active(self) -> list[str]:
        active: list[str] | None = getattr(self._local, "active", None)
        if active is None:
            active = self._local.active = []
        return active

    # -- the deadline ---------------------------------------------------------------------------------

    def expire(self) -> None:
        """Stop reading: every read in flight becomes an `Unfinished` error now, and no read starts any more."""
        with self._changed:
            self._expire_locked()

    def _expire_locked(self) -> None:
        self._expired = True
        for name, slot in self._pending.items():
            slot.done, slot.error = True, self._unfinished(name)
        self._pending.clear()
        self._touch()

    @property
    def expired(self) -> bool:
        with self._changed:
            return self._expired

    def _unfinished(self, name: str) -> Unfinished:
        when = f"within the {self._deadline.seconds:g} s deadline" if self._deadline else "before the run stopped"
        error = self._errors[name] = Unfinished(f"{name} was not read {when}")
        return error

    def _touch(self) -> None:
        self._version += 1
        self._changed.notify_all()
        self._pump()

    # -- for the scheduler in run() --------------------------------------------------------------------

    def settled(self, name: str) -> bool:
        """True when asking for `name` returns or raises at once (no read would start or be waited for)."""
        with self._changed:
            return (name == "evidence" or name in self._values or name in self._errors
                    or name not in self._probes)

    def busy(self) -> bool:
        """True while a read is in flight or handed to a worker (and the deadline has not passed)."""
        with self._changed:
            return not self._expired and bool(self._pending or self._scheduled or self._wanted)

    @property
    def version(self) -> int:
        with self._changed:
            return self._version

    def _wait_locked(self) -> None:
        """One wait on the condition (held by the caller), bounded by the deadline; at the deadline, expire."""
        if self._deadline is None:
            self._changed.wait()
        elif (left := self._deadline.remaining()) > 0:
            self._changed.wait(left)
        else:
            self._expire_locked()

    def wait_for_change(self, version: int) -> None:
        """Block until a read settles after `version`; at the deadline, expire what is unfinished and return."""
        with self._changed:
            while self._version == version and not self._expired:
                self._wait_locked()

    # -- what was read ---------------------------------------------------------------------------------

    def collected(self) -> dict[str, Any]:
        """Everything read so far (for snapshots)."""
        with self._changed:
            return dict(self._values)

    def failures(self) -> dict[str, XtcheckError]:
        """The reads that failed so far, by evidence name (for snapshots)."""
        with self._changed:
            return dict(self._errors)


def needed(checks: Iterable[CheckSpec], probes: Mapping[str, ProbeSpec]) -> list[str]:
    """Every probe the checks name, directly or through the probes they name (parameters only: a probe that asks
    `evidence` lazily may read more), dependencies before dependents."""
    found: dict[str, None] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in found or name not in probes or name in path:
            return
        for param in probes[name].params:
            visit(param, (*path, name))
        found[name] = None

    for spec in checks:
        for param in spec.params:
            visit(param, ())
    return list(found)


def order(checks: Iterable[CheckSpec]) -> list[CheckSpec]:
    """Checks sorted by id, each after the checks it depends on."""
    by_id = {c.id: c for c in checks}
    done: dict[str, CheckSpec] = {}

    def visit(spec: CheckSpec) -> None:
        if spec.id in done:
            return
        for dep in spec.depends_on:
            if dep in by_id:
                visit(by_id[dep])
        done[spec.id] = spec

    for spec in sorted(by_id.values(), key=lambda c: c.id):
        visit(spec)
    return list(done.values())


Decided = Callable[[CheckSpec, Mapping[str, list[Finding]]], None]
Counter = Callable[[str, int], None]
_COUNT_EVERY = 500  # outcomes between two progress reports


def run(checks: Iterable[CheckSpec], evidence: Evidence, ids: Callable[[], RunIds], *,
        decided: Decided | None = None, counted: Counter | None = None) -> list[Finding]:
    """Run every check after the checks it depends on and return findings sorted by check id and subject.

    Among the checks whose dependencies are decided, one whose evidence is already read goes first, so checks are
    decided while slower reads continue (the findings do not depend on this order). `decided` hears of each check
    as it is decided; `counted` of the outcomes a check has produced so far (progress over large sets)."""
    results: dict[str, list[Finding]] = {}
    waiting = order(checks)
    selected = {spec.id for spec in waiting}
    while waiting:
        version = evidence.version
        spec = next((s for s in waiting if _ready(s, selected, results, evidence)), None)
        if spec is None and evidence.busy():
            evidence.wait_for_change(version)
            continue
        spec = spec or waiting[0]  # the first in dependency order always has its dependencies decided
        waiting.remove(spec)
        blocker = _blocker(spec, results)
        if blocker is not None:
            root, reason = blocker
            skip = Outcome(Status.SKIP, _subject(spec, ids()), reason)
            results[spec.id] = [_finding(spec, skip, _remedy_once(spec, ids), blocked_by=root)]
        else:
            results[spec.id] = _evaluate(spec, evidence, ids, counted)
        if decided is not None:
            decided(spec, results)
    return [f for check_id in sorted(results) for f in sorted(results[check_id], key=_subject_key)]


def _subject_key(finding: Finding) -> str:
    return finding.subject.lower()


def _ready(spec: CheckSpec, selected: set[str], results: Mapping[str, list[Finding]], evidence: Evidence) -> bool:
    if any(dep in selected and dep not in results for dep in spec.depends_on):
        return False
    return _blocker(spec, results) is not None or all(evidence.settled(param) for param in spec.params)


def blocker(spec: CheckSpec, results: Mapping[str, list[Finding]]) -> tuple[str, str] | None:
    """The root-cause check that blocks `spec`, with the reason, or None when it may run."""
    return _blocker(spec, results)


def _blocker(spec: CheckSpec, results: Mapping[str, list[Finding]]) -> tuple[str, str] | None:
    for dep in spec.depends_on:
        findings = results.get(dep, [])
        blocked = next((f for f in findings if f.blocked_by), None)
        if blocked is not None:
            return blocked.blocked_by or dep, f"blocked: {blocked.blocked_by} must pass first"
        if any(f.status in _BLOCKING for f in findings):
            worst = "could not be decided" if all(f.status == Status.ERROR for f in findings) else "failed"
            return dep, f"blocked: {dep} {worst}; fix it first"
    return None


def _evaluate(spec: CheckSpec, evidence: Evidence, ids: Callable[[], RunIds],
              counted: Counter | None = None) -> list[Finding]:
    try:
        kwargs = {param: evidence.get(param) for param in spec.params}
    except (ProbeError, AuthError) as exc:
        outcome = Outcome(Status.ERROR, _subject(spec, ids()), f"could not read what this check needs: {exc}",
                          {"cause": type(exc).__name__}, _read_fix(spec, exc))
        return [_finding(spec, outcome, _remedy_once(spec, ids))]
    findings: list[Finding] = []
    remedy = _remedy_once(spec, ids)
    try:
        for count, result in enumerate(spec.func(**kwargs), start=1):
            if type(result) is BriefPass:  # most of 500,000 mailbox outcomes: the outcome is the finding
                findings.append(result.for_check(spec.id, spec.title, spec.severity))
            else:
                findings.append(_finding(spec, result, remedy))
            if counted is not None and count % _COUNT_EVERY == 0:
                counted(spec.id, count)
    except Exception as exc:  # a bug in a check must show as `error`, never as a pass or a crash
        detail = traceback.format_exception_only(exc)[-1].strip()
        crash = Outcome(Status.ERROR, _subject(spec, ids()), f"internal error in the check: {detail}")
        return [_finding(spec, crash, remedy)]
    if not findings:
        findings = [_finding(spec, Outcome(Status.ERROR, _subject(spec, ids()), "the check produced no result"),
                             remedy)]
    return findings


def _remedy_once(spec: CheckSpec, ids: Callable[[], RunIds]) -> Callable[[], Remediation]:
    """The check's remediation, built on first use and shared by its findings (10,000 failing mailboxes need one)."""
    built: list[Remediation] = []

    def remedy() -> Remediation:
        if not built:
            built.append(spec.remedy(ids()))
        return built[0]

    return remedy


def _read_fix(spec: CheckSpec, exc: XtcheckError) -> Remediation | None:
    """For a read that was refused or could not authenticate: the permissions this check declares."""
    if not isinstance(exc, (PermissionDenied, AuthError)) or not spec.permissions:
        return None
    return Remediation(
        "Give xtcheck's reader identity the read permissions this check needs, then run it again.",
        steps=tuple(f"{p.service} {p.name} in {p.where}" for p in spec.permissions),
    )


def _subject(spec: CheckSpec, ids: RunIds) -> str:
    """Who a skip or an error is about, when the check never got to name a subject itself."""
    if spec.area == "PRF":
        return f"profile {ids.profile}" if ids.profile else "email server profile"
    if spec.area == "MBX":
        return "mailboxes"
    return f"app {ids.client_id}" if ids.client_id else "app"


def _finding(spec: CheckSpec, outcome: Outcome | BriefPass, remedy: Callable[[], Remediation],
             blocked_by: str | None = None) -> Finding:
    if isinstance(outcome, BriefPass):
        return outcome.for_check(spec.id, spec.title, spec.severity)
    remediation = outcome.fix
    if remediation is None and outcome.status in (Status.FAIL, Status.WARN):
        remediation = remedy()
    evidence = outcome.evidence if type(outcome.evidence) is dict else dict(outcome.evidence)  # each outcome's own
    return Finding(spec.id, spec.title, spec.severity, outcome.status, outcome.subject, outcome.message,
                   evidence, remediation, blocked_by)
