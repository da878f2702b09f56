"""``muni-watchdog discover``: poll one SNMP device and print what it is and what it has.

Also the onboarding tool: without ``--json`` it ends with a ready-to-paste target for the
configuration, with the checks of the device's class."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from pydantic import ValidationError

from muni_watchdog.checks.snmp.check_neighbors import NETWORK_CLASSES
from muni_watchdog.checks.snmp.client import SnmpError
from muni_watchdog.checks.snmp.connection import AUTH_PROTOCOLS, PRIV_PROTOCOLS, SnmpConnection
from muni_watchdog.checks.snmp.device import PROFILES
from muni_watchdog.checks.snmp.discover import discover
from muni_watchdog.cli.interrupt import run_stoppable

EXIT_FAILED = 3     # as a monitoring plugin's UNKNOWN: we could not find out
EXIT_USAGE = 2
COMMUNITY_ENV = "MUNI_WATCHDOG_DISCOVER_COMMUNITY"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "discover", help="poll one SNMP device and print what it found",
        description="Poll one SNMP device once: system, device class, interfaces, storage, "
        "printer supplies, UPS, LLDP/CDP neighbours. Prints a summary and a ready-to-paste config target, or JSON "
        "with --json. Exit 0 when the device answered, 3 when it did not (the reason is "
        "printed), 2 for bad options.")
    p.add_argument("host", metavar="HOST[:PORT]", help="the device (port default 161)")
    # --version was its first name; --snmp-version beside the program's own --version
    p.add_argument("--snmp-version", "--version", dest="snmp_version",
                   choices=["1", "2c", "3"], default=None,
                   help="SNMP version (default 2c, or 3 with --v3-user)")
    p.add_argument("--community", help="v1/v2c community (visible to other local users in "
                   "the process list: prefer --community-file); default 'public'")
    p.add_argument("--community-file", help="file holding the community")
    p.add_argument("--v3-user", help="SNMPv3 user name")
    p.add_argument("--auth-protocol", choices=AUTH_PROTOCOLS, type=str.upper,
                   help="SNMPv3 authentication (with --auth-password-file)")
    p.add_argument("--auth-password-file", help="file holding the SNMPv3 auth password")
    p.add_argument("--priv-protocol", choices=PRIV_PROTOCOLS, type=str.upper,
                   help="SNMPv3 encryption (with --priv-password-file)")
    p.add_argument("--priv-password-file", help="file holding the SNMPv3 privacy password")
    p.add_argument("--timeout", default="2s", help="per request (default 2s)")
    p.add_argument("--retries", type=int, default=2,
                   help="re-sends of an unanswered request (default 2)")
    p.add_argument("--no-bulk", action="store_true", help="use GETNEXT, not GETBULK")
    p.add_argument("--json", action="store_true", help="print the JSON contract")
    p.set_defaults(handler=cmd_discover)


def split_host(text: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` -> (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 161
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, 161


def connection_from_args(args: argparse.Namespace, port: int) -> SnmpConnection:
    settings: dict[str, Any] = {"port": port, "timeout": args.timeout,
                                "retries": args.retries, "bulk": not args.no_bulk}
    if args.v3_user:
        settings |= {"version": "3", "user": args.v3_user,
                     "auth_protocol": args.auth_protocol,
                     "auth_password_file": args.auth_password_file,
                     "priv_protocol": args.priv_protocol,
                     "priv_password_file": args.priv_password_file}
    else:
        settings["version"] = args.snmp_version or "2c"
        if args.community_file:
            settings["community_file"] = args.community_file
        else:
            # The connection model never takes a secret inline: hand it over by environment.
            os.environ[COMMUNITY_ENV] = args.community or "public"
            settings["community_env"] = COMMUNITY_ENV
    return SnmpConnection(**{k: v for k, v in settings.items() if v is not None})


def cmd_discover(args: argparse.Namespace) -> int:
    try:
        host, port = split_host(args.host)
        conn = connection_from_args(args, port)
    except ValueError as exc:  # includes pydantic's ValidationError
        message = "; ".join(e["msg"] for e in exc.errors()) if isinstance(
            exc, ValidationError) else str(exc)
        print(f"discover: {message}", file=sys.stderr)
        return EXIT_USAGE
    try:
        found, poll = run_stoppable(discover(host, conn))
    except SnmpError as exc:
        print(f"{args.host}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        print(render_text(found, poll.requests, poll.seconds))
        print()
        print(config_snippet(found, host, conn, args))
    return 0


def _speed(bps: int | None) -> str:
    if not bps:
        return "-"
    return f"{bps / 1e9:g} Gbit/s" if bps >= 1e9 else f"{bps / 1e6:g} Mbit/s"


def render_text(found: dict[str, Any], requests: int, seconds: float) -> str:
    """What a person reads: identity, then each table that has rows."""
    s = found["system"]
    ident = " ".join(x for x in (s["vendor"], s["model"]) if x) or s["descr"][:60]
    lines = [f"{found['target']}: {s['name'] or '(no name)'} — {s['device_class']}, {ident}",
             f"  sysDescr:    {s['descr'][:100]}",
             f"  sysObjectID: {s['object_id']}",
             f"  uptime:      {s['uptime_seconds'] / 86400:.1f} days"]
    for key in ("serial", "firmware"):
        if s[key]:
            lines.append(f"  {key + ':':12} {s[key]}")
    lines.append(f"  ({requests} SNMP requests, {seconds:.2f}s)")
    if found["interfaces"]:
        up = sum(1 for i in found["interfaces"] if i["oper_status"] == "up")
        lines.append(f"Interfaces ({len(found['interfaces'])}, {up} up):")
        for i in found["interfaces"][:60]:
            alias = f" ({i['alias']})" if i["alias"] else ""
            lines.append(f"  {i['index']:>6} {i['name']}{alias}: admin {i['admin_status']}, "
                         f"oper {i['oper_status']}, {_speed(i['speed_bps'])}, {i['type']}")
        if len(found["interfaces"]) > 60:
            lines.append(f"  ... and {len(found['interfaces']) - 60} more (see --json)")
    if found["storage"]:
        lines.append("Storage:")
        for v in found["storage"]:
            lines.append(f"  {v['descr']} ({v['type']}): {v['used_percent']:.0f} % of "
                         f"{v['size_bytes'] / 1e9:.1f} GB used")
    if found["processors"]:
        loads = ", ".join(f"{p['load_percent']:.0f} %" for p in found["processors"])
        lines.append(f"Processors: {loads}")
    if found["supplies"]:
        lines.append("Supplies:")
        for x in found["supplies"]:
            level = "-" if x["level_percent"] is None else f"{x['level_percent']:g} %"
            lines.append(f"  {x['index']} {x['descr']} ({x['kind']}, {x['color'] or '-'}): "
                         f"{level}, {x['state']}")
    if found["ups"]:
        u = found["ups"]
        lines.append(f"UPS ({u['source']}): on battery {u['on_battery']}, battery "
                     f"{u['battery_status']}, charge {u['charge_percent']} %, runtime "
                     f"{u['runtime_minutes']} min, load {u['output_load_percent']} %, input "
                     f"{u['input_voltage']} V, {u['temperature_c']} °C")
    if found.get("neighbors"):
        lines.append(f"Neighbours ({len(found['neighbors'])}, LLDP/CDP):")
        for n in found["neighbors"][:60]:
            where = ", ".join(x for x in (n["remote_address"], n["remote_platform"]) if x)
            lines.append(f"  {n['local_port']}: {n['remote_name'] or n['remote_chassis_id'] or '?'}"
                         f" port {n['remote_port'] or '?'} ({n['protocol'].upper()})"
                         + (f" — {where}" if where else ""))
        if len(found["neighbors"]) > 60:
            lines.append(f"  ... and {len(found['neighbors']) - 60} more (see --json)")
    return "\n".join(lines)


def config_snippet(found: dict[str, Any], host: str, conn: SnmpConnection,
                   args: argparse.Namespace) -> str:
    """A target to paste under ``targets:``; secrets stay in files."""
    s = found["system"]
    target_id = "".join(c if c.isalnum() else "-" for c in (s["name"] or host).lower())
    target_id = target_id.strip("-")[:40] or "snmp-device"
    if conn.version == "3":
        secret = (f"user: {conn.user}" +
                  (f", auth_protocol: {conn.auth_protocol}, auth_password_file: "
                   f"{args.auth_password_file}" if conn.auth_protocol else "") +
                  (f", priv_protocol: {conn.priv_protocol}, priv_password_file: "
                   f"{args.priv_password_file}" if conn.priv_protocol else ""))
    else:
        secret = ("community_file: " + (args.community_file or
                                        "/etc/muni-watchdog/snmp-community"))
    lines = ["# Paste under targets: in the configuration" +
             ("" if conn.version == "3" or args.community_file else
              " (put the community in the file named below, mode 0640)"),
             f"  - id: {target_id}", "    kind: snmp", f"    host: {host}",
             f"    description: {s['device_class']} {s['vendor'] or ''} "
             f"{s['model'] or ''}".rstrip(),
             f"    snmp: {{version: {conn.version}, port: {conn.port}, {secret}}}",
             "    checks:", "      - check: system"]
    # listing checks replaces the defaults: network devices keep their neighbour tables
    names = [*PROFILES[s["device_class"]],
             *(["neighbors"] if s["device_class"] in NETWORK_CLASSES else [])]
    for name in names:
        lines.append(f"      - check: {name}")
        if name == "interfaces":
            up = [i["name"] for i in found["interfaces"] if i["oper_status"] == "up"
                  and i["admin_status"] == "up" and i["type"] != "softwareLoopback"]
            if 0 < len(up) <= 48:
                lines.append(f"        ports: [{', '.join(json.dumps(p) for p in up)}]")
    return "\n".join(lines)
