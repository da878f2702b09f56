"""``web passwd NAME``: make the password hash of a console user, to paste into
``site.web.users``. The password is read from the terminal (twice) or the first line of
standard input; never from the command line, never printed."""

from __future__ import annotations

import argparse
import getpass
import sys

from muni_watchdog.cli.common import fail

MIN_PASSWORD = 12   # NIST SP 800-63B: at least 8; a console that can silence alerts asks more


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("web", help="the web console: 'web passwd NAME' makes a user's "
                       "password hash", description="The web console's users. 'web passwd "
                       "NAME' asks for a password and prints the site.web.users entry with "
                       "its argon2 hash, to paste into the configuration (then reload).")
    wsub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    w = wsub.add_parser("passwd", help="make a user's password hash",
                        description="Ask for a password (twice on a terminal; else the first "
                        "line of standard input) and print the user's entry for "
                        "site.web.users with its argon2 hash.")
    w.add_argument("name", help="the user's login name")
    w.add_argument("--role", choices=["viewer", "oncall", "admin"], default="oncall",
                   help="viewer reads; oncall acknowledges and adds maintenance; admin also "
                   "accepts risks (default: oncall)")
    w.set_defaults(handler=cmd_passwd)


def cmd_passwd(args: argparse.Namespace) -> int:
    from muni_watchdog.config.web import WebUser
    from muni_watchdog.web.passwords import hash_password
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            return fail("the two passwords differ; nothing was made")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < MIN_PASSWORD:
        return fail(f"the password must have at least {MIN_PASSWORD} characters")
    try:
        user = WebUser(name=args.name, role=args.role, password_hash=hash_password(password))
    except ValueError as exc:
        return fail(f"{args.name!r} cannot be a user name: {exc}")
    print("# add under site.web.users, then: systemctl reload muni-watchdog")
    print(f"- {{name: \"{user.name}\", role: {user.role}, password_hash: "
          f"'{user.password_hash}'}}")
    return 0
