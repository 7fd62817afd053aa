"""The suite's own layout: fixtures live in conftest.py files next to the tests that use them,
so no module of the suite imports a test module or a conftest, and nothing a test module
imports by name is a fixture. Plain helpers (support.py, pages.py, browser.py, ...) are fine."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

from _pytest.fixtures import FixtureFunctionDefinition

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def suite_files() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(module, names imported from it) for every import statement, relative ones resolved."""
    package = module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            module = (
                importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                if node.level
                else (node.module or "")
            )
            names = [alias.name for alias in node.names]
            yield module, names
            for name in names:  # `from . import conftest` names a module too
                yield f"{module}.{name}", []


def is_test_module_or_conftest(module: str) -> bool:
    last = module.rpartition(".")[2]
    return module.split(".")[0] == "tests" and (last.startswith("test_") or last == "conftest")


def test_no_module_of_the_suite_imports_a_test_module_or_a_conftest():
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in suite_files()
        for module, _names in imports(path)
        if is_test_module_or_conftest(module)
    ]
    assert offenders == []


def test_no_test_module_imports_a_fixture_by_name():
    offenders = []
    for path in suite_files():
        if not path.name.startswith("test_"):
            continue
        for module, names in imports(path):
            if module.split(".")[0] != "tests" or not names or importlib.util.find_spec(module) is None:
                continue
            imported = importlib.import_module(module)
            offenders += [
                f"{path.relative_to(ROOT)} imports the fixture {name} from {module}"
                for name in names
                if isinstance(getattr(imported, name, None), FixtureFunctionDefinition)
            ]
    assert offenders == []
