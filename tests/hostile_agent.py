"""A hostile SNMPv1/v2c responder on loopback: the agents the issue met, on demand.

It serves a small, correct MIB (the system group and a 10-port interfaces table) and breaks it
the way real and malicious agents do, one ``mode`` at a time:

=====================  ======================================================================
``normal``             answers correctly (the baseline)
``null-endless``       walks never end: ever-increasing OIDs with NULL / noSuchInstance values
``huge-endless``       walks never end: ever-increasing OIDs with 14 KB OCTET STRINGs
``big-endless``        walks never end: ever-increasing OIDs with 3 KB OCTET STRINGs
``slow-endless``       as null-endless, each answer 20 ms late: a walk that outlasts a check
``huge-value``         sysDescr.0 and every ifDescr are 14 KB long
``loop``               ifTable loops: the OID after ifIndex.5 is ifIndex.1 again
``non-increasing``     ifTable rows served in text order (1, 10, 2, 3, ...): not increasing
``wrong-community``    each request: an answer with another community, one with another
                       SNMP version (both with forged values), then (after 50 ms) the
                       right answer
``only-wrong``         only the wrong-community and wrong-version answers
``unrequested``        GET answers carry extra UPS-MIB var-binds: on battery, depleted
``garbage-id``         each request: undecodable garbage carrying the right request-id, then
                       (after 50 ms) the right answer
``huge-timeticks``     sysUpTime.0 is a 5,001-byte TimeTicks
``empty``              GETNEXT/GETBULK answered with no var-binds at all
``mid-error``          the 4th GETNEXT/GETBULK of a walk is answered with genErr
``falls-silent``       answers GET and the first 3 GETNEXT/GETBULK, then nothing more
=====================  ======================================================================

It counts the datagrams it receives (``received``, ``last_received``), so a test can prove
that a poller stopped sending. Our BER codec decodes the requests; answers are hand-built.

    .venv/bin/python -m tests.hostile_agent null-endless --port 16100 --community public
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import threading
import time

from muni_watchdog.checks.snmp import ber
from muni_watchdog.checks.snmp.ber import _int, _tlv, encode_oid

MODES = ("normal", "null-endless", "huge-endless", "big-endless", "slow-endless",
         "huge-value", "loop",
         "non-increasing", "wrong-community", "only-wrong", "unrequested", "garbage-id",
         "huge-timeticks", "empty", "mid-error", "falls-silent")
PORTS = 10
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
UPS_OUTPUT_SOURCE, UPS_BATTERY_STATUS = "1.3.6.1.2.1.33.1.4.1.0", "1.3.6.1.2.1.33.1.2.1.0"
MAX_DATAGRAM = 60_000   # keep answers within one UDP datagram, as an agent must


def _oid(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def base_mib(mode: str) -> dict[str, tuple[int, bytes]]:
    """{oid: (tag, content)} of the agent's correct MIB (with the mode's big values)."""
    huge = b"H" * 14_000
    mib: dict[str, tuple[int, bytes]] = {
        SYS_DESCR: (ber.OCTET_STRING, huge if mode == "huge-value" else b"Hostile test agent"),
        "1.3.6.1.2.1.1.2.0": (ber.OID, encode_oid("1.3.6.1.4.1.8072.3.2.10")[2:]),
        SYS_UPTIME: (ber.TIMETICKS, b"\x01" * 5001 if mode == "huge-timeticks"
                     else (123456).to_bytes(3, "big")),
        "1.3.6.1.2.1.1.4.0": (ber.OCTET_STRING, b"it@town.example"),
        "1.3.6.1.2.1.1.5.0": (ber.OCTET_STRING, b"hostile"),
        "1.3.6.1.2.1.1.6.0": (ber.OCTET_STRING, b"Test bench"),
        "1.3.6.1.2.1.2.1.0": (ber.INTEGER, bytes((PORTS,))),
    }
    for port in range(1, PORTS + 1):
        descr = huge if mode == "huge-value" else f"port {port}".encode()
        columns = {1: (ber.INTEGER, bytes((port,))), 2: (ber.OCTET_STRING, descr),
                   3: (ber.INTEGER, b"\x06"), 5: (ber.GAUGE32, (10**9).to_bytes(4, "big")),
                   7: (ber.INTEGER, b"\x01"), 8: (ber.INTEGER, b"\x01"),
                   10: (ber.COUNTER32, (port * 1000).to_bytes(4, "big")),
                   16: (ber.COUNTER32, (port * 2000).to_bytes(4, "big"))}
        for column, value in columns.items():
            mib[f"{IF_ENTRY}.{column}.{port}"] = value
        mib[f"1.3.6.1.2.1.31.1.1.1.1.{port}"] = (ber.OCTET_STRING, f"g{port}".encode())
    return mib


class HostileAgent:
    """The responder, on its own event loop in a thread (tests stay synchronous)."""

    def __init__(self, mode: str, community: str = "public", port: int = 0,
                 host: str = "127.0.0.1"):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        self.mode, self.community, self.host, self.port = mode, community.encode(), host, port
        self.received = 0
        self.last_received = 0.0
        self.walk_requests = 0
        mib = base_mib(mode)
        self._order = sorted(mib, key=_oid)
        if mode == "non-increasing":   # an agent that sorts row indexes as text
            self._order = sorted(mib, key=lambda o: (_oid(o)[:-1], str(_oid(o)[-1]))
                                 if o.startswith(IF_ENTRY + ".") else (_oid(o), ""))
        self._keys = [_oid(o) for o in sorted(mib, key=_oid)]
        self._mib = mib
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._thread: threading.Thread | None = None

    # ---- the MIB as this agent sees it ----------------------------------------------------
    def _following(self, oid: str) -> str | None:
        """The OID this agent answers GETNEXT ``oid`` with (None: end of the MIB view)."""
        if self.mode.endswith("-endless"):
            arcs = _oid(oid)
            arcs = (*arcs, 1) if len(arcs) < 14 else (*arcs[:-1], arcs[-1] + 1)
            return ".".join(map(str, arcs))
        if self.mode == "loop" and oid == f"{IF_ENTRY}.1.5":
            return f"{IF_ENTRY}.1.1"
        if oid in self._mib:   # the agent's own order, broken or not
            position = self._order.index(oid) + 1
            return self._order[position] if position < len(self._order) else None
        position = bisect.bisect_right(self._keys, _oid(oid))
        if position >= len(self._keys):
            return None
        return ".".join(map(str, self._keys[position]))

    def _value_of_next(self, oid: str) -> tuple[int, bytes]:
        if self.mode in ("null-endless", "slow-endless"):
            return (ber.NULL, b"") if oid.endswith(("1", "3", "5", "7", "9")) else (
                ber.NO_SUCH_INSTANCE, b"")
        if self.mode == "huge-endless":
            return ber.OCTET_STRING, b"W" * 14_000
        if self.mode == "big-endless":
            return ber.OCTET_STRING, b"B" * 3_000
        return self._mib[oid]

    def _next(self, oid: str) -> bytes:
        following = self._following(oid)
        if following is None:
            return _tlv(ber.SEQUENCE, encode_oid(oid) + _tlv(ber.END_OF_MIB_VIEW, b""))
        tag, content = self._value_of_next(following)
        return _tlv(ber.SEQUENCE, encode_oid(following) + _tlv(tag, content))

    def _get(self, oid: str) -> bytes:
        tag, content = self._mib.get(oid, (ber.NO_SUCH_INSTANCE, b""))
        return _tlv(ber.SEQUENCE, encode_oid(oid) + _tlv(tag, content))

    # ---- answering --------------------------------------------------------------------------
    def answer(self, data: bytes) -> list[tuple[float, bytes]]:
        """The datagrams (delay in seconds, bytes) this agent sends for ``data``."""
        try:
            version, community, pdu_type, message, start, end = ber.decode_message(data)
            fields = ber.decode_fields(message, start, end)
            request_id, second, third = (int(f[1]) for f in fields[:3])  # type: ignore[arg-type]
            oids = [oid for oid, _ in fields[3][1]]  # type: ignore[union-attr]
        except (ber.BerError, IndexError, TypeError, ValueError):
            return []
        if community != self.community:
            return []   # as real agents do: silence
        status, varbinds = 0, b""
        if pdu_type == ber.GET:
            varbinds = b"".join(self._get(o) for o in oids)
            if self.mode == "unrequested":
                varbinds += _tlv(ber.SEQUENCE, encode_oid(UPS_OUTPUT_SOURCE) + _int(5))
                varbinds += _tlv(ber.SEQUENCE, encode_oid(UPS_BATTERY_STATUS) + _int(4))
        elif pdu_type in (ber.GETNEXT, ber.GETBULK):
            self.walk_requests += 1
            if self.mode == "falls-silent" and self.walk_requests > 3:
                return []
            if self.mode == "mid-error" and self.walk_requests % 4 == 0:
                status = 5
            elif self.mode != "empty":
                varbinds = self._walk(pdu_type, oids, second, third)
        else:
            return []
        if len(varbinds) > MAX_DATAGRAM:
            status, varbinds = 1, b""  # tooBig, as RFC 3416 4.2.1 says
        good = self._response(version, self.community, request_id, status, varbinds)
        if self.mode in ("wrong-community", "only-wrong"):
            # forged values: a manager that takes these answers shows "forged" data
            forged = b"".join(_tlv(ber.SEQUENCE, encode_oid(o) + _tlv(ber.OCTET_STRING,
                                                                       b"forged"))
                              for o in oids)
            wrong = [(0.0, self._response(version, b"not-" + self.community, request_id,
                                          0, forged)),
                     (0.0, self._response(1 - version if version < 2 else 0, self.community,
                                          request_id, 0, forged))]
            return wrong if self.mode == "only-wrong" else [*wrong, (0.05, good)]
        if self.mode == "garbage-id":
            garbage = _tlv(ber.SEQUENCE, _int(version) + _tlv(ber.OCTET_STRING, community)
                           + _tlv(ber.RESPONSE, _int(request_id) + b"\x02\x05\xff\xff"))
            return [(0.0, garbage), (0.05, good)]
        return [(0.02 if self.mode == "slow-endless" else 0.0, good)]

    def _walk(self, pdu_type: int, oids: list[str], non_repeaters: int,
              repetitions: int) -> bytes:
        if pdu_type == ber.GETNEXT:
            return b"".join(self._next(o) for o in oids)
        out = [self._next(o) for o in oids[:non_repeaters]]
        last = list(oids[non_repeaters:])
        size = sum(map(len, out))
        for _ in range(max(1, repetitions)):
            row = []
            for i, oid in enumerate(last):
                varbind = self._next(oid)
                following = self._following(oid)
                last[i] = following if following is not None else oid
                row.append(varbind)
            row_size = sum(map(len, row))
            if size + row_size > MAX_DATAGRAM and size:
                break   # as agents do: fewer repetitions rather than tooBig
            out += row
            size += row_size
        return b"".join(out)

    @staticmethod
    def _response(version: int, community: bytes, request_id: int, status: int,
                  varbinds: bytes) -> bytes:
        pdu = _tlv(ber.RESPONSE, _int(request_id) + _int(status) + _int(1 if status else 0)
                   + _tlv(ber.SEQUENCE, varbinds))
        return _tlv(ber.SEQUENCE, _int(version) + _tlv(ber.OCTET_STRING, community) + pdu)

    # ---- the UDP edge -----------------------------------------------------------------------
    def _received(self, data: bytes, addr) -> None:
        self.received += 1
        self.last_received = time.monotonic()
        assert self._loop is not None and self._transport is not None
        for delay, packet in self.answer(data):
            if delay:
                self._loop.call_later(delay, self._send, packet, addr)
            else:
                self._send(packet, addr)

    def _send(self, packet: bytes, addr) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(packet, addr)

    def start(self) -> HostileAgent:
        ready = threading.Event()
        agent = self

        class Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr) -> None:
                agent._received(data, addr)

        async def serve() -> None:
            loop = asyncio.get_running_loop()
            self._loop = loop
            self._transport, _ = await loop.create_datagram_endpoint(
                Protocol, local_addr=(self.host, self.port))
            self.port = self._transport.get_extra_info("sockname")[1]
            self._stopped = loop.create_future()
            ready.set()
            await self._stopped
            self._transport.close()

        self._thread = threading.Thread(target=asyncio.run, args=(serve(),),
                                        name=f"hostile-agent-{self.mode}", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the hostile agent did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(
                lambda: self._stopped.done() or self._stopped.set_result(None))
            self._thread.join(10)

    def __enter__(self) -> HostileAgent:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="A hostile SNMP responder on loopback.")
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--port", type=int, default=16100)
    parser.add_argument("--community", default="public")
    args = parser.parse_args()
    agent = HostileAgent(args.mode, args.community, args.port).start()
    print(f"hostile agent ({args.mode}) on 127.0.0.1:{agent.port}; Ctrl-C stops it")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        agent.stop()


if __name__ == "__main__":
    main()
