"""The layers depend one way: knowledge → engine → services → transports (docs/architecture.md).
Read from the source with ast, so that a lazy import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"
# What each layer may not import (a package prefix).
FORBIDDEN = {
    "knowledge": ("bot.engine", "bot.services", "bot.transports", "telegram", "bench"),
    "engine": ("bot.services", "bot.transports", "telegram", "bench"),
    "services": ("bot.transports", "telegram", "bench"),
    "transports": ("bench",),
}


def imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names; relative imports resolved against bot/)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(BOT.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_downwards(layer: str) -> None:
    bad = []
    for path in sorted((BOT / layer).rglob("*.py")):
        for name in imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(BOT.parent)} imports {name}")
    assert bad == []


def test_the_bot_package_never_imports_bench() -> None:
    bad = [f"{p.relative_to(BOT.parent)} imports {n}" for p in sorted(BOT.rglob("*.py")) for n in imports(p)
           if n == "bench" or n.startswith("bench.")]
    assert bad == []


def test_the_checker_sees_lazy_imports() -> None:
    """The checker itself: an import inside a function counts."""
    assert "bot.cli" in imports(BOT / "commands.py")  # imported inside functions only


IO_MODULES = ("os", "pathlib", "io", "shutil", "sqlite3", "aiosqlite", "asyncio", "subprocess", "socket", "httpx")


def test_the_engine_does_no_io() -> None:
    """The engine is pure: it reads no file and opens nothing (building one from files is
    services.loading's job)."""
    bad = []
    for path in sorted((BOT / "engine").rglob("*.py")):
        bad += [f"{path.name} imports {n}" for n in imports(path) if n.split(".")[0] in IO_MODULES]
        calls = ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        bad += [f"{path.name} calls open()" for c in calls
                if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == "open"]
    assert bad == []
