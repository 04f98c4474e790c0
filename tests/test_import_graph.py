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
