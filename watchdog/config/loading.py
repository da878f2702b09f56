"""Reading the configuration: a bounded YAML read, validation against the models, and every
error reported at once.

``load_config(path)`` returns a frozen :class:`Config` or raises :class:`ConfigError` whose
``issues`` read ``FILE:LINE: path: message`` and say how to fix it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import ValidationError

from muni_watchdog.checks import KINDS
from muni_watchdog.config.errors import ConfigIssue, cross_reference_issues, pydantic_issues
from muni_watchdog.config.models import Config
from muni_watchdog.config.secret_checks import secret_issues
from muni_watchdog.config.yamlsource import MAX_BYTES, Source, YamlError, load_yaml

DEFAULT_CONFIG = "/etc/muni-watchdog/muni-watchdog.yaml"
log = logging.getLogger("muni-watchdog")
MAX_ISSUES = 100


class ConfigError(Exception):
    """The configuration is invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue]):
        super().__init__("\n".join(map(str, issues)))
        self.issues = issues


def parse_config(text: str, filename: str, check_secrets: bool = True) -> Config:
    try:
        source = load_yaml(text, filename)
    except YamlError as exc:
        raise ConfigError([ConfigIssue(filename, exc.line, "", exc.message)]) from None
    try:
        return _validate(source, check_secrets)
    except ConfigError:
        raise
    except Exception as exc:  # a bug in validation must still end as "invalid", never a crash
        log.debug("validating %s failed", filename, exc_info=True)
        raise ConfigError([ConfigIssue(filename, 1, "", f"internal error while validating "
                                       f"({type(exc).__name__}: {exc}); please report it "
                                       "with this file (--log-level DEBUG shows where)")]
                          ) from None


def load_config(path: str | Path, check_secrets: bool = True) -> Config:
    path = Path(path)
    try:
        with path.open("rb") as file:
            # Read at most one byte past the limit: a huge file (or /dev/zero) costs nothing.
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(path), 0, "", f"cannot read the configuration: "
                                       f"{exc.strerror}")]) from None
    if len(data) > MAX_BYTES:
        raise ConfigError([ConfigIssue(str(path), 1, "", f"the file is larger than "
                                       f"{MAX_BYTES // 1048576} MiB, the most a configuration "
                                       "may be — is this the right file?")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError([ConfigIssue(str(path), line, "", "not UTF-8 text (byte "
                                       f"0x{data[exc.start]:02x}); save the file as UTF-8"
                                       )]) from None
    return parse_config(text, str(path), check_secrets)


def _validate(source: Source, check_secrets: bool) -> Config:
    issues: list[ConfigIssue] = []
    for path, line in source.duplicate_keys:
        issues.append(ConfigIssue(source.filename, line, path, "this key appears twice; the "
                                  "second would silently replace the first — keep one"))
    if not isinstance(source.data, dict):
        issues.append(ConfigIssue(source.filename, 1, (), "the file must be a mapping with "
                                  "site:, services:, targets:, backups:, notify:, reports:"))
        raise ConfigError(issues)
    config = None
    try:
        config = Config.model_validate(source.data)
    except ValidationError as exc:
        issues.extend(pydantic_issues(exc, source, Config))
    issues.extend(cross_reference_issues(source, {k: set(v.check_types) for k, v in
                                                  KINDS.items()}))
    if config is not None and check_secrets and not issues:
        issues.extend(secret_issues(config, source))
    if issues:
        issues.sort(key=lambda i: (i.line, i.path_text))
        if len(issues) > MAX_ISSUES:  # thousands of lines help nobody and flood the journal
            more = len(issues) - MAX_ISSUES
            issues = issues[:MAX_ISSUES] + [ConfigIssue(
                source.filename, issues[MAX_ISSUES].line, "", f"{more} more errors from here "
                "on are not shown; fix the ones above first")]
        raise ConfigError(issues)
    assert config is not None
    return config
