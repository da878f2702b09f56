"""The exposure check against real open doors on 127.0.0.1: net-snmp's snmpd answering
``public`` (with and without SNMPv3), telnet and FTP greeters, a printer's plain-HTTP page,
OpenSSH with password logins and weak algorithms, TLS servers that accept TLS 1.0 or carry a
1024-bit SHA-1 certificate, an RDP listener; and the bounds: budget, concurrency."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab.exposure_lab import (
    AnyCommunityAgent,
    BannerServer,
    DefaultCommunitySnmpd,
    DemoDoors,
    ExposedSshLab,
    TlsLab,
    ftp_server,
    http_server,
    make_ca_and_leaf,
    make_certificate,
    rdp_server,
    telnet_server,
)
from lab.servers import free_port
from lab.snmp_lab import free_udp_port
from muni_watchdog.checks.base import CollectError, TargetInfo
from muni_watchdog.checks.exposure import collect
from muni_watchdog.checks.exposure.banners import DONT, IAC, WONT
from muni_watchdog.checks.exposure.check import ExposureCheck, facts_from_target
from muni_watchdog.checks.exposure.params import ExposureParams, TargetFacts
from muni_watchdog.checks.snmp import ber
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.core.model import CheckContext, State

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("snmpd") is None and
                                 not Path("/usr/sbin/snmpd").exists(),
                                 reason="snmpd not installed (scripts/setup.sh installs it)")]
LOOPBACK = "127.0.0.1"
WEAK_SSH = ("KexAlgorithms +diffie-hellman-group1-sha1,diffie-hellman-group-exchange-sha1",
            "Ciphers +aes128-cbc,3des-cbc", "MACs +hmac-md5", "HostKeyAlgorithms +ssh-rsa")


def params(**overrides) -> ExposureParams:
    """Nothing probed unless the test says so: the machine's own ports 22, 23... must not
    decide a test. Loopback servers answer in milliseconds: 1s is ample."""
    values = dict(snmp=False, ssh_ports=[], telnet_ports=[], ftp_ports=[], http_ports=[],
                  expect_rdp=True, probe_timeout="1s")
    return ExposureParams(**(values | overrides))


def run(p: ExposureParams, facts: TargetFacts | None = None):
    facts = facts or TargetFacts(LOOPBACK, "snmp", device_class="printer")
    check = ExposureCheck(lambda _target: facts)
    raw = asyncio.run(check.collect(TargetInfo("t", facts.kind, facts.host), p))
    return check.evaluate(raw, p, CheckContext(datetime.now(UTC))).outcome


def ids(outcome) -> list[str]:
    return [item["finding"] for item in outcome.items]


@pytest.fixture
def servers():
    started = []

    def keep(server):
        started.append(server)
        return server
    yield keep
    for server in started:
        server.stop()


# ---- SNMP ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def snmpd_v3():
    agent = DefaultCommunitySnmpd(("public",), v3=True).start()
    yield agent
    agent.stop()


def test_default_community_on_an_agent_that_speaks_v3(snmpd_v3):
    outcome = run(params(snmp=True, snmp_port=snmpd_v3.port))
    assert ids(outcome) == ["snmp_default_community", "snmp_v1v2c_with_v3"]
    assert outcome.state is State.CRITICAL
    first = outcome.results[0]
    assert first.summary.startswith(f"SNMP answers a default community (udp/{snmpd_v3.port}): "
                                    "'public' answered (v1/v2c), sysDescr 'Lab switch for the "
                                    "exposure tests' — fix: replace the community")
    assert "answers v3 discovery; a default community was answered" in \
        outcome.results[1].summary


def test_default_community_on_an_agent_without_v3():
    agent = DefaultCommunitySnmpd(("public", "private"), v3=False).start()
    try:
        outcome = run(params(snmp=True, snmp_port=agent.port))
    finally:
        agent.stop()
    assert ids(outcome) == ["snmp_default_community"]
    assert "'private', 'public' answered" in outcome.summary


def test_secret_community_agent_polled_with_v2c_beside_v3():
    agent = DefaultCommunitySnmpd(("mw-secret-7c1f",), v3=True).start()
    try:
        polled_v2c = run(params(snmp=True, snmp_port=agent.port),
                         TargetFacts(LOOPBACK, "snmp", snmp_version="2c"))
        not_polled = run(params(snmp=True, snmp_port=agent.port))
    finally:
        agent.stop()
    assert ids(polled_v2c) == ["snmp_v1v2c_with_v3"]
    assert "the monitor polls it with v2c" in polled_v2c.summary
    assert not_polled.state is State.OK and not_polled.items == ()


def test_snmp_settings_come_from_the_target_connection(tmp_path, snmpd_v3):
    secret = tmp_path / "community"
    secret.write_text("mw-secret\n")
    conn = SnmpConnection(version="2c", port=snmpd_v3.port, community_file=str(secret))
    facts = facts_from_target(TargetInfo("sw", "snmp", LOOPBACK, conn))
    assert (facts.snmp_port, facts.snmp_version) == (snmpd_v3.port, "2c")
    outcome = run(params(snmp=True), facts)   # no snmp_port: the target's is used
    assert ids(outcome) == ["snmp_default_community", "snmp_v1v2c_with_v3"]


def test_agent_answering_any_community_and_only_gets_are_sent(servers):
    agent = servers(AnyCommunityAgent())
    outcome = run(params(snmp=True, snmp_port=agent.port))
    assert ids(outcome) == ["snmp_any_community"]
    assert outcome.summary == (f"SNMP answers any community (udp/{agent.port}): a random "
                               "community was answered, sysDescr 'HP ETHERNET "
                               "MULTI-ENVIRONMENT' — fix: configure the agent to accept one "
                               "secret community (or SNMPv3 users only) and only from the "
                               "monitor's address")
    communities = {community for community, _ in agent.requests}
    assert {b"public", b"private", b"cisco", b"internal", b"apc"} < communities
    assert len(communities) == 6                          # the defaults and one random control
    assert {pdu for _, pdu in agent.requests} == {ber.GET}   # never a SET, nor a walk


def test_no_agent_is_no_door_and_the_host_counts_as_up():
    outcome = run(params(snmp=True, snmp_port=free_udp_port()))
    assert outcome.state is State.OK
    assert outcome.summary == "no open door found (1 probes)"


# ---- clear-text management ---------------------------------------------------------------------

def test_telnet_and_ftp_greetings_without_logging_in(servers):
    telnet, ftp = servers(telnet_server()), servers(ftp_server())
    outcome = run(params(telnet_ports=[telnet.port], ftp_ports=[ftp.port]))
    assert ids(outcome) == ["telnet", "ftp"]
    assert outcome.state is State.CRITICAL
    assert f"telnet open (tcp/{telnet.port}): 'Debian GNU/Linux 12 core-switch login:'" in \
        outcome.summary
    assert f"FTP open (clear-text logins) (tcp/{ftp.port}): '220 (vsFTPd 3.0.3)'" in \
        outcome.summary
    # All we ever sent: refusals of the telnet options, and QUIT. No user name, no password.
    assert telnet.wait_received(1) == [bytes((IAC, WONT, 24, IAC, WONT, 32, IAC, DONT, 1))]
    assert ftp.wait_received(1) == [b"QUIT\r\n"]


def test_telnet_on_a_non_standard_port_is_found_when_listed(servers):
    telnet = servers(telnet_server())
    assert ids(run(params(telnet_ports=[free_port()]))) == []
    assert ids(run(params(telnet_ports=[free_port(), telnet.port]))) == ["telnet"]


def test_printer_admin_page_over_http(servers):
    page = servers(http_server())
    outcome = run(params(http_ports=[page.port]))
    assert ids(outcome) == ["http_cleartext_admin"]
    assert ("HTTP 200, title 'HP LaserJet M404 — Embedded Web Server', server HP HTTP Server"
            in outcome.summary)
    assert page.received[0].startswith(b"GET / HTTP/1.0\r\n")
    # A server's page is not probed: the class decides what is a management interface.
    server = run(params(http_ports=[page.port]), TargetFacts(LOOPBACK, "ssh"))
    assert server.items == () and server.summary == "no open door found (0 probes)"


def test_http_redirect_to_https_is_no_door(servers):
    redirect = servers(http_server(status="301 Moved Permanently",
                                   location="https://127.0.0.1/"))
    assert ids(run(params(http_ports=[redirect.port]))) == []


def test_unexpected_rdp(servers):
    rdp = servers(rdp_server())
    outcome = run(params(expect_rdp=False, rdp_port=rdp.port))
    assert ids(outcome) == ["rdp_unexpected"]
    assert "'X.224 connection confirm'" in outcome.summary
    windows = TargetFacts(LOOPBACK, "ssh", windows=True)
    assert run(params(expect_rdp=None, rdp_port=rdp.port), windows).items == ()
    assert len(rdp.received) == 1   # the Windows target was not probed


# ---- SSH ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plain_sshd():
    lab = ExposedSshLab().start()
    yield lab
    lab.stop()


def test_debian_default_sshd_has_no_finding(plain_sshd):
    outcome = run(params(ssh_ports=[plain_sshd.port]))
    assert outcome.state is State.OK, outcome.summary
    assert outcome.items == ()


def test_password_logins_and_weak_algorithms_without_a_login_attempt():
    lab = ExposedSshLab(passwords=True, weak=WEAK_SSH, rsa_host_key=True).start()
    try:
        outcome = run(params(ssh_ports=[lab.port]))
        log = lab.log_text()
    finally:
        lab.stop()
    assert ids(outcome) == ["ssh_weak_kex", "ssh_weak_cipher", "ssh_weak_mac",
                            "ssh_weak_host_key", "ssh_password_auth"]
    summary = outcome.summary
    assert (f"SSH offers weak key exchanges (tcp/{lab.port}): diffie-hellman-group1-sha1, "
            "diffie-hellman-group-exchange-sha1") in summary
    assert f"SSH offers weak ciphers (tcp/{lab.port}): aes128-cbc, 3des-cbc" in summary
    assert f"SSH offers weak host key types (tcp/{lab.port}): ssh-rsa" in summary
    assert "lists: publickey, password" in summary
    # sshd saw no password and no key: only the 'none' request, which it logs as one line
    # for our made-up name (the global settings are what it answers) — "Invalid user", or,
    # where a muni-watchdog account exists (this machine installed the .deb), "not allowed
    # because not listed in AllowUsers".
    assert "Failed password" not in log and "Failed publickey" not in log
    assert "Accepted" not in log
    assert (log.count("Invalid user muni-watchdog from 127.0.0.1")
            + log.count("User muni-watchdog from 127.0.0.1 not allowed")) == 1


def test_a_server_with_only_outdated_key_exchanges():
    """paramiko (like OpenSSH 8.8+ clients) refuses diffie-hellman-group14-sha1 alone: the
    weak offer is still read from KEXINIT, and the login methods are honestly unknown."""
    lab = ExposedSshLab(weak=("KexAlgorithms diffie-hellman-group14-sha1",)).start()
    try:
        outcome = run(params(ssh_ports=[lab.port]))
    finally:
        lab.stop()
    assert ids(outcome) == ["ssh_weak_kex"]
    assert outcome.state is State.UNKNOWN
    assert (f"could not tell: SSH tcp/{lab.port}: login methods unknown: our SSH library "
            "refuses every key exchange the server offers") in outcome.summary


def test_a_port_that_is_not_ssh_is_unknown_not_clean(servers):
    ftp = servers(ftp_server())
    outcome = run(params(ssh_ports=[ftp.port], probe_timeout="1s"))
    assert outcome.state is State.UNKNOWN
    assert f"could not tell: SSH tcp/{ftp.port}: no SSH version line within 1s" in \
        outcome.summary


# ---- TLS ---------------------------------------------------------------------------------------

def test_tls_1_0_and_a_1024_bit_sha1_certificate(tmp_path, servers):
    server = servers(TlsLab(*make_certificate(tmp_path, rsa_bits=1024, sha1=True),
                            legacy=True))
    outcome = run(params(tls_ports=[server.port]))
    assert ids(outcome) == ["tls_legacy_protocol", "tls_self_signed", "tls_weak_key",
                            "tls_weak_signature"]
    assert (f"TLS 1.0/1.1 accepted ({LOOPBACK}:{server.port}): accepts TLSv1, TLSv1.1 "
            "(a current client gets TLSv1.3)") in outcome.summary
    assert "RSA 1024 bits (minimum 2048)" in outcome.summary
    assert {"TLSv1", "TLSv1.1"} <= set(server.handshakes)


def test_a_tls12_server_refuses_the_legacy_hellos(tmp_path, servers):
    server = servers(TlsLab(*make_certificate(tmp_path), legacy=False))
    outcome = run(params(), TargetFacts(LOOPBACK, "http",
                                        urls=(f"https://{LOOPBACK}:{server.port}/",)))
    assert ids(outcome) == ["tls_self_signed"]
    assert set(server.handshakes) <= {"TLSv1.2", "TLSv1.3"}


def test_trusted_chain_mismatched_name_and_unknown_issuer(tmp_path, servers):
    ca, leaf, key = make_ca_and_leaf(tmp_path / "good")
    good = servers(TlsLab(leaf, key))
    assert run(params(tls_ports=[good.port], ca_file=str(ca))).items == ()
    assert ids(run(params(tls_ports=[good.port]))) == ["tls_untrusted"]
    ca2, leaf2, key2 = make_ca_and_leaf(tmp_path / "other", ("intranet.town.example",))
    other = servers(TlsLab(leaf2, key2))
    outcome = run(params(tls_ports=[other.port], ca_file=str(ca2)))
    assert ids(outcome) == ["tls_hostname_mismatch"]
    assert "certificate is not valid for '127.0.0.1'" in outcome.summary


def test_expired_certificate(tmp_path, servers):
    server = servers(TlsLab(*make_certificate(tmp_path, days_valid=-3)))
    found = ids(run(params(tls_ports=[server.port])))
    assert found.count("tls_expired") == 1
    assert set(found) <= {"tls_expired", "tls_self_signed"}


def test_missing_ca_file_is_unknown(tmp_path, servers):
    server = servers(TlsLab(*make_certificate(tmp_path)))
    outcome = run(params(tls_ports=[server.port], ca_file=str(tmp_path / "none.pem")))
    assert outcome.state is State.UNKNOWN and "cannot load ca_file" in outcome.summary


# ---- a whole target, and the bounds ---------------------------------------------------------

def test_a_printer_with_every_door_open(snmpd_v3, servers):
    telnet, ftp, page = servers(telnet_server()), servers(ftp_server()), servers(http_server())
    outcome = run(ExposureParams(snmp_port=snmpd_v3.port, ssh_ports=[free_port()],
                                 telnet_ports=[telnet.port], ftp_ports=[ftp.port],
                                 http_ports=[page.port], rdp_port=free_port(),
                                 probe_timeout="1s"))
    assert ids(outcome) == ["snmp_default_community", "snmp_v1v2c_with_v3", "telnet", "ftp",
                            "http_cleartext_admin"]
    assert outcome.summary.startswith("SNMP answers a default community")
    assert {m.name: m.value for m in outcome.metrics} == {"findings": 5,
                                                          "findings_critical": 2}


def test_demo_doors_are_found():
    doors = DemoDoors()
    try:
        outcome = run(ExposureParams(**doors.exposure_params(), probe_timeout="1s"),
                      TargetFacts(LOOPBACK, "snmp", device_class="network"))
    finally:
        doors.stop()
    assert ids(outcome) == ["snmp_default_community", "snmp_v1v2c_with_v3", "telnet", "ftp",
                            "http_cleartext_admin"]


def test_the_budget_stops_a_hanging_probe(servers):
    silent = servers(BannerServer(hold=10))
    outcome = run(params(ssh_ports=[silent.port], probe_timeout="3s", timeout="1s"))
    assert outcome.state is State.UNKNOWN
    assert outcome.summary == (f"1 probe(s) not finished within the 1s budget: "
                               f"ssh tcp/{silent.port}")


class CountingServer:
    """Silent listeners on several ports that count how many connections are open at once."""

    def __init__(self, ports: int):
        self.lock = threading.Lock()
        self.active = self.most = self.total = 0
        self.socks = []
        for _ in range(ports):
            sock = socket.socket()
            sock.bind((LOOPBACK, 0))
            sock.listen(8)
            self.socks.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()
        self.ports = [s.getsockname()[1] for s in self.socks]

    def _serve(self, sock):
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn):
        with self.lock:
            self.active += 1
            self.total += 1
            self.most = max(self.most, self.active)
        try:
            conn.settimeout(10)
            while conn.recv(64):
                pass
        except OSError:
            pass
        finally:
            conn.close()
            with self.lock:
                self.active -= 1

    def stop(self):
        for sock in self.socks:
            sock.close()


def test_every_listed_port_is_probed_once(servers):
    counting = servers(CountingServer(6))
    outcome = run(params(telnet_ports=counting.ports, concurrency=2, probe_timeout="1s"))
    assert counting.total == 6
    assert ids(outcome) == ["telnet"] * 6       # silent open ports: unconfirmed warnings
    assert outcome.state is State.WARNING


def test_concurrency_is_bounded(monkeypatch):
    """The semaphore, measured where it acts (the server side cannot tell a closing
    connection from an open one without a race)."""
    running = {"now": 0, "most": 0}

    async def fake_probe(probe, p):
        running["now"] += 1
        running["most"] = max(running["most"], running["now"])
        await asyncio.sleep(0.05)
        running["now"] -= 1
        return None

    monkeypatch.setattr(collect, "_run_one", fake_probe)
    probes = [collect.Probe("telnet", LOOPBACK, port) for port in range(1000, 1009)]
    for limit in (1, 3, 8):
        running["most"] = 0
        asyncio.run(collect.run_probes(probes, params(concurrency=limit)))
        assert running["most"] == limit


def test_unresolvable_host_is_a_collect_error():
    with pytest.raises(CollectError, match="cannot resolve host name 'no-such-host.invalid'"):
        run(params(), TargetFacts("no-such-host.invalid", "tcp"))
