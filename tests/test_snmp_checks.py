"""Pure tests of the SNMP checks' judgement and memory: rates, wraps, reboots, forecasts,
supply levels, UPS on battery, the device profiles. No agent, an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lab.snmp_recordings import DATA_DIR, load_snapshot
from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.check_interfaces import InterfacesParams, evaluate_interfaces
from muni_watchdog.checks.snmp.check_printer import PrinterParams, evaluate_printer
from muni_watchdog.checks.snmp.check_storage import (
    GIB,
    StorageParams,
    evaluate_storage,
    judge_volume,
)
from muni_watchdog.checks.snmp.check_system import (
    SystemCheck,
    SystemParams,
    SystemRaw,
    reboot_event,
)
from muni_watchdog.checks.snmp.check_ups import UpsParams, evaluate_ups
from muni_watchdog.checks.snmp.client import SnmpError
from muni_watchdog.checks.snmp.device import DeviceCheck, DeviceParams, DeviceRaw
from muni_watchdog.checks.snmp.rates import counter_delta, days_until_full, rate, uptime_advanced
from muni_watchdog.checks.snmp.session import Poll
from muni_watchdog.core.model import CheckContext, State

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WRAP = 1 << 32


def snap(name: str) -> dict:
    return load_snapshot(DATA_DIR / f"{name}.snmprec")


def ctx(seconds: float = 0, memory=None) -> CheckContext:
    return CheckContext(T0 + timedelta(seconds=seconds), memory or {})


# ---- counter math -----------------------------------------------------------------------
@pytest.mark.parametrize("previous, current, bits, rebooted, expected", [
    (100, 250, 32, False, 150),
    (WRAP - 100, 50, 32, False, 150),            # one 32-bit wrap
    (2**64 - 10, 5, 64, False, None),            # a 64-bit counter going down is a reset
    (WRAP - 100, 50, 32, True, None),            # reboot in between: unknown, not a wrap
    (500, 500, 32, False, 0),
])
def test_counter_delta(previous, current, bits, rebooted, expected):
    assert counter_delta(previous, current, bits, rebooted) == expected


def test_rate_per_second_and_zero_interval():
    assert rate(0, 1000, 10, 64) == 100.0
    assert rate(0, 1000, 0, 64) is None


@pytest.mark.parametrize("previous, current, seconds, expected", [
    (WRAP - 3000, 3000, 60, True),       # wrapped, and the 60 s add up
    (WRAP - 3000, 500_000, 60, False),   # "wrapped" by far more than 60 s: a restart
    (100_000, 200, 60, False),           # young uptime went down: restart
    (100, 6100, 60, True),               # simply advanced
])
def test_timeticks_wrap_against_wall_clock(previous, current, seconds, expected):
    assert uptime_advanced(previous, current, seconds) is expected


def test_days_until_full_from_linear_growth():
    gib = GIB
    samples = [(0.0, 100 * gib), (86400.0, 110 * gib), (2 * 86400.0, 120 * gib)]
    assert days_until_full(samples, 200 * gib) == pytest.approx(8.0)
    assert days_until_full([(0.0, 5.0), (7200.0, 5.0)], 10.0) is None       # flat
    assert days_until_full([(0.0, 9.0), (7200.0, 5.0)], 10.0) is None       # shrinking
    assert days_until_full([(0.0, 1.0), (60.0, 2.0)], 10.0) is None         # too short


# ---- system: reboots vs wraps -----------------------------------------------------------
def memory_of(ticks, at, boots=None, engine_time=None, hr=None):
    return {"ticks": ticks, "at": at, "boots": boots, "engine_time": engine_time,
            "hr_ticks": hr}


def test_timeticks_wrap_is_not_a_reboot():
    before = memory_of(WRAP - 1000, 0.0)
    after = memory_of(5000, 60.0)
    assert "wrapped" in reboot_event(before, after)


def test_wrap_confirmed_by_engine_time_even_when_clock_math_is_off():
    before = memory_of(WRAP - 1000, 0.0, boots=3, engine_time=1000)
    after = memory_of(900_000, 60.0, boots=3, engine_time=1060)
    assert "snmpEngineTime" in reboot_event(before, after)


def test_agent_restart_is_told_apart_from_a_reboot():
    before = memory_of(10_000_000, 0.0, boots=3, engine_time=100_000, hr=50_000_000)
    after = memory_of(500, 60.0, boots=4, engine_time=5, hr=50_006_000)
    assert "agent restarted" in reboot_event(before, after)
    rebooted = memory_of(500, 60.0, boots=4, engine_time=5, hr=700)
    assert reboot_event(before, rebooted) == "reboot"


def test_reboot_between_polls_even_if_uptime_grew():
    before = memory_of(1000, 0.0)
    after = memory_of(5000, 3600.0)   # 50 s of uptime after an hour away
    assert reboot_event(before, after) == "reboot"
    assert reboot_event({}, after) is None


def test_system_check_warns_after_a_reboot_and_remembers_it():
    check = SystemCheck()
    params = SystemParams()
    values = dict(snap("switch"))
    first = check.evaluate(SystemRaw(Poll(values, {"interfaces"})), params, ctx())
    assert first.outcome.state is State.OK
    assert first.outcome.items[0]["device_class"] == "network"
    values[O.SYS_UPTIME] = 3000  # 30 s up
    second = check.evaluate(SystemRaw(Poll(values, {"interfaces"})), params,
                            ctx(60, first.memory))
    assert second.outcome.state is State.WARNING and "rebooted at" in second.outcome.summary
    values[O.SYS_UPTIME] = 3000 + 7200 * 100
    later = check.evaluate(SystemRaw(Poll(values, {"interfaces"})), params,
                           ctx(7260, second.memory))
    assert later.outcome.state is State.OK


@pytest.mark.parametrize("reason, expected", [
    ("no_answer", State.CRITICAL), ("host_down", State.CRITICAL), ("no_agent", State.CRITICAL),
    ("credentials", State.UNKNOWN), ("config", State.UNKNOWN)])
def test_system_check_unreachable_is_critical_credentials_unknown(reason, expected):
    raw = SystemRaw(error=SnmpError(reason, f"because {reason}"))
    outcome = SystemCheck().evaluate(raw, SystemParams(), ctx()).outcome
    assert outcome.state is expected and outcome.summary == f"because {reason}"


# ---- interfaces -------------------------------------------------------------------------
def test_interfaces_first_seen_ports_then_a_port_goes_down():
    params = InterfacesParams()
    values = dict(snap("switch"))
    first = evaluate_interfaces(values, params, ctx())
    assert first.outcome.state is State.OK
    watched = first.memory["watched"]
    assert "g5" not in watched and "g7" not in watched and "lo" not in watched
    assert len(watched) == 19 and len(first.outcome.items) == 25
    values[f"{O.IF_TABLE}.8.2"] = 2  # g2 goes down
    values[f"{O.IF_TABLE}.7.3"] = 2  # g3 is shut down by the admin: ignored
    second = evaluate_interfaces(values, params, ctx(60, first.memory))
    assert second.outcome.state is State.CRITICAL
    assert second.outcome.summary == "port g2 is down"


def test_ports_with_the_same_name_are_told_apart_by_index():
    # A printer's two "Ethernet" rows (ifDescr only, no ifXTable): one up, one unplugged.
    values = {O.SYS_UPTIME: 100_000}
    for index, oper in ((1, 1), (2, 2)):
        values |= {f"{O.IF_TABLE}.1.{index}": index, f"{O.IF_TABLE}.2.{index}": b"Ethernet",
                   f"{O.IF_TABLE}.3.{index}": 6, f"{O.IF_TABLE}.5.{index}": 100_000_000,
                   f"{O.IF_TABLE}.7.{index}": 1, f"{O.IF_TABLE}.8.{index}": oper,
                   f"{O.IF_TABLE}.10.{index}": 1000, f"{O.IF_TABLE}.16.{index}": 1000}
    first = evaluate_interfaces(values, InterfacesParams(), ctx())
    assert first.outcome.state is State.OK, first.outcome.summary
    assert first.memory["watched"] == ["Ethernet #1"]
    values[f"{O.IF_TABLE}.8.1"] = 2
    second = evaluate_interfaces(values, InterfacesParams(), ctx(60, first.memory))
    assert second.outcome.summary == "port Ethernet #1 is down"
    # What an earlier version remembered ("Ethernet": both rows at once) is chosen again.
    values[f"{O.IF_TABLE}.8.1"] = 1
    old = first.memory | {"watched": ["Ethernet"], "counters": {}}
    again = evaluate_interfaces(values, InterfacesParams(), ctx(60, old))
    assert again.outcome.state is State.OK and again.memory["watched"] == ["Ethernet #1"]


def test_configured_ports_by_alias_and_unknown_names():
    params = InterfacesParams(ports=["clerk-office", "g1", "nope"])
    outcome = evaluate_interfaces(snap("switch"), params, ctx()).outcome
    assert outcome.state is State.CRITICAL
    assert "port g5 (clerk-office) is down" in outcome.summary
    assert "port 'nope' not found" in outcome.summary


def test_rates_across_a_32_bit_wrap_and_utilisation():
    params = InterfacesParams(ports=["g24"], utilisation_warn=50)
    values = dict(snap("switch"))
    first = evaluate_interfaces(values, params, ctx())
    values[f"{O.IF_TABLE}.10.24"] = 75_000_000 - (WRAP - 4_294_000_000)  # wrapped
    values[f"{O.SYS_UPTIME}"] += 1000
    second = evaluate_interfaces(values, params, ctx(10, first.memory))
    metrics = {m.name: m.value for m in second.outcome.metrics}
    # 75,000,000 octets in 10 s on a 100 Mbit/s port: 60 Mbit/s
    assert metrics["g24_in_bps"] == 60_000_000
    assert second.outcome.state is State.WARNING
    assert "port g24 (old-camera) in at 60 % of its speed" in second.outcome.summary


def test_a_rate_above_line_speed_is_a_wrong_speed_not_an_alarm():
    params = InterfacesParams(ports=["g24"], utilisation_warn=50)
    values = dict(snap("switch"))
    first = evaluate_interfaces(values, params, ctx())
    values[f"{O.IF_TABLE}.10.24"] = 999_999_000 - (WRAP - 4_294_000_000)  # 800 Mbit/s
    values[f"{O.SYS_UPTIME}"] += 1000
    second = evaluate_interfaces(values, params, ctx(10, first.memory))
    assert second.outcome.state is State.OK
    assert "port g24 (old-camera) in at 800 % of its stated speed: the speed the device " \
        "reports is wrong, utilisation not judged" in second.outcome.summary


def test_no_rates_across_a_reboot():
    params = InterfacesParams(ports=["g1"])
    values = dict(snap("switch"))
    first = evaluate_interfaces(values, params, ctx())
    values[O.SYS_UPTIME] = 500
    values[f"{O.IF_X_TABLE}.6.1"] = 10
    second = evaluate_interfaces(values, params, ctx(60, first.memory))
    assert not [m for m in second.outcome.metrics if m.name.startswith("g1_in")]


def test_error_rate_in_percent_of_packets():
    params = InterfacesParams(ports=["g1"])
    values = dict(snap("switch"))
    first = evaluate_interfaces(values, params, ctx())
    values[f"{O.IF_X_TABLE}.7.1"] += 50_000
    values[f"{O.IF_X_TABLE}.11.1"] += 50_000
    values[f"{O.IF_TABLE}.14.1"] += 150   # 150 errors in 100,000 packets: 0.15 %
    values[O.SYS_UPTIME] += 6000
    second = evaluate_interfaces(values, params, ctx(60, first.memory))
    assert second.outcome.state is State.CRITICAL
    assert "errors/discards 0.150 % of packets" in second.outcome.summary


# ---- storage ----------------------------------------------------------------------------
def volume(size_gib: float, used_percent: float) -> dict:
    size = int(size_gib * GIB)
    return {"descr": "/data", "size_bytes": size, "used_bytes": int(size * used_percent / 100),
            "used_percent": used_percent}


@pytest.mark.parametrize("size_gib, percent, expected", [
    (20, 85, State.WARNING),      # small disk: 3 GiB free
    (20, 95, State.CRITICAL),
    (16_000, 85, State.OK),       # 2.4 TiB free: no alarm at 85 %
    (16_000, 99.7, State.WARNING),
    (16_000, 99.95, State.CRITICAL),
    (20, 50, State.OK),
])
def test_volume_needs_percent_and_absolute_free_space(size_gib, percent, expected):
    assert judge_volume(volume(size_gib, percent), StorageParams()).state is expected


def test_nas_storage_excludes_pseudo_filesystems_and_is_ok():
    evaluation = evaluate_storage(snap("nas"), StorageParams(), ctx())
    outcome = evaluation.outcome
    assert outcome.state is State.OK
    assert "/run" not in outcome.summary and "/volume1 85 % used" in outcome.summary
    assert {i["descr"] for i in outcome.items if "descr" in i} >= {"/volume1", "/run"}
    assert "CPU 14 %" in outcome.summary and "memory 24 % used" in outcome.summary


def test_days_until_full_forecast_from_memory():
    values = dict(snap("nas"))
    used_key = f"{O.HR_STORAGE}.6.31"   # "/": 600,000 units of 4 KiB, 60 % used
    memory: dict = {}
    for hour in range(0, 25, 1):
        values[used_key] = 360_000 + hour * 2_000   # +8 MB an hour
        evaluation = evaluate_storage(values, StorageParams(), ctx(hour * 3600, memory))
        memory = evaluation.memory
    metrics = {m.name: m.value for m in evaluation.outcome.metrics}
    # 600,000 - 408,000 units left at 2,000 units an hour: 96 h = 4 days
    assert metrics["/_days_until_full"] == pytest.approx(4.0, abs=0.05)
    assert evaluation.outcome.state is State.WARNING
    assert "/ full in 4.0 days" in evaluation.outcome.summary
    assert len(memory["growth"]["/"]) == 25


# ---- printer ----------------------------------------------------------------------------
def test_printer_check_summary():
    outcome = evaluate_printer(snap("printer"), PrinterParams(), ctx()).outcome
    assert outcome.state is State.CRITICAL
    summary = outcome.summary
    assert summary.startswith("paper jam, Yellow Cartridge HP W2032X: 8 % left (critical at 10)")
    assert "Toner Collection Unit: 15 % room left (warning at 20)" in summary
    # "some remaining" (-3): OK with a note by default, not a permanent WARNING
    assert (State.OK, "Cyan Cartridge HP W2031X: some remaining (no level reported)") in {
        (r.state, r.summary) for r in outcome.results}
    assert "Magenta" not in summary   # unknown level: OK, not 0 %
    assert len(outcome.items) == 7 and all("_waste" not in i for i in outcome.items)


def test_printer_some_remaining_can_be_ok_and_kinds_ignored():
    params = PrinterParams(some_remaining_state="ok", ignore_kinds=["waste_toner"],
                           supply_crit_percent=5)
    values = dict(snap("printer"))
    values[f"{O.HR_PRINTER}.2.1"] = b"\x00\x00"
    outcome = evaluate_printer(values, params, ctx()).outcome
    assert outcome.state is State.WARNING
    assert outcome.summary == "Yellow Cartridge HP W2032X: 8 % left (warning at 20)"


# ---- UPS --------------------------------------------------------------------------------
def test_ups_on_battery_is_critical_and_immediate():
    outcome = evaluate_ups(snap("ups-rfc1628"), UpsParams(), ctx()).outcome
    assert outcome.state is State.CRITICAL and outcome.immediate
    assert outcome.summary.startswith("ON BATTERY for 2 min 5 s: mains power lost")
    assert outcome.items[0]["source"] == "rfc1628"


def test_apc_on_mains_wants_a_new_battery():
    outcome = evaluate_ups(snap("ups-apc"), UpsParams(), ctx()).outcome
    assert outcome.state is State.WARNING and not outcome.immediate
    assert outcome.summary == "replace the battery"
    ok = evaluate_ups(snap("ups-demo"), UpsParams(), ctx()).outcome
    assert ok.state is State.OK and "runtime 44 min" in ok.summary


def test_apc_bad_external_battery_pack_wants_a_new_battery():
    values = dict(snap("ups-demo"))
    assert evaluate_ups(values, UpsParams(), ctx()).outcome.state is State.OK
    values[O.APC_BAD_PACKS] = -1     # no packs to count
    assert evaluate_ups(values, UpsParams(), ctx()).outcome.state is State.OK
    values[O.APC_BAD_PACKS] = 1
    outcome = evaluate_ups(values, UpsParams(), ctx()).outcome
    assert outcome.state is State.WARNING and outcome.summary == "replace the battery"


def test_eaton_battery_disconnected_is_critical_and_resting_is_ok():
    card = {O.XUPS_OUTPUT_SOURCE: 3, O.XUPS_CHARGE: 100, O.XUPS_RUNTIME: 1800}
    gone = evaluate_ups(card | {O.XUPS_ABM_STATUS: 6}, UpsParams(), ctx()).outcome
    assert gone.state is State.CRITICAL and "battery missing" in gone.summary
    resting = evaluate_ups(card | {O.XUPS_ABM_STATUS: 4}, UpsParams(), ctx()).outcome
    assert resting.state is State.OK, resting.summary


def test_no_ups_mib_is_unknown():
    outcome = evaluate_ups(snap("switch"), UpsParams(), ctx()).outcome
    assert outcome.state is State.UNKNOWN


# ---- device profiles --------------------------------------------------------------------
@pytest.mark.parametrize("recording, device_class, answering, expected_state, item_keys", [
    ("printer", "printer", {"printer", "interfaces"}, State.CRITICAL, {"kind", "color"}),
    ("ups-rfc1628", "ups", {"ups"}, State.CRITICAL, {"source", "on_battery"}),
    ("switch", "network", {"interfaces"}, State.OK, {"oper_status"}),
    ("nas", "storage", {"synology", "storage", "interfaces"}, State.OK, {"used_percent"}),
])
def test_device_profile_runs_the_class_checks(recording, device_class, answering,
                                              expected_state, item_keys):
    raw = DeviceRaw(device_class, Poll(snap(recording), answering))
    evaluation = DeviceCheck().evaluate(raw, DeviceParams(), ctx())
    assert evaluation.outcome.state is expected_state
    assert any(item_keys <= set(item) for item in evaluation.outcome.items)
    assert evaluation.outcome.immediate is (recording == "ups-rfc1628")
    assert set(evaluation.memory) <= {"interfaces", "storage", "printer", "ups", "nas"}


def test_storage_patterns_match_as_fnmatch_does():
    """The storage check's excludes are one compiled regex; each answer is fnmatch's."""
    import fnmatch

    from muni_watchdog.checks.snmp.check_storage import matches_any
    patterns = ["/run*", "/dev/shm", "*tmpfs*", "[Pp]hysical*", "/snap/?x"]
    for text in ["/run/user/0", "/dev/shm", "/dev/shm/x", "tmpfs", "Physical memory",
                 "physical", "/snap/ax", "/snap/abx", "/", "", "/RUN"]:
        assert matches_any(text, patterns) == any(fnmatch.fnmatch(text, p) for p in patterns)
    assert matches_any("/run", ["/run*"]) and not matches_any("/var", ["/run*"])
    assert not matches_any("/x", [])
