"""A console over a state database holding a small network, written the way the daemon writes
it (the real ``system`` and ``neighbors`` checks on SNMP recordings, :mod:`assessment_fixture`),
where two neighbours advertise hostile names over LLDP: markup must come out inert in the
Network page, its SVG and the assessment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from lab.servers import free_port
from muni_watchdog.checks.snmp import neighbors as N
from muni_watchdog.store.database import Store
from tests.assessment_fixture import snapshot, snmp_device
from tests.web_fixture import ConsoleServer, site_config

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
SCRIPT_NAME = "<script>window.pwned=1</script>"
SVG_NAME = '"><svg onload=alert(2)>'
# cisco-core's LLDP rows: annex-sw on Gi1/0/1 (row 0.1.3), access-2 on Gi1/0/2 (row 0.2.1)
HOSTILE = {f"{N.LLDP_REM}.{N.REM_SYS_NAME}.0.1.3": SCRIPT_NAME,
           f"{N.LLDP_REM}.{N.REM_SYS_NAME}.0.2.1": SVG_NAME}
TARGETS = """\
targets:
  - {id: town-core, kind: snmp, host: 10.0.0.2, snmp: {community_file: COMMUNITY}}
  - {id: demo-switch, kind: snmp, host: 10.0.0.3, snmp: {community_file: COMMUNITY}}
  - {id: demo-printer, kind: snmp, host: 10.0.30.10, snmp: {community_file: COMMUNITY}}
"""


def hostile_core() -> dict:
    values, _ = snapshot("cisco-core")
    return {**values, **{oid: name.encode() for oid, name in HOSTILE.items()}}


def fill(state: Path, at: datetime = T0) -> None:
    """The core switch (with the hostile neighbours) and the demo switch and printer."""
    store = Store.open(state)
    try:
        snmp_device(store, "town-core", "cisco-core", at, hostile_core())
        snmp_device(store, "demo-switch", "switch", at)
        snmp_device(store, "demo-printer", "printer-demo", at)
    finally:
        store.close()


def network_console(root: Path, with_devices: bool = True) -> ConsoleServer:
    """The console of a town whose state database holds the network (started)."""
    port = free_port()
    path = root / "c.yaml"
    secret = root / "community"
    secret.write_text("public\n")
    secret.chmod(0o600)
    targets = TARGETS.replace("COMMUNITY", str(secret))
    path.write_text(site_config(port).replace("\ntargets:\n", "\n" + targets, 1))
    state = root / "state"
    if with_devices:
        fill(state)
    else:
        Store.open(state).close()
    server = ConsoleServer(path, state).start()
    server.path = path
    return server
