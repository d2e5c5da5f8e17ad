"""The package's structure: no module reaches into another's private names, and data flows one way.

The one-way flow itself is the import-layer contract in pyproject.toml (``[tool.importlinter]``),
checked by ``make lint`` (``lint-imports``); here, what import-linter does not check, and the docs' layout:
the home page leads to every page of the site's navigation.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import bayes_ubpr

PACKAGE = Path(bayes_ubpr.__file__).parent


def _imports(path: Path):
    """(line, imported module, imported name or None) for every import of bayes_ubpr in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bayes_ubpr"):
            for alias in node.names:
                yield node.lineno, node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("bayes_ubpr"):
                    yield node.lineno, alias.name, None


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _subpackage(module: str) -> str:
    """The top-level stage a module belongs to: bayes_ubpr.model._fit -> bayes_ubpr.model."""
    return ".".join(module.split(".")[:2])


def test_no_module_imports_another_modules_private_names():
    # A name with a leading underscore belongs to its module; a helper that two modules share gets a
    # public name (in a private module of their subpackage, where only that subpackage uses it).
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _module_name(path)
        for line, module, name in _imports(path):
            if name is not None and name.startswith("_") and not name.startswith("__") and module != here:
                offences.append(f"{path.relative_to(PACKAGE)}:{line} imports {name} from {module}")
    assert not offences, "\n".join(offences)


def test_private_modules_are_used_only_inside_their_own_stage():
    # bayes_ubpr.model._fit is the model stage's business: other stages go through bayes_ubpr.model.
    # The package's base modules (_io, _rng, _validate, _arviz, _text) are shared by every stage.
    shared = {"bayes_ubpr._io", "bayes_ubpr._rng", "bayes_ubpr._validate", "bayes_ubpr._arviz", "bayes_ubpr._text"}
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _module_name(path)
        for line, module, name in _imports(path):
            full = f"{module}.{name}" if name is not None else module
            private = [
                i for i, part in enumerate(full.split(".")) if part.startswith("_") and not part.startswith("__")
            ]
            if not private:
                continue
            owner = ".".join(full.split(".")[: private[0]])  # the package that holds the private part
            if full.split(".")[: private[0] + 1] and ".".join(full.split(".")[: private[0] + 1]) in shared:
                continue
            if not (here == owner or here.startswith(owner + ".")):
                offences.append(f"{path.relative_to(PACKAGE)}:{line} imports {full}")
    assert not offences, "\n".join(offences)


ROOT = Path(__file__).parents[1]


def _nav_pages() -> list[str]:
    """The pages in mkdocs.yml's navigation, in order (``- Title: page.md`` lines under ``nav:``)."""
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:\n", 1)[1]
    return re.findall(r'^\s*-\s+(?:"[^"]*"|[^:\n]+):\s+(\S+\.md)\s*$', nav, flags=re.M)


def test_the_home_page_links_every_page_of_the_navigation():
    # Before: docs/index.md left out "Comparing, selecting and validating models" and other guides, which only
    # the navigation listed. The API reference's module pages are reached from its overview, api/index.md.
    pages = [
        page for page in _nav_pages() if (page != "index.md" and not page.startswith("api/")) or page == "api/index.md"
    ]
    assert {"validation.md", "own-data.md", "missing.md", "api/index.md"} <= set(pages)  # the nav was read
    linked = set(re.findall(r"\]\(([^)#\s]+\.md)", (ROOT / "docs" / "index.md").read_text(encoding="utf-8")))
    assert [page for page in pages if page not in linked] == []
