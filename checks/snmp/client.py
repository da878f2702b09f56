"""SNMP requests to one agent: GET, walks by GETBULK or GETNEXT, and errors a person can
act on.

SNMPv1/v2c go through our own BER codec (:mod:`checks.snmp.ber`) over one shared UDP socket
(:mod:`checks.snmp.transport`): pysnmp's pyasn1 decoding costs more CPU per value than
forking net-snmp does. SNMPv3 uses pysnmp 7 (:mod:`checks.snmp.v3`, imported on the first
v3 request: pysnmp costs ~30 MB of RSS that a v1/v2c-only daemon never needs)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Iterable

from muni_watchdog.checks.snmp import ber
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.snmp.diagnose import diagnose
from muni_watchdog.checks.snmp.errors import PduError as _PduError
from muni_watchdog.checks.snmp.errors import SnmpError, WalkError
from muni_watchdog.checks.snmp.transport import Rejected, RequestTimeout, exchange, resolve
from muni_watchdog.checks.snmp.values import Value
from muni_watchdog.checks.snmp.walk import Walk, WalkLimits, check_value
from muni_watchdog.core.secrets import SecretError, read_secret

log = logging.getLogger("muni-watchdog")

MAX_IN_FLIGHT = 64        # SNMP requests in flight across all targets of this process
GET_OIDS_PER_PDU = 60     # all of a poll's scalars in one GET; halved (and kept) on tooBig
WALK_ROOTS_PER_PDU = 4    # several small subtrees share one GETBULK
NEXT_OIDS_PER_PDU = 40    # probes and subtrees known empty: one GETNEXT-like request
# Repetitions sized to a known table go up to this (RFC 3416 lets an agent answer fewer; we
# then ask again from where it stopped). A max_repetitions set in the config caps it.
SIZED_REPETITIONS = 250

__all__ = ["SnmpClient", "SnmpError", "WalkError", "convert", "diagnose"]

_limits: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _in_flight() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _limits:
        _limits[loop] = asyncio.Semaphore(MAX_IN_FLIGHT)
    return _limits[loop]


def convert(value) -> Value | None:
    """A pysnmp value as int, bytes or str (see :func:`checks.snmp.v3.convert`)."""
    from muni_watchdog.checks.snmp.v3 import convert as convert_v3
    return convert_v3(value)


def _is_end(value) -> bool:
    return value is ber.END_OF_MIB


# RFC 3416 error-status names, for messages.
ERROR_STATUS = {1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr",
                6: "noAccess", 7: "wrongType", 16: "authorizationError", 17: "notWritable"}
PDU_TYPES = {"get": ber.GET, "next": ber.GETNEXT, "bulk": ber.GETBULK}


def valid_answer(version: int, community: bytes):
    """The check an answer must pass to be taken for the agent's (see transport)."""
    def accept(data: bytes) -> ber.Answer:
        answer = ber.decode_answer(data)
        if answer.version != version:
            raise Rejected(f"an answer in SNMP message version {answer.version} to a "
                           f"version {version} request")
        if answer.community != community:  # never name the community: it is a secret
            raise Rejected("an answer with another community")
        return answer
    return accept


def _requested(op: str, oids: list[str], repetitions: int,
               answer: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Only the var-binds asked for: a GET's OIDs, one per OID for GETNEXT, repetitions per
    OID for GETBULK. Agents append others (a non-UPS once reported a UPS on battery that
    way); they are dropped, never kept as data."""
    if op == "get":  # RFC 3416 4.2.1: as many var-binds as asked, each OID asked once
        asked, seen, kept = set(oids), set(), []
        for oid, value in answer[:len(oids)]:
            if oid in asked and oid not in seen:
                seen.add(oid)
                kept.append((oid, value))
        return kept
    return answer[:len(oids) * (max(1, repetitions) if op == "bulk" else 1)]


class SnmpClient:
    """Requests to one agent. Not thread-safe; one per target, used from one event loop."""

    def __init__(self, host: str, conn: SnmpConnection,
                 read: Callable = read_secret) -> None:
        self.host, self.conn, self._read = host, conn, read
        self.bulk = conn.bulk and conn.version != "1"
        self.max_repetitions = conn.max_repetitions
        self.get_per_pdu = GET_OIDS_PER_PDU
        self.sizes: dict[str, int] = {}   # subtree -> var-binds when last walked to its end
        self.most_per_answer = 0          # the most var-binds one GETBULK answer carried
        self.limits = WalkLimits()
        self.requests = 0
        self.answers = 0    # accepted answers: tells "stopped answering" from "never did"
        self._auth: bytes | None = None
        self._v3_requester = None
        self._address: tuple[int, tuple] | None = None

    # ---- set-up -------------------------------------------------------------------------
    def _v3(self):
        """The SNMPv3 side (pysnmp), imported and made on first use: pysnmp and pysmi cost
        ~30 MB of RSS that a daemon with only v1/v2c targets never needs."""
        if self._v3_requester is None:
            from muni_watchdog.checks.snmp.v3 import V3Requester
            self._v3_requester = V3Requester(self.host, self.conn, self._read)
        return self._v3_requester

    def rediscover(self) -> None:
        """Forget the v3 engine state (engine id, boots, time): the next request discovers."""
        if self._v3_requester is not None:
            self._v3_requester.rediscover()

    async def close(self) -> None:
        self.rediscover()

    def _count_request(self) -> None:
        self.requests += 1

    # ---- one request --------------------------------------------------------------------
    async def request(self, op: str, oids: list[str], repetitions: int = 0,
                      ) -> list[tuple[str, object]]:
        """One PDU; returns the (oid, value) pairs asked for, values as :func:`convert`
        makes them (None for the exceptions) or ``ber.END_OF_MIB``. Raises SnmpError (or
        _PduError)."""
        if self.conn.version == "3":
            answer = await self._v3().request(op, oids, repetitions, _in_flight(),
                                              self._count_request)
        else:
            answer = await self._request_community(op, oids, repetitions)
        self.answers += 1
        if op == "bulk" and len(answer) > self.most_per_answer:
            self.most_per_answer = len(answer)
        return _requested(op, oids, repetitions, answer)

    async def _request_community(self, op: str, oids: list[str], repetitions: int,
                                 ) -> list[tuple[str, object]]:
        if self._auth is None:
            try:
                self._auth = self._read(self.conn.community_ref).encode()
            except SecretError as exc:
                raise SnmpError("config", f"cannot read the SNMP community: {exc}") from None
        if self._address is None:
            try:
                self._address = await resolve(self.host, self.conn.port)
            except OSError:
                raise SnmpError("host_down", f"cannot resolve host name {self.host!r}") \
                    from None
        family, address = self._address
        version = 0 if self.conn.version == "1" else 1
        community, pdu_type = self._auth, PDU_TYPES[op]

        def message(request_id: int) -> bytes:
            return ber.encode_request(version, community, pdu_type, request_id, oids, 0,
                                      repetitions)
        async with _in_flight():
            self.requests += 1
            try:
                answer = await exchange(family, address, message, self.conn.timeout,
                                        self.conn.retries, valid_answer(version, community))
            except RequestTimeout as exc:
                if exc.rejected:
                    raise SnmpError("protocol", "no valid SNMP answer within the timeout; "
                                    f"the last one was refused: {exc.rejected}") from None
                raise SnmpError("no_answer", "no SNMP answer") from None
        if answer.error_status:
            raise _PduError(answer.error_status, answer.error_index,
                            ERROR_STATUS.get(answer.error_status,
                                             f"error {answer.error_status}"))
        return answer.varbinds

    # ---- GET and walks ------------------------------------------------------------------
    async def get(self, oids: Iterable[str]) -> dict[str, Value]:
        """Values of scalar OIDs; missing ones are left out (v1 noSuchName is handled)."""
        found: dict[str, Value] = {}
        todo = sorted(set(oids))
        while todo:
            chunk, todo = todo[:self.get_per_pdu], todo[self.get_per_pdu:]
            while chunk:
                try:
                    answer = await self.request("get", chunk)
                except _PduError as exc:
                    if exc.status == 2 and 0 < exc.index <= len(chunk):  # v1 noSuchName
                        chunk = chunk[:exc.index - 1] + chunk[exc.index:]
                        continue
                    if exc.status == 1 and len(chunk) > 1:  # tooBig: split, and remember
                        half = len(chunk) // 2
                        self.get_per_pdu = max(1, min(self.get_per_pdu, half))
                        todo = chunk[half:] + todo
                        chunk = chunk[:half]
                        continue
                    raise SnmpError("protocol", f"SNMP GET failed: {exc.text}") from None
                for oid, value in answer:
                    if value is not None and not _is_end(value):
                        check_value(oid, value, self.limits)
                        found[oid] = value
                break
        return found

    async def walk(self, roots: Iterable[str]) -> dict[str, Value]:
        """Every value below each root (GETBULK, or GETNEXT on v1 or when bulk is off).

        Only whole subtrees come back: raises WalkError naming those that could not be
        finished (:mod:`checks.snmp.walk`: OID not increasing, caps on var-binds, requests,
        time and bytes), SnmpError when the agent stops answering or reports an error."""
        walk = Walk(roots, self.limits)
        await self._walk(walk)
        return walk.result()

    async def _walk(self, walk: Walk, probes: dict[str, str] | None = None) -> set[str]:
        """Run ``walk`` to its end, planned with what the last walks of this agent found
        (:meth:`Walk.plan`); ``probes`` (name -> root) ride along the first request.
        Returns the names of the probes whose subtree holds anything."""
        answering: set[str] = set()
        probes = dict(probes or {})
        while True:
            if not self.bulk:
                batch, repetitions = walk.batch(10), 0
            else:
                batch, repetitions = walk.plan(self.sizes, self.max_repetitions,
                                               self._sized_cap(), WALK_ROOTS_PER_PDU,
                                               NEXT_OIDS_PER_PDU - len(probes))
            if probes and batch and repetitions == 1:
                # The probes and the subtrees known empty: one GETNEXT-like request.
                asked = list(probes.values())
                try:
                    answer = await self.request("bulk", asked + [last for _, last in batch], 1)
                except _PduError:   # tooBig, v1 noSuchName...: the careful way, below
                    pass
                else:
                    answering |= _answering(probes, answer[:len(asked)])
                    probes = {}
                    walk.take(batch, answer[len(asked):])
                    continue
            if probes:
                answering |= await self.probe(probes)
                probes = {}
                continue
            if not batch:
                break
            walk.take(batch, await self._walk_step([last for _, last in batch], repetitions))
        self.sizes.update(walk.sizes())
        return answering

    def _sized_cap(self) -> int:
        if "max_repetitions" in self.conn.model_fields_set or \
                self.max_repetitions < self.conn.max_repetitions:
            return self.max_repetitions   # set by the operator, or lowered after tooBig
        return SIZED_REPETITIONS

    async def _walk_step(self, oids: list[str], repetitions: int | None = None,
                         ) -> list[tuple[str, object]]:
        repetitions = self.max_repetitions if repetitions is None else \
            min(repetitions, self._sized_cap())
        if not self.bulk:
            try:
                return await self.request("next", oids)
            except _PduError as exc:
                if exc.status == 2 and self.conn.version == "1" and len(oids) == 1:
                    return [(oids[0], ber.END_OF_MIB)]  # v1: the end of the MIB view
                if exc.status == 2 and self.conn.version == "1":
                    # v1 noSuchName on one root fails the PDU: walk them one by one
                    merged: list[tuple[str, object]] = []
                    for oid in oids:
                        merged.extend(await self._walk_step([oid], repetitions))
                    return merged
                raise SnmpError("protocol", f"SNMP GETNEXT failed: {exc.text}") from None
        try:
            return await self.request("bulk", oids, repetitions)
        except _PduError as exc:
            if exc.status == 1 and repetitions > 1:  # tooBig
                self.max_repetitions = max(1, min(self.max_repetitions, repetitions // 2))
                log.info("target host=%s: GETBULK too big; max_repetitions now %d",
                         self.host, self.max_repetitions)
                return await self._walk_step(oids, self.max_repetitions)
            log.warning("target host=%s: GETBULK failed (%s); using GETNEXT", self.host,
                        exc.text)
            self.bulk = False
            return await self._walk_step(oids, repetitions)
        except SnmpError as exc:
            if exc.reason != "no_answer":
                raise
            # Some agents drop GETBULK silently: if a plain GET works, fall back to GETNEXT.
            try:
                await self.request("get", ["1.3.6.1.2.1.1.3.0"])
            except SnmpError:
                raise exc from None
            log.warning("target host=%s: GETBULK unanswered but GET works; using GETNEXT",
                        self.host)
            self.bulk = False
            return await self._walk_step(oids, repetitions)

    async def collect(self, scalars: Iterable[str], tables: Iterable[str],
                      probes: dict[str, str]) -> tuple[dict[str, Value], set[str]]:
        """One poll: the scalars in one GET, the probes with the first walk request, the
        tables walked as :meth:`_walk` plans. Returns (values, names of the probes that
        answered); raises WalkError (with the complete subtrees) or SnmpError."""
        values = await self.get(scalars) if scalars else {}
        walk = Walk(tables, self.limits)
        answering = await self._walk(walk, probes)
        try:
            values.update(walk.result())
        except WalkError as exc:
            exc.complete = {**values, **exc.complete}
            exc.answering = answering  # type: ignore[attr-defined]
            raise
        return values, answering

    async def probe(self, roots: dict[str, str]) -> set[str]:
        """Which of the named subtrees hold anything (one GETNEXT per 40 roots)."""
        answering = set()
        items = list(roots.items())
        for start in range(0, len(items), NEXT_OIDS_PER_PDU):
            chunk = items[start:start + NEXT_OIDS_PER_PDU]
            try:
                answer = await self.request("next", [oid for _, oid in chunk])
            except _PduError:
                answer = []
                for _name, oid in chunk:  # v1: one bad root fails the PDU
                    try:
                        answer.extend(await self.request("next", [oid]))
                    except _PduError:
                        answer.append((oid, ber.END_OF_MIB))
            for (name, root), (oid, value) in zip(chunk, answer, strict=False):
                if not _is_end(value) and oid.startswith(root + "."):
                    answering.add(name)
        return answering


def _answering(probes: dict[str, str], answer: list[tuple[str, object]]) -> set[str]:
    return {name for (name, root), (oid, value) in zip(probes.items(), answer, strict=False)
            if not _is_end(value) and oid.startswith(root + ".")}
