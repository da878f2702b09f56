"""SNMPv3 traps and informs: USM authentication and decryption by pysnmp's engine, fed from
the trap receiver's own UDP socket.

Why this shape: the receiver keeps one socket and dispatches by message version; v1/v2c stay
with our BER codec, v3 datagrams go to a pysnmp ``SnmpEngine`` whose UDP transport is never
opened but attached to that socket (so pysnmp's answers, the engine id Report for
``snmpinform``'s discovery and the inform acknowledgement, leave from the trap port).
pysnmp processes a datagram synchronously, so whether it authenticated is known on return.

Users are known by address, like communities: a v3 target's host and its USM user. A trap is
sent with the sender's own (authoritative) engine id, which the configuration does not know;
the receiver learns it from the message and localises the user's keys for it. The message's
HMAC still proves the password, and an engine id whose message fails authentication is
forgotten again (gosnmp's and Telegraf's receivers accept v3 traps the same way; snmptrapd
needs ``-e`` per user instead)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from muni_watchdog.checks.snmp import ber
from muni_watchdog.checks.snmp.trap_message import SNMP_TRAP_OID, Trap

log = logging.getLogger("muni-watchdog")

SECURITY_LEVELS = {"noAuthNoPriv": 1, "authNoPriv": 2, "authPriv": 3}
MAX_ENGINE_IDS_PER_SENDER = 8   # a device has one; a bound against floods of forged ones


@dataclass(frozen=True)
class V3User:
    """The USM credentials a v3 target's traps must carry (passwords already read)."""

    user: str
    auth_protocol: str | None = None    # MD5, SHA, SHA-224 ... as in SnmpConnection
    auth_password: str | None = None
    priv_protocol: str | None = None    # DES, AES, AES-192, AES-256
    priv_password: str | None = None

    @property
    def security_level(self) -> int:
        if not self.auth_protocol:
            return SECURITY_LEVELS["noAuthNoPriv"]
        return SECURITY_LEVELS["authPriv" if self.priv_protocol else "authNoPriv"]


class V3Ignored(Exception):
    """A v3 datagram that is not accepted; the message says why (for the log)."""


def usm_header(data: bytes) -> tuple[bytes, bytes]:
    """(msgAuthoritativeEngineID, msgUserName) of an SNMPv3 message (RFC 3412, RFC 3414
    2.4); raises ber.BerError. Read before pysnmp sees the message, to filter and to learn
    the sender's engine id."""
    try:
        _, pos, end = ber._header(data, 0, len(data))
        _, _, v_end = ber._header(data, pos, end)              # msgVersion
        _, _, g_end = ber._header(data, v_end, end)            # msgGlobalData
        tag, s_start, s_end = ber._header(data, g_end, end)    # msgSecurityParameters
        if tag != ber.OCTET_STRING:
            raise ber.BerError("no msgSecurityParameters")
        tag, u_start, u_end = ber._header(data, s_start, s_end)  # UsmSecurityParameters
        if tag != ber.SEQUENCE:
            raise ber.BerError("bad UsmSecurityParameters")
        tag, e_start, e_end = ber._header(data, u_start, u_end)
        if tag != ber.OCTET_STRING:
            raise ber.BerError("no msgAuthoritativeEngineID")
        _, _, b_end = ber._header(data, e_end, u_end)          # boots
        _, _, t_end = ber._header(data, b_end, u_end)          # time
        tag, n_start, n_end = ber._header(data, t_end, u_end)
        if tag != ber.OCTET_STRING:
            raise ber.BerError("no msgUserName")
    except IndexError as exc:
        raise ber.BerError(str(exc)) from None
    return data[e_start:e_end], data[n_start:n_end]


class V3TrapEngine:
    """A pysnmp engine that authenticates and decrypts v3 traps and informs from known users.

    ``users``: {sender address: (target id, V3User)}. :meth:`attach` gives it the receiver's
    socket; :meth:`receive` takes one v3 datagram and returns the authenticated trap, None for
    an engine-id discovery probe (answered), or raises :class:`V3Ignored`."""

    def __init__(self, users: Mapping[str, tuple[str, V3User]]):
        # pysnmp is imported here: a site without v3 targets never pays for loading it.
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.entity import config, engine
        from pysnmp.entity.rfc3413 import ntfrcv

        self.users = dict(users)
        self._config, self._udp = config, udp
        self.engine = engine.SnmpEngine()
        self._transport = udp.UdpAsyncioTransport()
        config.add_transport(self.engine, udp.DOMAIN_NAME, self._transport)
        self._learned: dict[str, set[bytes]] = {}
        self._delivered: list[tuple[str, int, list]] = []
        # Informs: the sender discovers our engine id, so the keys are localised for it.
        seen: dict[str, V3User] = {}
        for address, (target, user) in self.users.items():
            other = seen.setdefault(user.user, user)
            if other != user:
                # USM holds one entry per (engine id, user name); see the README.
                log.warning("traps: target=%s (%s) v3 user %r has other credentials than "
                            "another target with that user; its informs are not accepted",
                            target, address, user.user)
                continue
        for user in seen.values():
            try:
                self._add_user(user, None)
            except Exception as exc:  # pysnmp refuses e.g. a password under 8 characters
                log.warning("traps: v3 user %r cannot receive informs: %s", user.user, exc)
        self._receiver = ntfrcv.NotificationReceiver(self.engine, self._on_notification)

    def _add_user(self, user: V3User, engine_id: bytes | None) -> None:
        from pysnmp.entity.config import USM_AUTH_NONE, USM_PRIV_NONE
        from pysnmp.proto.api import v2c

        from muni_watchdog.checks.snmp.v3 import AUTH, PRIV
        self._config.add_v3_user(
            self.engine, user.user,
            AUTH[user.auth_protocol] if user.auth_protocol else USM_AUTH_NONE,
            user.auth_password,
            PRIV[user.priv_protocol] if user.priv_protocol else USM_PRIV_NONE,
            user.priv_password,
            securityEngineId=None if engine_id is None else v2c.OctetString(engine_id))

    def attach(self, transport) -> None:
        """Send pysnmp's answers through the receiver's asyncio datagram transport."""
        self._transport.connection_made(transport)

    def _on_notification(self, snmp_engine, state_reference, context_engine_id, context_name,
                         varbinds, cb_ctx) -> None:
        context = snmp_engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        self._delivered.append((str(context["securityName"]), int(context["securityLevel"]),
                                list(varbinds)))

    def receive(self, data: bytes, addr: tuple[str, int]) -> Trap | None:
        """Authenticate one v3 datagram from ``addr``; see the class docstring."""
        from muni_watchdog.checks.snmp.v3 import convert
        try:
            engine_id, user_name = usm_header(data)
        except ber.BerError as exc:
            raise V3Ignored(f"malformed SNMPv3 message: {exc}") from None
        known = self.users.get(addr[0])
        if known is None:
            raise V3Ignored("unknown sender")
        target, user = known
        if user_name and user_name != user.user.encode():
            raise V3Ignored(f"unknown v3 user {user_name.decode(errors='replace')!r}")
        learned = self._learn(addr[0], user, engine_id) if user_name else False
        self._delivered.clear()
        try:
            # pysnmp's dispatcher callback: processes (and answers) the message at once.
            self._transport._callback_function(self._transport,
                                               self._udp.UdpTransportAddress(addr), data)
        except Exception as exc:  # pysnmp must not take the receiver down
            log.debug("traps: pysnmp failed on a v3 message from %s", addr[0], exc_info=True)
            self._delivered.clear()
            if not user_name:
                raise V3Ignored(f"unreadable SNMPv3 message: {exc}") from None
        if not self._delivered:
            if learned:
                self._forget(addr[0], user, engine_id)
            if not user_name:
                return None  # an engine id discovery probe; pysnmp answered with a Report
            raise V3Ignored("not authenticated (wrong password, protocol or time window)")
        security_name, level, varbinds = self._delivered[0]
        self._delivered.clear()
        if security_name != user.user or level < user.security_level:
            raise V3Ignored(f"security level {level} is below the target's "
                            f"{user.security_level}")
        values = {str(oid): convert(value) for oid, value in varbinds}
        trap_oid = values.get(SNMP_TRAP_OID)
        if not isinstance(trap_oid, str):
            raise V3Ignored("no snmpTrapOID.0")
        return Trap(addr[0], 3, b"", trap_oid, values)

    def _learn(self, address: str, user: V3User, engine_id: bytes) -> bool:
        """Localise the user's keys for a sender's engine id (traps); True if new."""
        learned = self._learned.setdefault(address, set())
        if not 5 <= len(engine_id) <= 32 or engine_id in learned:
            return False
        if len(learned) >= MAX_ENGINE_IDS_PER_SENDER:
            raise V3Ignored("too many engine ids from this sender")
        if any(engine_id in ids for other, ids in self._learned.items() if other != address):
            return False  # another address of the same device: the entry exists
        try:
            self._add_user(user, engine_id)
        except Exception as exc:  # pysnmp refuses e.g. a password under 8 characters
            raise V3Ignored(f"the v3 user's keys cannot be made: {exc}") from None
        learned.add(engine_id)
        return True

    def _forget(self, address: str, user: V3User, engine_id: bytes) -> None:
        from pysnmp.proto.api import v2c
        self._learned.get(address, set()).discard(engine_id)
        self._config.delete_v3_user(self.engine, user.user,
                                    securityEngineId=v2c.OctetString(engine_id))

    def close(self) -> None:
        self._receiver.close(self.engine)
        # The socket belongs to the receiver: detach it before pysnmp closes "its" transport.
        self._transport.transport = None
        self.engine.close_dispatcher()
