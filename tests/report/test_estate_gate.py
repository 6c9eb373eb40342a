"""The estate's gate: the worst of its targets' exit codes, and never a pass for an incomplete estate."""

from __future__ import annotations

from dataclasses import replace

from estate_samples import UNREADABLE, erring, failing, passing, sample_estate, target, warning
from report_samples import finding

from checks.model import Status
from checks.report.estate import as_estate_report, estate_gate


def test_a_failing_target_makes_the_estate_fail_and_an_undecided_one_is_said_too() -> None:
    gate = estate_gate(sample_estate(unreadable=False, targets=[passing(), failing(), erring()]))
    assert gate.exit_code == 1
    assert gate.reason == "exit 1: 1 of 3 targets fail; 1 could not be decided"


def test_an_undecided_target_and_no_failure_is_exit_3() -> None:
    gate = estate_gate(sample_estate(unreadable=False, targets=[passing(), erring()]))
    assert (gate.exit_code, gate.reason) == (3, "exit 3: xtcheck could not decide 1 of 2 targets, and none failed")


def test_all_passing_targets_pass() -> None:
    gate = estate_gate(sample_estate(unreadable=False, targets=[passing(), warning()]))
    assert (gate.exit_code, gate.reason) == (0, "exit 0: nothing fails in 2 targets")


def test_an_unreadable_environment_is_never_a_pass() -> None:
    gate = estate_gate(sample_estate(targets=[passing()]))
    assert gate.exit_code == 3
    assert gate.reason == ("exit 3: the estate is incomplete; nothing fails in the 1 target audited; "
                           "1 environment could not be audited")


def test_a_failing_target_still_wins_over_an_unreadable_environment() -> None:
    gate = estate_gate(sample_estate(targets=[failing()]))
    assert gate.exit_code == 1
    assert gate.reason.endswith("; 1 environment could not be audited")


def test_a_share_missing_from_a_merge_is_never_a_pass() -> None:
    report = replace(as_estate_report(sample_estate(unreadable=False, targets=[passing()])), missing_shards=(2, 3))
    gate = estate_gate(report)
    assert gate.exit_code == 3
    assert "shares 2, 3 missing from the merge" in gate.reason


def test_an_empty_estate_is_exit_3() -> None:
    gate = estate_gate(sample_estate(unreadable=False, targets=[]))
    assert (gate.exit_code, gate.reason) == (3, "exit 3: no target was audited")
    assert estate_gate(sample_estate(targets=[])).reason == ("exit 3: no target was audited; 1 environment could "
                                                             "not be audited")
    assert UNREADABLE.reason  # the sample's unreadable environment is the one counted


def test_the_gate_counts_sum_the_targets_and_a_target_without_a_gate_gets_the_default() -> None:
    bare = target("x.crm.dynamics.com", "x.crm.dynamics.com", [finding("PRF-001", Status.FAIL, "profile p")])
    bare = replace(bare, run=replace(bare.run, gate=None))
    gate = estate_gate(sample_estate(unreadable=False, targets=[bare, failing()]))
    assert gate.exit_code == 1
    assert gate.gating == 1 + 2
