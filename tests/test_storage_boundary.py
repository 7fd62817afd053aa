"""Nothing outside the storage-services module names a storage type or an authentication type,
or imports a backend package: the app (datastores/ except storage/ and its migrations), the
project (studio/), the templates and the static files ask the registry and `capabilities`.

The names come from the registry (every registered storage type, its label, its package; every
authentication type a registered type offers, its value, label and AuthType member), so a type
added to the registry is checked too. Each file is read with a parser for what it is:

- Python: a string constant equal to a storage type or authentication type value (`"DBFS"`,
  `auth_type == "none"`), an `AuthType.<member>` reference, an import of a backend package;
- templates and scripts: a quoted literal equal to such a value (`{% if x == "sas_token" %}`);
- stylesheets: a class or id selector named after one;
- and in every file: a storage type's name or label, or an authentication type's label, as a word.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from datastores.storage import BACKENDS, AuthType, auth_type_choices

ROOT = Path(__file__).resolve().parent.parent
STORAGE = ROOT / "datastores" / "storage"
MIGRATIONS = ROOT / "datastores" / "migrations"
SCANNED = ["datastores", "studio", "templates", "static"]


def scanned_files() -> list[Path]:
    return [
        path
        for top in SCANNED
        for path in sorted((ROOT / top).rglob("*"))
        if path.is_file()
        and "__pycache__" not in path.parts
        and not path.is_relative_to(STORAGE)
        and not path.is_relative_to(MIGRATIONS)
    ]


def storage_type_names() -> set[str]:
    return set(BACKENDS)


def auth_type_values() -> set[str]:
    return {value for value, _label in auth_type_choices()}


def words() -> set[str]:
    """What may not appear anywhere as a word: storage type names and labels, auth type labels."""
    labels = {backend.label for backend in BACKENDS.values()} | {label for _value, label in auth_type_choices()}
    return storage_type_names() | labels


def backend_packages() -> set[str]:
    """datastores.storage.blob, datastores.storage.sql, ...: the package of each registered type."""
    modules = {type(backend).__module__ for backend in BACKENDS.values()}
    return {".".join(module.split(".")[:3]) for module in modules if module.startswith("datastores.storage.")}


def word_hits(text: str) -> Iterator[tuple[int, str]]:
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(map(re.escape, sorted(words(), key=len, reverse=True))) + r")(?![\w-])"
    )
    for match in pattern.finditer(text):
        yield text.count("\n", 0, match.start()) + 1, f"names {match.group(1)!r}"


def quoted_literal_hits(text: str) -> Iterator[tuple[int, str]]:
    values = storage_type_names() | auth_type_values()
    pattern = re.compile(r"""(["'`])(""" + "|".join(map(re.escape, sorted(values))) + r")\1")
    for match in pattern.finditer(text):
        yield text.count("\n", 0, match.start()) + 1, f"has the literal {match.group(0)}"


def selector_hits(text: str) -> Iterator[tuple[int, str]]:
    values = storage_type_names() | auth_type_values()
    pattern = re.compile(r"[.#](" + "|".join(map(re.escape, sorted(values))) + r")(?![\w-])")
    for match in pattern.finditer(text):
        yield text.count("\n", 0, match.start()) + 1, f"has the selector {match.group(0)}"


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def python_hits(path: Path, text: str) -> Iterator[tuple[int, str]]:
    values = storage_type_names() | auth_type_values()
    members = {AuthType(value).name for value in auth_type_values()}
    packages = backend_packages()
    package = module_of(path) if path.name == "__init__.py" else module_of(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in values:
            yield node.lineno, f"has the string constant {node.value!r}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "AuthType":
            if node.attr in members:
                yield node.lineno, f"names AuthType.{node.attr}"
        elif isinstance(node, ast.Import | ast.ImportFrom):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                base = (
                    importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                    if node.level
                    else (node.module or "")
                )
                modules = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            for module in modules:
                if any(module == backend or module.startswith(backend + ".") for backend in packages):
                    yield node.lineno, f"imports {module}"


def hits(path: Path) -> Iterator[tuple[int, str]]:
    text = path.read_text(encoding="utf-8", errors="replace")
    yield from word_hits(text)
    if path.suffix == ".py":
        yield from python_hits(path, text)
    elif path.suffix in {".html", ".txt", ".js"}:
        yield from quoted_literal_hits(text)
    elif path.suffix == ".css":
        yield from selector_hits(text)
    # Images (favicon.svg) are checked for words only: "none" is SVG's own keyword there.


def test_the_registry_gives_the_names_to_look_for():
    """The check below looks for what is registered; this keeps it from looking for nothing."""
    assert len(storage_type_names()) >= 8 and len(auth_type_values()) >= 5
    assert "datastores.storage.blob" in backend_packages() and "datastores.storage.sql" in backend_packages()
    assert len(scanned_files()) > 20


@pytest.mark.parametrize("top", SCANNED)
def test_no_storage_type_or_auth_type_is_named_outside_storage(top):
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in scanned_files()
        if path.is_relative_to(ROOT / top)
        for line, what in hits(path)
    ]
    assert offenders == []
