"""Turn validation failures into ``FILE:LINE: path: message`` lines that say how to fix them."""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from muni_watchdog.config.yamlsource import Path, Source


@dataclass(frozen=True)
class ConfigIssue:
    filename: str
    line: int
    path: Path | str
    message: str

    @property
    def path_text(self) -> str:
        return self.path if isinstance(self.path, str) else format_path(self.path)

    def __str__(self) -> str:
        where = f"{self.filename}:{self.line}"
        return f"{where}: {self.path_text}: {self.message}" if self.path_text else \
            f"{where}: {self.message}"


def format_path(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def pydantic_issues(exc: ValidationError, source: Source, root: type[BaseModel]
                    ) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        path = _data_path(source.data, loc)
        message = _message(error, root, loc, path)
        issues.append(ConfigIssue(source.filename, source.line_of(path), path, message))
    return issues


def _data_path(data: Any, loc: tuple) -> Path:
    """Map pydantic's location (which contains union tags) to the path in the YAML data."""
    path: list[str | int] = []
    node = data
    tag_skipped_at = None
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        # A kind's connection block is named after the kind (`snmp: {...}`), so the union tag
        # pydantic puts first ('snmp') is also a key here: skip the tag once, then descend.
        if (isinstance(node, dict) and part in (node.get("kind"), node.get("check"))
                and tag_skipped_at is not node and not last):
            tag_skipped_at = node
            continue
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif last and isinstance(part, str | int) and not isinstance(node, list):
            path.append(part)  # a missing key: name it
        # anything else is a union tag or model name that pydantic adds; skip it
    return tuple(path)


def _message(error: dict, root: type[BaseModel], loc: tuple, path: Path) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    key = path[-1] if path else ""
    if kind == "missing":
        return f"required key '{key}' is missing; add it"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, loc[:-1])
        hint = ""
        if allowed:
            sections = _sections(root, loc[:-1])
            home = next((name for name, keys in sections.items() if key in keys), None)
            close = difflib.get_close_matches(str(key), allowed, n=1)
            nested = [(name, match) for name, keys in sections.items()
                      for match in difflib.get_close_matches(str(key), keys, n=1)]
            if home:
                hint = (f"; it belongs under '{home}:' — indent it to line up with that "
                        "section's keys")
            elif close:
                hint = f"; did you mean '{close[0]}'?"
            elif nested:
                hint = f"; did you mean '{nested[0][1]}' under '{nested[0][0]}:'?"
            hint += f" (allowed here: {', '.join(allowed)})"
        return f"unknown key '{key}'{hint}"
    if kind == "union_tag_invalid":
        expected = ctx.get("expected_tags", "")
        close = difflib.get_close_matches(str(ctx.get("tag")),
                                          [t.strip(" '") for t in str(expected).split(",")], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"{ctx.get('discriminator', 'type').strip(chr(39))} '{ctx.get('tag')}' is not " \
               f"known{hint} (use one of {expected})"
    if kind == "union_tag_not_found":
        return f"add '{ctx.get('discriminator', '').strip(chr(39))}:' to say which kind this is"
    if kind == "literal_error":
        return f"{given!r} is not one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch" and "a-z0-9" in str(ctx.get("pattern")):
        return (f"{given!r} is not a valid id: use lower-case letters, digits, '-', '_' or '.', "
                "starting with a letter or digit")
    if kind == "string_pattern_mismatch" and ":" in str(ctx.get("pattern")):
        return f"{given!r} is not a time of day; write HH:MM, e.g. 08:00"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of keys and values here, got {_describe(given)}"
    if kind == "list_type":
        return f"expected a list here (items starting with '- '), got {_describe(given)}"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind not in ("value_error", "assertion_error") and given is not None and \
            not isinstance(given, dict | list):
        message += f" (got {given!r})"
    return message


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _model_at(root: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model of the mapping at ``loc``, or None when ``loc`` is not a mapping."""
    node: Any = root
    for part in loc:
        node = _step(node, part)
        if node is None:
            return None
    return _as_model(node)


def _as_model(tp: Any) -> type[BaseModel] | None:
    tp = _strip(tp, None)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _allowed_keys(root: type[BaseModel], loc: tuple) -> list[str] | None:
    model = _model_at(root, loc)
    return list(model.model_fields) if model else None


def _sections(root: type[BaseModel], loc: tuple) -> dict[str, list[str]]:
    """The sub-sections of the mapping at ``loc`` and their keys (for a key indented too
    little: ``known_hosts`` written at the target's level instead of under ``ssh:``)."""
    model = _model_at(root, loc)
    fields = model.model_fields.items() if model else ()
    return {name: list(inner.model_fields) for name, field in fields
            if (inner := _as_model(field.annotation)) is not None}


def _strip(tp: Any, part: Any) -> Any:
    """Remove Annotated and Optional wrappers; pick a union member by tag or class name."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
            chosen = [m for m in members if _matches(m, part)]
            # the member whose tag is this value (check: Literal["storage"]) before one that
            # merely allows it among others (device_class: Literal[..., "storage", ...])
            chosen.sort(key=lambda m: not _tagged(m, part))
            return chosen[0] if chosen else None
        else:
            return tp


def _matches(member: Any, part: Any) -> bool:
    member = _as_model(member)
    if member is None:
        return False
    if member.__name__ == part:
        return True
    for field in member.model_fields.values():
        if get_origin(field.annotation) is Literal and part in get_args(field.annotation):
            return True
    return False


def _tagged(member: Any, part: Any) -> bool:
    model = _as_model(member)
    return model is not None and any(
        get_origin(f.annotation) is Literal and get_args(f.annotation) == (part,)
        for f in model.model_fields.values())


def _step(node: Any, part: Any) -> Any:
    # A union's part is the tag (or model name) that picks the member: it is not also a field,
    # even when a field has the same name (an ssh target's kind "ssh" and its "ssh:" section).
    picked = _strip(node, None) is None
    node = _strip(node, part)
    if node is None:
        return None
    if isinstance(node, type) and issubclass(node, BaseModel):
        if picked:
            return node
        if isinstance(part, str) and part in node.model_fields:
            return node.model_fields[part].annotation
        return node  # a tag or model name: stay on this model
    origin = get_origin(node)
    if origin in (list, tuple) and isinstance(part, int):
        return get_args(node)[0]
    if origin is dict:
        return get_args(node)[1]
    return node


def cross_reference_issues(source: Source, check_types_by_kind: dict[str, set[str]]
                           ) -> list[ConfigIssue]:
    """References between sections: ids exist, are unique, and parents form no cycle.

    Works on the raw data so it can report alongside type errors in the same run.
    """
    data = source.data if isinstance(source.data, dict) else {}
    issues: list[ConfigIssue] = []

    def issue(path: Path, message: str) -> None:
        issues.append(ConfigIssue(source.filename, source.line_of(path), path, message))

    def entries(*section: str) -> list[tuple[Path, dict]]:
        node: Any = data
        for key in section:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, list):
            return []
        return [(section + (i,), item) for i, item in enumerate(node) if isinstance(item, dict)]

    def ids(section: tuple[str, ...], key: str = "id") -> set[str]:
        seen: dict[str, Path] = {}
        for path, item in entries(*section):
            value = item.get(key)
            if not isinstance(value, str):
                continue
            if value in seen:
                issue(path + (key,), f"'{value}' is already used at line "
                      f"{source.line_of(seen[value])}; every {key} must be unique")
            else:
                seen[value] = path + (key,)
        return set(seen)

    def refer(path: Path, value: Any, known: set[str], what: str) -> None:
        if isinstance(value, str) and value not in known:
            close = difflib.get_close_matches(value, sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else \
                (f" (known: {', '.join(sorted(known))})" if known else f" (no {what}s defined)")
            issue(path, f"no {what} named '{value}'{hint}")

    service_ids = ids(("services",))
    target_ids = ids(("targets",))
    backup_ids = ids(("backups",))
    channel_names = ids(("notify", "channels"), "name")
    ids(("notify", "routes"), "name")

    for path, service in entries("services"):
        for key, known, what in (("targets", target_ids, "target"),
                                 ("backups", backup_ids, "backup")):
            values = service.get(key)
            if isinstance(values, list):
                for i, value in enumerate(values):
                    refer(path + (key, i), value, known, what)
    ssh_target_ids = {t["id"] for _, t in entries("targets")
                      if t.get("kind") == "ssh" and isinstance(t.get("id"), str)}
    for path, backup in entries("backups"):
        refer(path + ("service",), backup.get("service"), service_ids, "service")
        live = backup.get("source")
        if isinstance(live, dict):  # {target, path}: the live data on an ssh target
            refer(path + ("source", "target"), live.get("target"), target_ids, "target")
            if isinstance(live.get("target"), str) and \
                    live["target"] in target_ids - ssh_target_ids:
                issue(path + ("source", "target"), f"target '{live.get('target')}' is not of "
                      "kind ssh; a remote source is read over SSH (use an ssh target, or a "
                      "local path)")

    parents: dict[str, list[str]] = {}
    for path, target in entries("targets"):
        tid = target.get("id")
        plist = target.get("parents")
        if isinstance(plist, list):
            for i, parent in enumerate(plist):
                if parent == tid:
                    issue(path + ("parents", i), "a target cannot be its own parent")
                else:
                    refer(path + ("parents", i), parent, target_ids, "target")
            if isinstance(tid, str):
                parents[tid] = [p for p in plist if isinstance(p, str) and p != tid]
        _check_names(target, path, issue)
    for cycle_start, cycle in _cycles(parents):
        where = next((p for p, t in entries("targets") if t.get("id") == cycle_start), ("targets",))
        issue(where + ("parents",), "parent cycle: " + " -> ".join(cycle) +
              "; a target cannot sit behind its own child — remove one link")

    for path, channel in entries("notify", "channels"):
        if channel.get("fallback") is not None:
            refer(path + ("fallback",), channel.get("fallback"), channel_names, "channel")
    for path, service in entries("services"):
        for who in ("owner", "backup_owner"):
            person = service.get(who)
            if isinstance(person, dict) and isinstance(person.get("channels"), list):
                for i, name in enumerate(person["channels"]):
                    refer(path + (who, "channels", i), name, channel_names, "channel")
        steps = service.get("escalation")
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            if isinstance(step, dict) and isinstance(step.get("channels"), list):
                for j, name in enumerate(step["channels"]):
                    refer(path + ("escalation", i, "channels", j), name, channel_names,
                          "channel")
    for path, route in entries("notify", "routes"):
        names = route.get("channels")
        for i, name in enumerate(names if isinstance(names, list) else []):
            refer(path + ("channels", i), name, channel_names, "channel")
    fallback = (data.get("notify") or {}).get("fallback_channels") if isinstance(
        data.get("notify"), dict) else None
    for i, name in enumerate(fallback if isinstance(fallback, list) else []):
        refer(("notify", "fallback_channels", i), name, channel_names, "channel")
    monthly = ((data.get("reports") or {}) if isinstance(data.get("reports"), dict) else {}
               ).get("monthly")
    if isinstance(monthly, dict):
        refer(("reports", "monthly", "channel"), monthly.get("channel"), channel_names,
              "channel")
    digest = ((data.get("reports") or {}) if isinstance(data.get("reports"), dict) else {}
              ).get("digest")
    if isinstance(digest, dict):
        refer(("reports", "digest", "channel"), digest.get("channel"), channel_names, "channel")
    page = ((data.get("reports") or {}) if isinstance(data.get("reports"), dict) else {}
            ).get("status_page")
    site = data.get("site") if isinstance(data.get("site"), dict) else {}
    if isinstance(page, dict) and not page.get("export_dir") and not site.get("web"):
        issue(("reports", "status_page"), "the status page would go nowhere: give export_dir "
              "(files for the town's web host), or turn on site.web to serve it at /status")
    return issues


def _check_names(target: dict, path: Path, issue) -> None:
    checks = target.get("checks")
    if not isinstance(checks, list):
        return
    seen: dict[str, int] = {}
    for i, check in enumerate(checks):
        if not isinstance(check, dict):
            continue
        name = check.get("name") or check.get("check")
        if not isinstance(name, str):
            continue
        if name in seen:
            issue(path + ("checks", i), f"a second check named '{name}' on this target; give "
                  "it a distinct 'name:'")
        seen[name] = i


def _cycles(parents: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """Each parent cycle once, reported at its smallest member."""
    found: dict[frozenset, tuple[str, list[str]]] = {}
    for start in sorted(parents):
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for parent in parents.get(node, []):
                if parent == start:
                    key = frozenset(trail)
                    first = min(trail)
                    i = trail.index(first)
                    ordered = trail[i:] + trail[:i]
                    found.setdefault(key, (first, ordered + [first]))
                elif parent not in trail and len(trail) < 256:
                    stack.append((parent, trail + [parent]))
    return sorted(found.values())
