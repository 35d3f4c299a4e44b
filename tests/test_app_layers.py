"""The shape of ``annie.app``: no import circle (checked on the source, imports inside functions
included), every module importable on its own, no run-kind branching outside the recipes,
every recipe complete, and docs/cli.md generated from the schema as it is now."""
import ast
import pathlib
import subprocess
import sys

import pytest

import annie.app
from annie.app import config as run_config, recipes

APP = pathlib.Path(annie.app.__file__).parent
CLI = APP.parent / "cli.py"
DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "cli.md"
# each module may import only modules of an earlier layer (or of its own package)
LAYERS = [{"annie.app.schema"}, {"annie.app.recipes"}, {"annie.app.config", "annie.app.presets"},
          {"annie.app.rundir"}, {"annie.app.run"}, {"annie.app", "annie.cli"}]


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(APP.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: pathlib.Path) -> set[str]:
    """Every annie.app module (or annie.cli) that the file imports, anywhere in it."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # "from . import recipes" imports the module recipes; "from .schema import Key"
            # imports the module schema
            modules = [f"{base}.{alias.name}" for alias in node.names
                       if f"{base}.{alias.name}" in KNOWN]
            targets = modules or [base]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        found |= {target for target in targets
                  if target.startswith("annie.app") or target == "annie.cli"}
    return found


KNOWN = {module_name(path) for path in sorted(APP.rglob("*.py")) + [CLI]}


def layer_of(name: str) -> int:
    for index, layer in enumerate(LAYERS):
        if any(name == member or name.startswith(member + ".") for member in layer
               if member != "annie.app"):
            return index
    return len(LAYERS) - 1 if name == "annie.app" else -1


def app_files():
    return sorted(APP.rglob("*.py")) + [CLI]


def test_no_module_imports_a_later_layer_so_there_is_no_circle():
    graph = {}
    for path in app_files():
        name = module_name(path)
        graph[name] = {target for target in imported_modules(path) if target in
                       {module_name(other) for other in app_files()}}
        for target in graph[name]:
            same_package = target.rpartition(".")[0] == name.rpartition(".")[0] or \
                target.startswith(name + ".")
            assert same_package or layer_of(target) < layer_of(name), (name, "imports", target)
    # and the graph itself has no cycle (a depth-first search over every module)
    state = {}

    def visit(node, trail):
        if state.get(node) == "open":
            raise AssertionError(f"import circle: {' -> '.join(trail + [node])}")
        if state.get(node) == "done":
            return
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            visit(target, trail + [node])
        state[node] = "done"
    for node in sorted(graph):
        visit(node, [])
    assert "annie.app.run" not in graph["annie.app.config"]
    assert "annie.app.config" not in graph["annie.app.recipes"]


def test_every_module_imports_on_its_own():
    names = [module_name(path) for path in app_files()]
    script = ("import importlib, sys\n"
              f"for name in {names!r}:\n"
              "    for loaded in [m for m in sys.modules if m.startswith(('annie.app', "
              "'annie.cli'))]:\n"
              "        del sys.modules[loaded]\n"
              "    importlib.import_module(name)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_no_run_kind_branching_outside_the_recipes():
    """Outside annie/app/recipes/, nothing compares a model type or a task by name."""
    kinds = {recipe.model_type for recipe in recipes.all_recipes()} | \
        {recipe.task for recipe in recipes.all_recipes()} | {"sequence"}
    for path in app_files():
        if "recipes" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                constants = [part.value for part in [node.left, *node.comparators]
                             if isinstance(part, ast.Constant)]
                assert not set(constants) & kinds, (path.name, node.lineno, constants)
            if isinstance(node, ast.Name):
                assert "is_sequence" not in node.id, (path.name, node.lineno)


@pytest.mark.parametrize("recipe", recipes.all_recipes(), ids=lambda recipe: recipe.__name__)
def test_every_recipe_is_complete(recipe):
    assert recipe.__doc__ and recipe.model_type and recipe.task and recipe.losses
    assert recipe.defaults["loss.name"] in recipe.losses
    assert set(recipe.defaults["train.metrics"]) <= set(recipe.metrics)
    for name in recipe.keys:
        assert name.count(".") == 1, name
    for method in ("prepare", "build_model", "score"):
        assert getattr(recipe, method) is not getattr(recipes.Recipe, method), method


def test_docs_cli_md_is_generated_from_the_schema():
    assert DOCS.read_text() == run_config.reference_markdown(), \
        "docs/cli.md is stale: run python -m annie.app.config > docs/cli.md"
    for name in run_config.schema():
        assert f"`{name}`" in DOCS.read_text(), name
