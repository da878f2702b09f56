"""``muni-watchdog trust-host TARGET``: pin an SSH server's host key after a person checked it.

It connects (no login, no command), shows the key's SHA256 fingerprint as ``ssh-keygen -lf``
prints it, and after confirmation records the key in the target's known_hosts file. A key that
differs from the pinned one is replaced only with ``--replace``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from muni_watchdog.checks.base import CollectError
from muni_watchdog.checks.ssh.connection import (
    SshConnection,
    fingerprint,
    known_hosts_name,
    load_known_hosts,
    open_transport,
)
from muni_watchdog.cli.common import EXIT_INVALID_CONFIG, add_config_option, load_config_or_report


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "trust-host", help="show an SSH target's host key and pin it in known_hosts",
        description="Connect to an ssh target (no login, nothing run), show its host key "
        "fingerprint and, after you confirm it matches the server's own (on its console: "
        "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), record it in the target's "
        "known_hosts file. Exit 0 when pinned, 1 when declined, 2 on a config error, 3 when "
        "the server cannot be reached.")
    add_config_option(p)
    p.add_argument("target", help="id of an ssh target in the configuration")
    p.add_argument("--yes", action="store_true", help="do not ask (scripts, tests)")
    p.add_argument("--replace", action="store_true",
                   help="replace a different pinned key (after a verified reinstall)")
    p.set_defaults(handler=cmd_trust_host)


def cmd_trust_host(args: argparse.Namespace) -> int:
    config = load_config_or_report(args.config, check_secrets=False)
    if config is None:
        return EXIT_INVALID_CONFIG
    target = config.target_by_id.get(args.target)
    if target is None or target.kind != "ssh":
        ssh_ids = [t.id for t in config.targets if t.kind == "ssh"]
        print(f"no ssh target named {args.target!r} in {args.config} (ssh targets: "
              f"{', '.join(ssh_ids) or 'none'})", file=sys.stderr)
        return EXIT_INVALID_CONFIG
    conn: SshConnection = target.ssh
    name = known_hosts_name(target.host, conn.port)
    known = load_known_hosts(conn.known_hosts)
    pinned = known.lookup(name) or {}
    try:
        transport = open_transport(target.host, conn.port, conn.connect_timeout, list(pinned))
    except CollectError as exc:
        print(f"{args.target}: {exc}", file=sys.stderr)
        return 3
    try:
        key = transport.get_remote_server_key()
    finally:
        transport.close()
    offered = fingerprint(key)
    print(f"{args.target} ({name}) offers host key {key.get_name()} {offered}")
    same = pinned.get(key.get_name())
    if same is not None and same.asbytes() == key.asbytes():
        print(f"already trusted in {conn.known_hosts}")
        return 0
    if pinned:
        was = ", ".join(f"{k.get_name()} {fingerprint(k)}" for k in pinned.values())
        print(f"WARNING: {conn.known_hosts} pins a DIFFERENT key for {name}: {was}",
              file=sys.stderr)
        if not args.replace:
            print("Not changed. If the server was reinstalled and you verified the new key on "
                  "its console, run again with --replace.", file=sys.stderr)
            return 1
    if not args.yes:
        answer = input("Does this match the server's own fingerprint? Trust it? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not trusted; nothing written")
            return 1
    if pinned:
        # A replaced pin must not linger as a second valid key. (paramiko's SubDict deletion
        # does not reach the file's entries, hence the filter on them.)
        known._entries = [e for e in known._entries if not known._hostname_matches(name, e)]
    known.add(name, key.get_name(), key)
    path = Path(conn.known_hosts)
    path.parent.mkdir(parents=True, exist_ok=True)
    known.save(str(path))
    os.chmod(path, 0o644)
    print(f"trusted: recorded in {path}")
    return 0
