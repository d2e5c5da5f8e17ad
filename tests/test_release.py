"""Release hygiene: one version everywhere, a typed package, docs that cover every page and module.

File checks only (milliseconds). The slow release checks, building the docs and
installing the wheel in a fresh environment, are `make docs` and `make
wheel-check`, run by .ci/run.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import bayes_ubpr

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "bayes_ubpr"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]


def test_version_is_single_sourced_from_pyproject():
    assert bayes_ubpr.__version__ == VERSION
    # read from the installed metadata (on first use: the package is lazy), never written into the source
    source = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    assert 'version("bayes-ubpr")' in source and VERSION not in source


def test_citation_cff_names_the_current_version():
    citation = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    match = re.search(r"^version:\s*\"?([^\"\s]+)\"?\s*$", citation, flags=re.M)
    assert match is not None, "CITATION.cff has no top-level version"
    assert match.group(1) == VERSION


def test_changelog_has_the_current_version_and_an_unreleased_section():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(r"^## \[Unreleased\]$", changelog, flags=re.M)
    assert re.search(rf"^## \[{re.escape(VERSION)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, flags=re.M)


def test_package_is_typed_and_ships_its_marker_and_data():
    assert (PACKAGE / "py.typed").is_file()
    shipped = PYPROJECT["tool"]["setuptools"]["package-data"]["bayes_ubpr"]
    assert "py.typed" in shipped
    assert "data/*.csv" in shipped


def _nav_pages() -> set[str]:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config[config.index("\nnav:") :]
    return set(re.findall(r":\s*(\S+\.md)\s*$", nav, flags=re.M))


def test_docs_nav_lists_every_page():
    # docs/tables/*.md are parts of pages (pymdownx.snippets includes them), excluded from the site by exclude_docs
    pages = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    pages = {page for page in pages if not page.startswith("tables/")}
    missing = sorted(pages - _nav_pages())
    assert not missing, f"add these pages to the nav in mkdocs.yml: {missing}"
    assert not sorted(_nav_pages() - pages), "mkdocs.yml lists pages that do not exist"


def _public_modules() -> list[str]:
    names = [p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")]
    names += [p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file() and not p.name.startswith("_")]
    return sorted(set(names) - {"cli"})


@pytest.mark.parametrize("module", _public_modules())
def test_every_public_module_has_an_api_reference_page(module):
    page = ROOT / "docs" / "api" / f"{module}.md"
    assert page.is_file(), (
        f"create {page.relative_to(ROOT)} with the line '::: bayes_ubpr.{module}' and add it to the nav"
    )
    assert f"::: bayes_ubpr.{module}" in page.read_text(encoding="utf-8")
