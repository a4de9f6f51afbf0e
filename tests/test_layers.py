"""The package's architecture, enforced: wings in layers with no import running back up, and a pure core.

Wings from the bottom up (each `__init__.py` says what it holds): `errors`, `ocpp`, `desired`, `state`,
`edrv`, `plan`, `render`, `shell`, `sandbox`, `cli`. A module may import its own wing and the wings below
it. Every module is pure (no I/O library, no clock, no print) unless it is one of the named edges.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "reconciler"
WINGS = ["errors", "ocpp", "desired", "state", "edrv", "plan", "render", "shell", "sandbox", "cli"]
# The modules that may touch the outside world; every other module is pure.
EDGES = {
    "desired/loader",  # reads YAML files
    "desired/yamlread",  # PyYAML: the YAML dialect of site files, from text already read
    "desired/bounds",  # reads input files within their size bounds, settable by the environment
    "desired/glance",  # glances at site files (their station ids and zone) through the loader
    "desired/schemacache",  # keeps the digests of bodies that passed the schema in the user's cache
    "state/store",  # reads and writes state files
    "state/files",  # atomic writes, the per-site lock and leftover temporary files
    "edrv/client",  # httpx
    "edrv/inbox",  # the inbox's SQLite database
    "edrv/remote_inbox",  # httpx, to a receiver
    "edrv/settings",  # the environment and the key file
    "shell/network",  # lists site and state files, glances at them
    "shell/reconcile",
    "shell/apply",
    "shell/apply_sites",  # one eDRV client (httpx) for the plans of several sites
    "shell/writer",  # writes state on a worker thread while apply sends
    "shell/sites",  # one git call
    "shell/receiver",  # aiohttp server
    "shell/inbox_workers",  # threads writing and reading the inbox
    "shell/ingest",  # reads the inbox, writes state files under their locks
    "shell/drift",  # asks eDRV for composite schedules, reads the inbox, writes state files
}
FORBIDDEN_MODULES = {
    "httpx",
    "yaml",
    "click",
    "aiohttp",
    "os",
    "socket",
    "subprocess",
    "asyncio",
    "pathlib",
    "shutil",
    "sqlite3",
    "time",
    "zoneinfo",
    "random",
    "tempfile",
    "io",
    "sys",
}
FORBIDDEN_CALLS = {"open", "print", "input"}
CLOCK_ATTRIBUTES = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def _modules() -> dict[str, Path]:
    """Every module of the package by its path without suffix (`plan/site`), `__init__`s of wings left out."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).with_suffix("").as_posix()
        if path.name == "__init__.py" and path.parent != PACKAGE:
            continue
        found[name] = path
    return found


MODULES = _modules()
PURE = sorted(
    name for name in MODULES if name not in EDGES and not name.startswith(("cli/", "sandbox/", "__"))
)


def _wing(module: str) -> str:
    if "/" not in module:  # the package's own `__init__` and `errors` are the floor; `__main__` is the CLI
        return "cli" if module == "__main__" else "errors"
    return module.split("/", maxsplit=1)[0]


def _imports(module: str) -> list[tuple[str, ...]]:
    """The package modules `module` imports, as dotted parts after `reconciler`, one entry per name."""
    tree = ast.parse(MODULES[module].read_text(), filename=module)
    found: list[tuple[str, ...]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [tuple(a.name.split(".")[1:]) for a in node.names if a.name.startswith("reconciler.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = tuple(node.module.split("."))
            if parts[0] == "reconciler":
                found += [(*parts[1:], alias.name) for alias in node.names]
    return found


def _external(module: str) -> set[str]:
    imported = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(), filename=module)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    return imported


def test_every_module_lives_in_a_wing() -> None:
    """The top level holds only the entry points and the error tree; everything else sits in a wing."""
    top = {name for name in MODULES if "/" not in name}
    assert top == {"__init__", "__main__", "errors"}
    assert {_wing(name) for name in MODULES if "/" in name} <= set(WINGS)
    entries = {p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    assert len(entries) <= 12, sorted(entries)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_back_up_between_wings(module: str) -> None:
    """A module imports only its own wing and the wings below it, so each layer can be read alone."""
    level = WINGS.index(_wing(module))
    for parts in _imports(module):
        if parts[0] in {"__version__"}:
            continue
        assert WINGS.index(parts[0]) <= level, f"{module} imports reconciler.{'.'.join(parts)}"


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_io_library(module: str) -> None:
    """A pure module imports none of the network, file, terminal, database or clock libraries."""
    assert not _external(module) & FORBIDDEN_MODULES


@pytest.mark.parametrize("module", PURE)
def test_pure_module_reaches_no_edge(module: str) -> None:
    """A pure module imports no edge of the package, so purity holds transitively."""
    for parts in _imports(module):
        path = "/".join(parts[:2])
        assert path not in EDGES, f"{module} imports {path}"
        assert parts[0] not in {"shell", "cli", "sandbox"}, f"{module} imports {path}"


@pytest.mark.parametrize("module", PURE)
def test_pure_module_calls_no_io_builtin_or_clock(module: str) -> None:
    """A pure module neither opens files nor prints nor asks the clock; `now` is always a parameter."""
    for node in ast.walk(ast.parse(MODULES[module].read_text(), filename=module)):
        if isinstance(node, ast.Call):
            func = node.func
            assert not (isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS), f"{module}: {func.id}()"
            assert not (isinstance(func, ast.Attribute) and func.attr in CLOCK_ATTRIBUTES), (
                f"{module}: .{func.attr}()"
            )


@pytest.mark.parametrize("wing", [w for w in WINGS if w != "errors"])
def test_each_wing_says_what_it_holds_and_may_import(wing: str) -> None:
    """Every wing's `__init__.py` opens with a docstring that names what the wing may import."""
    doc = ast.get_docstring(ast.parse((PACKAGE / wing / "__init__.py").read_text()))
    assert doc, f"{wing}/__init__.py has no docstring"
    assert "import" in doc, f"{wing}/__init__.py does not say what it may import"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_400_lines(module: str) -> None:
    """Modules stay small enough to read in one sitting; one near 400 lines is split by what it holds."""
    assert len(MODULES[module].read_text().splitlines()) <= 400
