"""What the commands that audit and report share: their options read into RunOptions (--format, --only, --shard,
...), the waiver file, the signing key and signatures (commands.py for one target, estate_commands.py for an
estate and `merge`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .errors import ConfigError
from .estate_shard import parse_shard
from .files import refuse_non_regular
from .settings import FORMATS, RunOptions

if TYPE_CHECKING:
    from .signing import SigningKey
    from .waivers import Waiver


def run_options(args: argparse.Namespace) -> RunOptions:
    formats = tuple(dict.fromkeys(f.strip().lower() for f in args.format.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ConfigError("--format", f"unknown format {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    if getattr(args, "only", None) is not None and not ids(args.only):
        raise ConfigError("--only", "no check id given; name ids or area prefixes, such as --only MBX-004,APP "
                          "(`xtcheck checks` lists them)")
    waivers, save_evidence = getattr(args, "waivers", None), getattr(args, "save_evidence", None)
    files = [f for f in formats if f != "console"]
    if args.output_dir == "-" and len(files) != 1:
        raise ConfigError("--output", "'-' writes one file format to stdout: name exactly one, for example "
                          "--format json --output -")
    sign_key = getattr(args, "sign_key", None)
    if sign_key and args.output_dir == "-":
        raise ConfigError("--sign-key", "signs files, and with --output - the report goes to stdout: write it to a "
                          "folder to sign it")
    shard = getattr(args, "shard", None)
    return RunOptions(
        formats=formats or ("console",), output_dir=Path(args.output_dir), fail_on=args.fail_on,
        only=frozenset(ids(args.only)), skip=frozenset(ids(args.skip)), verbosity=args.verbose - args.quiet,
        min_severity=getattr(args, "min_severity", "info"), waivers=Path(waivers) if waivers else None,
        save_evidence=Path(save_evidence) if save_evidence else None, color=getattr(args, "color", "auto"),
        sign_key=Path(sign_key) if sign_key else None, sign_key_password=getattr(args, "sign_key_password", None),
        shard=parse_shard(shard) if shard is not None else None,
    )


def signing_key(options: RunOptions, environ: Mapping[str, str]) -> SigningKey | None:
    """The key to sign with (--sign-key), loaded before anything runs, so a wrong key or password costs no audit."""
    if options.sign_key is None:
        if options.sign_key_password is not None:
            raise ConfigError("--sign-key-password", "is given without --sign-key")
        return None
    from .config import secret_reference
    from .signing import load_signing_key

    password = options.sign_key_password
    secret = secret_reference("--sign-key-password", password, environ) if password is not None else None
    return load_signing_key(options.sign_key, secret.reveal() if secret else None)


def sign(paths: Sequence[Path], key: SigningKey | None, options: RunOptions) -> None:
    """Write a signature beside each file written (nothing without a key)."""
    if key is None:
        return
    from .signing import sign_file

    for path in paths:
        signature = sign_file(path, key)
        if options.verbosity >= 0:
            print(f"wrote {signature}", file=sys.stderr)


def verifier(args: argparse.Namespace) -> Callable[[bytes, Path], None] | None:
    """The check `--verify-key` asks for, on the bytes read (None without the flag)."""
    if not getattr(args, "verify_key", None):
        return None
    from .signing import load_verify_key, verify_bytes

    public = load_verify_key(Path(args.verify_key))
    return lambda data, path: verify_bytes(data, path, public)


def ids(text: str | None) -> list[str]:
    return [i.strip().upper() for i in (text or "").split(",") if i.strip()]


def chatter(options: RunOptions) -> TextIO:
    """Where a command's own words go: stdout, or stderr when stdout is the report (`--output -`)."""
    return sys.stderr if options.to_stdout else sys.stdout


def snapshot_file(path: Path | None) -> None:
    """A single target's --save-evidence names a file: said before the audit, not after it (write_atomic checks
    again when it writes). An estate's names a folder (estate_commands)."""
    if path is None:
        return
    try:
        refuse_non_regular(path)
    except OSError as exc:
        raise ConfigError("--save-evidence", f"{exc.strerror}; give the path of a file") from None


def load_waivers(options: RunOptions) -> list[Waiver]:
    """The --waivers file, validated; a problem is a ConfigError naming the waiver and key (exit 2)."""
    if options.waivers is None:
        return []
    from .waivers import load as read_waivers

    try:
        return read_waivers(options.waivers)
    except ConfigError as exc:
        raise ConfigError("", f"waiver file {options.waivers}: {exc}") from None
