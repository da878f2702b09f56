"""Reading SNMP values as real agents send them: a snapshot is ``{numeric OID: value}`` where a
value is an ``int`` (INTEGER, counters, gauges, TimeTicks), ``bytes`` (OCTET STRING, which may
hold text, a Hex-STRING or garbage) or ``str`` (OBJECT IDENTIFIER, IpAddress).

Every helper tolerates the wrong type, a missing value and odd encodings, because agents do."""

from __future__ import annotations

from bisect import bisect_left
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
    if decoded.isprintable():   # the usual case, without a look at every character
        return decoded.strip()
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


class Values(dict):
    """A snapshot that finds the OIDs under a prefix without a look at every OID: the OIDs
    with one text prefix are neighbours in text order, so a sorted list of them (made on the
    first look, made again when the snapshot changed) and a binary search find them.
    A poll's values are one; a check reads a dozen columns of a few hundred values, and the
    checks of one poll read many of the same columns (storage's sizes for the volumes and
    again for the rows that cannot be judged): each prefix is looked up once per snapshot."""

    __slots__ = ("_sorted", "_found")

    def under(self, prefix: str) -> dict[str, Value]:
        """``{suffix: value}`` of the OIDs that start with ``prefix``, in the snapshot's
        order (as a scan finds them). A new dict each call: the caller may change it."""
        ordered = getattr(self, "_sorted", None)
        if ordered is None:
            ordered = self._sorted = sorted(zip(self, range(len(self)), strict=True))  # (oid, place)
            self._found: dict[str, dict[str, Value]] = {}
        found = self._found.get(prefix)
        if found is None:
            hits = []
            for position in range(bisect_left(ordered, (prefix,)), len(ordered)):
                oid, i = ordered[position]
                if not oid.startswith(prefix):
                    break
                hits.append((i, oid))
            hits.sort()
            cut = len(prefix)
            found = self._found[prefix] = {oid[cut:]: self[oid] for _, oid in hits}
        return dict(found)

    def _changed(self) -> None:
        self._sorted = None
        self._found = {}

    def __setitem__(self, oid: str, value: Value) -> None:
        self._changed()
        super().__setitem__(oid, value)

    def __delitem__(self, oid: str) -> None:
        self._changed()
        super().__delitem__(oid)

    def update(self, *args, **kwargs) -> None:  # type: ignore[override]
        self._changed()
        super().update(*args, **kwargs)

    def pop(self, *args):  # type: ignore[override]
        self._changed()
        return super().pop(*args)

    def setdefault(self, *args):  # type: ignore[override]
        self._changed()
        return super().setdefault(*args)

    def clear(self) -> None:
        self._changed()
        super().clear()

    def __ior__(self, other):  # type: ignore[override]
        self._changed()
        return super().__ior__(other)


def _under(snapshot: Snapshot, prefix: str) -> dict[str, Value]:
    if isinstance(snapshot, Values):
        return snapshot.under(prefix)
    cut = len(prefix)
    return {oid[cut:]: v for oid, v in snapshot.items() if oid.startswith(prefix)}


def column(snapshot: Snapshot, table: str, col: int) -> dict[str, Value]:
    """One column of a table, by row index (the OID suffix after ``table.col.``)."""
    return _under(snapshot, f"{table}.{col}.")


def subtree(snapshot: Snapshot, base: str) -> dict[str, Value]:
    """Every value under ``base``, keyed by the suffix after ``base.``."""
    return _under(snapshot, base + ".")


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
