"""The code's layout: no import cycle between the library's modules and the book's presentation helpers
(``book/_lib``, imported as ``_lib``), and no module too long to read."""
import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: each package's import name and folder
PACKAGES = {"replication": REPO / "src" / "replication", "_lib": REPO / "book" / "_lib"}
MAX_LINES = 400


def module_name(path: Path) -> str:
    for name, folder in PACKAGES.items():
        if folder in path.parents:
            parts = [name, *path.relative_to(folder).with_suffix("").parts]
            return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    raise ValueError(path)


def modules() -> dict[str, Path]:
    return {module_name(p): p for folder in PACKAGES.values() for p in sorted(folder.rglob("*.py"))}


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The package's own modules that ``path`` imports anywhere (function-local imports included).

    ``from replication.fit import x`` is an import of the submodule ``replication.fit.x`` when that file
    exists, else of the package ``replication.fit`` (its ``__init__``)."""
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module not in known:
                continue
            submodules = {f"{module}.{a.name}" for a in node.names} & set(known)
            found |= submodules or {module}
            if len(submodules) < len(node.names):
                found.add(module)
    found.discard(this)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_between_modules():
    known = modules()
    graph = {name: imports(path, known) for name, path in known.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_over_400_lines(name):
    lines = len(modules()[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES})"


def test_the_presentation_helpers_are_seen_and_point_one_way():
    known = modules()
    assert "_lib.tables" in known and "replication.verdict" in known
    graph = {name: imports(path, known) for name, path in known.items()}
    assert any(dep.startswith("replication") for dep in graph["_lib.tables"] | graph.get("_lib.study", set()))
    back = {(a, b) for a, deps in graph.items() if a.startswith("replication") for b in deps if b.startswith("_lib")}
    assert not back, f"the library imports the book's helpers: {sorted(back)}"
