"""The product (bridge/, handlers/) never imports development tools (devtools/: the demo, the
browser sandbox, the private Redis) nor the emulators."""
from __future__ import annotations

import ast

from tests.conftest import ROOT


def test_bridge_and_handlers_do_not_import_devtools_or_emulators():
    offenders = []
    for package in ("bridge", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names
                              if n.split(".")[0] in ("devtools", "emulators", "tests")]
    assert not offenders, offenders


def _redis_uses(path) -> list[str]:
    """``import redis`` and every ``<x>.r`` / ``<x>.redis`` attribute (a Redis client) in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "redis" for a in node.names):
            found.append(f"{node.lineno}: import redis")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "redis":
            found.append(f"{node.lineno}: from redis")
        elif isinstance(node, ast.Attribute) and node.attr in ("r", "redis"):
            found.append(f"{node.lineno}: .{node.attr}")
    return found


def test_friend_canned_and_automation_state_is_reached_only_through_the_store():
    """Only bridge/store touches Redis for domain state: the 友だち情報, 定型文, broadcast and automation
    components (and the handlers that read them) call store methods, never a Redis client."""
    engine = {"jobs.py", "ticker.py"}   # the sweep's locks belong to the queue engine
    paths = [p for p in (ROOT / "bridge" / "friends").glob("*.py")]
    paths += [p for p in (ROOT / "bridge" / "automation").glob("*.py") if p.name not in engine]
    paths += [ROOT / "handlers" / "slack" / name for name in ("friends.py", "home.py", "pending.py", "canned.py")]
    offenders = [f"{p.relative_to(ROOT)}:{use}" for p in paths for use in _redis_uses(p)]
    assert not offenders, offenders


def _imports_of(path, package: str) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package):
            out.add(node.module)
    return out


def test_the_store_package_imports_in_one_direction():
    """bridge/store imports nothing from the components above it, and its modules form no circle."""
    modules = {p.stem: p for p in (ROOT / "bridge" / "store").glob("*.py")}
    above = [f"{name}: {m}" for name, p in modules.items() for m in _imports_of(p, "bridge.")
             if m.split(".")[1] in ("friends", "automation", "relay", "triage", "slack", "line", "media")
             and m != "bridge.triage.marks"]
    assert not above, above
    graph = {name: {m.rsplit(".", 1)[1] for m in _imports_of(p, "bridge.store.")} for name, p in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join(path + (name,))
        if name in done:
            return
        for nxt in graph.get(name, ()):
            visit(nxt, path + (name,))
        done.add(name)

    for name in graph:
        visit(name, ())
