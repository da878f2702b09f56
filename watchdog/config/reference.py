"""Generate the configuration reference (docs/configuration.md) from the config models, so the
documentation is the schema: every key, its type, default and description."""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from muni_watchdog.checks import KINDS
from muni_watchdog.checks.base import CheckParams
from muni_watchdog.checks.impact import CHECK_TYPES, check_type_info
from muni_watchdog.config.models import PRIORITY_DEFAULTS, Config, TargetBase
from muni_watchdog.core.durations import format_duration, spell_limit
from muni_watchdog.core.types import DurationBounds


def duration_bounds(info: Any) -> DurationBounds | None:
    """The bounds of a duration field (``Duration``, ``Interval``, ``Timeout``... and their
    optional forms), or None for a field that is not a duration."""
    def search(tp: Any) -> DurationBounds | None:
        if get_origin(tp) is Annotated:
            found = [m for m in get_args(tp)[1:] if isinstance(m, DurationBounds)]
            return found[0] if found else search(get_args(tp)[0])
        if get_origin(tp) in (Union, types.UnionType):
            for arg in get_args(tp):
                if (found := search(arg)) is not None:
                    return found
        return None
    found = [m for m in getattr(info, "metadata", []) if isinstance(m, DurationBounds)]
    return found[0] if found else search(info.annotation)


def _type_name(tp: Any, bounds: DurationBounds | None = None) -> str:
    origin = get_origin(tp)
    if origin is Annotated:
        return _type_name(get_args(tp)[0], bounds)
    if origin in (Union, types.UnionType):
        names = [_type_name(a, bounds) for a in get_args(tp) if a is not type(None)]
        optional = type(None) in get_args(tp)
        return " or ".join(dict.fromkeys(names)) + (" (optional)" if optional else "")
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(tp))
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    if tp is float and bounds is not None:
        return f"duration ≤ {spell_limit(bounds.maximum)}"
    return getattr(tp, "__name__", str(tp))


def _default(info, bounds: DurationBounds | None) -> str:
    if info.is_required():
        return "**required**"
    if info.default_factory is not None:
        try:
            value = info.default_factory()
        except TypeError:
            return ""
        if isinstance(value, BaseModel):
            return "(see below)"
        if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
            # as it is written in YAML, only what differs from the item's own defaults
            items = (", ".join(f"{k}: {v}" for k, v in m.model_dump(exclude_defaults=True)
                               .items()) for m in value)
            return "`[" + ", ".join(f"{{{item}}}" for item in items) + "]`"
        return f"`{value}`" if value not in ([], {}) else "none"
    value = info.default
    if value is None or value is PydanticUndefined:
        return "none"
    if value == "":
        return '`""`'
    if bounds is not None and isinstance(value, int | float):
        return f"`{format_duration(value)}`"
    return f"`{value}`"


def _table(model: type[BaseModel], title: str, intro: str = "",
           skip: tuple[str, ...] = ()) -> list[str]:
    lines = [f"### {title}", ""]
    if intro:
        lines += [intro, ""]
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        desc = (info.description or "").replace("|", "\\|")
        bounds = duration_bounds(info)
        lines.append(f"| `{name}` | {_type_name(info.annotation, bounds)} | "
                     f"{_default(info, bounds)} | {desc} |")
    return lines + [""]


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []

    def visit(tp: Any) -> None:
        origin = get_origin(tp)
        if origin is not None:
            for arg in get_args(tp):
                visit(arg)
            return
        if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in seen:
            seen.append(tp)
            for info in tp.model_fields.values():
                visit(info.annotation)

    visit(root)
    return seen


def render_reference() -> str:
    out = ["# Configuration reference", "",
           "Generated from the configuration schema by `python -m muni_watchdog.config.reference`; do not "
           "edit by hand. The commented example is `etc/muni-watchdog.example.yaml`.", "",
           "Durations are written `30s`, `5m`, `4h`, `7d` or `1h30m`. Unknown keys are errors.",
           "", "Every duration has an upper bound, shown in its type: how often something "
           "runs or is retried at most 1d, how long one run or wait may take at most 1h, a "
           "restic command at most 7d, any other span at most 10 years. A longer value is an "
           "error naming the file, line, key and the allowed range.", "", "## Defaults by service priority", "",
           "| priority | check every | retry every | attempts before alert | OKs to recover | "
           "response SLA |", "|---|---|---|---|---|---|"]
    for prio, d in PRIORITY_DEFAULTS.items():
        out.append(f"| {prio} | {format_duration(d.check_interval)} | "
                   f"{format_duration(d.retry_interval)} | {d.max_attempts} | "
                   f"{d.recovery_attempts} | {format_duration(d.response_sla)} |")
    out += ["", "Priority 3 is Icinga 2's defaults (5m / 1m / 3 attempts); priority 1 is "
            "tightened so an outage reaches the on-call within about a minute.", "",
            "## Sections", ""]
    targets_done = False
    for model in _models(Config):
        if model.__name__.endswith("Target") and model is not TargetBase:
            if targets_done:
                continue
            targets_done = True
            out += _table(TargetBase, "TargetConfig", "Every target has these keys; `kind` "
                          "selects its checks (below).", skip=())
            continue
        # Check parameters and connections are listed under their kind (below); the site's
        # settings that live beside their checks (traps, vulnerability feeds) are sections.
        if model.__module__.startswith("muni_watchdog.checks.") and (
                issubclass(model, CheckParams) or model in {k.connection for k in KINDS.values()}):
            continue
        out += _table(model, model.__name__)
    out += _outage_rule()
    out += ["## Target kinds and their checks", ""]
    for name, kind in KINDS.items():
        out += [f"### kind: `{name}`", "", kind.description, ""]
        if kind.connection is not None:
            out += _table(kind.connection, f"{name}: (the connection block of a {name} target)",
                          (kind.connection.__doc__ or "").strip())
        for check_name, check in kind.check_types.items():
            intro = (check.__doc__ or "").strip() or \
                (__import__(type(check).__module__, fromlist=['x']).__doc__ or "").strip()
            out += _table(check.Params, f"check: `{check_name}`",
                          f"{intro}\n\nCounts as an outage? {_outage_words(check_name)}",
                          skip=("check",))
    return "\n".join(out).rstrip() + "\n"


def _outage_words(check_type: str) -> str:
    info = check_type_info(check_type)
    return f"{'Yes' if info.affects_availability else 'No'} by default — {info.rule}"


def _outage_rule() -> list[str]:
    """The table of what each check type's CRITICAL means (checks.impact)."""
    lines = ["## What counts as an outage", "",
             "The monthly report, its trend and `/metrics` count a service as down while one "
             "of its checks is hard CRITICAL with a result that means the service cannot be "
             "used. WARNING and UNKNOWN never count. Each check type declares what its "
             "CRITICAL means; a result may differ (an `http` check CRITICAL because its "
             "certificate expires soon is not an outage); `affects_availability: true|false` "
             "on a check overrides both.", "",
             "| check type | CRITICAL is an outage by default | rule |", "|---|---|---|"]
    for name, info in CHECK_TYPES.items():
        rule = info.rule.replace("|", "\\|")
        lines.append(f"| `{name}` | {'yes' if info.affects_availability else 'no'} | {rule} |")
    return lines + [""]


if __name__ == "__main__":
    print(render_reference(), end="")
