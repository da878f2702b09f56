"""The demo lab: a small "town hall" on loopback, and the daemon watching it.

* a payment portal (HTTP) that goes down for 45 seconds every 150 seconds;
* the town website over HTTPS with a certificate that expires in 20 days (a warning);
* a router's admin port (TCP) that stays up;
* a switch that goes down at 1m40s taking the front-desk printer behind it along: one alert for
  the switch (the printer is listed, not paged); the switch returns at 2m30s but the printer does
  not, so the printer is alerted then; nobody answers within its one-minute response promise, so
  it escalates to the backup owner; then the demo acknowledges it as the technician would,
  through the link in the escalation email (the page, then its form, as a phone's browser);
* the web console on loopback (its address and a demo login are printed at the start), with
  public updates on each incident's page, the Drills page (start, steps, end, follow-ups) and
  the residents' status page at /status (no login);
* SNMP devices simulated by snmpsim: a colour printer whose black toner runs low (a warning
  after about two minutes), a UPS and a switch;
* a file server (this machine over SSH, with its real patch state), and a restic repository of
  the website's files whose restore is tested every two minutes;
* the payment portal's first outage gets a public update from the treasurer (the narrator
  posts it as she would, with ``muni-watchdog incident update``): it reaches the
  communications officer in plain words and the residents' status page, exported every 5
  seconds into the state folder; when the portal is back, the closing update follows.
* the assessment: the SNMP switch and printer advertise each other over LLDP (the switch
  also sees the UPS and a router nobody monitors), their neighbour tables are read every
  30 seconds and the file server's software and hardware every minute (6 hours outside the
  demo), so ``report assessment`` and ``topology --svg`` have a network to draw within a
  minute or two; the banner prints both commands.
* its known vulnerabilities, matched against feeds served by a local mirror (lab/vuln_lab.py,
  DEMO DATA built from this machine's installed versions): glibc has a flaw criminals are
  known to exploit (CVE-2023-4911, in CISA's KEV catalogue) with a fix available for 9 days —
  an immediate CRITICAL naming the clerk's records service;
* an old switch with the classic open doors (lab/exposure_lab.DemoDoors): SNMP answering
  ``public``, telnet, FTP and a plain-HTTP admin page — the exposure check's CRITICAL names
  the town hall network service and says what to fix first;
* an SMTP server that captures the alert emails and prints them here.

Run with ``make demo`` (or ``python -m lab.demo``); stop with Ctrl-C. Within two minutes you see
the outage detected, the alert email, and the recovery email; the whole story takes about six.
"""

from __future__ import annotations

import argparse
import email.message
import html
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from lab.servers import HttpLab, SmtpCapture, TcpListener, make_self_signed, tls_context

SCENARIO = [  # seconds after start, what happens (switch and printer)
    (100, "switch and printer go down", {"switch": False, "printer": False}),
    (150, "the switch comes back; the printer does not", {"switch": True}),
    (330, "the printer is fixed", {"printer": True}),
]

ROOT = Path(__file__).resolve().parent.parent
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"   # the lab's console login (loopback only)

CONFIG = """\
# Written by the demo lab; every port is on 127.0.0.1.
site:
  name: Town of Demo (lab)
  short_name: Demo
  timezone: America/Chicago
  web:
    listen: 127.0.0.1:{web_port}
    public_url: http://127.0.0.1:{web_port}
    users:
      - {{name: {demo_user}, role: admin, password_hash: '{demo_hash}'}}
services:
  - id: payments
    name: Online utility payments
    priority: 1
    impact: Residents cannot pay water and tax bills online.
    rto: 8h
    rpo: 1h
    owner: {{name: Sam Ortiz (Treasurer), contact: treasurer@demo.example}}
    backup_owner: {{name: Dana Reyes (MSP), contact: dana@msp.example}}
    targets: [payment-portal]
  - id: website
    name: Town website
    priority: 3
    impact: Meeting notices and forms are unreachable.
    rto: 1d
    rpo: 7d
    owner: {{name: Pat Kim (Clerk), contact: clerk@demo.example}}
    backup_owner: {{name: Dana Reyes (MSP), contact: dana@msp.example}}
    targets: [website]
  - id: printing
    name: Front-desk printing
    priority: 2
    impact: Permits and receipts cannot be printed at the counter.
    rto: 1d
    rpo: 7d
    response_sla: 1m     # short for the demo, to show an escalation
    owner: {{name: Pat Kim (Clerk), contact: clerk@demo.example, channels: [oncall-email]}}
    backup_owner: {{name: Lee Park (MSP), contact: lee@msp.example, channels: [backup-email]}}
    targets: [front-desk-printer]
targets:
  - id: town-switch
    kind: tcp
    host: 127.0.0.1
    description: Core switch (admin port)
    checks:
      - {{check: tcp, port: {switch_port}, interval: 10s, retry_interval: 5s}}
  - id: front-desk-printer
    kind: tcp
    host: 127.0.0.1
    parents: [town-switch]
    checks:
      - {{check: tcp, port: {printer_port}, interval: 10s, retry_interval: 5s}}
  - id: town-router
    kind: tcp
    host: 127.0.0.1
    description: Router admin port
    checks:
      - {{check: tcp, port: {router_port}}}
  - id: payment-portal
    kind: http
    host: 127.0.0.1
    parents: [town-router]
    checks:
      - check: http
        url: {portal_url}
        keyword: Pay your bill
        # Faster than the P1 default (30s/10s) so the demo fits in two minutes.
        interval: 15s
        retry_interval: 5s
  - id: website
    kind: http
    host: 127.0.0.1
    parents: [town-router]
    checks:
      - check: http
        url: {website_url}
        ca_file: {ca_file}
        interval: 1m
notify:
  channels:
    - name: oncall-email
      url: mailto://127.0.0.1:{smtp_port}?from=watchdog@demo.example&to=oncall@msp.example
    - name: backup-email
      url: mailto://127.0.0.1:{smtp_port}?from=watchdog@demo.example&to=lee@msp.example
    - name: communications
      url: mailto://127.0.0.1:{smtp_port}?from=watchdog@demo.example&to=comms@demo.example
  routes:
    - name: everything
      channels: [oncall-email]
    - name: residents-updates    # plain-language incident updates, never the alerts
      kind: update
      priorities: [1, 2]
      channels: [communications]
  weekly_test: null
reports:
  status_page:
    export_dir: {status_dir}
    every: 5s
    contact: "Questions? Call Town Hall at 555-0100."
"""


OFFICE_SERVICE = """\
  - id: office-devices
    name: Town hall office devices
    priority: 2
    impact: Staff cannot print; the server closet loses power protection.
    rto: 1d
    rpo: 7d
    owner: {name: Pat Kim (Clerk), contact: clerk@demo.example}
    backup_owner: {name: Dana Reyes (MSP), contact: dana@msp.example}
    targets: [demo-printer, demo-ups, demo-switch]
"""

NETWORK_SERVICE = """\
  - id: network
    name: Town hall network
    priority: 2
    impact: Staff computers, phones and printers lose the network.
    rto: 4h
    rpo: 7d
    owner: {name: Lee Park (MSP), contact: lee@msp.example}
    backup_owner: {name: Dana Reyes (MSP), contact: dana@msp.example}
    targets: [old-switch]
"""

OLD_SWITCH = """\
  - id: old-switch
    kind: snmp
    host: 127.0.0.1
    description: Old switch in the clerk's office
    snmp: {{version: 2c, port: {port}, community_file: {community}}}
    checks:
      - {{check: system, interval: 1m}}
      - {{check: device, device_class: network, interval: 5m}}
      - {exposure}   # daily by default; often for the demo
"""

# The file server's vulnerabilities check (every 6 hours by default; often for the demo).
VULNERABILITIES_CHECK = """\
      - check: vulnerabilities
        interval: 2m
"""

FILE_SERVICE = """\
  - id: clerk-records
    name: Clerk's records (file server)
    priority: 2
    impact: Permits and records cannot be looked up or filed.
    rto: 8h
    rpo: 24h
    owner: {name: Pat Kim (Clerk), contact: clerk@demo.example}
    backup_owner: {name: Dana Reyes (MSP), contact: dana@msp.example}
    targets: [file-server]
"""


def print_mail(message: email.message.EmailMessage) -> None:
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body else ""
    bar = "=" * 78
    print(f"\n{bar}\n EMAIL to {message['To']}\n Subject: {message['Subject']}\n{bar}\n"
          f"{text.rstrip()}\n{bar}\n", flush=True)


def acknowledge_later(message: email.message.EmailMessage) -> None:
    """Play the technician: 20 seconds after an escalation, tap the acknowledge link in the
    email on a phone — open the page (GET: it only shows the incident), then send its form
    (POST), as a browser does."""
    if "ESCALATED" not in str(message["Subject"]):
        return
    body = message.get_body(preferencelist=("html",))
    found = re.search(r'href="(http[^"]+/ack/[^"]+)"', body.get_content() if body else "")
    if not found:
        return
    link = html.unescape(found[1])

    def ack() -> None:
        time.sleep(20)
        print(f"\n>>> demo: the backup owner taps the link in the email: {link[:60]}...",
              flush=True)
        try:
            print(">>> demo: " + tap_acknowledge(link, "replacing the printer's network cable")
                  + "\n", flush=True)
        except OSError as exc:
            print(f">>> demo: the link did not answer: {exc}\n", flush=True)

    import threading
    threading.Thread(target=ack, daemon=True).start()


def tap_acknowledge(link: str, reason: str) -> str:
    """GET the acknowledge page, then POST its form (the CSRF token and the prefilled name
    from the page, the Origin header a browser sends); returns what the page said."""
    import urllib.parse
    import urllib.request
    with urllib.request.urlopen(link, timeout=10) as answer:   # noqa: S310 (our console)
        page = answer.read().decode()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    who = re.search(r'name="by" value="([^"]*)"', page)
    if not token or not who:
        return "nothing to acknowledge: " + " ".join(re.sub(r"<[^>]+>", " ", page).split())[
            -120:]
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(link))
    form = urllib.parse.urlencode({"csrf": html.unescape(token[1]), "by": html.unescape(
        who[1]), "reason": reason, "until": ""}).encode()
    request = urllib.request.Request(link, data=form, headers={"Origin": origin})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        done = answer.read().decode()
    said = re.search(r"<h1>(.*?)</h1>\s*<p>(.*?)</p>", done, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", f"{said[1]}: {said[2]}")).split()) \
        if said else "acknowledged"


def update_later(message: email.message.EmailMessage, config: Path, state: Path,
                 done: set[str]) -> None:
    """Play the treasurer: 10 seconds after the portal's first alert, post a public update
    (once per demo; the closing update follows by itself when the portal is back)."""
    subject = str(message["Subject"])
    if "CRITICAL" not in subject or "Online utility payments" not in subject or done:
        return
    body = message.get_body(preferencelist=("plain",))
    found = re.search(r"muni-watchdog ack (\d+)", body.get_content() if body else "")
    if not found:
        return
    done.add(found[1])

    def update() -> None:
        time.sleep(10)
        print(f"\n>>> demo: Sam Ortiz (Treasurer) posts a public update for incident "
              f"{found[1]}\n", flush=True)
        subprocess.run([sys.executable, "-m", "muni_watchdog", "incident", "update", found[1],
                        "--text", "The payment portal is down; our provider is restarting it.",
                        "--residents-can", "Pay by phone at 555-0199 or at the Town Hall "
                        "counter.", "--by", "Sam Ortiz (Treasurer)",
                        "-c", str(config), "--state-dir", str(state)], cwd=ROOT)
        print(f"\n>>> demo: the status page now shows it: {state / 'status-page' / 'index.html'}"
              "\n", flush=True)

    import threading
    threading.Thread(target=update, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", default=str(ROOT / "demo-state"))
    parser.add_argument("--duration", type=float, default=0,
                        help="stop after this many seconds (0: run until Ctrl-C)")
    args = parser.parse_args(argv)
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)

    portal = HttpLab(body="<html><body><h1>Pay your bill</h1></body></html>").start()
    cert, key = make_self_signed(state / "tls", days_valid=20.5)
    website = HttpLab(tls=tls_context(cert, key),
                      body="<html><body>Town of Demo</body></html>").start()
    router = TcpListener().start()
    devices = {"switch": TcpListener().start(), "printer": TcpListener().start()}
    config = state / "muni-watchdog.yaml"

    updated: set[str] = set()

    def on_mail(message: email.message.EmailMessage) -> None:
        print_mail(message)
        acknowledge_later(message)
        update_later(message, config, state, updated)

    smtp = SmtpCapture(on_message=on_mail).start()
    stoppers = []
    extra_targets = ""
    try:  # the file server: this machine over SSH, with its real patch state
        from lab.ssh_lab import demo_target
        snippet, stop_ssh = demo_target(state, "file-server", inventory_interval="1m")
        extra_targets += snippet
        stoppers.append(stop_ssh)
    except Exception as exc:  # the demo goes on without it, and says why
        print(f"(demo: no SSH lab host: {exc})")
    site_extra = ""
    try:  # vulnerability feeds built from this machine's packages, served on 127.0.0.1
        from lab.vuln_lab import feeds_yaml, start_demo_mirror
        mirror, _feeds = start_demo_mirror(datetime.now(UTC))
        stoppers.append(mirror.stop)
        site_extra = feeds_yaml(mirror)
        if "file-server" in extra_targets:
            extra_targets += VULNERABILITIES_CHECK
    except Exception as exc:
        print(f"(demo: no vulnerability feeds: {exc})")
    network_service = ""
    try:  # an old switch with the classic open doors
        import json

        from lab.exposure_lab import DemoDoors
        doors = DemoDoors()
        stoppers.append(doors.stop)
        community = state / "old-switch.community"
        community.write_text("public\n")
        extra_targets += OLD_SWITCH.format(
            port=doors.snmpd.port, community=community,
            exposure=json.dumps(doors.exposure_params() | {"interval": "2m"}))
        network_service = NETWORK_SERVICE
    except Exception as exc:
        print(f"(demo: no open doors: {exc})")
    try:  # a printer whose toner runs low, a UPS and a switch, simulated by snmpsim
        from lab.snmp_lab import start_demo_devices
        snmp_targets, stop_snmp = start_demo_devices(state / "snmp", neighbors_interval="30s")
        extra_targets += snmp_targets
        stoppers.append(stop_snmp)
        extra_services = OFFICE_SERVICE
    except Exception as exc:
        print(f"(demo: no SNMP devices: {exc})")
        extra_services = ""
    backups = ""
    try:  # the website's files, backed up nightly with restic; restore-tested every 2 minutes
        from lab.restic_lab import demo_backup
        _restic, backups = demo_backup(state, service="website")
        backups += '    schedule: "*/2 * * * *"   # weekly by default; often for the demo\n'
        backups += '    check_schedule: "1-59/4 * * * *"   # repository check, on its own\n'
    except Exception as exc:
        print(f"(demo: no restic repository: {exc})")
    from lab.servers import free_port
    from muni_watchdog.web.passwords import hash_password
    web_port = free_port()
    text = CONFIG.format(web_port=web_port, demo_user=DEMO_USER,
                         demo_hash=hash_password(DEMO_PASSWORD),
                         router_port=router.port, portal_url=portal.url,
                         website_url=website.url, ca_file=cert, smtp_port=smtp.port,
                         switch_port=devices["switch"].port,
                         printer_port=devices["printer"].port,
                         status_dir=state / "status-page")
    if "file-server" in extra_targets:
        extra_services += FILE_SERVICE
    extra_services += network_service
    if site_extra:
        text = text.replace("\nservices:\n", "\n" + site_extra + "services:\n", 1)
    if extra_services:
        text = text.replace("\ntargets:\n", "\n" + extra_services + "targets:\n", 1)
    if backups:
        text = text.replace("    targets: [website]\n",
                            "    targets: [website]\n    backups: [website-files]\n", 1)
        extra_targets += "backups:\n" + backups
    config.write_text(text.replace("\nnotify:\n", "\n" + extra_targets + "notify:\n", 1))
    security_lines = "".join(line for line, shown in (
        ("  feed mirror     DEMO DATA from this machine's packages (glibc: a known-exploited "
         "flaw)\n", site_extra),
        ("  old switch      SNMP 'public', telnet, FTP, plain-HTTP admin page (open doors)\n",
         network_service)) if shown)
    print(f"""
Demo lab on 127.0.0.1
  payment portal  {portal.url}  (goes down 30s from now for 45s, then every 150s)
  town website    {website.url}  (certificate expires in 20 days)
  router admin    127.0.0.1:{router.port}
  switch/printer  127.0.0.1:{devices["switch"].port} / {devices["printer"].port}  (switch down at 1m40s, see below)
  SMTP capture    127.0.0.1:{smtp.port}  (alert emails are printed below)
  web console     http://127.0.0.1:{web_port}/  log in as {DEMO_USER} / {DEMO_PASSWORD}
                  (post public updates on an incident's page; start and end a drill under
                  Drills; the diagram and the assessment under Network)
  status page     http://127.0.0.1:{web_port}/status  (what residents read; no login) and
                  {state / "status-page" / "index.html"}  (the export; rewritten every 5s)
{security_lines}Configuration: {config}
In another terminal:  .venv/bin/muni-watchdog status --state-dir {state}
After a minute or two, the assessment (a print-ready document, CSV files, the diagram):
  .venv/bin/muni-watchdog report assessment -c {config} --state-dir {state} --out {state / "assessment"}
  .venv/bin/muni-watchdog topology -c {config} --state-dir {state} --svg {state / "network.svg"}
""", flush=True)
    portal.fail_periodically(period=150, length=45, first_in=30)

    daemon = subprocess.Popen([sys.executable, "-m", "muni_watchdog", "run", "-c", str(config),
                               "--state-dir", str(state)], cwd=ROOT)
    stop = False

    def on_signal(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    scenario = list(SCENARIO)
    try:
        while not stop and daemon.poll() is None:
            elapsed = time.monotonic() - started
            if args.duration and elapsed > args.duration:
                break
            while scenario and elapsed >= scenario[0][0]:
                _at, what, changes = scenario.pop(0)
                print(f"\n>>> demo: {what}\n", flush=True)
                for name, up in changes.items():
                    devices[name].set_up(up)
            time.sleep(0.5)
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
        for server in (portal, website, router, smtp, *devices.values()):
            server.stop()
        for stop_part in stoppers:
            stop_part()
    print(f"\nDemo stopped. {len(smtp.messages)} emails were captured. The residents' status "
          f"page: {state / 'status-page' / 'index.html'}")
    return 0 if daemon.returncode in (0, None, -signal.SIGTERM) else daemon.returncode


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
