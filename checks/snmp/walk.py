"""Walking SNMP subtrees to their end, or failing loudly (pure bookkeeping, no I/O).

A walk returns every value of every subtree it was asked for, or raises
:class:`~checks.snmp.errors.WalkError` naming the subtrees it could not finish and why. A
table cut short is never handed out as if it were whole: a check that sees ports "disappear"
from a short table raises a false CRITICAL. As net-snmp's ``snmpwalk``: a subtree ends
normally at endOfMibView or at the first OID outside it; an OID that is not greater than the
one before is an error ("OID not increasing"), and so is an answer that advances nothing.

Bounds per walk (one poll of one device), so a hostile or broken agent cannot keep a poll
running or fill the memory; every one ends the walk as a failure, never as a short table:

* ``varbinds``    200,000 var-binds, NULL / noSuchInstance included (a core switch's full
                  ifXTable is ~20,000);
* ``requests``    20,000 requests (200,000 values at 10 per GETNEXT);
* ``seconds``     120 s of wall time (the engine's check timeout usually ends it sooner);
* ``bytes``       16 MiB of OIDs and values kept;
* ``value_bytes`` 4 KiB per value: 16 times a DisplayString's 255; a longer value is an
                  error naming the OID, not a silent truncation that could pass as data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from muni_watchdog.checks.snmp import ber
from muni_watchdog.checks.snmp.errors import SnmpError, WalkError
from muni_watchdog.checks.snmp.values import Value


@dataclass(frozen=True)
class WalkLimits:
    """The bounds of one walk (see the module docstring)."""

    varbinds: int = 200_000
    requests: int = 20_000
    seconds: float = 120.0
    bytes: int = 16 * 1024 * 1024
    value_bytes: int = 4096


_ARCS: dict[str, tuple[int, ...]] = {}   # as ber's OID cache: the same OIDs every poll


def oid_tuple(oid: str) -> tuple[int, ...]:
    """The arcs of a dotted OID (compared numerically: 1.10 comes after 1.9)."""
    arcs = _ARCS.get(oid)
    if arcs is None:
        arcs = tuple(map(int, oid.split(".")))
        if len(_ARCS) >= ber.OID_CACHE_SIZE:
            _ARCS.clear()
        _ARCS[oid] = arcs
    return arcs


def value_size(value: object) -> int:
    """Bytes a value holds (for the caps): its length for bytes and text, 8 for a number."""
    if isinstance(value, bytes | str):
        return len(value)
    return 8


def check_value(oid: str, value: object, limits: WalkLimits) -> None:
    """Raise SnmpError when ``value`` is over the cap per value."""
    size = value_size(value)
    if size > limits.value_bytes:
        raise SnmpError("protocol", _too_big(oid, size, limits))


def _too_big(oid: str, size: int, limits: WalkLimits) -> str:
    return (f"the value of {oid} is {size:,} bytes, over the cap of {limits.value_bytes:,} "
            "bytes per value")


class Walk:
    """The state of one walk of several subtrees: ask :meth:`batch` what to request next,
    feed each answer to :meth:`take`, and read :meth:`result` when :attr:`done`."""

    def __init__(self, roots: Iterable[str], limits: WalkLimits = WalkLimits(),
                 clock: Callable[[], float] = time.monotonic):
        self.limits, self._clock = limits, clock
        self.started = clock()
        ordered = sorted(set(roots), key=oid_tuple)
        self.pending: dict[str, str] = {root: root for root in ordered}
        self._prefixes = {root: root + "." for root in ordered}
        self._values: dict[str, dict[str, Value]] = {root: {} for root in ordered}
        self.failed: dict[str, str] = {}
        self.counts: dict[str, int] = dict.fromkeys(ordered, 0)  # var-binds inside each root
        self.requests = self.varbinds = self.bytes = 0

    @property
    def done(self) -> bool:
        return not self.pending

    def batch(self, width: int) -> list[tuple[str, str]]:
        """Up to ``width`` unfinished subtrees as (root, last OID seen): request the OIDs
        after each last one, in this order. Fails every subtree when the wall-time cap is
        reached (then the batch is empty)."""
        self._check_time()
        return list(self.pending.items())[:width]

    def plan(self, sizes: Mapping[str, int], repetitions: int, cap: int,
             width: int = 4, quiet_width: int = 40) -> tuple[list[tuple[str, str]], int]:
        """The next GETBULK: (the subtrees and the OIDs to ask after, max-repetitions).

        ``sizes`` holds how many var-binds each subtree had when last walked to its end. So:

        * subtrees that were empty, not yet started, go together, ``quiet_width`` to a
          request, with max-repetitions 1 (a GETNEXT each: one answer proves them empty);
        * the columns of one table (same parent OID) with known sizes go in one request
          with max-repetitions one more than the longest column still expects: the table
          in one answer, and only the one var-bind past its end that proves the end;
        * subtrees never walked (or that grew) take ``width`` to a request at
          ``repetitions``.

        Repetitions are capped at ``cap``; an agent that answers fewer var-binds (it may:
        RFC 3416 4.2.3) is asked again from where it stopped. Empty: nothing left (or the
        wall-time cap failed what was left)."""
        self._check_time()
        quiet, sized, unknown = [], {}, []
        for root, last in self.pending.items():
            size = sizes.get(root)
            expected = None if size is None else size - self.counts[root]
            if size == 0 and last == root:
                quiet.append((root, last))
            elif expected is not None and expected >= 0:
                sized.setdefault(root.rsplit(".", 1)[0], []).append((root, last, expected))
            else:
                unknown.append((root, last))
        if quiet:
            return quiet[:quiet_width], 1
        if sized:
            group = next(iter(sized.values()))
            reps = min(cap, max(expected for _, _, expected in group) + 1)
            return [(root, last) for root, last, _ in group][:quiet_width], reps
        return unknown[:width], repetitions

    def take(self, batch: list[tuple[str, str]], answer: list[tuple[str, object]]) -> None:
        """Account the answer to a GETNEXT/GETBULK of ``batch``: var-bind ``i`` belongs to
        ``batch[i % len(batch)]`` (RFC 3416 4.2.3 with no non-repeaters)."""
        self.requests += 1
        width = len(batch)
        ended: set[str] = set()
        advanced: set[str] = set()
        cap = self.limits.value_bytes
        # One subtree at a time (its var-binds are every width-th), with its state in locals:
        # this loop runs once per value of every walk.
        for column, (root, last) in enumerate(batch):
            if root in self.failed:
                continue
            prefix, values = self._prefixes[root], self._values[root]
            previous, previous_arcs = last, oid_tuple(last)
            seen = count = size_total = 0
            for oid, value in answer[column::width]:
                seen += 1
                if value is ber.END_OF_MIB:
                    ended.add(root)
                    break
                current = oid_tuple(oid)
                if current <= previous_arcs:
                    self._fail(root, f"OID not increasing: {oid} after {previous} (a broken "
                               "or looping agent; net-snmp stops the same way)")
                    break
                if not oid.startswith(prefix):
                    ended.add(root)   # the first OID past the subtree: its normal end
                    break
                size = len(value) if isinstance(value, bytes | str) else 8
                if size > cap:
                    self._fail(root, _too_big(oid, size, self.limits))
                    break
                count += 1
                if value is not None:
                    values[oid] = value  # type: ignore[assignment]
                    size_total += len(oid) + size
                previous, previous_arcs = oid, current
            self.varbinds += seen
            if root in self.failed:
                continue
            self.counts[root] += count
            self.bytes += size_total
            if root in ended:
                del self.pending[root]
            elif count:
                advanced.add(root)
                self.pending[root] = previous
        if not ended and not advanced and not any(r in self.failed for r, _ in batch):
            for root, _ in batch:
                self._fail(root, "the agent answered without any var-bind for it")
        self._check_caps()

    def sizes(self) -> dict[str, int]:
        """The var-binds of each subtree walked to its end (for :meth:`plan` next time)."""
        return {root: count for root, count in self.counts.items()
                if root not in self.failed and root not in self.pending}

    def result(self) -> dict[str, Value]:
        """Every value of every subtree; raises WalkError when any could not be finished
        (its ``complete`` holds the finished ones)."""
        complete: dict[str, Value] = {}
        for root, values in self._values.items():
            if root not in self.failed:
                complete.update(values)
        if self.failed or self.pending:
            failed = dict(self.failed)
            failed.update({root: "the walk was stopped before it ended"
                           for root in self.pending})
            raise WalkError(failed, complete)
        return complete

    # ---- bounds -----------------------------------------------------------------------
    def _fail(self, root: str, why: str) -> None:
        self.failed[root] = why
        self.pending.pop(root, None)
        self._values[root] = {}

    def _fail_pending(self, why: str) -> None:
        for root in list(self.pending):
            self._fail(root, why)

    def _check_time(self) -> None:
        if self.pending and self._clock() - self.started > self.limits.seconds:
            self._fail_pending(f"stopped after {self.limits.seconds:g} s, the cap per walk")

    def _check_caps(self) -> None:
        limits = self.limits
        if not self.pending:
            return
        if self.varbinds >= limits.varbinds:
            self._fail_pending(f"stopped after {limits.varbinds:,} var-binds, the cap per "
                               "walk (an agent that never ends its table?)")
        elif self.requests >= limits.requests:
            self._fail_pending(f"stopped after {limits.requests:,} requests, the cap per "
                               "walk (an agent that never ends its table?)")
        elif self.bytes > limits.bytes:
            self._fail_pending(f"stopped after {self.bytes:,} bytes of values, over the cap "
                               f"of {limits.bytes:,} bytes per walk")
        else:
            self._check_time()
