"""YAML reading that remembers line numbers, so an error can name the line of an entry or field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class LineDict(dict):
    """A mapping that knows the line of itself (`__line__`) and of each key (`key_lines`)."""

    __line__: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings are LineDicts (1-based lines)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.__line__ = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"unhashable key {key!r}", key_node.start_mark
            ) from exc
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class YamlError(ValueError):
    """A file that is not valid YAML; carries the line where the parser stopped."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: invalid YAML: {message}")


def load_yaml_text(text: str, path: str = "<text>") -> Any:
    """Parse YAML text with line tracking; raise YamlError on a syntax error."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise YamlError(path, line, str(exc.problem or exc.context or exc)) from exc
    except yaml.YAMLError as exc:
        raise YamlError(path, None, str(exc)) from exc


def load_yaml_file(path: Path) -> Any:
    """Read and parse a YAML file (UTF-8)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(str(path), None, f"not UTF-8 text ({exc.reason})") from exc
    return load_yaml_text(text, str(path))


def line_of(data: Any, loc: tuple) -> int | None:
    """Best line for a pydantic error location inside parsed data (deepest known node)."""
    line = getattr(data, "__line__", None)
    node = data
    for part in loc:
        if isinstance(node, LineDict) and isinstance(part, str) and part in node.key_lines:
            line = node.key_lines[part]
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            line = getattr(node, "__line__", line)
        else:
            break
    return line


def field_lines(data: Any, prefix: str = "") -> dict[str, int]:
    """Every field path of parsed data with its line: {'figures.0.text': 41, …} (dotted, as
    pydantic's error locations read), so a later check can still name the line of a field."""
    out: dict[str, int] = {}
    if isinstance(data, LineDict):
        for key, value in data.items():
            path = f"{prefix}{key}"
            if str(key) in data.key_lines:
                out[path] = data.key_lines[str(key)]
            out.update(field_lines(value, path + "."))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            line = getattr(value, "__line__", None)
            if line:
                out[f"{prefix}{i}"] = line
            out.update(field_lines(value, f"{prefix}{i}."))
    return out
