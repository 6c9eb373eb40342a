"""Evidence by name: seeded values or probes run once each, shared between threads, failures remembered, every wait
bounded by the run's deadline.

Each name is computed once, by the first thread that asks; the others wait for it. A run may read ahead
(`prefetch`) on a few daemon worker threads and may have a deadline, after which every read not finished is an
error and no read starts."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from typing import Any

from .errors import AuthError, ProbeError, XtcheckError
from .model import CheckSpec
from .registry import ProbeSpec
from .workers import Deadline, Workers

SEEDS = ("settings", "thresholds", "now", "apis")  # evidence the run gives rather than reads
_REMEMBERED = (ProbeError, AuthError)  # failed reads are remembered; anything else (a bug) is raised again


class Unfinished(ProbeError):
    """A read that was not finished when the run's deadline passed."""


class SharedReads:
    """The reads an estate's targets share (a probe's `shared` keys): the first target to need one computes it, the
    others wait for that and get its value or its failure. Values are shared, never copied: probes hand back data
    nothing changes afterwards."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reads: dict[tuple[Any, ...], Future[Any]] = {}
        self.computed = 0  # how many reads were made (the others were shared): for tests and the benchmark

    def read(self, key: tuple[Any, ...], compute: Callable[[], Any], timeout: float | None) -> Any:
        with self._lock:
            future = self._reads.get(key)
            owner = future is None
            if future is None:
                future = self._reads[key] = Future()
                self.computed += 1
        if not owner:
            return future.result(timeout=timeout)  # TimeoutError: this target's deadline passed while it waited
        try:
            value = compute()
        except BaseException as exc:
            future.set_exception(exc)
            raise
        future.set_result(value)
        return value


def frozen(value: Any) -> Any:
    """`value` as a key part: mappings and lists as sorted tuples (a service principal's record keys its grants)."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    return value


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
                 deadline: Deadline | None = None, shared: SharedReads | None = None) -> None:
        self._probes = probes
        self._shared = shared  # an estate's reads shared between its targets (None: a single target)
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
            params = spec.eager if spec is not None else ()
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

    def _later(self, name: str) -> Callable[[], Any]:
        """A lazy parameter: the read, made when (and if) the probe calls it."""
        return lambda: self.get(name)

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
            value = self._call(name, spec)
        except (XtcheckError, LookupError) as exc:
            self._settle(name, slot, None, exc)
            raise
        except Exception as exc:  # a library's surprise must become an `error` finding, never a crash
            detail = traceback.format_exception_only(exc)[-1].strip()
            failure = ProbeError(f"reading {self.what(name)} failed unexpectedly: {detail}")
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

    def _call(self, name: str, spec: ProbeSpec) -> Any:
        """The probe's result: computed here, or, in an estate, read once for every target that agrees on its
        `shared` keys."""
        def compute() -> Any:
            return spec.func(**{param: self._later(param) if param in spec.lazy else self.get(param)
                                for param in spec.params})

        if self._shared is None or not spec.shared:
            return compute()
        key = (name, *(frozen(self._key_part(part)) for part in spec.shared))
        try:
            return self._shared.read(key, compute, self._deadline.remaining() if self._deadline else None)
        except TimeoutError:
            raise Unfinished(self._unfinished_text(name)) from None

    def _key_part(self, part: str) -> Any:
        if part.startswith("settings."):
            value = getattr(self._values["settings"], part.removeprefix("settings."))
            return str(value) if value is not None and not isinstance(value, (str, int)) else value
        return self.get(part)

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
        error = self._errors[name] = Unfinished(self._unfinished_text(name))
        return error

    def _unfinished_text(self, name: str) -> str:
        when = f"within the {self._deadline.seconds:g} s deadline" if self._deadline else "before the run stopped"
        return f"not read {when}: {self.what(name)}"

    def what(self, name: str) -> str:
        """What the evidence `name` is, in the operator's words (the probe's `what`)."""
        spec = self._probes.get(name)
        return spec.what if spec is not None and spec.what else name.replace("_", " ")

    def _touch(self) -> None:
        self._version += 1
        self._changed.notify_all()
        self._pump()

    # -- for the scheduler in run() --------------------------------------------------------------------

    def settled(self, name: str) -> bool:
        """True when asking for `name` returns or raises at once (no read would start or be waited for)."""
        with self._changed:
            return name in self._values or name in self._errors or name not in self._probes

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
    """Every probe the checks read, directly or through the probes they name, dependencies before dependents. A
    probe's lazy parameters are read only if it asks for them, so they are not counted: this is what is always read."""
    found: dict[str, None] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in found or name not in probes or name in path:
            return
        for param in probes[name].eager:
            visit(param, (*path, name))
        found[name] = None

    for spec in checks:
        for param in spec.params:
            visit(param, ())
    return list(found)
