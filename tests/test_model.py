"""The model's one trick: a brief pass reads as the Finding it describes, attribute by attribute, without being one."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from typing import Any

from checks.model import BriefCheck, BriefPass, Finding, Outcome, Severity, Status, passed


def approved(subject: str, row: Mapping[str, Any], brief: bool = False) -> Outcome | None:
    return None if brief else passed(subject, f"{subject} is approved", approval=row["approval"])


def test_a_brief_pass_reads_as_the_finding_it_describes_in_every_attribute() -> None:
    shared = BriefCheck(approved)
    brief = BriefPass("Ann@contoso.com", shared, {"approval": 1}).for_check("MBX-002", "approved", Severity.HIGH)
    whole = brief.described()
    assert type(whole) is Finding
    assert whole == Finding("MBX-002", "approved", Severity.HIGH, Status.PASS, "Ann@contoso.com",
                            "Ann@contoso.com is approved", {"approval": 1})
    names = [field.name for field in dataclasses.fields(Finding)]
    names += [name for name, value in vars(Finding).items() if isinstance(value, property)]
    names += ["sort_key"]
    for name in names:
        mine, theirs = getattr(brief, name), getattr(whole, name)
        assert (mine() if callable(mine) else mine) == (theirs() if callable(theirs) else theirs), name
    assert brief != whole  # equal to itself only: a report tells them apart by type


def test_the_passes_of_a_check_share_its_metadata_and_each_holds_only_its_subject_and_row() -> None:
    shared = BriefCheck(approved)
    passes = [BriefPass(f"user{n}@contoso.com", shared, {"approval": 1}).for_check("MBX-002", "approved",
                                                                                  Severity.HIGH) for n in range(3)]
    assert {p.check_id for p in passes} == {"MBX-002"}
    assert not hasattr(passes[0], "__dict__")
    assert sys.getsizeof(passes[0]) < sys.getsizeof(passes[0].described())  # 600,000 of them at 100,000 mailboxes
