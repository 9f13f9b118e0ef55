"""The shape of the package: no import circles, imports at module level, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "condensekit"
#: Imports that may stay inside a function: optional or heavy dependencies loaded on demand.
LAZY_ALLOWED = {"torchvision"}
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(name: str) -> set[str]:
    """Modules of the package that ``name`` imports when it is imported."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
                for alias in node.names:  # a submodule named in the import is imported itself
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in MODULES else target)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                module = node.module if isinstance(node, ast.ImportFrom) else None
                names = [module] if module else [a.name for a in node.names]
                found.update(n for n in names if n in MODULES)
            elif isinstance(node, ast.If | ast.Try | ast.With):
                visit([*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])])

    visit(ast.parse(path.read_text()).body)
    found.discard(name)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (module -> modules it imports), or None."""
    # a package's __init__ importing its own submodules is how packages work; a submodule
    # importing a package that (through its __init__) imports it back is a circle
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for name in graph:
        if name not in state and (found := walk(name)):
            return found
    return None


def test_the_import_graph_finds_imports():
    assert "condensekit.strategies.base" in _runtime_imports("condensekit.methods")
    assert "condensekit.loop" in _runtime_imports("condensekit.strategies.base")


def test_the_circle_finder_finds_circles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circles():
    circle = _cycle({name: _runtime_imports(name) for name in MODULES})
    assert circle is None, " -> ".join(circle)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_at_module_level(name):
    tree = ast.parse(MODULES[name].read_text())
    inner = [
        node
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(fn)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    late = [
        f"line {n.lineno}"
        for n in inner
        if not any(
            (getattr(n, "module", None) or "").startswith(lib)
            or any(a.name.startswith(lib) for a in n.names)
            for lib in LAZY_ALLOWED
        )
    ]
    assert not late, f"{name} imports inside functions at {late}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES})"
