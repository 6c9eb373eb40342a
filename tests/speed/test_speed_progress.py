"""The progress line: on a terminal it updates one line and clears it; into a pipe, a file or with -q, nothing."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

from checks.cli import main
from checks.progress import ProgressLine
from checks.sandbox.server import Sandbox

StartSandbox = Callable[..., Sandbox]


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def run_audit(cloud: Sandbox, tmp_path: Path, stderr: io.StringIO, *flags: str) -> int:
    with contextlib.redirect_stderr(stderr):
        return main(["audit", "--config", str(cloud.write_config()), "--output-dir", str(tmp_path), *flags])


def test_on_a_terminal_the_progress_line_updates_in_place_and_is_cleared(
        start_sandbox: StartSandbox, tmp_path: Path) -> None:
    stderr = Terminal()
    assert run_audit(start_sandbox("healthy"), tmp_path, stderr) == 0
    written = stderr.getvalue()
    assert "read (" in written and "xtcheck: " in written
    assert "\n" not in written  # one line, redrawn with \r
    assert written.endswith("\r") and written.rsplit("\r", 2)[-2].strip() == ""  # cleared at the end


def test_quiet_runs_draw_no_progress_even_on_a_terminal(start_sandbox: StartSandbox, tmp_path: Path,
                                                        ) -> None:
    stderr = Terminal()
    assert run_audit(start_sandbox("healthy"), tmp_path, stderr, "-q") == 0
    assert stderr.getvalue() == ""


def test_into_a_pipe_or_a_file_there_is_no_progress(start_sandbox: StartSandbox, tmp_path: Path,
                                                    ) -> None:
    stderr = io.StringIO()
    assert run_audit(start_sandbox("healthy"), tmp_path, stderr) == 0
    assert stderr.getvalue() == ""
    assert ProgressLine.for_stream(io.StringIO()) is None


def test_the_line_counts_responses_and_outcomes_and_never_grows_past_one_line() -> None:
    stream = Terminal()
    line = ProgressLine(stream, interval=0)
    line.response("dv.example:443", 2_500_000)
    line.response("dv.example:443", 2_500_000)
    line.counted("MBX-003", 60_000)
    line.close()
    frames = stream.getvalue().split("\r")
    assert "xtcheck: 2 responses read (5.0 MB) · MBX-003 60,000 evaluated" in [f.rstrip() for f in frames]
    assert frames[-1] == "" and frames[-2].strip() == ""
    widths = [len(f) for f in frames[1:-1]]
    assert widths == sorted(widths)  # each frame covers the one before it: no leftovers of a longer text


def test_a_stream_that_cannot_say_whether_it_is_a_terminal_gets_no_progress() -> None:
    class Closed(io.StringIO):
        def isatty(self) -> bool:
            raise ValueError("I/O operation on closed file")

    assert ProgressLine.for_stream(Closed()) is None
    assert ProgressLine.for_stream(Terminal(), quiet=True) is None
