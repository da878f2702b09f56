"""Configuration validation: good files load; bad files get every error, with line and fix."""

from pathlib import Path

import pytest

from muni_watchdog.config.loading import ConfigError, load_config, parse_config
from muni_watchdog.config.models import PRIORITY_DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "etc" / "muni-watchdog.example.yaml"

BASE = """\
site:
  name: Testville
services:
  - id: web
    name: Town website
    priority: 1
    rto: 4h
    rpo: 24h
    owner: {name: Jane, contact: jane@town.example}
    backup_owner: {name: Bob, contact: bob@msp.example}
    targets: [web]
targets:
  - id: web
    kind: http
    host: www.town.example
"""


def errors(text: str, check_secrets: bool = False) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "town.yaml", check_secrets=check_secrets)
    return [str(i) for i in exc.value.issues]


def test_example_config_is_valid_and_complete():
    config = load_config(EXAMPLE, check_secrets=False)
    assert config.site.name == "Town of Example"
    assert [s.id for s in config.services] == ["email", "payments", "website", "clerk-records"]
    assert {t.kind for t in config.targets} == {"http", "tcp", "ssh", "snmp"}
    assert {c.name for c in config.notify.channels} >= {"oncall-email", "msp-teams",
                                                        "leadership"}
    # every section is present in the example, so it documents all of them
    text = EXAMPLE.read_text()
    for section in ("site:", "services:", "targets:", "backups:", "notify:", "reports:"):
        assert f"\n{section}" in text


def test_example_is_commented_throughout():
    lines = EXAMPLE.read_text().splitlines()
    comments = [line for line in lines if "#" in line]
    assert len(comments) > len(lines) / 4


def test_minimal_config_and_defaults():
    config = parse_config(BASE, "town.yaml")
    web = config.targets[0]
    # an http target gets an http check, and every target an exposure check
    assert [c.check for c in web.checks] == ["http", "exposure"]
    assert web.checks[0].resolved_url("www.town.example") == "https://www.town.example/"
    policy = config.policy_for("web", web.checks[0])
    p1 = PRIORITY_DEFAULTS[1]
    assert (policy.check_interval, policy.retry_interval, policy.max_attempts) == (30, 10, 3)
    assert policy.check_interval == p1.check_interval
    assert config.services[0].effective_response_sla == 3600
    assert config.site.timezone == "UTC"


def test_check_overrides_beat_priority_defaults():
    text = BASE.replace("    host: www.town.example\n", """\
    host: www.town.example
    checks:
      - check: http
        interval: 2m
        max_attempts: 5
""")
    config = parse_config(text, "town.yaml")
    policy = config.policy_for("web", config.targets[0].checks[0])
    assert (policy.check_interval, policy.retry_interval, policy.max_attempts) == (120, 10, 5)


def test_targets_with_equal_checks_share_them_and_differing_ones_do_not():
    # 500 switches with the default checks hold one copy of each (memory, issue 16).
    text = BASE + "".join(f"  - id: tcp{i}\n    kind: tcp\n    host: h{i}\n"
                          f"    checks: [{{check: tcp, port: {port}}}]\n"
                          for i, port in enumerate((22, 22, 443)))
    text += "".join(f"  - id: web{i}\n    kind: http\n    host: w{i}\n" for i in range(2))
    config = parse_config(text, "town.yaml")
    checks = {t.id: t.checks for t in config.targets}
    assert checks["tcp0"][0] is checks["tcp1"][0]
    assert checks["tcp2"][0] is not checks["tcp0"][0] and checks["tcp2"][0].port == 443
    assert [c.check for c in checks["web0"]] == [c.check for c in checks["web1"]]
    assert all(a is b for a, b in zip(checks["web0"], checks["web1"], strict=True))
    # the same policy object for the same settings; another one where they differ
    first = config.policy_for("tcp0", checks["tcp0"][0])
    assert config.policy_for("tcp1", checks["tcp1"][0]) is first
    assert config.policy_for("web", checks["web"][0]) != first


def test_targets_without_a_service_use_the_site_default_priority():
    text = BASE + "  - id: other\n    kind: tcp\n    host: x\n    checks: [{check: tcp, port: 1}]\n"
    config = parse_config(text, "town.yaml")
    assert config.priority_of("other") == 3
    assert config.policy_for("other", config.targets[1].checks[0]).check_interval == 300


def test_every_error_at_once_with_line_path_and_fix():
    text = """\
site:
  name: Testville
  timezone: Mars/Olympus
services:
  - id: web
    name: Website
    priority: 7
    rto: 4
    rpo: 24h
    owner: {name: A, contact: a@x}
    backup_owner: {name: B, contact: b@x}
    targets: [webb, ghost]
    colour: blue
targets:
  - id: webb
    kind: htp
    host: x
  - id: router
    kind: tcp
    host: 10.0.0.1
    checks:
      - check: tcp
        port: 99999
      - check: tcp
        prot: 22
  - id: web2
    kind: http
    host: web
    checks:
      - check: http
        url: ftp://x
        keywrod: hi
"""
    assert errors(text) == [
        "town.yaml:3: site.timezone: 'Mars/Olympus' is not a time zone; use an IANA name such "
        "as America/New_York or Europe/Berlin",
        "town.yaml:7: services[0].priority: Input should be less than or equal to 5 (got 7)",
        "town.yaml:8: services[0].rto: 4 has no unit; write it with one, e.g. '4s' or '4m'",
        "town.yaml:12: services[0].targets[1]: no target named 'ghost' (known: router, web2, "
        "webb)",
        "town.yaml:13: services[0].colour: unknown key 'colour' (allowed here: id, name, "
        "priority, impact, rto, rpo, response_sla, owner, backup_owner, targets, backups, "
        "escalation, availability_target, public, drill_every)",
        "town.yaml:15: targets[0]: kind 'htp' is not known; did you mean 'http'? (use one of "
        "'http', 'tcp', 'ssh', 'snmp')",
        "town.yaml:23: targets[1].checks[0].port: Input should be less than or equal to 65535 "
        "(got 99999)",
        "town.yaml:24: targets[1].checks[1]: a second check named 'tcp' on this target; give it "
        "a distinct 'name:'",
        "town.yaml:24: targets[1].checks[1].port: required key 'port' is missing; add it",
        "town.yaml:25: targets[1].checks[1].prot: unknown key 'prot'; did you mean 'port'? "
        "(allowed here: check, name, interval, retry_interval, max_attempts, recovery_attempts, "
        "timeout, affects_availability, port, connect_warn)",
        "town.yaml:31: targets[2].checks[0].url: 'ftp://x' must start with http:// or https://",
        "town.yaml:32: targets[2].checks[0].keywrod: unknown key 'keywrod'; did you mean "
        "'keyword'? (allowed here: check, name, interval, retry_interval, max_attempts, "
        "recovery_attempts, timeout, affects_availability, url, method, expect_status, keyword, "
        "follow_redirects, "
        "response_warn, response_crit, certificate_warn_days, certificate_crit_days, "
        "verify_tls, ca_file)",
    ]


def test_yaml_syntax_error_names_the_line():
    [error] = errors("site:\n  name: [unclosed\nservices: []\n")
    # libyaml says "did not find expected ',' or ']'", pure PyYAML "expected ',' or ']', ..."
    assert error.startswith("town.yaml:3: not valid YAML: ") and "',' or ']'" in error


def test_duplicate_keys_and_ids():
    text = BASE + "  - id: web\n    kind: tcp\n    host: y\n    checks: [{check: tcp, port: 1}]\n"
    text = text.replace("  name: Testville\n", "  name: Testville\n  name: Again\n")
    assert errors(text) == [
        "town.yaml:3: site.name: this key appears twice; the second would silently replace "
        "the first — keep one",
        "town.yaml:17: targets[1].id: 'web' is already used at line 14; every id must be unique",
    ]


def test_parent_cycles_and_missing_parents():
    text = BASE.replace("    host: www.town.example\n",
                        "    host: www.town.example\n    parents: [sw, web, routr]\n") + """\
  - id: sw
    kind: tcp
    host: 10.0.0.2
    parents: [router]
    checks: [{check: tcp, port: 22}]
  - id: router
    kind: tcp
    host: 10.0.0.1
    parents: [sw]
    checks: [{check: tcp, port: 22}]
"""
    assert errors(text) == [
        "town.yaml:16: targets[0].parents[1]: a target cannot be its own parent",
        "town.yaml:16: targets[0].parents[2]: no target named 'routr'; did you mean 'router'?",
        "town.yaml:25: targets[2].parents: parent cycle: router -> sw -> router; a target "
        "cannot sit behind its own child — remove one link",
    ]


def test_channels_routes_and_inline_secrets():
    text = BASE + """\
notify:
  channels:
    - name: teams
      url: workflows://host:443/wf/signature
    - name: mail
      url: mailto://user:pw@smtp.town.example
    - name: hook
      url: json://hooks.example/alert?token=abc
    - name: ok-mail
      url: mailto://relay.town.example?to=oncall@msp.example
    - name: two
      url: mailto://relay.town.example
      url_file: /x
  routes:
    - name: all
      channels: [ok-mial]
  fallback_channels: [nope]
reports:
  monthly: {channel: leadership}
"""
    assert errors(text) == [
        "town.yaml:18: notify.channels[0]: workflows:// URLs carry tokens; put the URL in a "
        "file and use url_file (or url_env / url_credential)",
        "town.yaml:20: notify.channels[1]: this URL contains a password or token; put it in a "
        "file and use url_file (or url_env / url_credential)",
        "town.yaml:22: notify.channels[2]: this URL contains a password or token; put it in a "
        "file and use url_file (or url_env / url_credential)",
        "town.yaml:26: notify.channels[4]: give exactly one of url, url_file, url_env, "
        "url_credential or config_file (got url, url_file)",
        "town.yaml:31: notify.routes[0].channels[0]: no channel named 'ok-mial'; did you mean "
        "'ok-mail'?",
        "town.yaml:32: notify.fallback_channels[0]: no channel named 'nope' (known: hook, mail, "
        "ok-mail, teams, two)",
        "town.yaml:34: reports.monthly.channel: no channel named 'leadership' (known: hook, "
        "mail, ok-mail, teams, two)",
    ]


def test_secret_files_are_checked_when_asked(tmp_path, monkeypatch):
    secret = tmp_path / "mail.url"
    text = BASE + f"""\
notify:
  channels:
    - name: mail
      url_file: {secret}
    - name: env
      url_env: MW_TEST_URL
    - name: cred
      url_credential: teams.url
"""
    monkeypatch.delenv("MW_TEST_URL", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert errors(text, check_secrets=True) == [
        f"town.yaml:19: notify.channels[0].url_file: cannot read secret {secret}: No such file "
        "or directory; create it or point to the right place",
        "town.yaml:21: notify.channels[1].url_env: environment variable MW_TEST_URL is not set; "
        "set it in the unit (Environment= or EnvironmentFile=) or keep the secret in a file",
        "town.yaml:23: notify.channels[2].url_credential: systemd credential teams.url: "
        "$CREDENTIALS_DIRECTORY is not set (add LoadCredential= to the unit, or keep the secret "
        "in a file instead)",
    ]
    secret.write_text("mailto://relay.town.example?to=a@b.example\n")
    (tmp_path / "teams.url").write_text("workflows://h:443/wf/sig\n")
    monkeypatch.setenv("MW_TEST_URL", "json://127.0.0.1:9/x")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    config = parse_config(text, "town.yaml", check_secrets=True)
    assert config.channel_urls() == {
        "mail": ["mailto://relay.town.example?to=a@b.example"],
        "env": ["json://127.0.0.1:9/x"], "cred": ["workflows://h:443/wf/sig"]}


def test_wrong_shapes_are_explained():
    assert errors("site: Testville\n") == [
        "town.yaml:1: site: expected a mapping of keys and values here, got 'Testville'"]
    assert errors("site: {name: T}\ntargets: {id: x}\n") == [
        "town.yaml:2: targets: expected a list here (items starting with '- '), got a mapping"]
    assert errors("- a\n- b\n") == [
        "town.yaml:1: the file must be a mapping with site:, services:, targets:, backups:, "
        "notify:, reports:"]
    assert errors("services: []\n") == ["town.yaml:1: site: required key 'site' is missing; "
                                        "add it"]


def test_missing_file_and_bad_ids(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path / "nope.yaml")
    assert "cannot read the configuration: No such file or directory" in str(exc.value)
    text = BASE.replace("  - id: web\n    kind", "  - id: Web Server\n    kind")
    assert "town.yaml:13: targets[0].id: 'Web Server' is not a valid id: use lower-case " \
        "letters, digits, '-', '_' or '.', starting with a letter or digit" in errors(text)


def test_durations_are_bounded_with_file_line_path_and_range():
    text = BASE.replace("    rpo: 24h\n", "    rpo: 24h\n    response_sla: 99999999999d\n") \
        .replace("    host: www.town.example\n", "    host: www.town.example\n    checks: "
                 "[{check: http, interval: 2d, timeout: 99999999999d}]\n")
    assert errors(text) == [
        "town.yaml:9: services[0].response_sla: '99999999999d' is too long: the allowed range "
        "here is up to 10 years (3650d); write a shorter duration",
        "town.yaml:17: targets[0].checks[0].interval: '2d' is too long: the allowed range here "
        "is up to 1d; write a shorter duration",
        "town.yaml:17: targets[0].checks[0].timeout: '99999999999d' is too long: the allowed "
        "range here is up to 1h; write a shorter duration",
    ]


def test_a_key_indented_too_little_is_sent_to_its_section():
    # An ssh target's kind "ssh" and its "ssh:" section share a name: the target's keys are
    # listed, not the section's (which had said "did you mean 'known_hosts'?").
    text = """\
site: {name: Testville}
targets:
  - id: fs
    kind: ssh
    host: 10.0.0.5
    ssh:
      user: monitor
      key_file: /etc/k
    known_hosts: /etc/kh
  - id: sw
    kind: snmp
    host: 10.0.0.6
    snmp: {community_file: /etc/c}
    comunity_file: x
    checks:
      - check: storage
        intervall: 5m
"""
    found = errors(text)
    assert len(found) == 3, found
    assert found[0].startswith("town.yaml:9: targets[0].known_hosts: unknown key "
                               "'known_hosts'; it belongs under 'ssh:'")
    assert "(allowed here: id, kind, host, description, parents, checks, ssh)" in found[0]
    assert found[1].startswith("town.yaml:14: targets[1].comunity_file: unknown key "
                               "'comunity_file'; did you mean 'community_file' under 'snmp:'?")
    assert found[2].startswith("town.yaml:17: targets[1].checks[0].intervall: unknown key "
                               "'intervall'; did you mean 'interval'?")
    assert "used_warn_percent" in found[2]       # the storage check's own keys
