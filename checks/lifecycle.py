"""Lifecycle: is the operating system still supported, and is the hardware past its service
life? Pure; the dates live in ``checks/data/lifecycle.json`` (with a source per release),
refreshed from the endoflife.date API by ``scripts/refresh-lifecycle.py``.

:func:`support_status` answers ``(status, end_date, source)`` for an operating system as the
host reports it: ``/etc/os-release``'s ID and VERSION_ID over SSH (``debian``/``12``,
``ol``/``8.9``, ``sles``/``15.5``), a Windows build number (over SSH or in SNMP's sysDescr)
with its edition, or an ESXi version. Status: ``supported``, ``ending_soon`` (support ends
within :data:`ENDING_SOON_DAYS`), ``out_of_support`` or ``unknown`` (a system or release the
data does not know: never guessed to be fine or not).

Hardware: :func:`hardware_age` from the manufacture date (ENTITY-MIB), else the date the
device was first seen (a lower bound of its age, and said so), against a replacement age per
class (:data:`REPLACEMENT_YEARS`, configurable)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from muni_watchdog.core.model import Result, State

ENDING_SOON_DAYS = 180
SUPPORTED, ENDING_SOON, OUT_OF_SUPPORT, UNKNOWN = ("supported", "ending_soon",
                                                   "out_of_support", "unknown")
# Replacement ages in years. UPS: the battery's (APC: "most APC batteries should last three to
# five years", https://www.schneider-electric.us/en/faqs/FA158934/). The others are common
# refresh conventions, not vendor statements: switches and routers 7 years (beyond typical
# 5-year warranties, before vendors' last-day-of-support), PCs, servers, NAS and printers 5
# years (the usual warranty and depreciation period), firewalls and access points 5 years
# (their security updates end sooner than a switch's).
REPLACEMENT_YEARS: dict[str, int] = {
    "network": 7, "switch": 7, "router": 7, "firewall": 5, "wireless": 5, "server": 5,
    "pc": 5, "storage": 5, "printer": 5, "ups": 4,
}
WINDOWS_SYSDESCR = re.compile(r"Software: Windows Version (\d+\.\d+) \(Build (\d+)")
ESXI_SYSDESCR = re.compile(r"VMware ESXi (\d+\.\d+(?:\.\d+)?)")
WINDOWS_WORKSTATION = "1.3.6.1.4.1.311.1.1.3.1.1"   # windowsNT workstation; .2 server, .3 DC


class SupportStatus(NamedTuple):
    status: str
    end_date: date | None
    source: str | None


@lru_cache(maxsize=4)
def load(path: str | None = None) -> dict[str, Any]:
    """The lifecycle data (the packaged file, or ``path``)."""
    if path is not None:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    text = resources.files("muni_watchdog.checks").joinpath("data/lifecycle.json").read_text("utf-8")
    return json.loads(text)


def product_of(os_id: str | None, data: dict[str, Any] | None = None) -> str | None:
    """Our product key for an os-release ID or alias (``ol`` -> ``oracle-linux``)."""
    if not os_id:
        return None
    wanted = os_id.strip().lower()
    products = (data or load())["products"]
    for key, product in products.items():
        if wanted == key or wanted in product.get("aliases", ()):
            return key
    return None


def windows_edition(text: str | None) -> str | None:
    """``w`` (Home, Pro), ``e`` (Enterprise, Education), ``lts`` (Enterprise LTSC/LTSB),
    ``iot-lts``, from an edition name or caption; None when it does not say."""
    if not text:
        return None
    t = text.lower()
    if t in ("w", "e", "lts", "iot-lts"):
        return t
    if "ltsc" in t or "ltsb" in t:
        return "iot-lts" if "iot" in t else "lts"
    if "pro education" in t or "pro for workstations" in t:   # Microsoft's "W" group
        return "w"
    if "enterprise" in t or "education" in t:
        return "e"
    if any(word in t for word in ("home", "pro", "core")):
        return "w"
    return None


def _build(version: str) -> int | None:
    """A Windows build from ``10.0.17763``, ``10.0.17763.5458``, ``6.3.9600`` or ``17763``."""
    parts = version.strip().split(".")
    candidates = [parts[2]] if len(parts) >= 3 else parts[-1:]
    for part in candidates:
        if part.isdigit() and int(part) >= 1000:
            return int(part)
    return None


def _windows_release(releases: list[dict], version: str, edition: str | None) -> dict | None:
    build = _build(version)
    found = [r for r in releases if build is not None and r.get("build") == build]
    if not found:
        return None
    wanted = windows_edition(edition)
    for pick in ([r for r in found if r.get("edition") == wanted] if wanted else [],
                 [r for r in found if "edition" not in r],
                 [r for r in found if r.get("edition") == "w"], found):
        if pick:
            # without the edition, the earliest end: a Home PC is not passed as an LTSC one
            return min(pick, key=lambda r: r.get("support_end") or "9999")
    return None


def find_release(os_id: str | None, version: str | None, *, edition: str | None = None,
                 name: str | None = None, data: dict[str, Any] | None = None
                 ) -> tuple[str, dict[str, Any]] | None:
    """(product key, release) for an OS, or None. ``name`` is os-release's NAME: CentOS
    Stream has ID ``centos`` too."""
    data = data or load()
    product = product_of(os_id, data)
    if product == "centos" and name and "stream" in name.lower():
        product = "centos-stream"
    if product is None or not version:
        return None
    releases = data["products"][product]["releases"]
    if product in ("windows", "windows-server"):
        by_cycle = next((r for r in releases if r["cycle"] == version.strip().lower()), None)
        release = by_cycle or _windows_release(releases, version, edition)
        return (product, release) if release else None
    wanted = version.strip().lower().replace("-sp", ".")     # SLES VERSION "15-SP5"
    matches = [r for r in releases if wanted == r["cycle"] or wanted.startswith(r["cycle"] + ".")]
    if not matches:
        return None
    return product, max(matches, key=lambda r: len(r["cycle"]))


def release_label(product: str, release: dict[str, Any], data: dict | None = None) -> str:
    """"Debian 12 (bookworm)", "Windows Server 2019", "Ubuntu 22.04"."""
    if release.get("label"):
        return release["label"]
    name = (data or load())["products"][product]["name"]
    codename = f" ({release['codename']})" if release.get("codename") and product == "debian" \
        else ""
    return f"{name} {release['cycle']}{codename}"


def support_status(os_id: str | None, version: str | None, today: date, *,
                   edition: str | None = None, name: str | None = None,
                   extended: bool = False, data: dict[str, Any] | None = None
                   ) -> SupportStatus:
    """``(status, end_date, source)`` of an operating system on ``today``. ``extended``
    counts paid extended support (Ubuntu Pro ESM, RHEL ELS, Windows ESU, SUSE LTSS) when the
    organisation buys it."""
    found = find_release(os_id, version, edition=edition, name=name, data=data)
    if found is None:
        return SupportStatus(UNKNOWN, None, None)
    _, release = found
    end_text = (release.get("extended_end") if extended else None) or release.get("support_end")
    end = date.fromisoformat(end_text) if end_text else None
    if end is None:
        return SupportStatus(SUPPORTED, None, release.get("source"))
    if today > end:
        status = OUT_OF_SUPPORT
    elif end - today <= timedelta(days=ENDING_SOON_DAYS):
        status = ENDING_SOON
    else:
        status = SUPPORTED
    return SupportStatus(status, end, release.get("source"))


def support_result(label: str, support: SupportStatus, today: date) -> Result | None:
    """The WARNING an ``uptime``/``system`` check adds for an OS out of support or whose
    support ends within 180 days; None when supported or not known."""
    if support.status == OUT_OF_SUPPORT and support.end_date:
        return Result(State.WARNING, f"{label} is out of support since "
                      f"{support.end_date.isoformat()}: no more security updates")
    if support.status == ENDING_SOON and support.end_date:
        days = (support.end_date - today).days
        return Result(State.WARNING, f"{label} support ends {support.end_date.isoformat()} "
                      f"(in {days} days)")
    return None


def lifecycle_item(os_id: str | None, version: str | None, today: date, *,
                   name: str | None = None, edition: str | None = None,
                   extended: bool = False) -> tuple[dict[str, Any], Result | None]:
    """What an ``uptime``/``system``/``software`` check stores and says of the host's OS:
    the ``{"kind": "lifecycle"}`` item the inventory and the assessment read (status, end,
    source) and the WARNING of :func:`support_result` (None when supported or unknown)."""
    found = find_release(os_id, version, edition=edition, name=name)
    support = support_status(os_id, version, today, edition=edition, name=name,
                             extended=extended)
    label = release_label(*found) if found else (name or " ".join(
        x for x in (os_id, version) if x) or "the operating system")
    item = {"kind": "lifecycle", "os": label, "os_id": os_id, "os_version": version,
            "status": support.status,
            "support_end": support.end_date.isoformat() if support.end_date else None,
            "source": support.source, "extended": extended}
    return item, support_result(label, support, today)


def os_from_sysdescr(descr: str | None, object_id: str | None = None
                     ) -> tuple[str, str] | None:
    """(os id, version) from an SNMP sysDescr: Windows' build (server or workstation by
    sysObjectID), ESXi's version; None for agents that do not say (net-snmp on Linux)."""
    if not descr:
        return None
    windows = WINDOWS_SYSDESCR.search(descr)
    if windows:
        kind = "windows" if (object_id or "").lstrip(".") == WINDOWS_WORKSTATION else \
            "windows-server"
        return kind, f"{windows.group(1)}.{windows.group(2)}"
    esxi = ESXI_SYSDESCR.search(descr)
    if esxi:
        return "esxi", esxi.group(1)
    return None


class HardwareAge(NamedTuple):
    age_days: int | None
    basis: str | None            # "manufactured" or "first seen" (a lower bound)
    replace_after_years: int | None
    status: str                  # within_life, replace_soon, past_life, unknown


def hardware_age(device_class: str | None, today: date, *, manufactured: date | None = None,
                 first_seen: date | None = None,
                 replacement_years: dict[str, int] | None = None) -> HardwareAge:
    """The device's age against its class's replacement age. ``replace_soon`` within
    :data:`ENDING_SOON_DAYS` of it. The first-seen date only bounds the age from below: a
    device first seen three years ago may be ten years old."""
    years = {**REPLACEMENT_YEARS, **(replacement_years or {})}.get(device_class or "")
    start, basis = (manufactured, "manufactured") if manufactured else (
        (first_seen, "first seen") if first_seen else (None, None))
    if start is None:
        return HardwareAge(None, None, years, UNKNOWN)
    age = (today - start).days
    if years is None:
        return HardwareAge(age, basis, None, UNKNOWN)
    due = _add_years(start, years)
    if today >= due:
        status = "past_life"
    elif (due - today).days <= ENDING_SOON_DAYS:
        status = "replace_soon"
    else:
        status = "within_life"
    return HardwareAge(age, basis, years, status)


def _add_years(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:                       # 29 February
        return start.replace(year=start.year + years, day=28)
