"""What an AADSTS code, sync error code, alert text, EWS policy reason or Graph error means, and what to do about it."""

from __future__ import annotations

import difflib
import re
import textwrap

from .knowledge_data import ENTRIES, FAMILIES, Entry

__all__ = ["ENTRIES", "FAMILIES", "Entry", "lookup", "match", "near", "render"]

# A whole query that is one code: "AADSTS7000222", "aadsts 7000222", "8005e272", "0x8005E272", "-2147097998".
_AADSTS_QUERY = re.compile(r"aadsts\s*[:#_-]?\s*(\d{1,9})", re.IGNORECASE)
_HEX_QUERY = re.compile(r"(?:0x)?([0-9a-f]{8})", re.IGNORECASE)
_DECIMAL_QUERY = re.compile(r"[+-]?\d{1,10}")

# Codes inside a longer text, as whole tokens. A hex code must not be the first group of a GUID, and a signed
# decimal must not be the second half of a range or a version number.
_TEXT_CODES = re.compile(
    r"(?<![0-9a-z])aadsts[ :_-]?(?P<aad>\d{4,9})(?![0-9])"
    r"|(?<![0-9a-z-])(?:0x)?(?P<hex>8[0-9a-f]{7})(?![0-9a-z]|-[0-9a-f]{4}-)"
    r"|(?<![0-9.])(?P<neg>-\d{10})(?![0-9])",
    re.IGNORECASE,
)

_TRIM = " \t\r\n'\"`.,;:()[]{}<>"
_MIN_FRAGMENT = 12  # shortest query that may stand for the phrase it is part of
_CUTOFF = 0.6  # difflib's own default for "close"


def _hex32(value: int) -> str | None:
    """A signed or unsigned 32-bit error code as Dataverse's hex form (8 upper-case digits), if it is one."""
    if -0x80000000 <= value < 0:
        return f"{value & 0xFFFFFFFF:08X}"
    if 0x80000000 <= value <= 0xFFFFFFFF:
        return f"{value:08X}"
    return None


def _canonical(token: str) -> str | None:
    """The canonical code one token stands for ("AADSTS<n>" or 8 hex digits), or None when it is not a code."""
    text = token.strip(_TRIM)
    found = _AADSTS_QUERY.fullmatch(text)
    if found:
        return f"AADSTS{int(found.group(1))}"
    if _DECIMAL_QUERY.fullmatch(text):
        digits = text.lstrip("+-")
        if len(digits) == 8 and digits.startswith("8") and not text.startswith("-"):
            return digits  # hex without letters, e.g. 80040265; AADSTS codes have at most 7 digits
        if len(digits) < 8 and not text.startswith("-"):
            return f"AADSTS{int(digits)}"
        return _hex32(int(text))
    found = _HEX_QUERY.fullmatch(text)
    if found:
        return found.group(1).upper()
    return None


def _own_codes(entry: Entry) -> tuple[str, ...]:
    """The codes an entry matches both in lookups and in longer texts: its key when that is a code, plus `codes`."""
    codes = [_canonical(code) or code for code in entry.codes]
    if entry.family in {"aadsts", "sync-code"}:
        key = _canonical(entry.key)
        if key is not None:
            codes.insert(0, key)
    return tuple(codes)


def _indexes() -> tuple[dict[str, Entry], dict[str, Entry], dict[str, Entry]]:
    text_codes: dict[str, Entry] = {}
    lookup_codes: dict[str, Entry] = {}
    names: dict[str, Entry] = {}
    for entry in ENTRIES:
        for code in _own_codes(entry):
            text_codes.setdefault(code, entry)
            lookup_codes.setdefault(code, entry)
        for alias in entry.aliases:
            alias_code = _canonical(alias)
            if alias_code is None:
                names.setdefault(alias.lower(), entry)
            else:
                lookup_codes.setdefault(alias_code, entry)
        names.setdefault(entry.key.lower(), entry)
        names.setdefault(entry.title.lower(), entry)
    return text_codes, lookup_codes, names


_TEXT_CODE_INDEX, _LOOKUP_CODE_INDEX, _NAME_INDEX = _indexes()
_ORDER = {entry.key: index for index, entry in enumerate(ENTRIES)}


def _normalise(text: str) -> str:
    """Lower case, one space for any run of whitespace, straight apostrophes: the form phrases are written in."""
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split()).lower()


def lookup(query: str) -> Entry | None:
    """The entry for a code, key, title or alert text; None when nothing known fits.

    Codes are forgiving about spelling ("aadsts 7000222", "7000222", "0x8005e272", the signed decimal
    -2147097998 that Dataverse stores for 0x8005E272). Any other text goes through `match` and gives its first hit.
    """
    text = " ".join(query.split())
    if not text.strip(_TRIM):
        return None
    named = _NAME_INDEX.get(text.lower()) or _NAME_INDEX.get(text.strip(_TRIM).lower())
    if named is not None:
        return named
    code = _canonical(text)
    if code is not None:
        return _LOOKUP_CODE_INDEX.get(code)
    hits = match(text)
    if hits:
        return hits[0]
    fragment = _normalise(text).strip(_TRIM)
    if len(fragment) >= _MIN_FRAGMENT:
        owners = {entry.key: entry for entry in ENTRIES if any(fragment in phrase for phrase in entry.phrases)}
        if len(owners) == 1:
            return next(iter(owners.values()))
    return None


def match(text: str) -> list[Entry]:
    """Every entry whose code or phrase occurs in `text`, in order of first occurrence, each once.

    Codes count only as whole tokens (AADSTS numbers, 8-digit hex codes such as 8005E272 with or without 0x,
    signed 32-bit decimals such as -2147209462); phrases count case-insensitively anywhere.
    """
    normal = _normalise(text)
    first: dict[str, tuple[int, Entry]] = {}

    def seen(entry: Entry, position: int) -> None:
        if entry.key not in first or position < first[entry.key][0]:
            first[entry.key] = (position, entry)

    for found in _TEXT_CODES.finditer(normal):
        if found.group("aad"):
            code: str | None = f"AADSTS{int(found.group('aad'))}"
        elif found.group("hex"):
            code = found.group("hex").upper()
        else:
            code = _hex32(int(found.group("neg")))
        entry = _TEXT_CODE_INDEX.get(code) if code else None
        if entry is not None:
            seen(entry, found.start())
    for entry in ENTRIES:
        for phrase in entry.phrases:
            position = normal.find(phrase)
            if position >= 0:
                seen(entry, position)
    ranked = sorted(first.values(), key=lambda hit: (hit[0], _ORDER[hit[1].key]))
    return [entry for _, entry in ranked]


def _shared_start(left: str, right: str) -> int:
    """How many leading characters two strings have in common."""
    count = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        count += 1
    return count


def near(query: str, n: int = 5) -> list[str]:
    """Up to `n` known keys, codes or titles closest to an unknown query, best first; [] when none is close."""
    text = " ".join(query.split())
    if n <= 0 or not text:
        return []
    probe = (_canonical(text) or text).lower()
    candidates: dict[str, str] = {}
    for entry in ENTRIES:
        for name in (entry.key, *_own_codes(entry), entry.title):
            candidates.setdefault(name.lower(), name)
    scored = []
    matcher = difflib.SequenceMatcher(b=probe, autojunk=False)
    for name in candidates:
        matcher.set_seq1(name)
        if matcher.real_quick_ratio() >= _CUTOFF and matcher.quick_ratio() >= _CUTOFF:
            score = matcher.ratio()
            if score >= _CUTOFF:
                # on a tie, the name that shares the longer beginning wins: AADSTS700017 is nearer 700016 than 700027
                scored.append((-score, -_shared_start(name, probe), name))
    return [candidates[name] for _, _, name in sorted(scored)[:n]]


def render(entry: Entry) -> str:
    """The text `xtcheck explain` prints for one entry."""

    def block(label: str, body: str) -> str:
        return textwrap.fill(body, width=100, initial_indent=f"{label:<7}", subsequent_indent=" " * 7,
                             break_long_words=False, break_on_hyphens=False)

    lines = [f"{entry.key}: {entry.title} ({entry.family})",
             block("Cause:", entry.cause),
             block("Fix:", entry.fix),
             block("See:", entry.link)]
    if entry.checks:
        lines.append(f"Checked by: {', '.join(entry.checks)}")
    return "\n".join(lines)
