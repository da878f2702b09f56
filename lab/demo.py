"""The demo lab: a small "town hall" on loopback, and the daemon watching it.

* a payment portal (HTTP) that goes down for 45 seconds every 150 seconds;
* the town website over HTTPS with a certificate that expires in 20 days (a warning);
* a router's admin port (TCP) that stays up;
* an SMTP server that captures the alert emails and prints them here.

Run with ``make demo`` (or ``python -m lab.demo``); stop with Ctrl-C. Within two minutes you see
the outage detected, the alert email, and the recovery email.
"""

from __future__ import annotations

import argparse
import email.message
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lab.servers import HttpLab, SmtpCapture, TcpListener, make_self_signed, tls_context

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
# Written by the demo lab; every port is on 127.0.0.1.
site:
  name: Town of Demo (lab)
  timezone: America/Chicago
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
targets:
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
  routes:
    - name: everything
      channels: [oncall-email]
"""


def print_mail(message: email.message.EmailMessage) -> None:
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body else ""
    bar = "=" * 78
    print(f"\n{bar}\n EMAIL to {message['To']}\n Subject: {message['Subject']}\n{bar}\n"
          f"{text.rstrip()}\n{bar}\n", flush=True)


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
    smtp = SmtpCapture(on_message=print_mail).start()

    config = state / "muni-watchdog.yaml"
    config.write_text(CONFIG.format(router_port=router.port, portal_url=portal.url,
                                    website_url=website.url, ca_file=cert,
                                    smtp_port=smtp.port))
    print(f"""
Demo lab on 127.0.0.1
  payment portal  {portal.url}  (goes down 30s from now for 45s, then every 150s)
  town website    {website.url}  (certificate expires in 20 days)
  router admin    127.0.0.1:{router.port}
  SMTP capture    127.0.0.1:{smtp.port}  (alert emails are printed below)
Configuration: {config}
In another terminal:  .venv/bin/muni-watchdog status --state-dir {state}
""", flush=True)
    portal.fail_periodically(period=150, length=45, first_in=30)

    daemon = subprocess.Popen([sys.executable, "-m", "watchdog.cli", "run", "-c", str(config),
                               "--state-dir", str(state)], cwd=ROOT)
    stop = False

    def on_signal(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    try:
        while not stop and daemon.poll() is None:
            if args.duration and time.monotonic() - started > args.duration:
                break
            time.sleep(0.5)
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
        for server in (portal, website, router, smtp):
            server.stop()
    print(f"\nDemo stopped. {len(smtp.messages)} alert emails were captured.")
    return 0 if daemon.returncode in (0, None, -signal.SIGTERM) else daemon.returncode


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
