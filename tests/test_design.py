"""The house rules that keep rnnax navigable: every module says what it holds, imports go one
way between the layers, and ``docs/design.md`` lists every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rnnax"
MODULES = sorted(
    path.relative_to(ROOT).as_posix()
    for path in PACKAGE.rglob("*.py")
    if "__pycache__" not in path.parts
)

# What each layer may import from rnnax (besides itself). The core is everything that is not a
# subpackage named below; training is generic and never sees a forecaster.
LAYERS = {
    "core": set(),
    "data": {"core"},
    "evaluation": {"core", "data"},
    "forecasting": {"core", "data", "evaluation"},
    "training": {"core", "data", "evaluation"},
    "compare": {"core", "data", "evaluation", "forecasting", "training"},
    "pipeline": {"core", "data", "evaluation", "forecasting", "training"},
    "bench": {"core", "data", "evaluation", "forecasting", "training", "compare"},
    "cli": {
        "core",
        "data",
        "evaluation",
        "forecasting",
        "training",
        "compare",
        "bench",
        "pipeline",
    },
}


def _layer(module: str) -> str:
    """The layer of a dotted module name inside rnnax (``rnnax.training._loop`` -> training)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "core"  # the package's __init__: the core's re-exports and lazy subpackages
    name = parts[1]
    if name in ("data", "evaluation", "forecasting", "training", "compare", "pipeline", "cli"):
        return name
    if name == "__main__":
        return "cli"
    if name == "_bench":
        return "bench"
    return "core"


def _dotted(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _rnnax_imports(path: str) -> set[str]:
    """Every rnnax module that ``path`` imports, at any depth of its code."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "rnnax" or name.startswith("rnnax.")}


@pytest.mark.parametrize("path", MODULES)
def test_every_module_says_what_it_holds(path: str) -> None:
    docstring = ast.get_docstring(ast.parse((ROOT / path).read_text(encoding="utf-8")))
    assert docstring and len(docstring.split()) >= 4, f"{path} has no module docstring"


@pytest.mark.parametrize("path", MODULES)
def test_imports_go_one_way_between_layers(path: str) -> None:
    own = _layer(_dotted(path))
    allowed = LAYERS[own] | {own}
    wrong = sorted(
        name for name in _rnnax_imports(path) if name != "rnnax" and _layer(name) not in allowed
    )
    assert not wrong, f"{path} ({own}) imports from a layer above it or beside it: {wrong}"


def test_design_notes_list_every_module() -> None:
    notes = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    listed = {line.split("`")[1] for line in notes.splitlines() if line.startswith("| `rnnax/")}
    assert listed == set(MODULES), (
        f"docs/design.md misses {sorted(set(MODULES) - listed)} and lists removed modules "
        f"{sorted(listed - set(MODULES))}"
    )


def test_api_contract_is_in_the_repository() -> None:
    assert (ROOT / "docs" / "API.md").is_file() and (ROOT / "docs" / "PERFORMANCE.md").is_file()
