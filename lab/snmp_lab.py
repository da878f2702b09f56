"""Real SNMP agents on loopback, for the tests, the demo and the benchmark.

* :class:`SnmpSim`: snmpsim serving ``.snmprec`` recordings, one community per file
  (``printer.snmprec`` answers community ``printer``). snmpsim refuses to run as root, so as
  root it drops to nobody/nogroup and its data is copied where nobody can read it.
* :class:`NetSnmpd`: Debian's net-snmp ``snmpd`` with a generated configuration: a v2c
  community and a v3 authPriv user (SHA-256/AES-128), state in a private persistent dir.
* :func:`record_agent`: snmpsim's recorder (``snmpsim-record-commands``) against an agent.
* :func:`start_demo_devices`: the demo's printer, UPS and switch, and their config snippet.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

LOOPBACK = "127.0.0.1"
DATA_DIR = Path(__file__).parent / "snmp_data"
BIN = Path(sys.executable).parent
UNPRIVILEGED = ("nobody", "nogroup")
# snmpsim drops root privileges before it indexes the recordings; modules it imports lazily
# then must already be loaded, or an interpreter under /root (pyenv) cannot find them.
SNMPSIM_PRELUDE = ("import sys, dbm, dbm.dumb, json, bz2, encodings.latin_1, encodings.ascii, "
                   "encodings.utf_8, encodings.idna, encodings.hex_codec, hashlib, hmac, "
                   "random, ipaddress, socket, select, struct, zlib, codecs, stringprep\n"
                   "from snmpsim.commands.responder import main\n"
                   "sys.exit(main())")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(encoded)]) + encoded + content


def v2c_get_sysuptime(community: str) -> bytes:
    """An SNMPv2c GET of sysUpTime.0, hand-encoded (no library needed to probe readiness)."""
    varbind = _tlv(0x30, bytes.fromhex("06082b06010201010300") + b"\x05\x00")
    pdu = _tlv(0xA0, _tlv(0x02, b"\x01") + _tlv(0x02, b"\x00") + _tlv(0x02, b"\x00")
               + _tlv(0x30, varbind))
    return _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, community.encode()) + pdu)


def wait_for_agent(port: int, community: str, timeout: float = 20.0,
                   process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    packet = v2c_get_sysuptime(community)
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the agent exited with {process.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            try:
                s.sendto(packet, (LOOPBACK, port))
                s.recvfrom(4096)
                return
            except OSError:
                time.sleep(0.1)
    raise RuntimeError(f"no SNMP agent answered on {LOOPBACK}:{port} within {timeout:g}s")


def _drop_privileges_args(flag_user: str, flag_group: str) -> list[str]:
    if os.geteuid() != 0:
        return []
    return [f"{flag_user}{UNPRIVILEGED[0]}", f"{flag_group}{UNPRIVILEGED[1]}"]


def _world_readable(path: Path) -> None:
    """Let nobody read (and, for directories, write) ``path`` when we run as root."""
    if os.geteuid() != 0:
        return
    for parent in [path, *path.parents]:
        if str(parent) in ("/", "/tmp"):
            break
        mode = parent.stat().st_mode & 0o777
        parent.chmod(mode | 0o005 | (0o001 if parent.is_dir() else 0))
    if path.is_dir():
        shutil.chown(path, *UNPRIVILEGED)
        for child in path.rglob("*"):
            shutil.chown(child, *UNPRIVILEGED, ) if not child.is_symlink() else None


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class SnmpSim:
    """snmpsim on a loopback port, serving ``devices``: {community: recording path}."""

    def __init__(self, devices: dict[str, Path], workdir: Path | None = None,
                 port: int | None = None):
        self.devices = devices
        self.port = port or free_udp_port()
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="snmpsim-"))
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> SnmpSim:
        data = self.workdir / "data"
        cache = self.workdir / "cache"
        data.mkdir(parents=True, exist_ok=True)
        cache.mkdir(exist_ok=True)
        for community, source in self.devices.items():
            target = data / f"{community}.snmprec"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        _world_readable(self.workdir)
        args = [sys.executable, "-c", SNMPSIM_PRELUDE, f"--data-dir={data}",
                f"--cache-dir={cache}", f"--agent-udpv4-endpoint={LOOPBACK}:{self.port}",
                "--logging-method=null",
                *_drop_privileges_args("--process-user=", "--process-group=")]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, cwd=self.workdir)
        try:
            wait_for_agent(self.port, next(iter(self.devices)), timeout, self.process)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            if self.process.stderr:
                self.process.stderr.close()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)


class NetSnmpd:
    """net-snmp's snmpd on a loopback port with a v2c community and a v3 authPriv user."""

    def __init__(self, workdir: Path | None = None, port: int | None = None):
        self.port = port or free_udp_port()
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="snmpd-"))
        self.community = "mw-" + secrets.token_hex(6)
        self.user = "watchdog"
        self.auth_protocol, self.priv_protocol = "SHA-256", "AES"
        self.auth_password = "auth-" + secrets.token_hex(8)
        self.priv_password = "priv-" + secrets.token_hex(8)
        self.process: subprocess.Popen | None = None

    def secret_file(self, name: str, value: str) -> Path:
        path = self.workdir / name
        path.write_text(value + "\n", encoding="utf-8")
        path.chmod(0o600)
        return path

    def start(self, timeout: float = 20.0) -> NetSnmpd:
        binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
        persist = self.workdir / "persist"
        persist.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "agent.conf"
        conf.write_text(
            f"rocommunity {self.community} {LOOPBACK}\n"
            f'createUser {self.user} {self.auth_protocol} "{self.auth_password}" '
            f'{self.priv_protocol} "{self.priv_password}"\n'
            f"rouser {self.user} priv\n"
            "sysLocation Town Hall server room\nsysContact it@town.example\n"
            "dontLogTCPWrappersConnects yes\n", encoding="utf-8")
        _world_readable(self.workdir)
        # SNMPCONFPATH: only our directories, never /etc/snmp; the persistent directory keeps
        # the engine id and snmpEngineBoots across restarts, as on a real device.
        args = [binary, "-f", "-Lo" if os.environ.get("SNMPD_LOG") else "-Ln",
                "-c", str(conf), f"--persistentDir={persist}",
                *_drop_privileges_args("-u", "-g"), f"udp:{LOOPBACK}:{self.port}"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, cwd=self.workdir,
                                        env={**os.environ, "SNMPCONFPATH": str(persist),
                                             "MIBS": ""})
        try:
            wait_for_agent(self.port, self.community, timeout, self.process)
        except RuntimeError:
            self.stop()
            raise
        return self

    def restart(self, forget_engine: bool = False, timeout: float = 20.0) -> NetSnmpd:
        """Stop and start again. With its state: snmpEngineBoots goes up and the engine time
        restarts (a rebooted device). ``forget_engine``: a new engine id (a reset device)."""
        if self.process is not None:
            _stop(self.process)
        if forget_engine:
            (self.workdir / "persist" / "snmpd.conf").unlink(missing_ok=True)
        return self.start(timeout)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)


# snmpsim 1.2's recorder was written for pysnmp 4's GETNEXT generator, which handed rows of
# var-binds to the callback and sent the next request itself while the callback returned
# True. pysnmp 7 does neither (and its dispatcher runs until stopped), so the recorder would
# hang after the first answer. This prelude restores that contract, then runs the recorder.
RECORDER_PRELUDE = """
import sys
from pyasn1.type import univ
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.proto import rfc1902
from pysnmp.proto.api import v2c

def process(self, engine, handle, indication, pdu, ctx):
    target, engine_id, context, request, callback, callback_ctx = ctx
    if indication:
        callback(engine, handle, indication, 0, 0, (), callback_ctx)
        engine.transport_dispatcher.loop.stop()
        return
    varbinds = v2c.apiPDU.get_varbinds(pdu)
    status = v2c.apiPDU.get_error_status(pdu)
    rows = [[vb] for vb in varbinds]
    go_on = callback(engine, handle, None, status,
                     v2c.apiPDU.get_error_index(pdu, muteErrors=True), rows, callback_ctx)
    if go_on and varbinds and not status:
        self.send_varbinds(engine, target, engine_id, context,
                           [(varbinds[-1][0], rfc1902.Null(""))], callback, callback_ctx)
    else:
        engine.transport_dispatcher.loop.stop()

cmdgen.NextCommandGenerator.process_response_varbinds = process
from snmpsim.commands.cmd2rec import main
sys.exit(main())
"""


def record_agent(port: int, community: str, output: Path,
                 roots: Iterable[str] = ("1.3.6.1.2.1", "1.3.6.1.4.1.2021"),
                 timeout: float = 120.0) -> Path:
    """Record an agent with snmpsim's recorder (one walk per root, merged, sorted)."""
    parts = []
    for number, root in enumerate(roots):
        part = output.with_name(f"{output.stem}.part{number}.snmprec")  # it wants .snmprec
        subprocess.run([sys.executable, "-c", RECORDER_PRELUDE, "--protocol-version=2c",
                        f"--community={community}", f"--agent-udpv4-endpoint={LOOPBACK}:{port}",
                        f"--start-object={root}", f"--stop-object={_after(root)}",
                        f"--output-file={part}", "--logging-method=null"],
                       check=True, timeout=timeout, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
        parts.append(part)
    lines: dict[tuple[int, ...], str] = {}
    for part in parts:
        for line in part.read_text(encoding="utf-8", errors="replace").splitlines():
            oid = line.split("|", 1)[0]
            if oid and oid[0].isdigit():
                lines[tuple(int(p) for p in oid.split("."))] = line
        part.unlink()
    output.write_text("\n".join(lines[k] for k in sorted(lines)) + "\n", encoding="utf-8")
    return output


def _after(root: str) -> str:
    parts = root.split(".")
    parts[-1] = str(int(parts[-1]) + 1)
    return ".".join(parts)


DEMO_DEVICES = {"printer": "printer-demo", "ups": "ups-demo", "switch": "switch"}


def start_demo_devices(workdir: Path, neighbors_interval: str | None = None
                       ) -> tuple[str, Callable[[], None]]:
    """Start the demo's SNMP printer, UPS and switch (snmpsim on a loopback port).

    The printer's black toner falls from 35 % by 0.25 % a second: WARNING after about a
    minute, CRITICAL after about 100 s. The switch and the printer advertise each other
    over LLDP (the switch also sees the UPS and a router). Returns the YAML list items to put
    under ``targets:`` (ids demo-printer, demo-ups, demo-switch) and a function that stops
    it. ``neighbors_interval``: the demo's settings: the default checks listed, all of them
    (the neighbors check too) that often — the demo's diagram cannot wait 6 hours for the
    links, nor 5 minutes for the devices' names — and a 5-second request timeout."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sim = SnmpSim({community: DATA_DIR / f"{name}.snmprec"
                   for community, name in DEMO_DEVICES.items()}, workdir / "snmpsim").start()
    snippets = []
    for community in DEMO_DEVICES:
        secret = workdir / f"snmp-community-{community}"
        secret.write_text(community + "\n", encoding="utf-8")
        secret.chmod(0o600)
        snippets.append(
            f"  - id: demo-{community}\n"
            f"    kind: snmp\n"
            f"    host: {LOOPBACK}\n"
            f"    description: simulated {community} (snmpsim)\n"
            # the demo's simulator is Python on a laptop that runs everything else too: it
            # gets longer than a real agent's 2 seconds to answer
            f"    snmp: {{version: 2c, port: {sim.port}, community_file: {secret}"
            + ("}\n" if neighbors_interval is None else ", timeout: 5s}\n")
            + ("" if neighbors_interval is None else
               # every check within the interval of the demo's start (spread over it)
               f"    checks: [{{check: system, interval: {neighbors_interval}}}, "
               f"{{check: device, interval: {neighbors_interval}}}, "
               f"{{check: neighbors, interval: {neighbors_interval}}}]\n"))
    return "".join(snippets), sim.stop
