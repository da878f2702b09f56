"""Two net-snmp agents that advertise each other over LLDP-MIB, for the neighbours tests.

net-snmp's snmpd has no LLDP agent, so each agent serves LLDP-MIB objects with snmpd.conf's
``override`` directive (one registered instance per object, walkable like any other): its
own chassis id, system name and port table, and a remote-table row that names the other
agent's chassis id, port, system name and management address. The port number in the
remote table is deliberately not an ifIndex (101): the agent's lldpLocPortTable maps it to
the real interface ``lo`` (ifIndex 1 in net-snmp's own IF-MIB), as Cisco's tables do.

The overrides go in ``snmpd.local.conf`` in the agent's configuration path, which snmpd reads
besides the file given with ``-c`` (:class:`lab.snmp_lab.NetSnmpd` is used unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lab.snmp_lab import LOOPBACK, NetSnmpd

L = "1.0.8802.1.1.2.1"
PORT_NUMBER = 101       # the LLDP port number of ``lo`` (ifIndex 1): not an ifIndex
PORT = "lo"


@dataclass(frozen=True)
class Identity:
    name: str
    mac: str            # aa:bb:cc:dd:ee:ff
    descr: str


def _hex(mac: str) -> str:
    return "0x" + mac.replace(":", "")


def overrides(me: Identity, peer: Identity, peer_address: str) -> str:
    """snmpd.conf ``override`` lines: my LLDP local data, and ``peer`` seen on my port."""
    rem = f"0.{PORT_NUMBER}.1"
    lines = [
        f".{L}.3.1.0 integer 4", f".{L}.3.2.0 octet_str {_hex(me.mac)}",
        f'.{L}.3.3.0 octet_str "{me.name}"', f".{L}.3.6.0 octet_str 0x20",
        f".{L}.3.7.1.2.{PORT_NUMBER} integer 5", f'.{L}.3.7.1.3.{PORT_NUMBER} octet_str "{PORT}"',
        f'.{L}.3.7.1.4.{PORT_NUMBER} octet_str "{PORT}"',
        f".{L}.4.1.1.4.{rem} integer 4", f".{L}.4.1.1.5.{rem} octet_str {_hex(peer.mac)}",
        f".{L}.4.1.1.6.{rem} integer 5", f'.{L}.4.1.1.7.{rem} octet_str "{PORT}"',
        f'.{L}.4.1.1.8.{rem} octet_str "{PORT}"', f'.{L}.4.1.1.9.{rem} octet_str "{peer.name}"',
        f'.{L}.4.1.1.10.{rem} octet_str "{peer.descr}"',
        f".{L}.4.1.1.12.{rem} octet_str 0x20",
        f".{L}.4.2.1.3.{rem}.1.4.{peer_address} integer 2",
    ]
    return "".join(f"override {line}\n" for line in lines)


class LldpAgent(NetSnmpd):
    """net-snmp's snmpd with LLDP-MIB objects that say it sees ``peer`` on its port ``lo``."""

    def __init__(self, me: Identity, workdir: Path | None = None):
        super().__init__(workdir)
        self.me = me
        self.peer: Identity | None = None

    def start(self, timeout: float = 20.0) -> LldpAgent:
        assert self.peer is not None, "set the peer before starting"
        persist = self.workdir / "persist"
        persist.mkdir(parents=True, exist_ok=True)
        (persist / "snmpd.local.conf").write_text(overrides(self.me, self.peer, LOOPBACK),
                                                  encoding="utf-8")
        super().start(timeout)
        return self


CORE = Identity("lab-core", "02:00:00:00:0c:01", "net-snmp lab agent (core)")
ACCESS = Identity("lab-access", "02:00:00:00:0a:02", "net-snmp lab agent (access)")


def start_pair() -> tuple[LldpAgent, LldpAgent]:
    """Start two agents, each advertising the other on its port ``lo``; stop them with
    ``.stop()``."""
    core, access = LldpAgent(CORE), LldpAgent(ACCESS)
    core.peer, access.peer = ACCESS, CORE
    core.start()
    try:
        access.start()
    except Exception:
        core.stop()
        raise
    return core, access
