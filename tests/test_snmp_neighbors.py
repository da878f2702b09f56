"""LLDP and CDP neighbours (issue 14): the parsers on recordings written from the MIBs and the
vendors' documented outputs (lab/snmp_neighbor_recordings.py), the value readers on every
subtype and encoding, and the ``neighbors`` check's judgement of lost links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lab.snmp_recordings import DATA_DIR, load_snapshot, probes_answering
from muni_watchdog.checks.snmp import neighbor_values as V
from muni_watchdog.checks.snmp import neighbors as N
from muni_watchdog.checks.snmp.check_neighbors import NeighborsParams, evaluate_neighbors, link_keys
from muni_watchdog.core.model import CheckContext, State

T0 = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
FIELDS = ("protocol", "local_port", "local_port_index", "remote_name", "remote_port",
          "remote_address", "remote_chassis_id")


def snap(name: str) -> dict:
    return load_snapshot(DATA_DIR / f"{name}.snmprec")


def rows(values) -> list[tuple]:
    return [tuple(n[f] for f in FIELDS) for n in N.parse_neighbors(values)]


def without(values: dict, *prefixes: str) -> dict:
    return {k: v for k, v in values.items() if not any(k.startswith(p + ".") or k == p
                                                       for p in prefixes)}


# ---- the recordings ------------------------------------------------------------------------

def test_cisco_core_cdp_and_lldp_neighbours():
    assert rows(snap("cisco-core")) == [
        # port number 1 is Gi1/0/1 (ifIndex 10101) by lldpLocPortTable, not ifIndex 1 (Vlan1)
        ("lldp", "Gi1/0/1", 10101, "annex-sw", "24", "10.0.0.13", "94:40:c9:11:22:00"),
        ("cdp", "Gi1/0/2", 10102, "access-2.town.local", "GigabitEthernet0/1", "10.0.0.12",
         None),
        ("lldp", "Gi1/0/2", 10102, "access-2.town.local", "Gi0/1", "10.0.0.12",
         "00:22:90:aa:bb:00"),
        # the serial in the CDP device id is not part of the name
        ("cdp", "Gi1/0/3", 10103, "dc-sw1", "Ethernet1/49", "10.0.0.20", None),
        # an IP phone keeps its SEP name; its LLDP chassis id is its address
        ("cdp", "Gi1/0/5", 10105, "SEP001122334455", "Port 1", "10.0.20.21", None),
        ("lldp", "Gi1/0/5", 10105, "SEP001122334455", "SW PORT", "10.0.20.21", "10.0.20.21"),
        # two neighbours behind a desk switch; a printer without a name whose address comes
        # without the length octet; an AP whose chassis id is MAC text and address IPv6
        ("lldp", "Gi1/0/7", 10107, None, "HP ETHERNET MULTI-ENVIRONMENT", "10.0.30.15",
         "a0:8c:fd:12:34:56"),
        ("lldp", "Gi1/0/7", 10107, "ap-council-chamber", "eth0", "2001:db8:10::25",
         "74:83:c2:ab:cd:ef"),
        ("lldp", "Gi1/0/24", 10124, "gw-main", "ether2", "10.0.0.1", "48:8f:5a:00:00:01"),
    ]


def test_platforms_are_one_line_and_capabilities_are_words():
    found = {(n["protocol"], n["local_port"], n["remote_name"]): n
             for n in N.parse_neighbors(snap("cisco-core"))}
    access = found[("lldp", "Gi1/0/2", "access-2.town.local")]
    assert access["remote_platform"] == ("Cisco IOS Software, C2960 Software "
                                         "(C2960-LANBASEK9-M), Version 15.0(2)SE11, RELEASE "
                                         "SOFTWARE (fc3)")
    assert found[("cdp", "Gi1/0/2", "access-2.town.local")]["remote_platform"] == (
        "cisco WS-C2960-8TC-L")
    assert found[("cdp", "Gi1/0/5", "SEP001122334455")]["remote_capabilities"] == [
        "station", "telephone"]
    assert found[("lldp", "Gi1/0/7", "ap-council-chamber")]["remote_capabilities"] == [
        "bridge", "wlan-access-point"]


@pytest.mark.parametrize("removed, via", [
    ((N.BRIDGE_PORT_IFINDEX,), "lldpLocPortTable"),
    ((N.LLDP_LOC_PORT,), "dot1dBasePortIfIndex"),
])
def test_port_numbers_are_mapped_by_either_table(removed, via):
    # Taking lldpRemLocalPortNum as an ifIndex would put annex-sw on Vlan1 (ifIndex 1) and
    # find no interface for the others.
    found = rows(without(snap("cisco-core"), *removed))
    assert [(r[1], r[2]) for r in found if r[0] == "lldp"] == [
        ("Gi1/0/1", 10101), ("Gi1/0/2", 10102), ("Gi1/0/5", 10105), ("Gi1/0/7", 10107),
        ("Gi1/0/7", 10107), ("Gi1/0/24", 10124)], via


def test_a_port_number_nothing_explains_is_named_not_invented():
    values = without(snap("cisco-core"), N.BRIDGE_PORT_IFINDEX, N.LLDP_LOC_PORT)
    by_name = {r[3]: r for r in rows(values) if r[0] == "lldp"}
    assert by_name["gw-main"][1:3] == ("port 24", None)
    # only port number 1 exists as an ifIndex: the MIB allows it, and it is all there is
    assert by_name["annex-sw"][1:3] == ("Vl1", 1)


def test_aruba_local_port_ids_and_a_time_mark():
    assert rows(snap("aruba-2930f")) == [
        ("lldp", "5", 5, "records-srv.town.local", "eno1", "10.0.0.40", "d4:ae:52:12:ab:00"),
        ("lldp", "24", 24, "town-core", "Gi1/0/1", "10.0.0.2", "00:1e:bd:aa:10:00"),
    ]


def test_junos_local_port_ids_are_ifindexes_and_descriptions_name_the_port():
    assert rows(snap("junos-ex")) == [
        ("lldp", "ge-0/0/0", 513, "gw-main", "ether3", "10.0.0.1", "48:8f:5a:00:00:01"),
        ("lldp", "ge-0/0/10", 523, "ap-hall", "eth0", None, "74:83:c2:00:11:22"),
    ]


def test_routeros_single_index_and_mikrotik_interface():
    # the MNDP-only neighbour (cap-ac-lobby) has no LLDP row and is not listed
    assert rows(snap("routeros-lldp")) == [
        ("lldp", "ether2", 2, "town-core", "Gi1/0/24", "10.0.0.2", "00:1e:bd:aa:10:00"),
        ("lldp", "ether3", 3, "hall-ex", "ge-0/0/0", "10.0.0.14", "3c:8c:93:00:11:00"),
    ]


def test_local_identity_matches_what_neighbours_advertise():
    core = N.local_identity(snap("cisco-core"))
    assert (core["chassis_id"], core["sys_name"], core["capabilities"]) == (
        "00:1e:bd:aa:10:00", "town-core", ["bridge", "router"])
    assert "00:1e:bd:aa:10:01" in core["macs"]
    advertised = {n["remote_chassis_id"] for name in ("aruba-2930f", "routeros-lldp")
                  for n in N.parse_neighbors(snap(name))}
    assert core["chassis_id"] in advertised


def test_a_device_without_the_mibs():
    values = snap("printer")
    assert N.parse_neighbors(values) == []
    assert not N.lldp_answered(values) and not N.cdp_answered(values)
    assert N.local_identity(values)["chassis_id"] is None


# ---- the values, subtype by subtype --------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    (bytes.fromhex("001a2b3c4d5e"), "00:1a:2b:3c:4d:5e"),
    (b"00:1A:2B:3C:4D:5E", "00:1a:2b:3c:4d:5e"),
    (b"00-1a-2b-3c-4d-5e", "00:1a:2b:3c:4d:5e"),
    (b"001a.2b3c.4d5e", "00:1a:2b:3c:4d:5e"),
    (b"001A2B3C4D5E", "00:1a:2b:3c:4d:5e"),
    (b"ABCDEF", "41:42:43:44:45:46"),      # six octets are a MAC even when printable
    (b"Gi1/0/3", None), (b"", None), (None, None),
])
def test_mac_text(raw, expected):
    assert V.mac_text(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (bytes([1, 10, 0, 0, 5]), "10.0.0.5"),                      # IANA family ipV4
    (bytes([2]) + bytes(15) + b"\x01", "::1"),                   # ipV6
    (bytes([10, 0, 0, 5]), "10.0.0.5"),                          # the family left out
    (b"192.0.2.7", "192.0.2.7"),                                 # as text
    (bytes(4), None),                                            # 0.0.0.0: no address
    (b"not an address", None),
])
def test_network_address(raw, expected):
    assert V.network_address(raw) == expected


@pytest.mark.parametrize("subtype, raw, expected", [
    (1, b"uplink to core", "uplink to core"),      # interfaceAlias
    (2, b"1/1/3", "1/1/3"),                        # portComponent
    (3, bytes.fromhex("a08cfd123456"), "a0:8c:fd:12:34:56"),   # macAddress
    (4, bytes([1, 192, 0, 2, 9]), "192.0.2.9"),    # networkAddress
    (5, b"Gi1/0/3", "Gi1/0/3"),                    # interfaceName
    (6, bytes([0, 4, 0, 1, 0, 3]), "00:04:00:01:00:03"),   # agentCircuitId, binary
    (7, b"523", "523"),                            # local
])
def test_port_id_subtypes(subtype, raw, expected):
    assert V.port_id(subtype, raw) == expected


@pytest.mark.parametrize("subtype, raw, expected", [
    (4, bytes.fromhex("001ebdaa1000"), "00:1e:bd:aa:10:00"),
    (4, b"00:1e:bd:aa:10:00", "00:1e:bd:aa:10:00"),
    (5, bytes([1, 10, 0, 20, 21]), "10.0.20.21"),
    (6, b"eth0", "eth0"),
    (7, b"FOC1234X0AB", "FOC1234X0AB"),
    (7, bytes([0xde, 0xad, 0x00, 0x01]), "de:ad:00:01"),
])
def test_chassis_id_subtypes(subtype, raw, expected):
    assert V.chassis_id(subtype, raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (b"switch1(FOC1234X0AB)", "switch1"), (b"SEP001122334455", "SEP001122334455"),
    (b"sw1.town.local", "sw1.town.local"), (b"(FOC1234X0AB)", None),
    (bytes.fromhex("001122334455"), None), (None, None),
])
def test_cdp_device_ids(raw, expected):
    assert N.cdp_name(raw) == expected


def test_text_and_binary_octet_strings():
    assert V.printable(b"B\xfcro-Switch") == "Büro-Switch"      # Latin-1 from an old agent
    assert V.printable("Büro".encode()) == "Büro"
    assert V.printable(b"ap\x00\x00") == "ap"
    assert V.printable(b"\x00\x1e\xbd") is None
    assert V.octets_text(b"\x00\x1e\xbd") == "00:1e:bd"
    assert V.cdp_capabilities(bytes.fromhex("00000490")) == ["station", "telephone"]
    assert V.cdp_capabilities(0x28) == ["bridge"]
    assert V.lldp_capabilities(bytes([0x28])) == ["bridge", "router"]


def _one_neighbour(index: str, addr_index: str) -> dict:
    r, m = N.LLDP_REM, N.LLDP_REM_MAN_ADDR
    return {f"{r}.4.{index}": 4, f"{r}.5.{index}": bytes.fromhex("001122334455"),
            f"{r}.6.{index}": 5, f"{r}.7.{index}": b"eth0", f"{r}.9.{index}": b"nb",
            f"{m}.3.{index}.{addr_index}": 2,
            f"{N.IF_DESCR}.3": b"port3", f"{N.IFX_NAME}.3": b"p3"}


@pytest.mark.parametrize("addr_index, expected", [
    ("1.4.192.0.2.1", "192.0.2.1"),        # the MIB: subtype, length, octets
    ("1.192.0.2.1", "192.0.2.1"),          # length left out
    ("1.4.3.0.2.1", "3.0.2.1"),            # length present, first octet 3
    ("1.3.0.2.1", "3.0.2.1"),              # no length, first octet 3: read by size
    ("2.16." + ".".join(["32", "1", "13", "184"] + ["0"] * 11 + ["1"]), "2001:db8::1"),
    ("6.6.0.17.34.51.68.85", None),        # an all802 (MAC) address is no IP address
])
def test_management_address_index_forms(addr_index, expected):
    found = N.parse_neighbors(_one_neighbour("0.3.1", addr_index))
    assert [(n["local_port"], n["remote_address"]) for n in found] == [("p3", expected)]


# ---- the check ---------------------------------------------------------------------------

def run(values, memory=None, at=T0, **params):
    answering = probes_answering(values)
    evaluation = evaluate_neighbors(values, answering, NeighborsParams(**params),
                                    CheckContext(at, memory or {}))
    return evaluation.outcome, dict(evaluation.memory)


def lldp_without(values: dict, index: str) -> dict:
    out = {}
    for oid, value in values.items():
        for table in (N.LLDP_REM, N.LLDP_REM_MAN_ADDR):
            if oid.startswith(table + "."):
                suffix = oid[len(table) + 1:].split(".", 1)[1]
                if suffix == index or suffix.startswith(index + "."):
                    break
        else:
            out[oid] = value
    return out


def test_first_run_lists_the_neighbours():
    outcome, memory = run(snap("cisco-core"))
    assert outcome.state is State.OK
    assert outcome.results[0].summary.startswith(
        "7 neighbours on 6 ports (CDP+LLDP): Gi1/0/1 annex-sw (24), Gi1/0/2 access-2.town.local")
    kinds = [i["kind"] for i in outcome.items]
    assert kinds.count("neighbor") == 9 and kinds[-1] == "lldp_identity"
    assert {(m.name, m.value) for m in outcome.metrics} == {("neighbors", 7),
                                                          ("lost_neighbors", 0)}
    assert len(memory["links"]) == 7


@pytest.mark.parametrize("state_name, state", [("warning", State.WARNING),
                                               ("critical", State.CRITICAL), ("ok", State.OK)])
def test_a_lost_neighbour_is_the_configured_state(state_name, state):
    _, memory = run(snap("cisco-core"))
    gone = lldp_without(snap("cisco-core"), "0.7.6")
    outcome, memory2 = run(gone, memory, T0 + timedelta(hours=6),
                           lost_neighbor_state=state_name)
    assert outcome.state is state
    assert (state, "Gi1/0/7 lost its neighbour ap-council-chamber (last seen 2026-11-22 "
            "06:00)") in {(r.state, r.summary) for r in outcome.results}
    # still lost six hours later: the memory keeps it until it returns or is forgotten
    outcome3, _ = run(gone, memory2, T0 + timedelta(hours=12), lost_neighbor_state=state_name)
    assert any("lost its neighbour ap-council-chamber" in r.summary for r in outcome3.results)


def test_a_lost_neighbour_recovers_and_is_forgotten_after_forget_after():
    _, memory = run(snap("cisco-core"))
    gone = lldp_without(snap("cisco-core"), "0.24.7")
    outcome, memory = run(gone, memory, T0 + timedelta(days=1))
    assert outcome.state is State.WARNING
    back, _ = run(snap("cisco-core"), memory, T0 + timedelta(days=2))
    assert back.state is State.OK
    later, memory = run(gone, memory, T0 + timedelta(days=7, hours=1))
    assert later.state is State.OK and "Gi1/0/24|gw-main" not in memory["links"]


def test_a_neighbour_seen_by_cdp_and_lldp_is_one_link():
    values = snap("cisco-core")
    _, memory = run(values)
    cdp_gone = {k: v for k, v in lldp_without(values, "0.2.1").items()
                if not k.startswith(f"{N.CDP_CACHE}.") or ".10102.1" not in k}
    outcome, _ = run(cdp_gone, memory, T0 + timedelta(hours=6))
    lost = [r.summary for r in outcome.results if r.state is State.WARNING]
    assert lost == ["Gi1/0/2 lost its neighbour access-2.town.local (last seen 2026-11-22 "
                    "06:00)"]
    # one protocol gone, the other still there: no link lost
    outcome, _ = run(lldp_without(values, "0.2.1"), memory, T0 + timedelta(hours=6))
    assert outcome.state is State.OK


def test_a_moved_neighbour_is_said_not_lost_but_a_lag_member_is_lost():
    values = snap("cisco-core")
    _, memory = run(values)
    moved = {}
    for oid, value in lldp_without(values, "0.24.7").items():
        moved[oid] = value
    for oid, value in values.items():     # gw-main now on Gi1/0/23 (port number 23)
        for table in (N.LLDP_REM, N.LLDP_REM_MAN_ADDR):
            prefix = table + "."
            if oid.startswith(prefix):
                column, _, index = oid[len(prefix):].partition(".")
                if index.startswith("0.24.7"):
                    moved[f"{prefix}{column}.0.23.8{index[6:]}"] = value
    outcome, memory2 = run(moved, memory, T0 + timedelta(hours=6))
    assert outcome.state is State.OK
    assert "gw-main moved from Gi1/0/24 to Gi1/0/23" in [r.summary for r in outcome.results]
    # both links to gw-main known (a LAG); one member goes down: lost, not moved
    both = {**values, **moved}
    _, memory3 = run(both, memory2, T0 + timedelta(hours=12))
    outcome, _ = run(moved, memory3, T0 + timedelta(hours=18))
    assert outcome.state is State.WARNING
    assert any(r.summary.startswith("Gi1/0/24 lost its neighbour gw-main")
               for r in outcome.results)


def test_lost_links_are_not_judged_while_the_device_relearns_after_a_restart():
    _, memory = run(snap("cisco-core"))
    restarted = dict(lldp_without(snap("cisco-core"), "0.7.6"))
    restarted["1.3.6.1.2.1.1.3.0"] = 4500            # up 45 s
    outcome, memory2 = run(restarted, memory, T0 + timedelta(hours=6))
    assert outcome.state is State.OK
    assert "Gi1/0/7|ap-council-chamber" in memory2["links"]   # kept, judged next time


def test_no_lldp_or_cdp_is_unknown_on_a_network_device_ok_elsewhere():
    memory = {"links": {"g1|gw-main": {"port": "g1", "remote": "gw-main",
                                       "first_seen": T0.timestamp(),
                                       "last_seen": T0.timestamp()}}}
    switch = without(snap("switch"), N.LLDP)
    outcome, kept = run(switch, memory)
    assert outcome.state is State.UNKNOWN and "neither LLDP-MIB nor CISCO-CDP-MIB" in \
        outcome.summary
    assert kept == memory                           # not declared lost
    outcome, _ = run(snap("printer"))
    assert outcome.state is State.OK and "not expected of a printer" in outcome.summary
    outcome, _ = run(switch, device_class="printer")
    assert outcome.state is State.OK


def test_lldp_on_but_every_neighbour_gone_is_lost_each():
    values = snap("switch")
    _, memory = run(values)
    empty = {k: v for k, v in values.items() if not k.startswith(N.LLDP_REM)}
    outcome, _ = run(empty, memory, T0 + timedelta(hours=6))
    assert outcome.results[0].summary == "LLDP/CDP on, no neighbours advertised"
    assert sorted(r.summary.split(" (")[0] for r in outcome.results[1:]) == [
        "g1 lost its neighbour gw-main", "g3 lost its neighbour clerk-printer",
        "g4 lost its neighbour ups-server-room"]


def test_link_keys_join_protocols_on_a_port():
    found = [{"local_port": "Gi1/0/9", "remote_name": "sw9.town.local",
              "remote_address": "10.0.0.9", "remote_chassis_id": None},
             {"local_port": "Gi1/0/9", "remote_name": None, "remote_address": "10.0.0.9",
              "remote_chassis_id": "00:11:22:33:44:55"},
             {"local_port": "Gi1/0/10", "remote_name": None, "remote_address": "10.0.0.9",
              "remote_chassis_id": None}]
    assert link_keys(found) == ["Gi1/0/9|sw9", "Gi1/0/9|sw9", "Gi1/0/10|address:10.0.0.9"]
