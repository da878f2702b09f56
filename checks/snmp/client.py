"""SNMP requests to one agent: GET, walks by GETBULK or GETNEXT, and errors a person can
act on.

SNMPv1/v2c go through our own BER codec (:mod:`checks.snmp.ber`) over one shared UDP socket
(:mod:`checks.snmp.transport`): pysnmp's pyasn1 decoding costs more CPU per value than
forking net-snmp does. SNMPv3 uses pysnmp 7 (asyncio) with one ``SnmpEngine`` per target
(about 0.4 s and 2 MB each, fine for the few v3 devices of a site), so that engine ids, boots
and times of one agent never leak into another's (the ezsnmp#56 lesson); a
``notInTimeWindow`` / unknown-engine report, or silence from an agent this engine knew,
re-discovers by starting a fresh engine."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Iterable

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as pysnmp_auth
from pysnmp.proto import errind, rfc1902, rfc1905

from muni_watchdog.checks.snmp import ber
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.snmp.diagnose import diagnose
from muni_watchdog.checks.snmp.errors import SnmpError, WalkError
from muni_watchdog.checks.snmp.transport import Rejected, RequestTimeout, exchange, resolve
from muni_watchdog.checks.snmp.values import Value
from muni_watchdog.checks.snmp.walk import Walk, WalkLimits, check_value
from muni_watchdog.core.secrets import SecretError, read_secret

log = logging.getLogger("muni-watchdog")

MAX_IN_FLIGHT = 64        # SNMP requests in flight across all targets of this process
GET_OIDS_PER_PDU = 20
WALK_ROOTS_PER_PDU = 4    # several small subtrees share one GETBULK

__all__ = ["SnmpClient", "SnmpError", "WalkError", "convert", "diagnose"]

AUTH = {"MD5": pysnmp_auth.USM_AUTH_HMAC96_MD5, "SHA": pysnmp_auth.USM_AUTH_HMAC96_SHA,
        "SHA-224": pysnmp_auth.USM_AUTH_HMAC128_SHA224,
        "SHA-256": pysnmp_auth.USM_AUTH_HMAC192_SHA256,
        "SHA-384": pysnmp_auth.USM_AUTH_HMAC256_SHA384,
        "SHA-512": pysnmp_auth.USM_AUTH_HMAC384_SHA512}
PRIV = {"DES": pysnmp_auth.USM_PRIV_CBC56_DES, "AES": pysnmp_auth.USM_PRIV_CFB128_AES,
        "AES-128": pysnmp_auth.USM_PRIV_CFB128_AES,
        "AES-192": pysnmp_auth.USM_PRIV_CFB192_AES,
        "AES-256": pysnmp_auth.USM_PRIV_CFB256_AES}


_limits: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _in_flight() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _limits:
        _limits[loop] = asyncio.Semaphore(MAX_IN_FLIGHT)
    return _limits[loop]


def convert(value) -> Value | None:
    """A pysnmp value as int, bytes or str (OIDs, IP addresses); None for the exceptions
    noSuchObject, noSuchInstance, endOfMibView and NULL."""
    if isinstance(value, univ.Null):  # first: pyasn1's Null (and the exceptions) is an
        return None                   # OctetString subclass
    if isinstance(value, rfc1902.IpAddress):
        return value.prettyPrint()
    if isinstance(value, univ.OctetString):
        return bytes(value)
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    return None


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
        self.limits = WalkLimits()
        self.requests = 0
        self.answers = 0    # accepted answers: tells "stopped answering" from "never did"
        self._auth = None
        self._target = None
        self._engine: SnmpEngine | None = None
        self._engine_known = False
        self._address: tuple[int, tuple] | None = None

    # ---- set-up -------------------------------------------------------------------------
    def _credentials(self):
        c = self.conn
        try:
            auth_key = self._read(c.auth_ref) if c.auth_ref else None
            priv_key = self._read(c.priv_ref) if c.priv_ref else None
        except SecretError as exc:
            raise SnmpError("config", f"cannot read the SNMP secret: {exc}") from None
        for name, key in (("auth", auth_key), ("priv", priv_key)):
            if key is not None and len(key) < 8:
                raise SnmpError("config", f"the v3 {name} password is shorter than 8 "
                                "characters (RFC 3414 requires 8); agents refuse it")
        return UsmUserData(
            c.user, authKey=auth_key, privKey=priv_key,
            authProtocol=AUTH[c.auth_protocol] if c.auth_protocol else
            pysnmp_auth.USM_AUTH_NONE,
            privProtocol=PRIV[c.priv_protocol] if c.priv_protocol else
            pysnmp_auth.USM_PRIV_NONE)

    async def _prepare(self):
        if self._auth is None:
            self._auth = self._credentials()
        if self._target is None:
            try:
                self._target = await UdpTransportTarget.create(
                    (self.host, self.conn.port), timeout=self.conn.timeout,
                    retries=self.conn.retries)
            except Exception as exc:  # pysnmp wraps resolver errors in PySnmpError
                raise SnmpError("host_down", f"cannot resolve host name {self.host!r}: "
                                f"{exc}") from None
        if self._engine is None:
            self._engine = SnmpEngine()
        return self._engine, self._auth, self._target

    def rediscover(self) -> None:
        """Forget the v3 engine state (engine id, boots, time): the next request discovers."""
        self._engine_known = False
        if self._engine is not None:
            try:
                self._engine.close_dispatcher()
            except Exception:  # closing a half-broken engine must not hide the real error
                pass
        self._engine = None

    async def close(self) -> None:
        self.rediscover()

    # ---- one request --------------------------------------------------------------------
    async def request(self, op: str, oids: list[str], repetitions: int = 0,
                      ) -> list[tuple[str, object]]:
        """One PDU; returns the (oid, value) pairs asked for, values as :func:`convert`
        makes them (None for the exceptions) or ``ber.END_OF_MIB``. Raises SnmpError (or
        _PduError)."""
        if self.conn.version == "3":
            answer = await self._request_v3(op, oids, repetitions)
        else:
            answer = await self._request_community(op, oids, repetitions)
        self.answers += 1
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

    async def _request_v3(self, op: str, oids: list[str], repetitions: int,
                          ) -> list[tuple[str, object]]:
        for attempt in (1, 2):
            engine, auth, target = await self._prepare()
            varbinds = [ObjectType(ObjectIdentity(o)) for o in oids]
            context = ContextData(contextName=self.conn.context)
            async with _in_flight():
                self.requests += 1
                if op == "get":
                    result = await get_cmd(engine, auth, target, context, *varbinds,
                                           lookupMib=False)
                elif op == "next":
                    result = await next_cmd(engine, auth, target, context, *varbinds,
                                            lookupMib=False)
                else:
                    result = await bulk_cmd(engine, auth, target, context, 0, repetitions,
                                            *varbinds, lookupMib=False)
            indication, status, index, answer = result
            if indication is None:
                self._engine_known = self.conn.version == "3"
                if status and int(status) != 0:
                    raise _PduError(int(status), int(index or 0), str(status.prettyPrint()
                                    if hasattr(status, "prettyPrint") else status))
                return [(str(vb[0]), ber.END_OF_MIB if isinstance(vb[1], rfc1905.EndOfMibView)
                         else convert(vb[1])) for vb in answer]
            # A v3 agent that was reset (new engine id) makes pysnmp time out rather than
            # report: when this engine had talked to it before, discover again once.
            rediscover = isinstance(indication, errind.NotInTimeWindow |
                                    errind.UnknownEngineID) or (
                isinstance(indication, errind.RequestTimedOut) and self._engine_known)
            if rediscover and attempt == 1:
                log.info("target host=%s: SNMPv3 %s; re-discovering the engine", self.host,
                         indication)
                self.rediscover()
                continue
            raise self._explain(indication)
        raise SnmpError("protocol", "SNMPv3 engine discovery failed twice")

    def _explain(self, indication) -> SnmpError:
        if isinstance(indication, errind.RequestTimedOut):
            return SnmpError("no_answer", "no SNMP answer")
        if isinstance(indication, errind.UnknownUserName | errind.UnknownSecurityName):
            return SnmpError("credentials", f"SNMPv3 user {self.conn.user!r} is unknown to "
                             "the agent (usmStatsUnknownUserNames)")
        if isinstance(indication, errind.WrongDigest | errind.AuthenticationFailure |
                      errind.AuthenticationError):
            return SnmpError("credentials", "SNMPv3 authentication failed: wrong auth "
                             "password or protocol (usmStatsWrongDigests)")
        if isinstance(indication, errind.DecryptionError):
            return SnmpError("credentials", "SNMPv3 decryption failed: wrong privacy "
                             "password or protocol (usmStatsDecryptionErrors)")
        if isinstance(indication, errind.UnsupportedSecurityLevel):
            return SnmpError("credentials", f"the agent does not accept security level "
                             f"{self.conn.security_level} for user {self.conn.user!r}")
        if isinstance(indication, errind.NotInTimeWindow):
            return SnmpError("protocol", "SNMPv3 time window error persists after "
                             "re-discovery")
        return SnmpError("protocol", f"SNMP error: {indication}")

    # ---- GET and walks ------------------------------------------------------------------
    async def get(self, oids: Iterable[str]) -> dict[str, Value]:
        """Values of scalar OIDs; missing ones are left out (v1 noSuchName is handled)."""
        found: dict[str, Value] = {}
        todo = sorted(set(oids))
        for start in range(0, len(todo), GET_OIDS_PER_PDU):
            chunk = todo[start:start + GET_OIDS_PER_PDU]
            while chunk:
                try:
                    answer = await self.request("get", chunk)
                except _PduError as exc:
                    if exc.status == 2 and 0 < exc.index <= len(chunk):  # v1 noSuchName
                        chunk = chunk[:exc.index - 1] + chunk[exc.index:]
                        continue
                    if exc.status == 1 and len(chunk) > 1:  # tooBig: split
                        half = len(chunk) // 2
                        found |= await self.get(chunk[:half])
                        chunk = chunk[half:]
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
        while True:
            batch = walk.batch(WALK_ROOTS_PER_PDU if self.bulk else 10)
            if not batch:
                return walk.result()
            walk.take(batch, await self._walk_step([last for _, last in batch]))

    async def _walk_step(self, oids: list[str]) -> list[tuple[str, object]]:
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
                        merged.extend(await self._walk_step([oid]))
                    return merged
                raise SnmpError("protocol", f"SNMP GETNEXT failed: {exc.text}") from None
        try:
            return await self.request("bulk", oids, self.max_repetitions)
        except _PduError as exc:
            if exc.status == 1 and self.max_repetitions > 1:  # tooBig
                self.max_repetitions = max(1, self.max_repetitions // 2)
                log.info("target host=%s: GETBULK too big; max_repetitions now %d",
                         self.host, self.max_repetitions)
                return await self._walk_step(oids)
            log.warning("target host=%s: GETBULK failed (%s); using GETNEXT", self.host,
                        exc.text)
            self.bulk = False
            return await self._walk_step(oids)
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
            return await self._walk_step(oids)

    async def probe(self, roots: dict[str, str]) -> set[str]:
        """Which of the named subtrees hold anything (one GETNEXT per 10 roots)."""
        answering = set()
        items = list(roots.items())
        for start in range(0, len(items), 10):
            chunk = items[start:start + 10]
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


class _PduError(Exception):
    """The agent answered with an error-status (tooBig 1, noSuchName 2, genErr 5, ...)."""

    def __init__(self, status: int, index: int, text: str):
        super().__init__(text)
        self.status, self.index, self.text = status, index, text
