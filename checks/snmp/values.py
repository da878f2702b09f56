"""Reading SNMP values as real agents send them: a snapshot is ``{numeric OID: value}`` where a
value is an ``int`` (INTEGER, counters, gauges, TimeTicks), ``bytes`` (OCTET STRING, which may
hold text, a Hex-STRING or garbage) or ``str`` (OBJECT IDENTIFIER, IpAddress).

Every helper tolerates the wrong type, a missing value and odd encodings, because agents do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Union

Value = Union[int, bytes, str]  # noqa: UP007 (a runtime alias)
Snapshot = Mapping[str, Value]


LINE_BREAKS = str.maketrans({"\r": " ", "\n": " ", "\t": " ", "\v": " ", "\f": " "})


def text(value: Value | None) -> str:
    """A printable string: UTF-8 (else Latin-1), without NULs and surrounding whitespace.

    Line breaks and tabs become spaces, not nothing: Cisco's multi-line sysDescr must read
    "(fc2) Technical Support", not "(fc2)Technical Support"."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        try:
            decoded = value.decode("utf-8")
        except UnicodeDecodeError:
            decoded = value.decode("latin-1")
    else:
        decoded = str(value)
    decoded = decoded.replace("\r\n", "\n").translate(LINE_BREAKS)
    return "".join(c for c in decoded if c.isprintable() or c == " ").strip()


def integer(value: Value | None) -> int | None:
    """An int, also from a numeric string (some agents send numbers as OCTET STRING)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        try:
            return int(float(value.decode("ascii").strip()))
        except (UnicodeDecodeError, ValueError):
            return None
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return None
    return None


def column(snapshot: Snapshot, table: str, col: int) -> dict[str, Value]:
    """One column of a table, by row index (the OID suffix after ``table.col.``)."""
    prefix = f"{table}.{col}."
    return {oid[len(prefix):]: v for oid, v in snapshot.items() if oid.startswith(prefix)}


def subtree(snapshot: Snapshot, base: str) -> dict[str, Value]:
    """Every value under ``base``, keyed by the suffix after ``base.``."""
    prefix = base + "."
    return {oid[len(prefix):]: v for oid, v in snapshot.items() if oid.startswith(prefix)}


def index_key(index: str) -> tuple[int, ...]:
    """Sort key for row indexes such as ``"1.12"``."""
    try:
        return tuple(int(p) for p in index.split("."))
    except ValueError:
        return (1 << 62,)


def bits(value: Value | None) -> set[int]:
    """The bit numbers set in an SNMP BITS value (bit 0 is the first byte's high bit).

    Some agents send an INTEGER instead of an OCTET STRING; its bytes are read big-endian
    (one byte when it fits, as such agents do)."""
    if value is None:
        return set()
    if isinstance(value, int):
        value = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big") if value > 0 else b""
    if isinstance(value, str):
        value = value.encode("latin-1", "replace")
    found = set()
    for byte_no, byte in enumerate(value[:8]):  # no BITS we read has more than 64 bits
        for bit in range(8):
            if byte & (0x80 >> bit):
                found.add(byte_no * 8 + bit)
    return found


def oid_text(value: Value | None) -> str:
    """An OBJECT IDENTIFIER as dotted text, without a leading dot."""
    return text(value).lstrip(".")
