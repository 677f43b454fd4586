"""Layers import downward only (``/work/shared/design/STYLE.md``): every ``import`` in cnncost — at module level
and inside functions alike, since a function-level import that goes up the layers is still a cycle — goes to
its own package or to one below it, and no package-level cycle exists. The pure layers (analysis, spec, ops)
import no torch, typer, rich or pydantic at module level, so the fast commands start without them.

The order is data (``LAYERS``): a new top-level module or package of cnncost fails here until it is placed.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import cnncost

PACKAGE = Path(cnncost.__file__).resolve().parent

#: Bottom first: a module may import from its own layer entry and from any entry before it, never after.
#: ``cnncost`` is the package's own ``__init__`` (a lazy facade over the API).
LAYERS: tuple[str, ...] = (
    "version",
    "frozen",
    "errors",
    "limits",
    "atomic",
    "cachefiles",
    "ir",
    "ops",
    "spec",
    "analysis",
    "torch",
    "bench",
    "cache",
    "tablecache",
    "api",
    "cnncost",
    "render",
    "console",
    "memview",
    "docs",
    "cliparams",
    "cli_train",
    "cli",
    "entry",
    "__main__",
)

#: Third-party packages the pure layers must not import at module level.
HEAVY = ("torch", "typer", "click", "rich", "pydantic")
PURE = ("analysis", "spec", "ops")
#: Modules of a pure layer that exist to hold PyTorch code, imported only inside the function bodies of the ops'
#: ``build``/``reverse`` facets (checked below: nothing imports them at module level).
TORCH_ONLY = {"cnncost.ops.torch_modules"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str, root: Path) -> str:
    """The layer entry of a dotted cnncost module name: its top-level package or module under cnncost."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "cnncost"


def imports(path: Path, root: Path) -> list[tuple[str, int, bool]]:
    """(imported cnncost-or-other module, line, at module level) for every import statement in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    for node in tree.body:  # module-level `if TYPE_CHECKING:`/`try:` blocks still run (or type) at import time
        if isinstance(node, (ast.If, ast.Try)):
            top_level |= {id(child) for child in ast.walk(node) if isinstance(child, (ast.Import, ast.ImportFrom))}
    found: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        level = id(node) in top_level
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target == root.name:  # `from cnncost import ir, __version__`: a submodule, else the package itself
                for alias in node.names:
                    sub = root / alias.name
                    is_module = sub.is_dir() or sub.with_suffix(".py").is_file()
                    found.append((f"{target}.{alias.name}" if is_module else target, node.lineno, level))
            else:
                found.append((target, node.lineno, level))
    return found


def edges(root: Path) -> dict[tuple[str, str], list[str]]:
    """Package-level import edges (importer's unit → imported unit) with where each comes from."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        source = unit_of(module_name(path, root), root)
        for target, line, _ in imports(path, root):
            if target == root.name or target.startswith(root.name + "."):
                dest = unit_of(target, root)
                if dest != source:
                    out[(source, dest)].append(f"{path.relative_to(root.parent)}:{line}")
    return out


def upward_imports(root: Path) -> list[str]:
    rank = {name: i for i, name in enumerate(LAYERS)}
    return [
        f"{src} → {dst} goes up the layers ({', '.join(where)})"
        for (src, dst), where in sorted(edges(root).items())
        if rank[dst] > rank[src]
    ]


def cycles(root: Path) -> list[list[str]]:
    """Every package-level cycle, found as the strongly connected components with more than one package."""
    graph: dict[str, set[str]] = defaultdict(set)
    for src, dst in edges(root):
        graph[src].add(dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def units(root: Path) -> set[str]:
    return {unit_of(module_name(path, root), root) for path in root.rglob("*.py")}


def test_every_package_has_a_layer() -> None:
    missing = units(PACKAGE) - set(LAYERS)
    assert not missing, f"place {sorted(missing)} in LAYERS (tests/test_layering.py)"


def test_no_import_goes_up_the_layers() -> None:
    assert upward_imports(PACKAGE) == []


def test_no_package_level_cycle() -> None:
    assert cycles(PACKAGE) == []


@pytest.mark.parametrize("layer", PURE)
def test_pure_layers_import_nothing_heavy_at_module_level(layer: str) -> None:
    offending = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        if module_name(path, PACKAGE) in TORCH_ONLY:
            continue
        for target, line, at_module_level in imports(path, PACKAGE):
            if at_module_level and target.split(".")[0] in HEAVY:
                offending.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
            if at_module_level and target in TORCH_ONLY:
                offending.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target} at module level")
    assert offending == []


def test_pure_layers_load_without_heavy_packages() -> None:
    """Importing every module of analysis, spec and ops (and the cache) brings none of the heavy packages in."""
    found = sorted(module_name(path, PACKAGE) for layer in PURE for path in (PACKAGE / layer).rglob("*.py"))
    modules = [m for m in found if m not in TORCH_ONLY] + ["cnncost.cache"]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_checker_sees_a_cycle_and_an_upward_import(tmp_path: Path) -> None:
    """The checks above can fail: a toy package with a function-level import up the layers and a cycle."""
    root = tmp_path / "cnncost"
    (root / "spec").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "errors.py").write_text("def f():\n    from cnncost.spec import x\n")
    (root / "spec" / "__init__.py").write_text("from cnncost import errors\n")
    (root / "spec" / "x.py").write_text("")
    assert upward_imports(root) == ["errors → spec goes up the layers (cnncost/errors.py:2)"]
    assert cycles(root) == [["errors", "spec"]]


#: The one module that may import matplotlib (``cnncost plot``), and only inside its functions.
PLOTTING = "cnncost.render.plot"


def test_matplotlib_is_imported_only_by_the_plot_module_inside_functions() -> None:
    offending = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path, PACKAGE)
        for target, line, at_module_level in imports(path, PACKAGE):
            if target.split(".")[0] == "matplotlib" and (module != PLOTTING or at_module_level):
                offending.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert offending == []
    assert any(t.startswith("matplotlib") for t, _, _ in imports(PACKAGE / "render" / "plot.py", PACKAGE))


def test_the_cli_and_the_plot_module_load_without_matplotlib() -> None:
    code = (
        "import sys\n"
        "import cnncost.cli, cnncost.render.plot, cnncost.docs\n"
        "print('matplotlib' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
