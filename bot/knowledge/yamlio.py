"""YAML reading that remembers line numbers, so an error can name the line of an entry or field.

Bounded work for any input (an admin's upload is input too): a document over :data:`MAX_BYTES`,
nested deeper than :data:`MAX_DEPTH`, with more than :data:`MAX_NODES` nodes, or whose aliases
expand to more than :data:`MAX_EXPANDED` nodes (the "billion laughs" anchor bomb: a few hundred
bytes that expand to billions of nodes) is refused with one line before anything is built from it.
The expansion is measured on the composed node graph, where an alias is a shared node, so the
check itself is linear in the document's size. Error texts quote the input only in short.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any

import yaml

from bot.normalize import format_number

MAX_BYTES = 2_000_000  # the whole knowledge base is ~0.3 MB; an upload is capped at 1 MB before this
MAX_DEPTH = 64
MAX_NODES = 50_000  # the largest file has ~2,000
MAX_EXPANDED = 100_000  # nodes after every alias is expanded (the largest file: ~2,000)

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlevel = 2
_short.maxlist = _short.maxdict = _short.maxtuple = _short.maxset = 4


def short(value: Any) -> str:
    """A bounded repr for error texts: never more than ~150 characters, whatever the value."""
    text = _short.repr(value)
    return text if len(text) <= 150 else text[:149] + "…"


class YamlLimitError(yaml.MarkedYAMLError):
    """A document beyond one of the limits above."""


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def expanded_size(root: yaml.Node, limit: int = MAX_EXPANDED) -> int:
    """Nodes in the document once every alias is expanded, counted without expanding anything
    (each distinct node once, memoised: linear time). Raises YamlLimitError above ``limit`` or
    for an alias inside its own anchor (an infinite document)."""
    memo: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            size = 1 + sum(memo[id(c)] for c in _children(node))
            if size > limit:
                raise YamlLimitError(None, None, f"aliases expand to more than {format_number(limit)} nodes",
                                     node.start_mark)
            memo[key] = size
            continue
        if key in memo:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise YamlLimitError(None, None, "an alias refers to a node that contains it (recursive alias)",
                                     child.start_mark)
            if id(child) not in memo:
                stack.append((child, False))
    return memo[id(root)]


class LineDict(dict):
    """A mapping that knows the line of itself (`__line__`) and of each key (`key_lines`)."""

    __line__: int = 0
    key_lines: dict[str, int]


class _Limits(yaml.composer.Composer):
    """Composing with the limits above: nesting and nodes counted, aliases' expansion measured."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node, counting nesting and nodes (an alias is not a new node)."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlLimitError(None, None, f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            self._nodes += 1
            if self._nodes > MAX_NODES:
                raise YamlLimitError(None, None, f"more than {format_number(MAX_NODES)} nodes",
                                     self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Any:
        """Compose the document, then refuse it if its aliases expand beyond the limit."""
        node = super().compose_document()
        if node is not None:
            expanded_size(node)
        return node


class _PyLineLoader(_Limits, yaml.SafeLoader):
    """The pure Python safe loader with line numbers and limits."""


_LineLoader: type[Any] = _PyLineLoader
if getattr(yaml, "__with_libyaml__", False):

    class _CLineLoader(_Limits, yaml.cyaml.CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """The same with libyaml's parser (C) under the Composer: ~5× faster, while composing (so
        the limits and line numbers) stays in Python."""

        def __init__(self, stream: Any) -> None:
            yaml.cyaml.CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _LineLoader = _CLineLoader


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> LineDict:
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
                None, None, f"unhashable key {short(key)}", key_node.start_mark
            ) from exc
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {short(key)}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


for _loader in (_PyLineLoader, _LineLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class YamlError(ValueError):
    """A file that is not valid YAML; carries the line where the parser stopped."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        message = " ".join(message.split())
        if len(message) > 200:
            message = message[:199] + "…"
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: invalid YAML: {message}")


def load_yaml_text(text: str, path: str = "<text>") -> Any:
    """Parse YAML text with line tracking; raise YamlError on a syntax error or beyond a limit."""
    if len(text) > MAX_BYTES:
        raise YamlError(path, None, f"file too large ({format_number(len(text))} characters;"
                                    f" at most {format_number(MAX_BYTES)})")
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a safe loader
    except YamlLimitError as exc:
        raise _yaml_error(path, text, exc) from exc
    except yaml.YAMLError as exc:
        if _LineLoader is _PyLineLoader:
            raise _yaml_error(path, text, exc) from exc
        error = exc
    # A syntax error (rare): the pure Python parser words it better (it names the character).
    try:
        yaml.load(text, Loader=_PyLineLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        error = exc
    raise _yaml_error(path, text, error) from error


def _yaml_error(path: str, text: str, exc: yaml.YAMLError) -> YamlError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        # libyaml puts an error at the end of a file without a final newline on the line after it.
        line = min(mark.line + 1, text.count("\n") + 1) if mark else None
        return YamlError(path, line, str(exc.problem or exc.context or exc))
    return YamlError(path, None, str(exc))


def load_yaml_file(path: Path) -> Any:
    """Read and parse a YAML file (UTF-8)."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES * 4:  # bytes; a UTF-8 character is at most 4
            raise YamlError(str(path), None, f"file too large ({format_number(size)} bytes)")
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
