"""Files in and out. Every file xtcheck reads (config, waivers, secrets, tokens, certificates, CA bundles, snapshots,
reports) goes through `read_bytes`/`read_text`: a regular file only, under a size cap, decoded as UTF-8 or as the
UTF-16 PowerShell writes. Every file it writes goes through `write_atomic` or `append_text`, which never replace or
write into anything but a regular file."""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TextIO

from .errors import InputError
from .text import one_line, visible

MiB = 1 << 20
# The caps, by what a file is for. A real file is far below each; anything above is the wrong file or an attack,
# and refusing it up front keeps a run's memory bounded (PyYAML takes seconds per megabyte).
CONFIG_LIMIT = 4 * MiB  # the config, a waiver file, an organization config export, a CA bundle
SECRET_LIMIT = 1 * MiB  # a secret, a federated token, a certificate with its key
DOCUMENT_LIMIT = 1024 * MiB  # an evidence snapshot or a JSON report (100,000 mailboxes: 39 MB and 15 MB)

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_BINARY", 0))
_CHUNK = MiB
_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}
# Longest BOMs first: UTF-32 LE starts with UTF-16 LE's. The utf-16/utf-32 codecs read the BOM for the byte order.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
CONVERT = ("convert it to UTF-8, e.g. `iconv -f latin1 -t utf-8 FILE > FILE.utf8`, or write it from PowerShell "
           "with `Out-File -Encoding utf8`")


def shown(path: Path | str) -> str:
    """A path as a message shows it: on one line, every control character escaped, so it cannot steer a terminal."""
    return one_line(visible(str(path)))


def size_text(size: int) -> str:
    """A size people read: `512 bytes`, `3.2 MB`, `1.0 GB`."""
    if size < 1024:
        return f"{size} bytes"
    for unit, scale in (("GB", 1 << 30), ("MB", MiB), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"  # pragma: no cover (every size >= 1024 has a unit above)


def kind_of(mode: int) -> str:
    """What a stat mode says a path is, for a message: `a FIFO (named pipe)`, `a folder`, `a regular file`."""
    return _KINDS.get(stat.S_IFMT(mode), "a regular file" if stat.S_ISREG(mode) else "not a regular file")


def read_bytes(path: Path, what: str, limit: int) -> bytes:
    """The bytes of the regular file at `path` (`what` names it in messages: "config file"), at most `limit`.

    Anything else is refused before it is opened: a FIFO would block the run for ever, /dev/zero would fill the
    memory. The file is opened non-blocking and checked again once open, so one swapped in between is refused too.
    Every problem is one InputError naming the file."""
    name = f"the {what} {shown(path)}"
    try:
        _require_regular(os.stat(path).st_mode, name)
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise InputError(f"cannot read {name}: {_reason(exc)}") from None
    except ValueError:  # a NUL character in the path
        raise InputError(f"cannot read {name}: the path holds a NUL character") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        _require_regular(info.st_mode, name)
        _require_size(info.st_size, limit, name)
        try:
            return _read_capped(handle, info.st_size, limit, name)
        except OSError as exc:
            raise InputError(f"cannot read {name}: {_reason(exc)}") from None


def read_text(path: Path, what: str, limit: int) -> str:
    """`read_bytes`, decoded by `decode_text`."""
    return decode_text(read_bytes(path, what, limit), f"the {what} {shown(path)}")


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without a BOM), or UTF-16/UTF-32 told by their BOM, as Windows PowerShell's `>` writes;
    anything else (Latin-1, UTF-16 without a BOM) is one InputError saying how to convert it."""
    encoding = next((codec for bom, codec in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding.startswith("utf-8"):
            line = data.count(b"\n", 0, exc.start) + 1
            raise InputError(f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                             f"{CONVERT}") from None
        raise InputError(f"{name} starts with a {encoding.upper()} byte order mark but is not {encoding.upper()} "
                         f"text ({exc.reason}); {CONVERT}") from None
    if "\x00" in text:
        raise InputError(f"{name} holds NUL characters: it is not a text file, or is UTF-16 without a byte order "
                         f"mark; {CONVERT}")
    return text


def _require_regular(mode: int, name: str) -> None:
    if not stat.S_ISREG(mode):
        raise InputError(f"{name} is {kind_of(mode)}, not a regular file; give the path of a file")


def _require_size(size: int, limit: int, name: str) -> None:
    if size > limit:
        raise InputError(f"{name} is {size_text(size)}, larger than the {size_text(limit)} xtcheck reads for it; "
                         "is it the right file?")


def _read_capped(handle: BinaryIO, size: int, limit: int, name: str) -> bytes:
    """All of the file, and never more than `limit` + 1 bytes in memory: fstat's size is read in one go; a file
    that grows meanwhile, or a pseudo-file that reports no size (/proc), is read on in chunks up to the cap."""
    parts = [handle.read(min(size, limit) + 1)]
    total = len(parts[0])
    if total > size:
        while total <= limit and (chunk := handle.read(_CHUNK)):
            parts.append(chunk)
            total += len(chunk)
    if total > limit:
        raise InputError(f"{name} is larger than the {size_text(limit)} xtcheck reads for it; is it the right file?")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


# -- writing ---------------------------------------------------------------------------------------------------------


class NotRegularFile(OSError):
    """Something other than a regular file (a device, a FIFO, a folder) is where xtcheck would write a file."""


def refuse_non_regular(path: Path) -> None:
    """NotRegularFile when `path` exists and is not a regular file (a symbolic link counts as what it points to);
    nothing there is fine. Writers call it first: `os.replace` would swap a device node for a report, and an
    append to /dev/zero or a FIFO never ends."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise _not_regular(path, mode)


def _not_regular(path: Path, mode: int) -> NotRegularFile:
    return NotRegularFile(errno.EINVAL, f"'{shown(path.name)}' is {kind_of(mode)}, not a regular file; xtcheck "
                                        "writes only regular files", str(path))


def write_atomic(path: Path, render: Callable[[TextIO], object]) -> None:
    """Render into a temporary file beside `path`, fsync it, then rename it over `path`.

    If rendering or writing fails, the temporary file is removed and `path` is left as it was; so is anything at
    `path` that is not a regular file (NotRegularFile). OSError propagates; callers turn it into a message for the
    operator.
    """
    refuse_non_regular(path)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # os.open with 0o666 lets the umask decide the mode, as for any file the user writes (mkstemp would force 0600).
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            render(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _sync_directory(path.parent)


def append_text(path: Path, text: Callable[[bytes], str]) -> None:
    """Append `text(ending)` to the regular file at `path`, created if missing; `ending` is the file's last two
    bytes, so the text can start with the line breaks it needs. Anything but a regular file is NotRegularFile,
    refused before it is opened (and checked again once open: opening is non-blocking, so a FIFO put there meanwhile
    cannot hang the run); only the two last bytes are ever read. OSError propagates."""
    refuse_non_regular(path)
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0), 0o666)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(path, info.st_mode)
        os.lseek(fd, max(0, info.st_size - 2), os.SEEK_SET)  # (O_APPEND writes at the end wherever this points)
        ending = os.read(fd, 2)
        data = memoryview(text(ending).encode("utf-8"))
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def ensure_directory(path: Path) -> None:
    """Create `path` and its parents if missing; NotADirectoryError when a file is in the way."""
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(20, "it is a file, not a folder", str(path))
    path.mkdir(parents=True, exist_ok=True)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a filesystem that cannot fsync a directory is not an error."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
