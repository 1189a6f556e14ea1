"""The package's shape stays one-way (docs/architecture.md): no import cycle, no import that
climbs a layer, no reaching into another module's private names, SQL only in the store, small
modules, and the launch options declared once. Read from the source with `ast`."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from nbexp._io.spawn import python_entry

from .conftest import REPO

PACKAGE = REPO / "src" / "nbexp"

# Lowest first; a module may import its own layer and those below. The public face (manager,
# CLI, magics and the package itself) sits on top and may import anything.
LAYERS = ["pure", "_core", "_io", "_exec", "_service", "_ui", "face"]
# Pure and at the bottom with _core: the public renderer and progress parser, and the loader
# of the compiled twin of metric extraction (nbexp._native, which imports nothing).
PURE = {"nbexp.terminal", "nbexp.progress", "nbexp._compiled"}
FACADES = {"nbexp.states": "_core", "nbexp.gpu": "_io"}  # public names re-exported from a layer
MAX_MODULE_LINES = 600
LONG_MODULES = {"nbexp.terminal"}  # the renderer: one concept, kept whole on purpose
MAX_FUNCTION_LINES = 60


@cache
def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


@cache
def tree(module: str) -> ast.Module:
    return ast.parse(modules()[module].read_text(encoding="utf-8"))


def imports(module: str) -> set[str]:
    """Every nbexp module `module` imports: at the top, inside functions, under TYPE_CHECKING."""
    is_package = modules()[module].name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    known = modules()
    # A package's __init__ holds no code that others depend on; `from x import y` names both.
    return {t for t in found if t in known and t != module and known[t].name != "__init__.py"}


def layer(module: str) -> str:
    if module in PURE:
        return "pure"
    if module in FACADES:
        return FACADES[module]
    parts = module.split(".")
    if len(parts) > 2 and parts[1] in LAYERS:
        return parts[1]
    return "face"


def test_no_import_cycles() -> None:
    graph = {m: imports(m) for m in modules()}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_imports_only_go_down_the_layers() -> None:
    climbs = [
        f"{module} ({layer(module)}) imports {target} ({layer(target)})"
        for module in modules()
        for target in imports(module)
        if LAYERS.index(layer(target)) > LAYERS.index(layer(module))
    ]
    assert climbs == []


def test_the_pure_layer_does_no_io() -> None:
    io_modules = {"subprocess", "sqlite3", "socket", "shutil", "fcntl", "pty", "select"}
    offenders = []
    for module in modules():
        if layer(module) not in ("pure", "_core"):
            continue
        for node in ast.walk(tree(module)):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module.split(".")[0]]
            offenders += [f"{module} imports {n}" for n in names if n in io_modules]
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
                offenders.append(f"{module} opens a file (line {node.lineno})")
    assert offenders == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("_")


# Private-looking names of the standard library that are its documented API.
STDLIB_PRIVATE_API = {"_exit", "_replace", "_asdict", "_fields", "_make", "_thread"}


def _defined_here(module: str) -> set[str]:
    """Names a module defines itself: its functions, classes, methods and `self._x` fields."""
    names = set()
    for node in ast.walk(tree(module)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def test_no_module_reaches_into_another_modules_private_names() -> None:
    offenders = []
    for module in modules():
        own = _defined_here(module)
        for node in ast.walk(tree(module)):
            if isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").startswith("nbexp")
            ):
                offenders += [
                    f"{module}: from {node.module} import {a.name}"
                    for a in node.names
                    if _private(a.name)
                ]
            elif isinstance(node, ast.Attribute) and _private(node.attr):
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                    continue
                if node.attr in STDLIB_PRIVATE_API or node.attr in own:
                    continue
                offenders.append(f"{module}:{node.lineno}: ._{node.attr[1:]}")
    assert offenders == []


SQL = re.compile(
    r"^\s*(SELECT\s.*\bFROM\b|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE (TABLE|INDEX)"
    r"|ALTER TABLE|PRAGMA |BEGIN\b|COMMIT\b|ROLLBACK\b)",
    re.S,
)


# queries; schema and connections; many rows at once; metric histories
STORE_MODULES = {
    "nbexp._io.store",
    "nbexp._io.database",
    "nbexp._io.listing",
    "nbexp._io.metric_store",
}


def test_only_the_store_speaks_sql() -> None:
    offenders = []
    for module in modules():
        if module in STORE_MODULES:
            continue
        for node in ast.walk(tree(module)):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and SQL.match(node.value):  # type: ignore[union-attr, arg-type]
                offenders.append(f"{module}:{node.lineno}: {node.value[:40]!r}")  # type: ignore[union-attr]
            if isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany"):
                offenders.append(f"{module}:{node.lineno}: .{node.attr}(")
    assert offenders == []


def test_modules_stay_small() -> None:
    big = {
        module: len(path.read_text(encoding="utf-8").splitlines())
        for module, path in modules().items()
        if module not in LONG_MODULES
    }
    assert {m: n for m, n in big.items() if n > MAX_MODULE_LINES} == {}


def test_functions_stay_short() -> None:
    long = []
    for module in modules():
        for node in ast.walk(tree(module)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name}: {length} lines")
    assert long == []


def test_executors_get_a_narrow_context() -> None:
    """An engine sees (home, store) and records: never the manager or the service."""
    for module in modules():
        if layer(module) == "_exec":
            assert not {t for t in imports(module) if layer(t) in ("_service", "_ui", "face")}


def test_launch_options_are_declared_once() -> None:
    from nbexp import ExperimentManager
    from nbexp._cli import build_parser
    from nbexp._core.options import LAUNCH_OPTIONS, LaunchOptions

    names = [o.name for o in LAUNCH_OPTIONS]
    assert names == list(LaunchOptions.__annotations__)
    create = inspect.signature(ExperimentManager.create).parameters
    run = inspect.signature(ExperimentManager.run).parameters
    assert [p for p in create if p not in ("self", "command")] == names
    assert [p for p in run if p not in ("self", "command")] == [*names, "queue", "force"]
    assert {k: v.default for k, v in create.items() if k in names} == {
        o.name: o.default for o in LAUNCH_OPTIONS
    }
    subparsers = next(a for a in build_parser()._actions if a.dest == "verb")
    for verb in ("run", "create"):
        dests = {a.dest for a in subparsers.choices[verb]._actions}  # type: ignore[attr-defined]
        assert set(names) <= dests, f"nbexp {verb} lacks {set(names) - dests}"


@pytest.mark.parametrize("old_path", ["nbexp._runner", "nbexp._scheduling"])
def test_module_paths_spawned_by_the_previous_version_still_work(old_path: str) -> None:
    # Runners started by nbexp 0.1 run `from nbexp._runner import main` and, when their
    # experiment ends, `from nbexp._scheduling import main`.
    assert callable(importlib.import_module(old_path).main)


def test_the_runner_imports_only_what_it_needs() -> None:
    # One runner lives beside every running experiment, and every module it imports is resident
    # memory (benchmarks/bench_runner.py): started as nbexp starts it, it must not pull in the
    # sqlite3 package (whose datetime adapters alone cost 0.3 MB), typing or pathlib, nor the
    # code it needs only at the end of a run or for a time limit.
    boot = python_entry("nbexp._exec.runner")[1].replace("; main()", "")
    probe = boot + "; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, python_entry("nbexp._exec.runner")[2]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "nbexp._exec.runner" in out and "_sqlite3" in out  # the probe imported the runner
    unwanted = {
        "datetime", "sqlite3", "typing", "dataclasses", "pathlib", "subprocess",
        "nbexp._core.durations", "nbexp._core.failures", "nbexp._exec.pty_output",
    }  # fmt: skip
    assert unwanted.isdisjoint(out), sorted(unwanted.intersection(out))
