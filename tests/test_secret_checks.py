"""`validate` reads every secret the configuration refers to, as the service would at start:
SNMP communities and v3 passwords, SSH keys and passphrases, restic password files, commands
and environment files, notification channels and the heartbeat. Each problem is
FILE:LINE: path: message with the fix, and no message ever shows a secret."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from muni_watchdog.cli.main import main
from muni_watchdog.config.loading import ConfigError, parse_config

sys.path.insert(0, str(Path(__file__).parent))
from test_durations import _every_field  # noqa: E402

SECRETS = ["community-S3cret", "authpass-S3cret", "shrt5", "privpass-S3cret", "restic-S3cret",
           "key-passphrase-S3cret", "wrong-passphrase-S3cret", "AWS_SECRET_ACCESS_KEY=S3cret"]


def private_key(path: Path, passphrase: bytes | None = None, kind: str = "ed25519") -> Path:
    key = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else \
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else \
        serialization.NoEncryption()
    fmt = serialization.PrivateFormat.OpenSSH if kind == "ed25519" else \
        serialization.PrivateFormat.TraditionalOpenSSL
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, fmt, encryption))
    path.with_suffix(".pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Made once: an encrypted OpenSSH key costs a bcrypt run."""
    d = tmp_path_factory.mktemp("keys")
    return {"id_plain": private_key(d / "id_plain"),
            "id_locked": private_key(d / "id_locked", b"key-passphrase-S3cret")}


@pytest.fixture
def town(tmp_path, monkeypatch, keys):
    """A configuration with one of every kind of secret, all of them good."""
    d = tmp_path
    (d / "community").write_text("community-S3cret\n")
    (d / "auth").write_text("authpass-S3cret\n")
    (d / "restic-password").write_text("restic-S3cret\n")
    (d / "restic.env").write_text("# for s3:\nexport AWS_ACCESS_KEY_ID=AKIA\n"
                                  "AWS_SECRET_ACCESS_KEY=S3cret\n")
    (d / "mail.url").write_text("mailto://relay.town.example?to=oncall@msp.example\n")
    (d / "ping.url").write_text("https://hc-ping.com/abc\n")
    (d / "passphrase").write_text("key-passphrase-S3cret\n")
    for name, key in keys.items():
        for suffix in ("", ".pub"):
            (d / (name + suffix)).write_bytes(Path(str(key) + suffix).read_bytes())
        (d / name).chmod(0o600)
    monkeypatch.setenv("MW_PRIV", "privpass-S3cret")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(d))
    (d / "teams.url").write_text("workflows://h:443/wf/sig\n")
    text = f"""\
site: {{name: Testville}}
services:
  - id: web
    name: Town website
    priority: 1
    rto: 4h
    rpo: 24h
    owner: {{name: Jane, contact: jane@town.example}}
    backup_owner: {{name: Bob, contact: bob@msp.example}}
    targets: [switch, ups, files, web]
targets:
  - id: switch
    kind: snmp
    host: 192.0.2.2
    snmp: {{version: 2c, community_file: {d}/community}}
  - id: ups
    kind: snmp
    host: 192.0.2.3
    snmp:
      version: 3
      user: watchdog
      auth_protocol: SHA-256
      auth_password_file: {d}/auth
      priv_protocol: AES
      priv_password_env: MW_PRIV
  - id: files
    kind: ssh
    host: 192.0.2.4
    ssh:
      user: watchdog
      key_file: {d}/id_plain
  - id: web
    kind: ssh
    host: 192.0.2.5
    ssh:
      user: watchdog
      key_file: {d}/id_locked
      passphrase_file: {d}/passphrase
backups:
  - id: share
    service: web
    repository: /srv/restic
    password_file: {d}/restic-password
    environment_files: [{d}/restic.env]
  - id: share2
    service: web
    repository: /srv/restic2
    password_command: "cat {d}/restic-password"
notify:
  channels:
    - {{name: mail, url_file: {d}/mail.url}}
    - {{name: teams, url_credential: teams.url}}
  heartbeat: {{url_file: {d}/ping.url}}
  fallback_channels: [mail]
"""
    return d, text


def issues(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "town.yaml", check_secrets=True)
    found = [str(i) for i in exc.value.issues]
    for line in found:
        assert re.match(r"^town\.yaml:\d+: [a-z_.\[\]0-9]+: ", line), line
        for secret in SECRETS:
            assert secret not in line, line   # never a secret's content
    return found


def test_every_secret_good_validates(town):
    d, text = town
    config = parse_config(text, "town.yaml", check_secrets=True)
    assert len(config.targets) == 4


# (what to change in the good configuration, the one error it must give)
BROKEN = [
    ("community_file: {d}/community", "community_file: {d}/nope",
     "town.yaml:15: targets[0].snmp.community_file: cannot read secret {d}/nope: No such file "
     "or directory; create it or point to the right place"),
    ("auth_password_file: {d}/auth", "auth_password_file: {d}/short",
     "town.yaml:23: targets[1].snmp.auth_password_file: the v3 auth password in the file "
     "{d}/short is shorter than 8 characters; agents refuse it (RFC 3414): use a longer one, on "
     "the device too"),
    ("priv_password_env: MW_PRIV", "priv_password_env: MW_UNSET",
     "town.yaml:25: targets[1].snmp.priv_password_env: environment variable MW_UNSET is not "
     "set; set it in the unit (Environment= or EnvironmentFile=) or keep the secret in a file"),
    ("key_file: {d}/id_plain", "key_file: {d}/id_missing",
     "town.yaml:31: targets[2].ssh.key_file: cannot read SSH key {d}/id_missing: No such file "
     "or directory; create it or point to the right place"),
    ("key_file: {d}/id_plain", "key_file: {d}/id_plain.pub",
     "town.yaml:31: targets[2].ssh.key_file: {d}/id_plain.pub is a public key; point to the "
     "private key (the file without .pub)"),
    ("key_file: {d}/id_plain", "key_file: {d}/community",
     "town.yaml:31: targets[2].ssh.key_file: {d}/community is not a private key paramiko can "
     "load"),
    ("key_file: {d}/id_plain", "key_file: {d}",
     "town.yaml:31: targets[2].ssh.key_file: SSH key {d} is not a regular file; point to the "
     "file itself"),
    ("      passphrase_file: {d}/passphrase\n", "",
     "town.yaml:37: targets[3].ssh.key_file: {d}/id_locked is protected by a passphrase; set "
     "passphrase_file (or passphrase_env / passphrase_credential)"),
    ("passphrase_file: {d}/passphrase", "passphrase_file: {d}/wrong-passphrase",
     "town.yaml:38: targets[3].ssh.passphrase_file: the passphrase in the file "
     "{d}/wrong-passphrase does not unlock {d}/id_locked; check that it belongs to this key"),
    ("passphrase_file: {d}/passphrase", "passphrase_file: {d}/empty",
     "town.yaml:38: targets[3].ssh.passphrase_file: the file {d}/empty is empty; put the secret "
     "in it"),
    ("password_file: {d}/restic-password", "password_file: {d}/nope",
     "town.yaml:43: backups[0].password_file: cannot read secret {d}/nope: No such file or "
     "directory; create it or point to the right place"),
    ("environment_files: [{d}/restic.env]", "environment_files: [{d}/restic.env, {d}/bad.env]",
     "town.yaml:44: backups[0].environment_files[1]: line 2 of {d}/bad.env is not KEY=VALUE "
     "(nor a # comment); restic would not see it — fix that line"),
    ("environment_files: [{d}/restic.env]", "environment_files: [/dev/zero]",
     "town.yaml:44: backups[0].environment_files[0]: environment file /dev/zero is not a regular "
     "file; point to the file itself"),
    ('password_command: "cat {d}/restic-password"', 'password_command: "pass-helper x"',
     "town.yaml:48: backups[1].password_command: its program 'pass-helper' is not found or not "
     "executable; install it or give its full path"),
    ("url_file: {d}/mail.url}}", "url_file: {d}/notes.txt}}",
     "town.yaml:51: notify.channels[0].url_file: the file {d}/notes.txt does not hold Apprise "
     "URLs (one per line, each SCHEME://...); check its content"),
    ("url_credential: teams.url", "url_credential: msteams.url",
     "town.yaml:52: notify.channels[1].url_credential: cannot read secret {d}/msteams.url: No "
     "such file or directory; create it or point to the right place"),
    ("heartbeat: {{url_file: {d}/ping.url}}", "heartbeat: {{url_file: {d}/empty}}",
     "town.yaml:53: notify.heartbeat.url_file: the file {d}/empty is empty; put the secret in "
     "it"),
]


@pytest.mark.parametrize("old, new, expected", BROKEN, ids=[b[1][:40] for b in BROKEN])
def test_each_broken_secret_is_named_at_its_line_with_the_fix(town, old, new, expected):
    d, text = town
    (d / "short").write_text("shrt5\n")
    (d / "wrong-passphrase").write_text("wrong-passphrase-S3cret\n")
    (d / "empty").write_text("\n")
    (d / "bad.env").write_text("A=1\nAWS_SECRET_ACCESS_KEY S3cret\n")
    (d / "notes.txt").write_text("remember to add the teams URL\n")
    old, new = old.format(d=d).replace("{{", "{").replace("}}", "}"), \
        new.format(d=d).replace("{{", "{").replace("}}", "}")
    assert old in text
    found = issues(text.replace(old, new))
    assert len(found) == 1, found
    assert found[0].startswith(expected.format(d=d)), found[0]


def test_validate_exits_2_for_a_missing_ssh_key_and_0_when_it_is_there(town, capsys):
    """What ExecStartPre= relies on: the service does not start without its SSH key."""
    d, text = town
    config = d / "town.yaml"
    config.write_text(text.replace("key_file: " + str(d) + "/id_plain",
                                   "key_file: " + str(d) + "/id_new"))
    assert main(["validate", "-c", str(config)]) == 2
    assert f"targets[2].ssh.key_file: cannot read SSH key {d}/id_new" in capsys.readouterr().err
    private_key(d / "id_new", kind="rsa")
    assert main(["validate", "-c", str(config)]) == 0
    assert main(["validate", "-c", str(config), "--no-secrets"]) == 0


def test_no_secret_reference_in_the_schema_goes_unchecked():
    """The whole class: every key that points to a secret is one this checker reads. A new
    one fails here until a case above covers it."""
    pattern = re.compile(r"(_file|_files|_env|_credential|_command)$")
    # CA bundles are public certificates, not secrets.
    not_secret = {"HttpParams.ca_file", "ExposureParams.ca_file", "BackupParams.restic_command"}
    found = {where for where, _ in _every_field() if pattern.search(where)} - not_secret
    assert found == {
        "SshConnection.key_file", "SshConnection.passphrase_file",
        "SshConnection.passphrase_env", "SshConnection.passphrase_credential",
        "SnmpConnection.community_file", "SnmpConnection.community_env",
        "SnmpConnection.community_credential", "SnmpConnection.auth_password_file",
        "SnmpConnection.auth_password_env", "SnmpConnection.auth_password_credential",
        "SnmpConnection.priv_password_file", "SnmpConnection.priv_password_env",
        "SnmpConnection.priv_password_credential", "BackupParams.password_file",
        "BackupParams.password_command", "BackupParams.environment_files",
        "ChannelConfig.url_file", "ChannelConfig.url_env", "ChannelConfig.url_credential",
        "ChannelConfig.config_file", "HeartbeatConfig.url_file", "HeartbeatConfig.url_env",
        "HeartbeatConfig.url_credential", "WebConfig.secret_credential",
        "WebConfig.tls_cert_file", "WebConfig.tls_key_file"}


def test_web_console_key_and_tls_files_are_read(tmp_path, monkeypatch):
    from lab.servers import make_self_signed
    cert, key = make_self_signed(tmp_path / "tls", days_valid=30)
    other_cert, _ = make_self_signed(tmp_path / "other", days_valid=30)
    (tmp_path / "short.key").write_text("too-short\n")
    (tmp_path / "good.key").write_text("k" * 64 + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))

    def web(**keys: str) -> str:
        fields = ", ".join(f"{k}: {v}" for k, v in keys.items())
        return f"site:\n  name: T\n  web: {{{fields}}}\n"

    parse_config(web(secret_credential="good.key", tls_cert_file=str(cert),
                     tls_key_file=str(key)), "town.yaml", check_secrets=True)
    assert issues(web(secret_credential="short.key")) == [
        "town.yaml:3: site.web.secret_credential: the key in systemd credential short.key is "
        "shorter than 32 characters; make one with 'openssl rand -hex 32'"]
    [missing] = issues(web(tls_cert_file=str(tmp_path / "nope.pem"), tls_key_file=str(key)))
    assert missing.startswith("town.yaml:3: site.web.tls_cert_file: cannot read TLS "
                              "certificate")
    [mismatch] = issues(web(tls_cert_file=str(other_cert), tls_key_file=str(key)))
    assert mismatch.startswith("town.yaml:3: site.web.tls_key_file: ") and \
        "do not load as a certificate and its key" in mismatch
