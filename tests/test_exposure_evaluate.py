"""The exposure check's judgement (pure): findings and their severities, accepted findings,
probes that could not tell, a silent host, the budget; which probes a target gets; params."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from muni_watchdog.checks.exposure.banners import HttpPage
from muni_watchdog.checks.exposure.catalogue import CATALOGUE
from muni_watchdog.checks.exposure.certificates import CertificateFacts
from muni_watchdog.checks.exposure.collect import plan_probes, tls_endpoints
from muni_watchdog.checks.exposure.evaluate import evaluate_exposure, findings_of
from muni_watchdog.checks.exposure.observations import (
    ExposureRaw,
    ServiceObservation,
    SnmpObservation,
    SshObservation,
    TlsObservation,
)
from muni_watchdog.checks.exposure.params import ExposureParams, TargetFacts
from muni_watchdog.checks.exposure.ssh_algorithms import KexInit
from muni_watchdog.core.model import CheckContext, State

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CTX = CheckContext(NOW)
HOST = "10.0.0.5"
FACTS = TargetFacts(HOST, "snmp", device_class="printer")
PARAMS = ExposureParams()
GOOD_KEX = KexInit(("curve25519-sha256",), ("ssh-ed25519",), ("aes256-gcm@openssh.com",),
                   ("aes256-gcm@openssh.com",), ("hmac-sha2-256-etm@openssh.com",),
                   ("hmac-sha2-256-etm@openssh.com",))


def cert(**overrides) -> CertificateFacts:
    values = dict(subject="CN=pay.town.example", issuer="CN=R11,O=Let's Encrypt",
                  not_before=NOW - timedelta(days=30), not_after=NOW + timedelta(days=60),
                  key_type="EC", key_bits=256, signature_hash="sha256", self_issued=False)
    return CertificateFacts(**(values | overrides))


def tls(**overrides) -> TlsObservation:
    values = dict(host="pay.town.example", port=443, server_name="pay.town.example",
                  state="open", protocol="TLSv1.3", certificate=cert())
    return TlsObservation(**(values | overrides))


def raw(**parts) -> ExposureRaw:
    parts.setdefault("probes", 5)
    parts.setdefault("facts", FACTS)
    return ExposureRaw(**parts)


def closed(service="telnet", port=23) -> ServiceObservation:
    return ServiceObservation(service, port, "closed")


def ids(outcome) -> list[str]:
    return [item["finding"] for item in outcome.items]


# ---- findings --------------------------------------------------------------------------------

def test_clean_target_is_ok_with_the_probe_count():
    outcome = evaluate_exposure(raw(services=(closed(),), ssh=(
        SshObservation(22, "open", "SSH-2.0-OpenSSH_9.2", GOOD_KEX, ("publickey",)),),
        tls=(tls(),)), PARAMS, CTX)
    assert outcome.state is State.OK
    assert outcome.summary == "no open door found (5 probes)"
    assert outcome.items == ()
    assert {m.name: m.value for m in outcome.metrics} == {"findings": 0,
                                                          "findings_critical": 0}


def test_default_community_is_critical_and_names_it():
    snmp = SnmpObservation(161, (("public", "2c"), ("public", "1")), "HP ETHERNET MULTI")
    outcome = evaluate_exposure(raw(snmp=snmp), PARAMS, CTX)
    assert outcome.state is State.CRITICAL
    # The door to close first carries its fix: the alert's line says what to do.
    assert outcome.summary == ("SNMP answers a default community (udp/161): 'public' answered "
                               "(v1/v2c), sysDescr 'HP ETHERNET MULTI' — fix: replace the "
                               "community with a long random one allowed only from the "
                               "monitor's address, or move the agent to SNMPv3 authPriv and "
                               "turn v1/v2c off")
    item = outcome.items[0]
    assert item["severity"] == "critical" and item["fix"].startswith("Replace the community")
    assert "10264" in item["source"]
    assert all(r.affects_availability is False for r in outcome.results)


def test_any_community_replaces_the_per_community_finding():
    snmp = SnmpObservation(161, (("public", "2c"),), "x", any_community=True)
    assert ids(evaluate_exposure(raw(snmp=snmp), PARAMS, CTX)) == ["snmp_any_community"]


@pytest.mark.parametrize("answered, configured, expected", [
    ((("public", "2c"),), None, ["snmp_default_community", "snmp_v1v2c_with_v3"]),
    ((), "2c", ["snmp_v1v2c_with_v3"]),     # the monitor itself polls it with v2c
    ((), "3", []),                          # v3 only: nothing to say
    ((), None, []),                         # no community answered, not polled: no finding
])
def test_v1v2c_beside_v3_only_when_v1v2c_is_in_use(answered, configured, expected):
    snmp = SnmpObservation(161, answered, v3_engine_id="80001f8880aa")
    facts = TargetFacts(HOST, "snmp", snmp_version=configured)
    outcome = evaluate_exposure(raw(snmp=snmp, facts=facts), PARAMS, CTX)
    assert ids(outcome) == expected
    if "snmp_v1v2c_with_v3" in expected:
        assert "engine 80001f8880aa answers v3 discovery" in outcome.summary


def test_v1v2c_without_v3_is_not_reported_as_such():
    snmp = SnmpObservation(161, (("public", "1"),), v3_engine_id=None)
    assert ids(evaluate_exposure(raw(snmp=snmp), PARAMS, CTX)) == ["snmp_default_community"]


def test_clear_text_services():
    services = (
        ServiceObservation("telnet", 23, "open", True, "core-switch login:"),
        ServiceObservation("ftp", 21, "open", True, "220 (vsFTPd 3.0.3)"),
        ServiceObservation("http", 80, "open", True,
                           page=HttpPage(200, "OK", title="HP LaserJet M404")),
        ServiceObservation("rdp", 3389, "open", True, "X.224 connection confirm"))
    outcome = evaluate_exposure(raw(services=services), PARAMS, CTX)
    states = {item["finding"]: item["severity"] for item in outcome.items}
    assert states == {"telnet": "critical", "ftp": "warning",
                      "http_cleartext_admin": "warning", "rdp_unexpected": "warning"}
    assert "telnet open (tcp/23): 'core-switch login:'" in outcome.summary
    assert "HTTP 200, title 'HP LaserJet M404'" in outcome.summary


def test_an_open_but_silent_telnet_port_is_only_a_warning():
    outcome = evaluate_exposure(raw(services=(ServiceObservation("telnet", 2323, "open"),)),
                                PARAMS, CTX)
    assert outcome.state is State.WARNING
    assert "tcp/2323): port open, the protocol did not identify itself" in outcome.summary


def test_http_redirect_to_tls_is_no_door_but_redirect_to_http_is():
    to_tls = ServiceObservation("http", 80, "open", True,
                                page=HttpPage(302, "Found", location="https://10.0.0.5/"))
    to_http = ServiceObservation("http", 80, "open", True,
                                 page=HttpPage(301, "Moved", location="http://10.0.0.5/login"))
    assert ids(evaluate_exposure(raw(services=(to_tls,)), PARAMS, CTX)) == []
    assert ids(evaluate_exposure(raw(services=(to_http,)), PARAMS, CTX)) == [
        "http_cleartext_admin"]


def test_ssh_findings_one_per_category_with_reasons_in_details():
    kexinit = KexInit(("diffie-hellman-group1-sha1", "curve25519-sha256"),
                      ("ssh-ed25519", "ssh-dss"), ("aes128-cbc", "aes256-ctr"),
                      ("aes256-ctr",), ("hmac-md5",), ("hmac-sha2-256",))
    ssh = SshObservation(22, "open", "SSH-2.0-OpenSSH_7.4", kexinit, ("publickey", "password"))
    outcome = evaluate_exposure(raw(ssh=(ssh,)), PARAMS, CTX)
    assert ids(outcome) == ["ssh_weak_kex", "ssh_weak_cipher", "ssh_weak_mac",
                            "ssh_weak_host_key", "ssh_password_auth"]
    assert outcome.state is State.WARNING
    kex = next(r for r in outcome.results if "key exchanges" in r.summary)
    assert kex.summary == ("SSH offers weak key exchanges (tcp/22): diffie-hellman-group1-sha1"
                           " — fix: remove the listed algorithms from KexAlgorithms (keep "
                           "curve25519-sha256, diffie-hellman-group16-sha512 and stronger)")
    # Only the first door of the worst severity carries the fix.
    assert sum("— fix:" in r.summary for r in outcome.results) == 1
    assert "Why: diffie-hellman-group1-sha1: 1024-bit group and SHA-1 (Logjam)" in kex.details
    assert kex.details.startswith("Fix: Remove the listed algorithms from KexAlgorithms")
    assert "'none' request for 'muni-watchdog' lists: publickey, password" in outcome.summary


def test_ssh_protocol_1_and_no_authentication():
    old = SshObservation(22, "open", "SSH-1.99-Cisco-1.25", GOOD_KEX, ("none",))
    outcome = evaluate_exposure(raw(ssh=(old,)), PARAMS, CTX)
    assert ids(outcome) == ["ssh_protocol_1", "ssh_no_authentication"]
    assert outcome.state is State.CRITICAL
    only_v1 = SshObservation(22, "open", "SSH-1.5-OpenSSH_2.9")
    # SSH-1 only: no KEXINIT and no methods to read; the door itself is the finding.
    outcome = evaluate_exposure(raw(ssh=(only_v1,)), PARAMS, CTX)
    assert ids(outcome) == ["ssh_protocol_1"]


def test_tls_findings():
    weak = tls(legacy_accepted=("TLSv1", "TLSv1.1"), verify_code=18,
               verify_error="self-signed certificate",
               certificate=cert(key_type="RSA", key_bits=1024, signature_hash="sha1",
                                self_issued=True))
    outcome = evaluate_exposure(raw(tls=(weak,)), PARAMS, CTX)
    assert ids(outcome) == ["tls_legacy_protocol", "tls_self_signed", "tls_weak_key",
                            "tls_weak_signature"]
    assert ("TLS 1.0/1.1 accepted (pay.town.example:443): accepts TLSv1, TLSv1.1 (a current "
            "client gets TLSv1.3)") in outcome.summary


def test_expired_certificate_is_judged_by_the_clock_and_reported_once():
    expired = cert(not_after=NOW - timedelta(days=3))
    outcome = evaluate_exposure(raw(tls=(tls(certificate=expired, verify_code=10,
                                             verify_error="certificate has expired"),)),
                                PARAMS, CTX)
    assert ids(outcome) == ["tls_expired"]
    assert "expired 2026-11-27 (3 days ago)" in outcome.summary
    # The clock decides, not only OpenSSL: the same certificate a day before it expired.
    earlier = CheckContext(NOW - timedelta(days=4))
    assert ids(evaluate_exposure(raw(tls=(tls(certificate=expired),)), PARAMS, earlier)) == []


def test_hostname_mismatch_and_untrusted():
    mismatch = tls(verify_code=62, verify_error="Hostname mismatch, certificate is not valid "
                   "for 'pay.town.example'.")
    untrusted = tls(port=8443, verify_code=20,
                    verify_error="unable to get local issuer certificate")
    outcome = evaluate_exposure(raw(tls=(mismatch, untrusted)), PARAMS, CTX)
    assert ids(outcome) == ["tls_hostname_mismatch", "tls_untrusted"]


def test_accepted_findings_are_listed_but_ok():
    params = ExposureParams(accept=["ftp"])
    services = (ServiceObservation("ftp", 21, "open", True, "220 scanner ready"),)
    outcome = evaluate_exposure(raw(services=services), params, CTX)
    assert outcome.state is State.OK
    assert outcome.summary == ("no open door found (5 probes, 1 accepted), accepted: FTP open "
                               "(clear-text logins) (tcp/21): '220 scanner ready'")
    assert outcome.items[0]["accepted"] is True
    assert {m.name: m.value for m in outcome.metrics}["findings"] == 0
    telnet = ServiceObservation("telnet", 23, "open", True, "login:")
    outcome = evaluate_exposure(raw(services=(*services, telnet)), params, CTX)
    assert outcome.state is State.CRITICAL and "accepted" not in outcome.summary


# ---- what could not be told ------------------------------------------------------------------

def test_probe_errors_are_unknown_never_ok():
    outcome = evaluate_exposure(raw(
        snmp=SnmpObservation(161, error="cannot resolve host name 'x'"),
        services=(ServiceObservation("ftp", 21, "error", error="Permission denied"),
                  ServiceObservation("http", 80, "open", error="no HTTP answer: reset")),
        ssh=(SshObservation(22, "error", error="not SSH-2: implausible packet length"),
             SshObservation(2222, "open", "SSH-2.0-x", GOOD_KEX, None,
                            "key exchange failed: Incompatible ssh peer")),
        tls=(tls(certificate=None), tls(port=8443, legacy_errors=(
            "could not offer TLSv1 (NO_PROTOCOLS_AVAILABLE)",)))), PARAMS, CTX)
    assert outcome.state is State.UNKNOWN
    texts = [r.summary for r in outcome.results]
    assert texts == [
        "could not tell: SNMP udp/161: cannot resolve host name 'x'",
        "could not tell: ftp tcp/21: Permission denied",
        "could not tell: http tcp/80: no HTTP answer: reset",
        "could not tell: SSH tcp/22: not SSH-2: implausible packet length",
        "could not tell: SSH tcp/2222: login methods unknown: key exchange failed: "
        "Incompatible ssh peer",
        "could not tell: TLS pay.town.example:443: no certificate could be read",
        "could not tell: TLS pay.town.example:8443: could not offer TLSv1 "
        "(NO_PROTOCOLS_AVAILABLE)"]


def test_a_critical_finding_outranks_unknown_probes():
    outcome = evaluate_exposure(raw(
        services=(ServiceObservation("telnet", 23, "open", True, "login:"),
                  ServiceObservation("ftp", 21, "error", error="reset"))), PARAMS, CTX)
    assert outcome.state is State.CRITICAL


def test_unfinished_and_failed_probes():
    outcome = evaluate_exposure(raw(unfinished=("ssh tcp/22", "tls 10.0.0.5:443"),
                                    failed=(("rdp tcp/3389", "probe failed: KeyError: 1"),),
                                    services=(closed(),), budget=60.0), PARAMS, CTX)
    assert outcome.state is State.UNKNOWN
    assert "could not tell: rdp tcp/3389: probe failed: KeyError: 1" in outcome.summary
    assert ("2 probe(s) not finished within the 60s budget: ssh tcp/22, tls 10.0.0.5:443"
            in outcome.summary)


def test_a_host_that_answered_nothing_is_unknown():
    silent = raw(snmp=SnmpObservation(161), services=(
        ServiceObservation("telnet", 23, "filtered"),), ssh=(SshObservation(22, "filtered"),))
    outcome = evaluate_exposure(silent, PARAMS, CTX)
    assert outcome.state is State.UNKNOWN
    assert outcome.summary == ("the host answered none of 5 probes (down, or every port "
                               "filtered): its exposure is unknown")
    # A refusal is an answer (the host is up), and so is an ICMP port unreachable.
    for answered in (raw(services=(closed(),)),
                     raw(snmp=SnmpObservation(161, icmp_unreachable=True))):
        assert evaluate_exposure(answered, PARAMS, CTX).state is State.OK
    # A TLS URL on another host answering does not prove this host is up.
    other = raw(ssh=(SshObservation(22, "filtered"),), tls=(tls(),))
    assert evaluate_exposure(other, PARAMS, CTX).state is State.UNKNOWN


def test_every_catalogue_entry_has_a_fix_and_a_source():
    for kind in CATALOGUE.values():
        assert kind.state in (State.WARNING, State.CRITICAL)
        assert kind.fix.endswith(".") and kind.fix.count(". ") == 0, kind.id
        assert kind.source, kind.id


def test_findings_of_marks_accepted():
    found = findings_of(raw(services=(ServiceObservation("ftp", 21, "open", True, "220"),)),
                        ExposureParams(accept=["ftp"]), NOW)
    assert [f.accepted for f in found] == [True]


# ---- planning and parameters -----------------------------------------------------------------

def names(probes) -> list[str]:
    return [p.name for p in probes]


def test_plan_for_a_printer():
    assert names(plan_probes(FACTS, PARAMS)) == [
        "snmp udp/161", "ssh tcp/22", "telnet tcp/23", "ftp tcp/21", "http tcp/80",
        "rdp tcp/3389"]


def test_plan_follows_facts_and_params():
    server = TargetFacts("fs1", "ssh", windows=True, snmp_port=1161,
                         urls=("https://pay.town.example/login", "http://fs1/",
                               "https://pay.town.example:443/other", "https://fs1:8443/"))
    params = ExposureParams(telnet_ports=[23, 2323, 23], ftp_ports=[], tls_ports=[8443, 636])
    assert names(plan_probes(server, params)) == [
        "snmp udp/1161", "ssh tcp/22", "telnet tcp/23", "telnet tcp/2323",
        "tls pay.town.example:443", "tls fs1:8443", "tls fs1:636"]
    assert tls_endpoints(server, params)[0] == ("pay.town.example", 443, "pay.town.example")
    # RDP expected on Windows unless said otherwise; SNMP off; port given explicitly wins.
    params = ExposureParams(expect_rdp=False, snmp=False, ssh_ports=[])
    assert "rdp tcp/3389" in names(plan_probes(server, params))
    assert "snmp udp/1161" not in names(plan_probes(server, params))
    assert names(plan_probes(FACTS, ExposureParams(snmp_port=10161)))[0] == "snmp udp/10161"


def test_params_defaults_and_validation():
    assert PARAMS.interval == 86400 and PARAMS.timeout == 60
    assert PARAMS.snmp_communities == ["public", "private", "cisco", "internal", "apc"]
    with pytest.raises(ValidationError, match="unknown finding id"):
        ExposureParams(accept=["telnet", "guess"])
    with pytest.raises(ValidationError):
        ExposureParams(telnet_ports=[0])
    with pytest.raises(ValidationError):
        ExposureParams(telnet_ports=list(range(1, 40)))
    with pytest.raises(ValidationError):
        ExposureParams(concurrency=50)
    assert ExposureParams(timeout="2m", probe_timeout="1s").timeout == 120
