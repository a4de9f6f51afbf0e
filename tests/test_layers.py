"""The pure core imports no I/O library and reads no clock, so it can be tested and reasoned about alone."""

from __future__ import annotations

import ast

import pytest

from .conftest import ROOT

CORE = [
    "desired/model", "desired/rules", "desired/template", "desired/validate", "desired/payload",
    "edrv/wire", "desired/ids", "desired/typeerrors", "plan/catalog", "errors", "state/recorded",
    "plan/site", "render/text", "render/markdown", "plan/outcome", "plan/saved", "plan/sessions",
    "ocpp/charger", "ocpp/schedule", "ocpp/recurrence", "plan/siteschedule", "plan/power",
    "desired/gridguard", "render/power", "plan/change", "plan/station", "plan/safety",
]  # fmt: skip
FORBIDDEN_MODULES = {
    "httpx",
    "yaml",
    "click",
    "os",
    "socket",
    "subprocess",
    "asyncio",
    "pathlib",
    "shutil",
    "time",
    "zoneinfo",
    "random",
    "tempfile",
    "io",
    "sys",
}
FORBIDDEN_CALLS = {"open", "print", "input"}
CLOCK_ATTRIBUTES = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def _tree(module: str) -> ast.Module:
    return ast.parse((ROOT / "reconciler" / f"{module}.py").read_text(), filename=module)


def _name(module: str) -> str:
    return "reconciler." + module.replace("/", ".")


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_io_library(module: str) -> None:
    """A core module imports none of the network, file, terminal or clock libraries."""
    imported = set()
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN_MODULES


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_only_core_modules_of_the_package(module: str) -> None:
    """A core module reaches no adapter through the package, so purity holds transitively."""
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reconciler"):
            names = [node.module]
            if node.module in {
                "reconciler",
                "reconciler.desired",
                "reconciler.ocpp",
                "reconciler.plan",
                "reconciler.state",
                "reconciler.edrv",
                "reconciler.render",
            }:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            core = {_name(m) for m in CORE} | {"reconciler.__init__", "reconciler.__version__"}
            assert set(names) <= core, f"{module} imports {names}"


@pytest.mark.parametrize("module", CORE)
def test_core_module_calls_no_io_builtin_or_clock(module: str) -> None:
    """A core module neither opens files nor prints nor asks the clock; `now` is always a parameter."""
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Call):
            func = node.func
            assert not (isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS), f"{module}: {func.id}()"
            assert not (isinstance(func, ast.Attribute) and func.attr in CLOCK_ATTRIBUTES), (
                f"{module}: .{func.attr}()"
            )


def test_every_package_module_is_classified() -> None:
    """Each module is either core or a known edge, so a new module must choose its layer."""
    edges = {
        "__init__", "__main__", "cli/main", "cli/options", "cli/inspect", "cli/sandbox", "desired/loader",
        "state/store", "shell/reconcile", "edrv/client", "shell/apply", "shell/sites",
    }  # fmt: skip
    package = ROOT / "reconciler"
    modules = {
        p.relative_to(package).with_suffix("").as_posix()
        for p in package.rglob("*.py")
        if p.parts[-2] != "sandbox" and (p.name != "__init__.py" or p.parent == package)
    }
    assert modules == set(CORE) | edges
