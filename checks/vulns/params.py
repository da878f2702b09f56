"""The parameters of the ``vulnerabilities`` check.

How long a fix may wait is the ``patches`` check's rule, reused rather than copied: warn when a
fix has been available for 3 days, critical after 14 (7 on an internet-facing target) — the
15/30-day windows of CISA BOD 19-02 for critical/high findings, tightened as Checkmk and
check_apt users do for security updates (see checks/ssh/patches_common.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from muni_watchdog.checks.ssh.common import SshCheckParams
from muni_watchdog.checks.ssh.patches_common import PatchesParams
from muni_watchdog.core.durations import HOUR, MINUTE
from muni_watchdog.core.types import Duration, Interval, Timeout

_PATCH_AGES = PatchesParams.model_fields


class VulnParams(SshCheckParams):
    check: Literal["vulnerabilities"] = "vulnerabilities"
    timeout: Timeout = Field(120.0, description="Longest listing the installed packages may "
                             "take.")
    security_warn_age: Duration = Field(
        _PATCH_AGES["security_warn_age"].default,
        description="Warn when a fix for a high or critical CVE has been available this long.")
    security_crit_age: Duration | None = Field(
        _PATCH_AGES["security_crit_age"].default,
        description="Critical when a fix for a high or critical CVE has been available this "
        "long; default as the patches check: 14d, or 7d when the target is internet_facing. "
        "Medium (and unrated) CVEs warn after this long; low ones are listed only.")
    interval: Interval | None = Field(
        6 * HOUR, description="How often to list the installed packages and match them "
        "(cheap: one dpkg-query or rpm -qa, then the local feed copies). debsecan and Vuls "
        "report daily; four times a day shows a patched server as fixed within hours.")
    retry_interval: Interval | None = Field(
        30 * MINUTE, description="Re-check while a problem is soft. Long, so that the first "
        "run after installation (no feed downloaded yet: UNKNOWN) is not an alert while the "
        "daemon downloads the feeds the server needs.")
    feed_max_age: Duration | None = Field(
        None, description="A vulnerability feed whose server has not confirmed our copy for "
        "this long makes the result UNKNOWN (findings may be missing); default "
        "site.vulnerabilities.max_age (48h, like package lists for the patches check).")
    kev_max_age: Duration | None = Field(
        None, description="The same for CISA's known-exploited catalogue; default "
        "site.vulnerabilities.kev_max_age (7d: it is updated a few times a week).")

    def security_crit(self, internet_facing: bool) -> float:
        """The patches check's own rule (14d, 7d internet-facing), on these fields."""
        return PatchesParams.security_crit(self, internet_facing)  # type: ignore[arg-type]
