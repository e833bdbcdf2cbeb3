"""The package's public API: `__all__` is what the submodules declare, and every name resolves.

`d2lhelpers/__init__.py` (and each subpackage's) imports every public name as
`name as name` and joins its submodules' `__all__` lists; these tests read the
import statements themselves, so a name added to a submodule's `__all__` but not
imported (or imported but not declared) fails here, not in a learner's notebook.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import d2lhelpers

PACKAGES = ["d2lhelpers", "d2lhelpers.data", "d2lhelpers.detection"]
# subpackages whose own API is larger than what the top level exports
PARTLY_EXPORTED = {("d2lhelpers", "checks"): {"check", "exercises", "progress"}}


def _relative_imports(package: str) -> list[tuple[str, str, str | None]]:
    """(submodule, name, alias) for each `from .submodule import name [as alias]`."""
    path = Path(importlib.import_module(package).__file__)
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            found += [(node.module, a.name, a.asname) for a in node.names]
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_exactly_what_the_submodules_declare(package):
    pkg = importlib.import_module(package)
    imports = _relative_imports(package)
    declared: list[str] = []
    for module in dict.fromkeys(m for m, _, _ in imports):  # in import order, once each
        names = {n for m, n, _ in imports if m == module}
        sub = importlib.import_module(f"{package}.{module}")
        expected = PARTLY_EXPORTED.get((package, module), set(sub.__all__))
        assert names == expected, (
            f"{package} imports {sorted(names - expected)} from .{module} without its "
            f"__all__ declaring them, or misses {sorted(expected - names)} that it declares"
        )
        declared += [n for n in sub.__all__ if n in expected]
    assert sorted(pkg.__all__) == sorted(declared)
    assert len(set(pkg.__all__)) == len(pkg.__all__), "a name is declared by two submodules"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_resolves_to_the_submodules_object(package):
    pkg = importlib.import_module(package)
    for module, name, _ in _relative_imports(package):
        sub = importlib.import_module(f"{package}.{module}")
        assert getattr(pkg, name) is getattr(sub, name), f"{package}.{name}"
    for name in pkg.__all__:
        assert hasattr(pkg, name), f"{package}.__all__ names {name}, which does not exist"


def test_top_level_names_are_explicit_re_exports():
    """`name as name`: what mypy and pyright take as public in a py.typed package."""
    for module, name, alias in _relative_imports("d2lhelpers"):
        assert alias == name, f"from .{module} import {name}: write `{name} as {name}`"


def test_the_package_exports_the_books_names():
    # a few names from every chapter, as the book's `d2l.torch` spells them
    for name in ("Timer", "load_data_fashion_mnist", "train_ch6", "Vocab", "AttentionDecoder",
                 "TransformerDecoder", "DATA_HUB", "download_extract", "multibox_prior",
                 "train_ch11", "DownloadError"):  # fmt: skip
        assert name in d2lhelpers.__all__


def test_star_import_gives_the_public_api_and_nothing_private():
    code = (
        "from d2lhelpers import *\n"
        "import d2lhelpers\n"
        "names = {n for n in dir() if not n.startswith('__')} - {'d2lhelpers'}\n"
        "assert names == set(d2lhelpers.__all__), names ^ set(d2lhelpers.__all__)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
