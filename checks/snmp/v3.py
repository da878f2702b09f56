"""SNMPv3 requests through pysnmp 7 (asyncio), one ``SnmpEngine`` per target.

Imported only when a v3 target is polled (:meth:`SnmpClient._v3`): pysnmp with pysmi costs
~30 MB of RSS. One engine per target (about 0.4 s and 2 MB each, fine for the few v3 devices
of a site), so that engine ids, boots and times of one agent never leak into another's (the
ezsnmp#56 lesson); a ``notInTimeWindow`` / unknown-engine report, or silence from an agent
this engine knew, re-discovers by starting a fresh engine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

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
from muni_watchdog.checks.snmp.errors import PduError, SnmpError
from muni_watchdog.checks.snmp.values import Value
from muni_watchdog.core.secrets import SecretError

log = logging.getLogger("muni-watchdog")

AUTH = {"MD5": pysnmp_auth.USM_AUTH_HMAC96_MD5, "SHA": pysnmp_auth.USM_AUTH_HMAC96_SHA,
        "SHA-224": pysnmp_auth.USM_AUTH_HMAC128_SHA224,
        "SHA-256": pysnmp_auth.USM_AUTH_HMAC192_SHA256,
        "SHA-384": pysnmp_auth.USM_AUTH_HMAC256_SHA384,
        "SHA-512": pysnmp_auth.USM_AUTH_HMAC384_SHA512}
PRIV = {"DES": pysnmp_auth.USM_PRIV_CBC56_DES, "AES": pysnmp_auth.USM_PRIV_CFB128_AES,
        "AES-128": pysnmp_auth.USM_PRIV_CFB128_AES,
        "AES-192": pysnmp_auth.USM_PRIV_CFB192_AES,
        "AES-256": pysnmp_auth.USM_PRIV_CFB256_AES}


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


class V3Requester:
    """The SNMPv3 requests of one target (its engine, user and transport)."""

    def __init__(self, host: str, conn: SnmpConnection, read: Callable):
        self.host, self.conn, self._read = host, conn, read
        self._auth = None
        self._target = None
        self._engine: SnmpEngine | None = None
        self._engine_known = False

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
        """Forget the engine state (engine id, boots, time): the next request discovers."""
        self._engine_known = False
        if self._engine is not None:
            try:
                self._engine.close_dispatcher()
            except Exception:  # closing a half-broken engine must not hide the real error
                pass
        self._engine = None

    async def request(self, op: str, oids: list[str], repetitions: int,
                      in_flight: asyncio.Semaphore, count: Callable[[], None],
                      ) -> list[tuple[str, object]]:
        """One request (two when the engine must be discovered again); ``count`` is called
        for each PDU sent, inside the process-wide ``in_flight`` bound."""
        for attempt in (1, 2):
            engine, auth, target = await self._prepare()
            varbinds = [ObjectType(ObjectIdentity(o)) for o in oids]
            context = ContextData(contextName=self.conn.context)
            async with in_flight:
                count()
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
                    raise PduError(int(status), int(index or 0), str(status.prettyPrint()
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
