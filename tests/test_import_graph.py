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


# Circles outside the relay that another change removes; the merge deletes each line as it is fixed.
KNOWN_CIRCLES: set[frozenset[str]] = set()


def _module_name(path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def _module_imports(name: str, path, modules: set[str]) -> set[str]:
    """The bridge modules ``name`` imports at module level (``if TYPE_CHECKING:`` imports count too:
    they are a dependency all the same); imports inside functions do not."""
    found: set[str] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    todo = list(ast.parse(path.read_text(encoding="utf-8")).body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
        else:
            todo.extend(ast.iter_child_nodes(node))
    return {m for m in found if m in modules and m != name}


def import_circles() -> list[set[str]]:
    """The groups of bridge modules that import each other in a circle (strongly connected components)."""
    paths = {_module_name(p): p for p in (ROOT / "bridge").rglob("*.py")}
    graph = {name: _module_imports(name, path, set(paths)) for name, path in paths.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                circles.append(group)

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return circles


def test_no_bridge_modules_import_each_other_in_a_circle():
    circles = [sorted(c) for c in import_circles() if frozenset(c) not in KNOWN_CIRCLES]
    assert not circles, circles


def test_the_circle_finder_finds_a_circle(tmp_path, monkeypatch):
    import tests.test_import_graph as me

    (tmp_path / "bridge" / "relay").mkdir(parents=True)
    (tmp_path / "bridge" / "__init__.py").write_text("")
    (tmp_path / "bridge" / "relay" / "__init__.py").write_text("")
    (tmp_path / "bridge" / "relay" / "a.py").write_text("from bridge.relay.b import B\n")
    (tmp_path / "bridge" / "relay" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bridge.relay import a\n")
    (tmp_path / "bridge" / "relay" / "c.py").write_text("def f():\n    from bridge.relay import a\n")
    monkeypatch.setattr(me, "ROOT", tmp_path)
    assert [sorted(c) for c in import_circles()] == [["bridge.relay.a", "bridge.relay.b"]]


def test_the_undo_window_imports_nothing_from_the_relay():
    paths = {_module_name(p) for p in (ROOT / "bridge").rglob("*.py")}
    imported = _module_imports("bridge.relay.undo", ROOT / "bridge" / "relay" / "undo.py", paths)
    assert imported and not {m for m in imported if m.startswith("bridge.relay")}, imported


# The house rule (docs/architecture.md): split a module by responsibility before it grows past
# ~400 lines or a class past ~250. A little slack, so the test fails on a real outgrowth, not a comment.
MODULE_LINES, CLASS_LINES = 420, 260


def test_no_module_or_class_has_outgrown_its_responsibility():
    too_big = []
    for path in sorted((ROOT / "bridge").rglob("*.py")) + sorted((ROOT / "handlers").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > MODULE_LINES:
            too_big.append(f"{path.relative_to(ROOT)}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > CLASS_LINES:
                too_big.append(f"{path.relative_to(ROOT)}: class {node.name} {node.end_lineno - node.lineno + 1} lines")
    assert not too_big, too_big
