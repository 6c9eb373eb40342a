"""Shell completion: `xtcheck completion SHELL` prints a script that completes commands, options, their values and
file names, written from the parser itself (so a new option completes without anyone touching the script)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from checks.cli import _parser
from checks.completion import script

BASH = shutil.which("bash") or "/bin/bash"


def bash_completes(*words: str) -> list[str]:
    """What bash offers after `xtcheck WORDS` (the last word being the one typed so far)."""
    program = (f"{script(_parser(), 'bash')}\nCOMP_WORDS=(xtcheck {' '.join(repr(w) for w in words)}); "
               f"COMP_CWORD={len(words)}; _xtcheck; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    done = subprocess.run([BASH, "-c", program], capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")  # Debian and every CI image have it
@pytest.mark.parametrize(("words", "offered"), [
    (("au",), ["audit"]),
    (("audit", "--fail-on", ""), ["fail", "warn"]),
    (("demo", "--min-severity", "c"), ["critical"]),
    (("audit", "--col"), ["--color"]),
    (("audit", "--color", ""), ["auto", "always", "never"]),
    (("sandbox", "se"), ["serve"]),
    (("sandbox", "serve", "--sc"), ["--scenario"]),
    (("completion", "z"), ["zsh"]),
])
def test_bash_offers_commands_options_and_their_values(words: tuple[str, ...], offered: list[str]) -> None:
    assert bash_completes(*words) == offered


def test_every_command_and_option_of_the_parser_is_in_every_script() -> None:
    parser = _parser()
    for shell in ("bash", "zsh", "fish"):
        text = script(parser, shell)
        for command in ("audit", "demo", "checks", "explain", "doctor", "evaluate", "diff", "sandbox", "completion"):
            assert command in text, (shell, command)
        assert "min-severity" in text and "'critical high medium low info'" in text.replace('"', "'"), shell
    assert script(parser, "zsh").startswith("autoload -U +X bashcompinit && bashcompinit\n")
    assert "complete -c xtcheck -n '__fish_seen_subcommand_from audit' -l fail-on -x -a 'fail warn'" in \
        script(parser, "fish")


def test_the_completion_command_prints_the_script_and_refuses_an_unknown_shell() -> None:
    done = subprocess.run([sys.executable, "-m", "checks", "completion", "bash"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and done.stdout == script(_parser(), "bash")
    refused = subprocess.run([sys.executable, "-m", "checks", "completion", "tcsh"], capture_output=True, text=True,
                             timeout=60, check=False)
    assert refused.returncode == 2 and "invalid choice: 'tcsh'" in refused.stderr
