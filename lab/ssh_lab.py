"""A real OpenSSH ``sshd`` on a loopback high port, for the tests, the benchmark and the demo.

It has its own host key and one authorized client key, and runs as an unprivileged user: the
current user, or — when started as root — a locked system account ``muni-watchdog-lab``
(created on first use; sshd cannot switch users without root, so it runs *as* the account it
lets in, with ``UsePAM no``). Commands run against this machine's real state, so a ``patches``
check sees the machine's own apt.

For the demo::

    lab = start_ssh_lab(state_dir)        # returns an SshLab; lab.stop() ends it
    yaml_snippet = lab.target_yaml("file-server")

The snippet is a ``targets:`` list item (indented for a top-level ``targets:`` list), with the
host key already pinned in ``state_dir/known_hosts``.

With ``tools=True`` the sessions get ``PATH`` set (sshd's ``SetEnv``) to the lab's own ``bin``
directory: links to every command of this machine, which a test can replace with a fake
(:meth:`SshLab.fake_tool`) or remove (:meth:`SshLab.remove_tool`) to make a host whose ``df``
fails, whose ``apt-get`` is missing, or that has ``dnf`` or ``zypper`` instead. Product code
is unchanged: it runs what the host's PATH gives it, as on a real server.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"
LAB_USER = "muni-watchdog-lab"
SSHD = "/usr/sbin/sshd"
TOOL_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _ensure_lab_user() -> str:
    try:
        pwd.getpwnam(LAB_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--shell", "/bin/sh", "--home-dir",
                        "/nonexistent", "--no-create-home", "--comment",
                        "muni-watchdog SSH lab (unprivileged)", LAB_USER],
                       check=True, capture_output=True, timeout=30)
    return LAB_USER


def _keygen(path: Path, kind: str = "ed25519") -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "muni-watchdog-lab", "-f",
                    str(path)], check=True, capture_output=True, timeout=30)


class SshLab:
    """Start with :meth:`start`; :meth:`stop` ends sshd and removes its directory."""

    def __init__(self, port: int = 0, log_level: str = "DEBUG1", max_startups: int = 200,
                 tools: bool = False):
        self.port = port or free_port()
        self.log_level = log_level
        self.max_startups = max_startups
        self.dir = Path(tempfile.mkdtemp(prefix="muni-ssh-lab-"))
        self.user = _ensure_lab_user() if os.geteuid() == 0 else pwd.getpwuid(os.getuid())[0]
        self.host_key = self.dir / "ssh_host_ed25519_key"
        self.client_key = self.dir / "client_ed25519"
        self.log_path = self.dir / "sshd.log"
        self.bin = self.dir / "bin" if tools else None
        self._process: subprocess.Popen | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SshLab:
        _keygen(self.host_key)
        _keygen(self.client_key)
        shutil.copy(self.client_key.with_suffix(".pub"), self.dir / "authorized_keys")
        (self.dir / "sshd_config").write_text(self._config())
        if self.bin is not None:
            self.reset_tools()
        if os.geteuid() == 0:
            account = pwd.getpwnam(self.user)
            for path in [self.dir, *self.dir.iterdir()]:
                os.chown(path, account.pw_uid, account.pw_gid)
            # The client key stays root's: the monitor (root in the tests) reads it.
            os.chown(self.client_key, 0, 0)
        os.chmod(self.dir, 0o755)
        self._spawn()
        return self

    def _config(self) -> str:
        return "\n".join([
            f"ListenAddress {LOOPBACK}:{self.port}",
            f"HostKey {self.host_key}",
            f"PidFile {self.dir / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
            f"AllowUsers {self.user}",
            "UsePAM no", "StrictModes no", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password", "X11Forwarding no", "AllowTcpForwarding no",
            "PrintMotd no", "Banner none", "MaxSessions 20",
            f"MaxStartups {self.max_startups}", f"LogLevel {self.log_level}",
            "SetEnv LC_ALL=C" + (f" PATH={self.bin}" if self.bin is not None else ""), "",
        ])

    def _spawn(self) -> None:
        argv = [SSHD, "-D", "-f", str(self.dir / "sshd_config"), "-E", str(self.log_path)]
        if os.geteuid() == 0:
            argv = ["setpriv", f"--reuid={self.user}", f"--regid={self.user}",
                    "--init-groups", *argv]
        self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"sshd exited: {err} {self.log_text()[-2000:]}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not start on port {self.port}: {self.log_text()[-2000:]}")

    def restart_with_new_host_key(self) -> None:
        """Become an impostor: same address, different host key."""
        self._terminate()
        for path in (self.host_key, self.host_key.with_suffix(".pub")):
            path.unlink()
        _keygen(self.host_key)
        if os.geteuid() == 0:
            account = pwd.getpwnam(self.user)
            for path in (self.host_key, self.host_key.with_suffix(".pub")):
                os.chown(path, account.pw_uid, account.pw_gid)
        self._spawn()

    def _terminate(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._process = None

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- the host's commands (tools=True) -----------------------------------------------------

    def reset_tools(self) -> None:
        """The bin directory back to links to this machine's commands, first found first
        (only the commands a test changed are put back)."""
        assert self.bin is not None, "start the lab with tools=True"
        if not self.bin.is_dir():
            self.bin.mkdir()
            os.chmod(self.bin, 0o755)
            self._tools: dict[str, str] = {}
            for directory in TOOL_DIRS:
                try:
                    entries = list(os.scandir(directory))
                except OSError:
                    continue
                for entry in entries:
                    if entry.name not in self._tools and os.access(entry.path, os.X_OK):
                        self._tools[entry.name] = entry.path
                        (self.bin / entry.name).symlink_to(entry.path)
            self._changed: set[str] = set()
        for name in self._changed:
            path = self.bin / name
            path.unlink(missing_ok=True)
            if name in self._tools:
                path.symlink_to(self._tools[name])
        self._changed = set()

    def fake_tool(self, name: str, script: str) -> Path:
        """Replace command ``name`` with a shell script (``script`` without the #! line)."""
        assert self.bin is not None, "start the lab with tools=True"
        path = self.bin / name
        self._changed.add(name)
        path.unlink(missing_ok=True)
        path.write_text("#!/bin/sh\n" + script + "\n")
        os.chmod(path, 0o755)
        return path

    def remove_tool(self, name: str) -> None:
        """Make command ``name`` missing on this host."""
        assert self.bin is not None, "start the lab with tools=True"
        self._changed.add(name)
        (self.bin / name).unlink(missing_ok=True)

    def real_tool(self, name: str) -> str:
        """Where this machine keeps ``name`` (for a fake that wraps the real one)."""
        found = shutil.which(name, path=os.pathsep.join(TOOL_DIRS))
        assert found, name
        return found

    # -- what clients need ----------------------------------------------------------------------

    def host_key_line(self) -> str:
        kind, data = self.host_key.with_suffix(".pub").read_text().split()[:2]
        return f"[{LOOPBACK}]:{self.port} {kind} {data}\n"

    def pin(self, known_hosts: str | Path) -> Path:
        """Append this sshd's host key to a known_hosts file (as trust-host would)."""
        path = Path(known_hosts)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            f.write(self.host_key_line())
        return path

    def connection(self, known_hosts: str | Path, **overrides) -> dict:
        """The ``ssh:`` settings of a target pointing at this sshd."""
        return {"user": self.user, "port": self.port, "key_file": str(self.client_key),
                "known_hosts": str(known_hosts), **overrides}

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def target_yaml(self, target_id: str = "file-server", known_hosts: str | Path = "",
                    indent: str = "  ", inventory_interval: str | None = None) -> str:
        """A ``targets:`` item for this sshd with the usual checks; with
        ``inventory_interval`` also the inventory's software and hardware checks, that
        often."""
        known = known_hosts or self.dir / "known_hosts"
        lines = [
            f"- id: {target_id}",
            "  kind: ssh",
            f"  host: {LOOPBACK}",
            f"  description: this machine, over SSH as {self.user} (lab sshd on port "
            f"{self.port})",
            "  ssh:",
            f"    user: {self.user}",
            f"    port: {self.port}",
            f"    key_file: {self.client_key}",
            f"    known_hosts: {known}",
            "  checks:",
            "    - check: disk",
            "    - check: memory",
            "    - check: load",
            "    - check: uptime",
            "    - check: timesync",
            *([] if Path("/run/systemd/system").is_dir() else
              ["      sync_status_required: false  # no systemd here: offset only"]),
            "    - check: patches",
            "      interval: 10m",
            *([] if inventory_interval is None else
              ["    - check: software", f"      interval: {inventory_interval}",
               "    - check: hardware", f"      interval: {inventory_interval}"]),
        ]
        return "".join(f"{indent}{line}\n" for line in lines)


def start_ssh_lab(state_dir: str | Path, target_id: str = "file-server") -> SshLab:
    """Start the lab sshd and pin its host key in ``state_dir/known_hosts``.

    Returns the lab: ``lab.target_yaml(target_id, known_hosts)`` is the config snippet and
    ``lab.stop()`` ends it."""
    lab = SshLab(log_level="VERBOSE").start()
    known = Path(state_dir) / "known_hosts"
    lab.pin(known)
    lab.demo_known_hosts = known  # type: ignore[attr-defined]
    return lab


def demo_target(state_dir: str | Path, target_id: str = "file-server",
                inventory_interval: str | None = None) -> tuple[str, object]:
    """For lab/demo.py: ``(yaml_snippet, stop)``."""
    lab = start_ssh_lab(state_dir, target_id)
    return lab.target_yaml(target_id, Path(state_dir) / "known_hosts",
                           inventory_interval=inventory_interval), lab.stop
