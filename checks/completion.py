"""Shell completion for bash, zsh and fish, written from the command line's own parser (`xtcheck completion SHELL`):
commands, their options, the values an option takes, files where an option names one. Static scripts, so a TAB
costs the shell nothing: no Python starts to answer it."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass

SHELLS = ("bash", "zsh", "fish")
_PATHS = frozenset({"FILE", "DIR", "PATH", "OLD", "NEW", "SNAPSHOT"})  # metavars of options that take a path


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    help: str
    choices: tuple[str, ...] = ()
    path: bool = False  # takes a file or folder name
    takes_value: bool = False


@dataclass(frozen=True)
class Command:
    name: str  # "audit", or "sandbox serve"
    help: str
    options: tuple[Option, ...]
    paths: bool = False  # its positional arguments are files (evaluate SNAPSHOT, diff OLD NEW)
    words: tuple[str, ...] = ()  # the values its positional argument takes (completion bash|zsh|fish)


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for `shell` (one of SHELLS)."""
    commands = _commands(parser)
    if shell == "fish":
        return _fish(commands)
    bash = _bash(commands)
    return bash if shell == "bash" else f"autoload -U +X bashcompinit && bashcompinit\n{bash}"


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> list[Command]:
    found: list[Command] = []
    for action in parser._actions:  # argparse keeps no public list of subcommands
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
        for name, sub in action.choices.items():
            full = f"{prefix}{name}"
            nested = _commands(sub, f"{full} ")
            found.append(Command(full, helps.get(name, ""), _options(sub), _takes_paths(sub), _words(sub)))
            found.extend(nested)
    return found


def _options(parser: argparse.ArgumentParser) -> tuple[Option, ...]:
    options = []
    for action in parser._actions:
        if not action.option_strings:
            continue
        choices = tuple(str(c) for c in action.choices) if action.choices else ()
        metavar = action.metavar if isinstance(action.metavar, str) else ""
        options.append(Option(tuple(action.option_strings), (action.help or "").replace("%%", "%"), choices,
                              metavar in _PATHS or (action.type is not None and "Path" in str(action.type)),
                              action.nargs != 0))
    return tuple(options)


def _takes_paths(parser: argparse.ArgumentParser) -> bool:
    return any(not a.option_strings and isinstance(a.metavar, str) and a.metavar in _PATHS for a in parser._actions)


def _words(parser: argparse.ArgumentParser) -> tuple[str, ...]:
    return tuple(str(choice) for a in parser._actions if not a.option_strings and a.choices
                 and not isinstance(a, argparse._SubParsersAction) for choice in a.choices)


def _bash(commands: list[Command]) -> str:
    top = [c.name for c in commands if " " not in c.name]
    lines = ["# xtcheck completion for bash (xtcheck completion bash); zsh: xtcheck completion zsh", "_xtcheck() {",
             '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" cmd="${COMP_WORDS[1]}"',
             '    [ "$cmd" = sandbox ] && [ "$COMP_CWORD" -gt 2 ] && cmd="sandbox ${COMP_WORDS[2]}"',
             '    if [ "$COMP_CWORD" -eq 1 ]; then',
             f'        COMPREPLY=($(compgen -W {shlex.quote(" ".join([*top, "--help", "--version"]))} -- "$cur"))',
             "        return", "    fi",
             '    if [ "$cmd" = sandbox ] && [ "$COMP_CWORD" -eq 2 ]; then',
             f'        COMPREPLY=($(compgen -W {shlex.quote(_children(commands, "sandbox"))} -- "$cur"))',
             "        return", "    fi",
             '    case "$cmd|$prev" in']
    for command in commands:
        for option in command.options:
            patterns = "|".join(shlex.quote(f"{command.name}|{flag}") for flag in option.flags)
            if option.choices:
                lines.append(f'        {patterns}) COMPREPLY=($(compgen -W {shlex.quote(" ".join(option.choices))} '
                             '-- "$cur")); return;;')
            elif option.path:
                lines.append(f'        {patterns}) COMPREPLY=($(compgen -f -- "$cur")); return;;')
            elif option.takes_value:
                lines.append(f"        {patterns}) COMPREPLY=(); return;;")
    lines.extend(["    esac", '    case "$cmd" in'])
    for command in commands:
        words = " ".join([*command.words, *(flag for option in command.options for flag in option.flags)])
        steps = [f'COMPREPLY=($(compgen -W {shlex.quote(words)} -- "$cur"))']
        if command.paths:
            steps.append('COMPREPLY+=($(compgen -f -- "$cur"))')
        lines.append(f"        {shlex.quote(command.name)}) {'; '.join(steps)};;")
    lines.extend(["    esac", "}", "complete -o default -F _xtcheck xtcheck", ""])
    return "\n".join(lines)


def _children(commands: list[Command], parent: str) -> str:
    return " ".join(c.name.split(" ", 1)[1] for c in commands if c.name.startswith(f"{parent} "))


def _fish(commands: list[Command]) -> str:
    top = [c for c in commands if " " not in c.name]
    lines = ["# xtcheck completion for fish (xtcheck completion fish)", "complete -c xtcheck -f",
             "complete -c xtcheck -n __fish_use_subcommand -l version -d 'print the version'"]
    for command in top:
        lines.append(f"complete -c xtcheck -n __fish_use_subcommand -a {command.name} -d {_quote(command.help)}")
    for command in commands:
        words = command.name.split(" ")
        when = f"__fish_seen_subcommand_from {words[0]}"
        if len(words) > 1:
            when += f"; and __fish_seen_subcommand_from {words[1]}"
            lines.append(f"complete -c xtcheck -n {_quote(f'__fish_seen_subcommand_from {words[0]}')} "
                         f"-a {words[1]} -d {_quote(command.help)}")
        if command.paths:
            lines.append(f"complete -c xtcheck -n {_quote(when)} -F")
        if command.words:
            lines.append(f"complete -c xtcheck -n {_quote(when)} -a {_quote(' '.join(command.words))}")
        for option in command.options:
            flags = " ".join(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}" for flag in option.flags)
            value = (f" -x -a {_quote(' '.join(option.choices))}" if option.choices else " -r -F" if option.path
                     else " -x" if option.takes_value else "")
            lines.append(f"complete -c xtcheck -n {_quote(when)} {flags}{value} -d {_quote(option.help[:80])}")
    return "\n".join([*lines, ""])


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
