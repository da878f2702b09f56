"""Windows over OpenSSH: one PowerShell script that prints JSON, and its pure parser.

PowerShell 5.1 collapses a one-element array to the element in ``ConvertTo-Json``, writes dates
as ``/Date(ms)/``, and COM collections may come out as objects: the parser accepts all of it.
The Windows Update Agent refuses searches from network logons (OpenSSH) on many builds
(E_ACCESSDENIED; "not available to remote users"): that is reported as such, never as "no
updates".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from muni_watchdog.checks.ssh.packages import PendingUpdate

PATCH_SCRIPT = r"""
$ErrorActionPreference = 'Stop'
$r = [ordered]@{}
$r.hotfixes = @(Get-HotFix | ForEach-Object {
  [ordered]@{ id = $_.HotFixID; description = $_.Description;
    installed_on = $(if ($_.InstalledOn) { $_.InstalledOn.ToString('o') } else { $null }) } })
$cbs = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'
$wu = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
$r.reboot = [ordered]@{ component_servicing = (Test-Path $cbs); windows_update = (Test-Path $wu) }
try {
  $searcher = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher()
  $found = $searcher.Search("IsInstalled=0 and IsHidden=0 and Type='Software'")
  $r.pending = @($found.Updates | ForEach-Object {
    [ordered]@{ title = $_.Title; kb = @($_.KBArticleIDs); severity = $_.MsrcSeverity;
      categories = @($_.Categories | ForEach-Object { $_.Name }) } })
} catch { $r.search_error = $_.Exception.Message }
try {
  $au = (New-Object -ComObject Microsoft.Update.AutoUpdate).Results
  $r.last_search = $au.LastSearchSuccessDate; $r.last_install = $au.LastInstallationSuccessDate
} catch { $r.autoupdate_error = $_.Exception.Message }
$r.now = (Get-Date).ToUniversalTime().ToString('o')
$r | ConvertTo-Json -Depth 5 -Compress
"""


@dataclass
class WindowsPatchState:
    hotfixes: list[dict[str, Any]] = field(default_factory=list)
    last_hotfix: datetime | None = None
    pending: list[PendingUpdate] | None = None      # None: Windows would not tell us
    search_error: str = ""
    reboot_pending: bool = False
    reboot_reasons: list[str] = field(default_factory=list)
    last_install: datetime | None = None


def as_list(value: Any) -> list[Any]:
    """PowerShell 5.1 writes ``x`` for ``@(x)`` and nothing for ``@()``; undo that."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and set(value) == {"value", "Count"}:  # Select-Object wrapper
        return as_list(value["value"])
    return [value]


_MS_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


def parse_ps_date(value: Any) -> datetime | None:
    """ISO 8601 (``ToString('o')``) or PowerShell 5.1's ``/Date(1700000000000)/``."""
    if not value or not isinstance(value, str):
        return None
    match = _MS_DATE.match(value.strip())
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # .NET prints 7 fraction digits
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_DENIED = ("0x80070005", "access is denied", "e_accessdenied", "accessdenied")


_CLIXML_ERROR = re.compile(r'<S S="Error">(.*?)</S>', re.DOTALL)


def powershell_errors(stderr: str) -> list[str]:
    """Error lines PowerShell wrote to stderr. Over SSH it serialises progress records as
    ``#< CLIXML <Objs>...`` there ("Preparing modules for first use."): noise, unless the
    block holds error records. sshd's own "Could not chdir to home directory" is noise too."""
    text = "\n".join(ln for ln in stderr.splitlines()
                     if not ln.startswith("Could not chdir to home directory ")).strip()
    if not text:
        return []
    if text.startswith("#< CLIXML"):
        errors = " ".join(m.replace("_x000D__x000A_", " ").strip()
                          for m in _CLIXML_ERROR.findall(text))
        return [errors[:300]] if errors.strip() else []
    return [ln.strip()[:300] for ln in text.splitlines() if ln.strip()]


# Written by every run of PATCH_SCRIPT: a JSON without them is not its answer.
REQUIRED_KEYS = ("hotfixes", "reboot", "now")


def parse_windows_patches(text: str) -> WindowsPatchState:
    """PATCH_SCRIPT's JSON; ValueError when it is not that (empty, cut, another program's)."""
    data = json.loads(text.strip().lstrip("\ufeff"))
    if not isinstance(data, dict):
        raise ValueError(f"expected an object, got {type(data).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if "pending" not in data and not data.get("search_error"):
        missing.append("pending")
    if missing:
        raise ValueError(f"it lacks {', '.join(missing)}")
    state = WindowsPatchState()
    for fix in as_list(data.get("hotfixes")):
        if not isinstance(fix, dict):
            continue
        installed = parse_ps_date(fix.get("installed_on"))
        state.hotfixes.append({"id": fix.get("id"), "description": fix.get("description"),
                               "installed_on": installed.isoformat() if installed else None})
        if installed and (state.last_hotfix is None or installed > state.last_hotfix):
            state.last_hotfix = installed
    reboot = data.get("reboot") or {}
    state.reboot_reasons = [k for k, v in reboot.items() if v is True]
    state.reboot_pending = bool(state.reboot_reasons)
    state.last_install = parse_ps_date(data.get("last_install"))
    error = data.get("search_error")
    if error:
        state.search_error = str(error)
        if any(marker in state.search_error.lower() for marker in _DENIED):
            state.search_error = (
                "Windows denied the update search to this SSH session (E_ACCESSDENIED): the "
                "Windows Update API is not available to network logons on this build; pending "
                "updates are judged by the last install date instead")
        return state
    state.pending = []
    for update in as_list(data.get("pending")):
        if not isinstance(update, dict):
            continue
        categories = [str(c) for c in as_list(update.get("categories"))]
        severity = str(update.get("severity") or "")
        kbs = [f"KB{k}" for k in as_list(update.get("kb"))]
        state.pending.append(PendingUpdate(
            str(update.get("title") or ",".join(kbs) or "update"), ",".join(kbs),
            origins=tuple(categories),
            security=bool(severity) or "Security Updates" in categories or
            "Critical Updates" in categories, severity=severity))
    return state
