"""The package as a learner reads it: no import circle, no long module, a complete module map,
docstrings that name the notebook teaching them, and notebooks that import lesson modules only."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "helpers"
MAX_LINES = 300
# Modules a notebook reads from: each may be opened by a learner. Plumbing modules start with "_".
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def modules() -> dict[str, Path]:
    return {f"helpers.{p.stem}" if p.stem != "__init__" else "helpers": p for p in sorted(PACKAGE.glob("*.py"))}


def _runtime_nodes(tree: ast.AST):
    """Every node, but not those under ``if TYPE_CHECKING:`` (type hints, never imported)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        yield node
        yield from _runtime_nodes(node)


def imports_of(path: Path) -> set[str]:
    """Every ``helpers`` module ``path`` imports, at the top or inside a function (not those
    only for type hints)."""
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("helpers")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}  # from helpers import x
    return found & set(modules())


def import_graph() -> dict[str, set[str]]:
    graph = {name: imports_of(path) - {name} for name, path in modules().items()}
    graph["helpers"] = set()  # the package itself only sets an environment variable
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle_in_helpers():
    graph = import_graph()
    assert len(graph) > 20 and any(graph.values())  # really read the package
    assert find_cycle(graph) is None, f"import circle: {' -> '.join(find_cycle(graph))}"


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_longer_than_a_sitting(name):
    lines = len(modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it (at most {MAX_LINES})"


def test_the_module_map_lists_every_module():
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8")))
    listed = set(re.findall(r"``(helpers\.\w+)``", doc))
    assert listed == set(modules()) - {"helpers", "helpers.__init__"}, sorted(set(modules()) ^ listed)


def _notebook_imports(path: Path) -> set[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return set(re.findall(r"^\s*from (helpers[.\w]*) import", code, flags=re.M))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_import_lesson_modules_not_plumbing(notebook):
    imported = _notebook_imports(notebook)
    assert imported, "no helpers import found: the pattern is wrong"
    plumbing = {m for m in imported if m.rsplit(".", 1)[-1].startswith("_")}
    assert not plumbing, f"{notebook.name} imports plumbing modules {sorted(plumbing)}"
    assert imported <= set(modules()), sorted(imported - set(modules()))


def _public_functions(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            yield node


LESSON_MODULES = sorted(name for name in modules() if not name.rsplit(".", 1)[-1].startswith("_")
                        and name not in {"helpers", "helpers.__main__"})


@pytest.mark.parametrize("name", LESSON_MODULES)
def test_public_functions_name_the_notebook_that_teaches_them(name):
    """Each public function or class says where it is taught (a notebook), or that no notebook
    uses it (``Not in a notebook``), so a learner can go from the code to the lesson."""
    real = {p.name for p in NOTEBOOKS}
    missing, wrong = [], []
    for node in _public_functions(modules()[name]):
        doc = ast.get_docstring(node) or ""
        named = re.findall(r"notebooks/(\d\d_\w+\.ipynb)", doc)
        if not named and "Not in a notebook" not in doc:
            missing.append(node.name)
        wrong += [n for n in named if n not in real]
    assert not wrong, f"{name}: docstrings name notebooks that do not exist: {wrong}"
    assert not missing, f"{name}: these do not say which notebook teaches them: {missing}"


def _names_imported_from_helpers(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` for every ``from helpers.x import name`` in ``path``, wherever it sits."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.module, alias.name) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers")
            for alias in node.names]


@pytest.mark.parametrize("script", sorted((ROOT / "bench").glob("*.py")), ids=lambda p: p.name)
def test_bench_scripts_import_names_that_exist(script):
    """The benchmark scripts run only by hand or by `make bench`; a name moved inside helpers
    must not leave one of them failing on its first line."""
    import importlib
    import importlib.util

    def exists(module: str, name: str) -> bool:
        return (hasattr(importlib.import_module(module), name)
                or importlib.util.find_spec(f"{module}.{name}") is not None)

    missing = [f"{module}.{name}" for module, name in _names_imported_from_helpers(script)
               if not exists(module, name)]
    assert not missing, f"{script.name} imports names helpers no longer has: {missing}"


def test_the_repository_tracks_no_symbolic_links():
    import subprocess

    root = PACKAGE.parent
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(["git", "ls-files", "-s"], cwd=root, capture_output=True, text=True, check=True).stdout
    links = [line.split("\t", 1)[1] for line in listing.splitlines() if line.startswith("120000 ")]
    assert not links, f"tracked symbolic links (they point at one machine's files): {links}"
