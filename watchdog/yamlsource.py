"""Load YAML while remembering the line of every value, so errors can say ``FILE:LINE``.

PyYAML's composer gives each node its position; we build plain Python values from the nodes and
keep a map from the path of each value (``("targets", 3, "host")``) to its 1-based line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


class YamlError(ValueError):
    """A file that is not valid YAML, with the line of the problem."""

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
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(filename, line, f"not valid YAML: {exc.problem or exc}") from None
    source = Source(filename, None)
    if node is None:
        source.data = {}
        return source
    source.data = _build(node, (), source)
    return source


def _build(node: yaml.Node, path: Path, source: Source) -> Any:
    source.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlError(source.filename, key_node.start_mark.line + 1,
                                "YAML merge keys (<<) are not supported; write the keys out")
            key = _scalar(key_node)
            key = key if isinstance(key, str | int) else str(key)
            child = path + (key,)
            if key in result:
                source.duplicate_keys.append((child, key_node.start_mark.line + 1))
            source.lines[child] = key_node.start_mark.line + 1
            result[key] = _build(value_node, child, source)
            source.lines[child] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), source) for i, item in enumerate(node.value)]
    return _scalar(node)


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return _CONSTRUCTOR.construct_object(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, "mapping keys must be plain values",
                                            node.start_mark)
