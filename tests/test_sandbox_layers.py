"""The sandbox is a program of its own inside the package: only the CLI reaches it, and lazily."""

from __future__ import annotations

import ast
import subprocess
import sys

from .conftest import ROOT


def test_only_the_cli_imports_the_sandbox() -> None:
    """Only `cli/sandbox` imports `reconciler.sandbox`, so the tool never depends on it."""
    importers = set()
    for path in (ROOT / "reconciler").rglob("*.py"):
        if "sandbox" in path.relative_to(ROOT / "reconciler").parts[:-1]:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any(name.startswith("reconciler.sandbox") for name in names):
                importers.add(path.relative_to(ROOT / "reconciler").with_suffix("").as_posix())
    assert importers == {"cli/sandbox"}


def test_cli_starts_without_the_sandbox_servers() -> None:
    """Loading the CLI leaves aiohttp and the OCPP server side unloaded until a sandbox command runs."""
    probe = (
        "import sys, reconciler.cli.main;"
        "print(sorted(m for m in ('aiohttp', 'reconciler.sandbox.server') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert loaded.stdout.strip() == "[]"
