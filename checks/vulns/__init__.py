"""Known vulnerabilities in installed packages: feeds (OSV, the Debian security tracker, CISA's
KEV catalogue), their compact stored form, and the pure matching and judging.

How the daemon uses them (daemon/vuln_feeds.py and the check in check.py):

* on a schedule, for each :data:`sources.DEFAULT_SOURCES` entry: ``feeds.update_feed(source,
  <state>/vulns, now)`` — blocking I/O, in a thread;
* per target: ``checks.ssh.installed.collect_installed(target, params)`` (I/O) →
  ``feeds.load_view(<state>/vulns, installed.os, match.package_names(installed))`` (I/O,
  bounded by the host's packages) → ``judge.evaluate_vulnerabilities(installed, view, params,
  ctx)`` (pure; the first-seen times live in the check's memory).

The matching machinery (feeds, index, judge, match, and ijson) is imported by the check's
first run, not with the configuration's models: a daemon without the vulnerabilities check
does not carry it (~1.9 MB of Python objects).
"""
