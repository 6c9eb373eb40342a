"""Writing reports: atomic files, the output folder created, one clear line when it cannot be written."""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TextIO

import pytest
from report_samples import make_run, sample_findings

from checks.errors import ConfigError, XtcheckError
from checks.files import write_atomic
from checks.report import EXTENSIONS, REPORTERS, write_reports


def test_every_file_format_has_a_file_name() -> None:
    assert set(EXTENSIONS) == set(REPORTERS) == {"json", "junit", "html", "markdown", "sarif", "calendar"}


def test_writes_each_file_format_into_a_new_folder(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "nested"
    paths = write_reports(sample_findings(), make_run(), ["console", "json", "junit"], out)
    assert paths == [out / "xtcheck-report.json", out / "xtcheck-junit.xml"]
    assert json.loads(paths[0].read_text(encoding="utf-8"))["schema_version"] == "2"
    assert ET.parse(paths[1]).getroot().tag == "testsuites"
    assert sorted(p.name for p in out.iterdir()) == ["xtcheck-junit.xml", "xtcheck-report.json"]  # no temp files


def test_console_only_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    assert write_reports(sample_findings(), make_run(), ["console"], out) == []
    assert not out.exists()


def test_formats_are_deduplicated_and_case_blind(tmp_path: Path) -> None:
    paths = write_reports(sample_findings(), make_run(), ["JSON", " json", ""], tmp_path)
    assert paths == [tmp_path / "xtcheck-report.json"]


def test_an_unknown_format_is_a_config_error_before_anything_is_written(tmp_path: Path) -> None:
    expected = "unknown report format 'pdf'; choose from console, calendar, html, json, junit, markdown, sarif"
    with pytest.raises(ConfigError, match=expected):
        write_reports(sample_findings(), make_run(), ["json", "pdf"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_report_replaces_the_previous_one_whole(tmp_path: Path) -> None:
    target = tmp_path / "xtcheck-report.json"
    target.write_text("old", encoding="utf-8")
    write_reports(sample_findings(), make_run(), ["json"], tmp_path)
    assert json.loads(target.read_text(encoding="utf-8"))["tool"]["name"] == "xtcheck"
    assert [p.name for p in tmp_path.iterdir()] == ["xtcheck-report.json"]


def test_a_render_that_fails_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old and complete", encoding="utf-8")

    def half_then_crash(stream: TextIO) -> None:
        stream.write("{\"half\":")
        raise RuntimeError("renderer bug")

    with pytest.raises(RuntimeError):
        write_atomic(target, half_then_crash)
    assert target.read_text(encoding="utf-8") == "old and complete"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_files_are_utf8_with_unix_newlines(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_atomic(target, lambda stream: stream.write("jürgen\nline two\n"))
    assert target.read_bytes() == "jürgen\nline two\n".encode()


def test_files_get_the_usual_mode_not_a_private_temp_mode(tmp_path: Path) -> None:
    if os.name == "nt":
        pytest.skip("POSIX modes")
    target = tmp_path / "out.txt"
    write_atomic(target, lambda stream: stream.write("x"))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_an_unwritable_folder_is_one_clear_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running with privileges that write anyway (root)")
        with pytest.raises(XtcheckError) as caught:
            write_reports(sample_findings(), make_run(), ["json"], locked)
        assert str(caught.value) == f"cannot write reports to {locked}: permission denied; choose another --output-dir"
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_a_file_in_the_way_of_the_folder_is_one_clear_line(tmp_path: Path) -> None:
    in_the_way = tmp_path / "reports"
    in_the_way.write_text("not a folder", encoding="utf-8")
    with pytest.raises(XtcheckError) as caught:
        write_reports(sample_findings(), make_run(), ["junit"], in_the_way)
    message = str(caught.value)
    assert message == f"cannot write reports to {in_the_way}: it is a file, not a folder; choose another --output-dir"
    assert "\n" not in message


def test_a_file_in_the_way_of_a_parent_folder_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(XtcheckError, match=r"^cannot write reports to .*: .*; choose another --output-dir$"):
        write_reports(sample_findings(), make_run(), ["json"], tmp_path / "file" / "reports")
