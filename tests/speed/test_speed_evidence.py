"""Evidence shared between threads: one computation per name, failures remembered, circles refused, a deadline kept.

These drive `checks.evidence.Evidence` with hand-made probes (no sandbox); every wait in them is bounded by a deadline
or an event, so a regression fails instead of hanging."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from checks.errors import ProbeError
from checks.evidence import Evidence, Unfinished, needed
from checks.model import CheckSpec, Remediation, Severity
from checks.registry import ProbeSpec
from checks.workers import Deadline, Workers


def spec(name: str, func: Callable[..., Any], lazy: tuple[str, ...] = ()) -> ProbeSpec:
    import inspect

    return ProbeSpec(name, func, tuple(inspect.signature(func).parameters), lazy=frozenset(lazy))


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads started together; their results (or exceptions), in thread order."""
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def one(i: int) -> None:
        start.wait(timeout=10)
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not any(t.is_alive() for t in threads), "a thread is still waiting"
    return results


def test_many_threads_asking_at_once_compute_a_read_once() -> None:
    calls: Counter[str] = Counter()
    release = threading.Event()

    def slow() -> int:
        calls["slow"] += 1
        release.wait(timeout=5)
        return 42

    def dependent(slow: int) -> int:
        calls["dependent"] += 1
        return slow + 1

    evidence = Evidence({"slow": spec("slow", slow), "dependent": spec("dependent", dependent)}, {})
    threading.Timer(0.2, release.set).start()
    assert in_threads(8, lambda _: evidence.get("dependent")) == [43] * 8
    assert calls == {"slow": 1, "dependent": 1}


def test_a_failed_read_is_remembered_and_raised_to_every_caller() -> None:
    calls: Counter[str] = Counter()

    def broken() -> None:
        calls["broken"] += 1
        raise ProbeError("Dataverse answered 500")

    evidence = Evidence({"broken": spec("broken", broken)}, {}, workers=Workers(2))
    evidence.prefetch(["broken"])
    results = in_threads(4, lambda _: evidence.get("broken"))
    assert all(isinstance(r, ProbeError) and "500" in str(r) for r in results)
    assert calls["broken"] == 1
    assert "broken" in evidence.failures()


def test_a_bug_in_a_probe_is_raised_again_not_remembered_as_a_failed_read() -> None:
    def buggy() -> None:
        raise KeyError("id")

    evidence = Evidence({"buggy": spec("buggy", buggy)}, {})
    with pytest.raises(KeyError):
        evidence.get("buggy")
    assert evidence.failures() == {}


def test_probes_that_depend_on_each_other_across_threads_are_refused_not_deadlocked() -> None:
    both_started = threading.Barrier(2)

    def first(second: Callable[[], Any]) -> Any:
        both_started.wait(timeout=5)
        return second()

    def second(first: Callable[[], Any]) -> Any:
        both_started.wait(timeout=5)
        return first()

    evidence = Evidence({"first": spec("first", first, lazy=("second",)),
                         "second": spec("second", second, lazy=("first",))}, {},
                        deadline=Deadline.after(30))
    results = in_threads(2, lambda i: evidence.get(("first", "second")[i]))
    assert any(isinstance(r, LookupError) and "circle" in str(r) for r in results), results
    assert not any(isinstance(r, Unfinished) for r in results), "the circle was found, not waited out"


def test_a_circle_in_one_thread_is_refused() -> None:
    def loop(loop: Callable[[], Any]) -> Any:
        return loop()

    with pytest.raises(LookupError, match="circle: loop -> loop"):
        Evidence({"loop": spec("loop", loop, lazy=("loop",))}, {}).get("loop")


def test_at_the_deadline_unfinished_reads_become_errors_and_no_read_starts() -> None:
    stuck = threading.Event()
    started: list[str] = []

    def stalled() -> None:
        started.append("stalled")
        stuck.wait(timeout=30)

    def later() -> int:
        started.append("later")
        return 1

    evidence = Evidence({"stalled": spec("stalled", stalled), "later": spec("later", later)}, {},
                        workers=Workers(2), deadline=Deadline.after(0.5))
    evidence.prefetch(["stalled"])
    with pytest.raises(Unfinished, match=r"not read within the 0\.5 s deadline: stalled"):
        evidence.get("stalled")
    assert evidence.expired
    with pytest.raises(Unfinished):
        evidence.get("later")
    assert started == ["stalled"]
    assert set(evidence.failures()) == {"stalled", "later"}
    stuck.set()


def test_a_late_value_after_the_deadline_is_not_used() -> None:
    finish = threading.Event()
    done = threading.Event()

    def slow() -> str:
        finish.wait(timeout=10)
        return "late"

    evidence = Evidence({"slow": spec("slow", slow)}, {}, workers=Workers(1), deadline=Deadline.after(0.3))
    evidence.prefetch(["slow"])
    with pytest.raises(Unfinished):
        evidence.get("slow")
    finish.set()
    threading.Thread(target=lambda: (evidence.wait_for_change(-1), done.set())).start()
    done.wait(timeout=5)
    assert "slow" not in evidence.collected()
    assert isinstance(evidence.failures()["slow"], Unfinished)


def test_reads_ahead_start_only_once_what_they_name_is_read() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def root() -> str:
        with lock:
            order.append("root")
        return "r"

    def leaf(root: str) -> str:
        with lock:
            order.append("leaf")
        return root + "!"

    evidence = Evidence({"root": spec("root", root), "leaf": spec("leaf", leaf)}, {}, workers=Workers(1),
                        deadline=Deadline.after(10))
    evidence.prefetch(["leaf", "root"])  # the dependent first: a single worker must not sit waiting on it
    assert evidence.get("leaf") == "r!"
    assert order == ["root", "leaf"]


def test_needed_lists_every_probe_a_check_reaches_dependencies_first() -> None:
    probes = {"a": spec("a", lambda: 1), "b": spec("b", lambda a: a), "c": spec("c", lambda b, settings: b),
              "d": spec("d", lambda c, e: c, lazy=("e",)), "e": spec("e", lambda: 2)}
    check = CheckSpec(id="T-001", title="t", severity=Severity.LOW, rationale="", func=lambda d: iter(()),
                      params=("d",), remedy=lambda ids: Remediation("x"), link="app")
    assert needed([check], probes) == ["a", "b", "c", "d"]  # "e" is read only if "d" asks for it
