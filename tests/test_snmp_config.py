"""The ``snmp`` target kind in the configuration: defaults, and errors that name the place."""

from __future__ import annotations

import pytest

from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.config.loading import ConfigError, parse_config

HEAD = "site: {name: T}\ntargets:\n"


def errors(targets_yaml: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(HEAD + targets_yaml, "town.yaml", check_secrets=False)
    return [str(issue) for issue in caught.value.issues]


def test_defaults_and_default_checks():
    config = parse_config(HEAD + """\
  - id: printer
    kind: snmp
    host: 192.0.2.9
    snmp: {community_file: /etc/c}
""", "town.yaml", check_secrets=False)
    target = config.targets[0]
    conn = target.snmp
    assert (conn.version, conn.port, conn.timeout, conn.retries, conn.max_repetitions,
            conn.bulk) == ("2c", 161, 2.0, 2, 25, True)
    assert [c.check for c in target.checks] == ["system", "device", "neighbors", "exposure"]
    assert target.checks[1].device_class == "auto"
    assert target.checks[2].interval == 6 * 3600     # neighbour tables change rarely


def test_version_numbers_from_yaml_and_v3_levels():
    conn = SnmpConnection(version=3, user="u", auth_protocol="sha-256",
                          auth_password_env="A", priv_protocol="aes-256",
                          priv_password_credential="p")
    assert (conn.version, conn.auth_protocol, conn.priv_protocol, conn.security_level) == (
        "3", "SHA-256", "AES-256", "authPriv")
    assert SnmpConnection(version=1, community_env="C").version == "1"
    assert SnmpConnection(version="3", user="u").security_level == "noAuthNoPriv"


def test_errors_name_the_line_the_path_and_the_fix():
    assert errors("""\
  - id: a
    kind: snmp
    host: h
    snmp: {version: 4, community_file: /c}
  - id: b
    kind: snmp
    host: h
    snmp: {community: public}
  - id: c
    kind: snmp
    host: h
    snmp:
      version: 3
      user: u
      priv_protocol: AES
      priv_password_file: /p
  - id: d
    kind: snmp
    host: h
    snmp: {version: 2c, community_file: /c, community_env: C}
  - id: e
    kind: snmp
    host: h
    snmp: {community_file: /c, timeout: 2}
    checks:
      - check: printer
        supply_warn_percent: 120
      - check: ifaces
""") == [
        "town.yaml:6: targets[0].snmp.version: '4' is not one of '1', '2c' or '3'",
        "town.yaml:10: targets[1].snmp: community: secrets are never inline; put it in a file "
        "and use community_file (or community_env / community_credential)",
        "town.yaml:14: targets[2].snmp: priv_protocol needs auth_protocol too (SNMPv3 has no "
        "privacy without authentication)",
        "town.yaml:22: targets[3].snmp: give only one of community_file, community_env or "
        "community_credential",
        "town.yaml:26: targets[4].snmp.timeout: 2 has no unit; write it with one, e.g. '2s' or "
        "'2m'",
        "town.yaml:29: targets[4].checks[0].supply_warn_percent: Input should be less than or "
        "equal to 100 (got 120)",
        "town.yaml:30: targets[4].checks[1]: check 'ifaces' is not known; did you mean "
        "'interfaces'? (use one of 'system', 'device', 'interfaces', 'storage', 'printer', "
        "'ups', 'nas', 'software', 'neighbors', 'exposure')",
    ]


@pytest.mark.parametrize("settings, message", [
    ({"version": "2c"}, "SNMP v2c needs community_file"),
    ({"version": "2c", "community_file": "/c", "user": "u"},
     "user only apply to version 3"),
    ({"version": "3", "community_file": "/c", "user": "u"}, "not a community"),
    ({"version": "3"}, "SNMP v3 needs user"),
    ({"version": "3", "user": "u", "auth_protocol": "SHA"}, "auth_protocol needs"),
    ({"version": "3", "user": "u", "auth_password_file": "/a"}, "needs auth_protocol"),
    ({"version": "3", "user": "u", "auth_protocol": "SHA", "auth_password_file": "/a",
      "priv_protocol": "DES"}, "priv_protocol needs priv_password_file"),
    ({"version": "3", "user": "u", "auth_protocol": "SHA", "auth_password_file": "/a",
      "priv_password_file": "/p"}, "needs priv_protocol"),
])
def test_connection_rules(settings, message):
    with pytest.raises(ValueError, match=message):
        SnmpConnection(**settings)
