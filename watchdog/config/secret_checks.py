"""``validate`` reads every secret the configuration refers to, as the service would.

The unit runs ``validate`` in ``ExecStartPre=`` as the service user, so a missing SSH key, an
unreadable SNMP community or a restic password file with the wrong owner stops the start with
``FILE:LINE: path: message`` and the fix, instead of a daemon that starts and then reports
every check UNKNOWN. Secrets are read, never shown: messages name where a secret is and what
is wrong with it, not its content.

Checked: notification channels and the heartbeat URL (non-empty, an Apprise URL), SNMP
communities and v3 passwords (non-empty; v3 at least 8 characters, RFC 3414), SSH keys (a
readable private key that paramiko can load; its passphrase present and correct when the key
is encrypted), restic password files, password commands (the program exists) and environment
files (KEY=VALUE lines), the web console's key credential and TLS certificate and key.
"""

from __future__ import annotations

import errno
import os
import shlex
import shutil
import stat
from pathlib import Path
from typing import Any

from muni_watchdog.config.errors import ConfigIssue
from muni_watchdog.config.yamlsource import Path as YamlPath
from muni_watchdog.config.yamlsource import Source
from muni_watchdog.core.lazy import import_lean
from muni_watchdog.core.types import SecretRef

MAX_SECRET_BYTES = 64 * 1024  # a key, a password or a list of URLs; /dev/zero is not a secret
SERVICE_USER = "muni-watchdog"


class Unusable(Exception):
    """A secret that cannot be used; the message says why and how to fix it."""


def read_file(path: str | Path, what: str = "secret") -> bytes:
    """A regular file's bytes, at most MAX_SECRET_BYTES; :class:`Unusable` with the fix."""
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise Unusable(f"{what} {path} is not a regular file; point to the file itself")
        with path.open("rb") as file:
            data = file.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            fix = "create it or point to the right place"
        elif exc.errno in (errno.EACCES, errno.EPERM):
            fix = (f"make it readable by the service user (chown {SERVICE_USER} {path}; "
                   f"chmod 0600 {path}), and run validate as that user")
        else:
            fix = "point to a readable file"
        raise Unusable(f"cannot read {what} {path}: {exc.strerror}; {fix}") from None
    if len(data) > MAX_SECRET_BYTES:
        raise Unusable(f"{what} {path} is larger than {MAX_SECRET_BYTES // 1024} KiB; is it the "
                       "right file?")
    return data


def read_ref(ref: SecretRef, environ: dict[str, str] | None = None) -> str:
    """The secret's text, stripped, as :func:`muni_watchdog.core.secrets.read_secret` gives it."""
    env = os.environ if environ is None else environ
    if ref.env:
        if ref.env not in env:
            raise Unusable(f"environment variable {ref.env} is not set; set it in the unit "
                           "(Environment= or EnvironmentFile=) or keep the secret in a file")
        text = env[ref.env]
    else:
        if ref.credential:
            directory = env.get("CREDENTIALS_DIRECTORY")
            if not directory:
                raise Unusable(
                    f"systemd credential {ref.credential}: $CREDENTIALS_DIRECTORY is not set "
                    "(add LoadCredential= to the unit, or keep the secret in a file instead)")
            path = Path(directory) / ref.credential
        else:
            path = Path(ref.file or "")
        try:
            text = read_file(path).decode("utf-8")
        except UnicodeDecodeError:
            raise Unusable(f"secret {path} is not UTF-8 text") from None
    if not text.strip():
        raise Unusable(f"the {ref.describe()} is empty; put the secret in it")
    return text.strip()


def _set_key(model: Any, *keys: str) -> str:
    """Which of ``keys`` the configuration set (the key an error is reported at)."""
    return next((k for k in keys if getattr(model, k, None)), keys[0])


class SecretChecker:
    def __init__(self, source: Source, environ: dict[str, str] | None = None):
        self.source = source
        self.environ = environ
        self.issues: list[ConfigIssue] = []

    def issue(self, path: YamlPath, message: str) -> None:
        self.issues.append(ConfigIssue(self.source.filename, self.source.line_of(path), path,
                                       message))

    def ref(self, path: YamlPath, ref: SecretRef | None) -> str | None:
        if ref is None:
            return None
        try:
            return read_ref(ref, self.environ)
        except Unusable as exc:
            self.issue(path, str(exc))
            return None

    # -- by section ------------------------------------------------------------------------

    def check(self, config: Any) -> list[ConfigIssue]:
        for i, channel in enumerate(config.notify.channels):
            self.url_source(("notify", "channels", i), channel)
        if config.notify.heartbeat is not None:
            self.url_source(("notify", "heartbeat"), config.notify.heartbeat)
        for i, target in enumerate(config.targets):
            if target.kind == "snmp":
                self.snmp(("targets", i, "snmp"), target.snmp)
            elif target.kind == "ssh":
                self.ssh(("targets", i, "ssh"), target.ssh)
        for i, backup in enumerate(config.backups):
            self.backup(("backups", i), backup)
        if config.site.web is not None:
            self.web(("site", "web"), config.site.web)
        return self.issues

    def web(self, path: YamlPath, web: Any) -> None:
        """The console's signing key (a systemd credential, at least 32 characters) and its
        TLS certificate and key (readable, and loading together)."""
        if web.secret_credential:
            key = self.ref(path + ("secret_credential",),
                           SecretRef(credential=web.secret_credential))
            if key is not None and len(key.encode()) < 32:
                self.issue(path + ("secret_credential",), f"the key in systemd credential "
                           f"{web.secret_credential} is shorter than 32 characters; make one "
                           "with 'openssl rand -hex 32'")
        if not web.tls_cert_file:
            return
        try:
            read_file(web.tls_cert_file, "TLS certificate")
            read_file(web.tls_key_file, "TLS key")
        except Unusable as exc:
            which = "tls_cert_file" if "certificate" in str(exc) else "tls_key_file"
            self.issue(path + (which,), str(exc))
            return
        import ssl
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                web.tls_cert_file, web.tls_key_file)
        except (ssl.SSLError, ValueError) as exc:
            self.issue(path + ("tls_key_file",), f"{web.tls_cert_file} and "
                       f"{web.tls_key_file} do not load as a certificate and its key "
                       f"({getattr(exc, 'reason', None) or exc}); check both are PEM and "
                       "belong together")

    def url_source(self, path: YamlPath, model: Any) -> None:
        if getattr(model, "config_file", None):
            try:
                read_file(model.config_file, "Apprise config file")
            except Unusable as exc:
                self.issue(path + ("config_file",), str(exc))
            return
        key = _set_key(model, "url_file", "url_env", "url_credential")
        text = self.ref(path + (key,), model.secret_ref)
        if text is None:
            return
        urls = [line.strip() for line in text.splitlines()
                if line.strip() and not line.strip().startswith("#")]
        if not urls or not all("://" in url for url in urls):
            self.issue(path + (key,), f"the {model.secret_ref.describe()} does not hold Apprise "
                       "URLs (one per line, each SCHEME://...); check its content")

    def snmp(self, path: YamlPath, conn: Any) -> None:
        if conn.version != "3":
            self.ref(path + (_set_key(conn, "community_file", "community_env",
                                      "community_credential"),), conn.community_ref)
            return
        for name, ref in (("auth_password", conn.auth_ref), ("priv_password", conn.priv_ref)):
            key = _set_key(conn, f"{name}_file", f"{name}_env", f"{name}_credential")
            secret = self.ref(path + (key,), ref)
            if secret is not None and len(secret) < 8:
                self.issue(path + (key,), f"the v3 {name.replace('_', ' ')} in the "
                           f"{ref.describe()} is shorter than 8 characters; agents refuse it "
                           "(RFC 3414): use a longer one, on the device too")

    def ssh(self, path: YamlPath, conn: Any) -> None:
        # only when a config has SSH targets: it is a heavy import (core/lazy.py)
        paramiko = import_lean("paramiko")

        try:
            data = read_file(conn.key_file, "SSH key")
        except Unusable as exc:
            self.issue(path + ("key_file",), str(exc))
            return
        passphrase_key = _set_key(conn, "passphrase_file", "passphrase_env",
                                  "passphrase_credential")
        if data.lstrip().startswith((b"ssh-", b"ecdsa-")):
            self.issue(path + ("key_file",), f"{conn.key_file} is a public key; point to the "
                       "private key (the file without .pub)")
            return
        try:
            paramiko.PKey.from_path(conn.key_file)
            return  # readable and not encrypted: a passphrase, if given, is simply not needed
        except paramiko.PasswordRequiredException:
            pass  # encrypted
        except (TypeError, ValueError, paramiko.SSHException) as exc:
            # paramiko 4+ says "password-protected" / "Password was not given" in a TypeError
            if not (isinstance(exc, TypeError) and "password" in str(exc).lower()):
                reason = str(exc).split(". ")[0]
                self.issue(path + ("key_file",), f"{conn.key_file} is not a private key "
                           f"paramiko can load ({reason}); use an Ed25519, ECDSA or RSA key in "
                           "OpenSSH or PEM format")
                return
        # The key is encrypted.
        if conn.passphrase_ref is None:
            self.issue(path + ("key_file",), f"{conn.key_file} is protected by a passphrase; "
                       "set passphrase_file (or passphrase_env / passphrase_credential)")
            return
        passphrase = self.ref(path + (passphrase_key,), conn.passphrase_ref)
        if passphrase is None:
            return
        try:
            paramiko.PKey.from_path(conn.key_file, passphrase.encode())
        except (TypeError, ValueError, paramiko.SSHException):
            self.issue(path + (passphrase_key,), f"the passphrase in the "
                       f"{conn.passphrase_ref.describe()} does not unlock {conn.key_file}; "
                       "check that it belongs to this key")

    def backup(self, path: YamlPath, backup: Any) -> None:
        if backup.password_file:
            self.ref(path + ("password_file",), SecretRef(file=backup.password_file))
        elif backup.password_command:
            try:
                program = shlex.split(backup.password_command)[0]
            except (ValueError, IndexError):
                self.issue(path + ("password_command",), "the command cannot be split into "
                           "words (an unclosed quote?); fix its quoting")
                return
            found = (os.access(program, os.X_OK) and Path(program).is_file()) if "/" in program \
                else shutil.which(program) is not None
            if not found:
                self.issue(path + ("password_command",), f"its program {program!r} is not "
                           "found or not executable; install it or give its full path")
        for j, env_file in enumerate(backup.environment_files):
            where = path + ("environment_files", j)
            try:
                text = read_file(env_file, "environment file").decode("utf-8")
            except Unusable as exc:
                self.issue(where, str(exc))
                continue
            except UnicodeDecodeError:
                self.issue(where, f"environment file {env_file} is not UTF-8 text")
                continue
            for number, raw in enumerate(text.splitlines(), 1):
                line = raw.strip()
                if line and not line.startswith("#") and "=" not in line:
                    self.issue(where, f"line {number} of {env_file} is not KEY=VALUE (nor a "
                               "# comment); restic would not see it — fix that line")
                    break


def secret_issues(config: Any, source: Source, environ: dict[str, str] | None = None
                  ) -> list[ConfigIssue]:
    """Every problem with the secrets ``config`` refers to, each at its key's line."""
    return SecretChecker(source, environ).check(config)
