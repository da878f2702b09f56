"""What restic says on stderr, sorted: the lines that mean something, and the packs they name.

Pure. restic mixes its real messages with backend retries (``Load(<data/…>) returned error,
retrying after …``), advice paragraphs, progress, and — in restic 0.14, for errors wrapped with
a stack — a Go stack trace (``github.com/restic/restic/internal/….Func`` / ``\\tfile.go:39``
pairs). A summary must show the first line that says what went wrong, never a stack frame.

Pack ids come in the formats of restic's checker and repository code, 0.14 to 0.18 (captured
outputs in ``tests/data/restic``; restic's ``internal/checker`` and ``cmd_check.go``):

- ``pack <id>: does not exist``                          missing (index lists it, backend not)
- ``pack <id>: unexpected file size: got N, expected M`` damaged (truncated)
- ``pack <id> contains N errors: [...]``                 damaged (0.16+ read-data)
- ``Pack ID does not match, want <id>, got <id>``        damaged (0.14 read-data)
- ``pack <id> failed to download: …``                    damaged or missing (0.14 read-data)
- ``pack <id>: blob N (offset …): ID does not match``    damaged (older read-data)
- ``ReadFull(<data/<id>>)`` / ``Load(<data/<id>>, …)``   a pack that could not be read
- ``decrypting blob <data/BLOB> from <pack> failed``     the pack after ``from`` (not the blob)
- ``restic repair packs <id> …``                         0.17+ advice naming damaged packs
- ``…/data/ab/<64 hex>: no such file or directory``      a pack file path
- ``pack <id>: not referenced in any index``             orphaned: not damage (restic says
  non-critical, ``prune`` tidies it), never counted
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_HEX = r"[0-9a-f]{8,64}"

# Lines that are never the message: backend retries, cache notes, progress, advice text.
_NOISE = re.compile(
    r"^(?:Load\(<[^>]*>[^)]*\)\s+(?:returned error, retrying|failed:)"
    r"|using temporary cache in |created new cache in |unable to (?:open|create) cache"
    r"|unable to create temporary directory for cache|error removing temporary cache"
    r"|repository [0-9a-f]+ opened|create exclusive lock for repository|load indexes"
    r"|check all packs|check snapshots, trees and blobs|read all data|read group #"
    r"|read \S+ (?:bytes )?(?:\(\S+\) )?of (?:data )?packs|\[\d+:\d+\]"
    r"|The repository (?:is damaged|contains damaged pack files|index is damaged)"
    r"|restic repair (?:packs|snapshots|index)|Damaged pack files can be caused"
    r"|Please (?:read|follow) the troubleshooting guide|\d+ additional files were found"
    r"|This is non-critical|Duplicate packs are non-critical"
    r"|the `unlock` command can be used|lock was created at |storage ID [0-9a-f]+$"
    r"|Ignoring \"latest\", no snapshot matched)")

# A Go stack trace: "goroutine 1 [running]:", a function ("pkg/path.(*T).Method", "main.run",
# "runtime.goexit") alone on its line, or its "\tfile.go:123" location.
_GO_FRAME = re.compile(
    r"^(?:goroutine \d+ \[|created by |exit status \d+$|\[signal |"
    r"[\w.\-/]+\.go:\d+(?: \+0x[0-9a-f]+)?$|"
    r"(?:[\w.\-]+/)*[\w\-]+\.[\w.()*\[\]]+(?:\(.*\))?$)")
_PACK_PATTERNS = (
    re.compile(rf"^pack ({_HEX}): does not exist"),
    re.compile(rf"^pack ({_HEX}): (?!not referenced in any index)"),
    re.compile(rf"^pack ({_HEX}) (?:contains \d+ errors?|failed to download)"),
    re.compile(rf"Pack ID does not match, want ({_HEX})"),
    re.compile(rf"(?:ReadFull|Load)\(<data/({_HEX})>"),
    re.compile(rf"blob <data/{_HEX}> from ({_HEX}) failed"),
    re.compile(r"/data/[0-9a-f]{2}/([0-9a-f]{64})\b"),
)
_REPAIR_PACKS = re.compile(r"^restic repair packs ((?:[0-9a-f]{8,64}\s*)+)$")
_MISSING = re.compile(rf"^pack ({_HEX}): does not exist")
_MISSING_FILE = re.compile(r"/data/[0-9a-f]{2}/([0-9a-f]{64}): no such file or directory")


def is_noise(line: str) -> bool:
    """A retry, progress, cache or advice line: never the message."""
    return bool(_NOISE.match(line.strip()))


def is_stack_frame(line: str) -> bool:
    """A line of a Go stack trace (restic 0.14 prints them for wrapped errors)."""
    text = line.strip()
    return bool(text) and " " not in text.split("(", 1)[0] and "<" not in text and \
        bool(_GO_FRAME.match(text))


def meaningful_lines(text: str) -> list[str]:
    """Lines of ``text`` that carry a message, stripped: no blanks, noise or stack frames.

    A line indented in restic's output (``  ReadFull(…)`` under ``error for tree …:``) stays:
    it is the detail of the line above."""
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not is_noise(line) and not is_stack_frame(raw):
            lines.append(line)
    return lines


def first_message(text: str) -> str:
    """The line that says what went wrong: before a stack trace the first meaningful line (the
    error the stack belongs to), otherwise the last one (restic ends with its verdict)."""
    raw = text.splitlines()
    frame = next((i for i, line in enumerate(raw) if is_stack_frame(line) and "/" in line), None)
    if frame is not None:
        head = meaningful_lines("\n".join(raw[:frame]))
        if head:
            return head[0]
    lines = meaningful_lines(text)
    return lines[-1] if lines else ""


@dataclass(frozen=True)
class NamedPacks:
    damaged_packs: tuple[str, ...] = ()
    missing_packs: tuple[str, ...] = ()


def named_packs(lines: Iterable[str]) -> NamedPacks:
    """Every pack id the lines name, split into missing and damaged, without duplicates.

    A short id (``a56be873b4`` in ``Load(<data/…>)``) is dropped when the full id is named too.
    """
    missing: list[str] = []
    named: list[str] = []
    for line in lines:
        text = line.strip()
        if text.startswith("pack ") and "not referenced in any index" in text:
            continue  # orphaned: not damage
        found = _MISSING.match(text) or _MISSING_FILE.search(text)
        if found:
            missing.append(found[1])
        repair = _REPAIR_PACKS.match(text)
        if repair:
            named.extend(repair[1].split())
        for pattern in _PACK_PATTERNS:
            named.extend(pattern.findall(text))
    missing_ids = _dedupe(missing)
    damaged = [p for p in _dedupe(named + missing_ids) if not _covered(p, missing_ids)]
    return NamedPacks(tuple(damaged), tuple(missing_ids))


def _dedupe(ids: Sequence[str]) -> list[str]:
    ordered = list(dict.fromkeys(ids))
    return [p for p in ordered if not any(o != p and o.startswith(p) for o in ordered)]


def _covered(pack: str, others: Sequence[str]) -> bool:
    return any(o.startswith(pack) or pack.startswith(o) for o in others)


def subset_of_pack(pack: str, total: int) -> int | None:
    """Which ``--read-data-subset=k/total`` reads ``pack``: restic takes the first byte of the
    pack id modulo ``total`` (``selectPacksByBucket`` in cmd_check.go), plus one."""
    if len(pack) < 2 or total < 1:
        return None
    try:
        return int(pack[:2], 16) % total + 1
    except ValueError:
        return None
