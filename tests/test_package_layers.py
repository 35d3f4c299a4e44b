"""annie's one direction of dependency (DESIGN.md, "Architecture"), checked on the source: every
import between annie's packages, module level or inside a function, goes from a higher layer
to a lower one, never back; and nothing in the core chain (tensor .. optim) prints.

The layers, lowest first (a package may import any package of a lower layer):

    errors  <-  registry  <-  backend  <-  tensor  <-  ops  <-  functional, init  <-  losses  <-  nn
    <-  optim, io, data  <-  diagnostics  <-  train  <-  sklearn, onnx  <-  app
    <-  tune, playground  <-  cli  <-  __main__

``annie/__init__.py`` is the front door: it may import the engine (backend, errors, ops, tensor)
at once and reaches everything else lazily, so any package may read ``annie.__version__``.
(``tests/test_app_layers.py`` checks the finer order inside ``annie.app``.)
"""
import ast
import pathlib

import pytest

import annie

SRC = pathlib.Path(annie.__file__).parent
LAYERS = [{"errors"}, {"registry"}, {"backend"}, {"tensor"}, {"ops"}, {"functional", "init"},
          {"losses"}, {"nn"}, {"optim", "io", "data"}, {"diagnostics"}, {"train"},
          {"sklearn", "onnx"}, {"app"}, {"tune", "playground"}, {"cli"}, {"__main__"}]
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}
FRONT_DOOR = {"__init__", "__version__"}  # annie/__init__.py and the names it defines
CORE = {"backend", "tensor", "ops", "functional", "init", "losses", "nn", "optim"}


def package_of(module: str) -> str:
    """'annie.nn.linear' -> 'nn'; 'annie' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_of(path: pathlib.Path) -> tuple[str, list[str]]:
    """The dotted module name of a source file and the package its relative imports start
    from."""
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), parts
    return ".".join(parts), parts[:-1]


def imports(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, imported annie module) for every import in the file, anywhere in it."""
    _, package = module_of(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[:len(package) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = ([f"annie.{alias.name}" for alias in node.names] if base == "annie"
                     else [base])
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, name) for name in names
                  if name == "annie" or name.startswith("annie.")]
    return found


SOURCES = sorted(SRC.rglob("*.py"))


def test_every_package_has_a_layer():
    packages = {package_of(module_of(path)[0]) for path in SOURCES}
    assert packages - FRONT_DOOR <= set(RANK), sorted(packages - FRONT_DOOR - set(RANK))


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(SRC)))
def test_imports_point_down(path):
    importer = package_of(module_of(path)[0])
    wrong = []
    for line, target in imports(path):
        imported = package_of(target)
        if imported == importer or imported in FRONT_DOOR:
            continue
        if importer == "__init__":
            allowed = RANK[imported] <= RANK["tensor"] or imported == "ops"
        else:
            allowed = RANK[imported] < RANK[importer]
        if not allowed:
            wrong.append(f"line {line}: {importer} imports {target}")
    assert not wrong, wrong


@pytest.mark.parametrize("path", [path for path in SOURCES
                                  if package_of(module_of(path)[0]) in CORE],
                         ids=lambda path: str(path.relative_to(SRC)))
def test_the_core_does_not_print(path):
    calls = [node.lineno for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
             and node.func.id == "print"]
    assert not calls, f"print() at lines {calls}"


def test_the_check_sees_a_wrong_import(tmp_path, monkeypatch):
    """The walker finds an upward import inside a function (so the test can fail)."""
    fake = SRC / "nn" / "_probe.py"
    source = "def f():\n    from ..train import fit\n    return fit\n"
    monkeypatch.setattr(pathlib.Path, "read_text", lambda self, *a, **k: source)
    assert imports(fake) == [(2, "annie.train")]
    with pytest.raises(AssertionError, match="nn imports annie.train"):
        test_imports_point_down(fake)
