"""Load YAML while remembering the line of every value, so errors can say ``FILE:LINE``.

The file is read as a stream of parser events (libyaml's when it is installed) and built into
plain Python values by a small iterative builder that keeps a map from the path of each value
(``("targets", 3, "host")``) to its 1-based line. Building from events, not from PyYAML's node
graph, is what makes hostile input harmless:

- anchors and aliases are refused at their line, so no alias bomb ("billion laughs") and no
  recursive structure can be expanded — a monitoring configuration has no need for them;
- nesting is bounded (:data:`MAX_DEPTH`) and so is the number of values (:data:`MAX_VALUES`),
  so memory stays proportional to a small multiple of the file (at most :data:`MAX_BYTES`);
- only the plain types of YAML's core schema are built (strings, numbers, booleans, null,
  dates, mappings, lists); any other tag (``!foo``, ``!!python/...``, ``!!binary``, ``!!set``)
  is refused, and a value its tag cannot build (``!!int abc``) is an error, not a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

Path = tuple[str | int, ...]

MAX_BYTES = 1024 * 1024
"""Largest configuration file read (1 MiB; a 500-target site is about 150 KiB)."""
MAX_DEPTH = 50
"""Deepest nesting of mappings and lists (the schema itself needs fewer than 10 levels)."""
MAX_VALUES = 50_000
"""Most values (scalars, mappings, lists) in one file; bounds memory whatever the file holds
(a 500-target site has about 15,000; validating 50,000 wrong values takes about 70 MB)."""

_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep; a configuration needs fewer than 10"
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + name: name for name in ("str", "int", "float", "bool", "null",
                                               "timestamp")}
_MAP_TAG, _SEQ_TAG, _MERGE_TAG = _TAG + "map", _TAG + "seq", _TAG + "merge"
_Loader: Any = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()


class YamlError(ValueError):
    """A file that is not valid YAML (or uses YAML we refuse), with the line of the problem."""

    def __init__(self, filename: str, line: int, message: str):
        super().__init__(f"{filename}:{line}: {message}")
        self.filename, self.line, self.message = filename, line, message


@dataclass
class Source:
    """Parsed YAML plus where each value came from."""

    filename: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path, int]] = field(default_factory=list)

    def line_of(self, path: Path) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


def load_yaml(text: str, filename: str) -> Source:
    """Parse one YAML document into plain values; raise :class:`YamlError` for anything else."""
    if len(text) > MAX_BYTES:
        raise YamlError(filename, 1, f"the file is {len(text) / 1048576:.1f} MiB; a "
                        f"configuration may be at most {MAX_BYTES // 1048576} MiB — is this "
                        "the right file?")
    try:
        stream: str | bytes = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise YamlError(filename, line, "not valid UTF-8 text (a lone surrogate character); "
                        "save the file as UTF-8") from None
    loader = _Loader(stream)
    try:
        return _Builder(filename).build(loader)
    except yaml.reader.ReaderError as exc:
        # libyaml counts the position in bytes of the UTF-8 text, PyYAML in characters.
        before = stream[:exc.position] if _Loader is not yaml.SafeLoader else \
            text[:exc.position]
        line = before.count(b"\n" if isinstance(before, bytes) else "\n") + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character or "?")
        raise YamlError(filename, line, f"character U+{char:04X} is not allowed in YAML "
                        "(control characters cannot appear, not even in quotes; write "
                        "escapes such as \"\\t\" inside double quotes instead)") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or str(exc)
        if "nesting depth" in problem:  # libyaml's own limit (1,000), met while looking ahead
            raise YamlError(filename, line, _TOO_DEEP) from None
        if mark is not None and _char_at(text, mark) == "\t":
            problem += " (a tab: YAML is indented with spaces only)"
        raise YamlError(filename, line, f"not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(filename, 1, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def _char_at(text: str, mark: Any) -> str:
    lines = text.splitlines()
    if 0 <= mark.line < len(lines) and 0 <= mark.column < len(lines[mark.line]):
        return lines[mark.line][mark.column]
    return ""


@dataclass
class _Frame:
    """A mapping or list being filled."""

    value: dict | list
    path: Path
    key: Any = None           # a mapping's key waiting for its value
    key_line: int = 0
    has_key: bool = False


class _Builder:
    def __init__(self, filename: str):
        self.source = Source(filename, None)
        self.stack: list[_Frame] = []
        self.values = 0
        self.documents = 0

    def fail(self, event: Any, message: str) -> YamlError:
        return YamlError(self.source.filename, _line(event), message)

    def build(self, loader: Any) -> Source:
        root_seen = False
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    raise self.fail(event, "a second YAML document ('---') in the file; a "
                                    "configuration is one document — remove the '---' line and "
                                    "merge the two parts")
                continue
            if isinstance(event, yaml.StreamStartEvent | yaml.StreamEndEvent |
                          yaml.DocumentEndEvent):
                continue
            if isinstance(event, yaml.AliasEvent):
                raise self.fail(event, f"YAML aliases (*{event.anchor}) are not supported: a "
                                "configuration spells every value out; copy the value here")
            if getattr(event, "anchor", None) is not None:
                raise self.fail(event, f"YAML anchors (&{event.anchor}) are not supported: a "
                                "configuration spells every value out; remove the anchor and "
                                "copy the value where it is used")
            if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                self.stack.pop()
                continue
            self.values += 1
            if self.values > MAX_VALUES:
                raise self.fail(event, f"more than {MAX_VALUES:,} values in one file; a "
                                "configuration this large is not supported — is this the right "
                                "file?")
            if not self.stack and root_seen:  # cannot happen after one document; be safe
                raise self.fail(event, "unexpected content after the document")
            root_seen = True
            self.node(event)
        if not root_seen:
            self.source.data = {}
        return self.source

    def node(self, event: Any) -> None:
        parent = self.stack[-1] if self.stack else None
        if parent is not None and isinstance(parent.value, dict) and not parent.has_key:
            self.key(parent, event)
            return
        line = _line(event)
        if parent is None:
            path: Path = ()
        elif isinstance(parent.value, list):
            path = parent.path + (len(parent.value),)
        else:
            path = parent.path + (parent.key,)
            line = parent.key_line  # a mapping's entry is found at its key
        self.source.lines[path] = line
        if isinstance(event, yaml.ScalarEvent):
            value: Any = self.scalar(event)
        else:
            if len(self.stack) >= MAX_DEPTH:
                raise self.fail(event, _TOO_DEEP)
            value = self.collection(event)
            self.stack.append(_Frame(value, path))
        if parent is None:
            self.source.data = value
        elif isinstance(parent.value, list):
            parent.value.append(value)
        else:
            parent.value[parent.key] = value
            parent.has_key = False

    def key(self, parent: _Frame, event: Any) -> None:
        if not isinstance(event, yaml.ScalarEvent):
            raise self.fail(event, "mapping keys must be plain names, not lists or mappings "
                            "(a '? ' complex key); write the key as text")
        tag = _resolve(event)
        if tag == _MERGE_TAG:
            raise self.fail(event, "YAML merge keys (<<) are not supported; write the keys out")
        key = self.scalar(event)
        if isinstance(key, bool) or not isinstance(key, str | int):
            key = event.value  # `on:`, `yes:`, `~:`, `1.5:` keep the text that was written
        path = parent.path + (key,)
        if key in parent.value:
            self.source.duplicate_keys.append((path, _line(event)))
        parent.key, parent.key_line, parent.has_key = key, _line(event), True

    def collection(self, event: Any) -> dict | list:
        mapping = isinstance(event, yaml.MappingStartEvent)
        expected = _MAP_TAG if mapping else _SEQ_TAG
        if event.tag not in (None, "!", expected):
            raise self.fail(event, f"the tag {_tag_text(event.tag)} is not supported here; "
                            "remove it (this configuration uses plain mappings and lists)")
        return {} if mapping else []

    def scalar(self, event: Any) -> Any:
        tag = _resolve(event)
        name = _SCALAR_TAGS.get(tag)
        if name is None:
            raise self.fail(event, f"the tag {_tag_text(tag)} is not supported; remove it "
                            "(values are plain text, numbers, true/false or dates)")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, node)
        except Exception as exc:  # each constructor fails in its own way (KeyError, ValueError)
            shown = event.value if len(event.value) <= 40 else event.value[:37] + "..."
            if name == "int" and "digits" in str(exc):
                reason = "a number with more than 4,300 digits is not supported"
            else:
                reason = f"{shown!r} is not a valid {name}"
            explicit = event.tag not in (None, "!")
            fix = f"remove the !!{name} tag or write a valid {name}" if explicit else \
                "quote it if it is meant as text"
            raise self.fail(event, f"{reason}; {fix}") from None


def _resolve(event: Any) -> str:
    """The tag of a scalar, as PyYAML's composer would give it."""
    if event.tag is None or event.tag == "!":
        return _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
    return event.tag


def _tag_text(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _line(event: Any) -> int:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else 1
