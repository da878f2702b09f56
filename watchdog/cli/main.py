"""``muni-watchdog``: the command line. Each command group is a module with
``register(subparsers)``, adding parsers whose ``handler`` default is the function to run;
``main`` wires them."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from muni_watchdog import __version__
from muni_watchdog.cli import (
    alerts,
    backup,
    comms,
    drills,
    maintenance,
    monitoring,
    reports,
    snmp,
    ssh,
    vulns,
    web,
)
from muni_watchdog.cli.interrupt import Stopped, end_stopped

# In the order of ``muni-watchdog --help``; ``version`` comes after the daemon's own commands.
GROUPS = (alerts, comms, drills, maintenance, backup, ssh, snmp, vulns, reports, web)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="muni-watchdog",
        description="Monitoring and backup-verification daemon for small municipalities.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the version and exit (as the command version)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="least severe log messages shown on stderr (default: INFO)")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND",
                                required=True)
    monitoring.register(sub)
    p = sub.add_parser("version", help="print the version", description="Print the version.")
    p.set_defaults(handler=cmd_version)
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from muni_watchdog.core.logs import setup_logging
    setup_logging(args.log_level)
    try:
        return args.handler(args)
    except BrokenPipeError:
        return 0
    except Stopped as stop:  # Ctrl-C or SIGTERM during a command's network work
        print(f"muni-watchdog {args.command}: stopped by {stop}", file=sys.stderr)
        return end_stopped(stop.exit_code)
    except KeyboardInterrupt:
        # Ctrl-C anywhere else: one line and the shell's code for SIGINT, not a traceback.
        # What was in progress cleaned up on the way out (finally blocks, context managers).
        print(f"muni-watchdog {args.command}: interrupted", file=sys.stderr)
        return end_stopped(128 + signal.SIGINT)


def cmd_version(args: argparse.Namespace) -> int:
    print(f"muni-watchdog {__version__}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
