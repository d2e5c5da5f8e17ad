"""Griffe extension: render the Sphinx roles in bayes_ubpr's docstrings for MkDocs.

The package's numpydoc docstrings cross-reference with Sphinx roles such as
``:func:`~bayes_ubpr.fit``` or ``:data:`SIX_FACTORS```. mkdocstrings does not read
roles, so this extension rewrites each one, once the package is loaded, into an
*optional* autorefs link: a link where the target is documented on the site,
plain code where it is not. Optional links never fail ``mkdocs build --strict``,
so a docstring naming a private helper cannot break the docs build.

Loaded from mkdocs.yml (``plugins > mkdocstrings > handlers > python > options >
extensions``); not part of the package.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(
    r":(?:py:)?(?:func|meth|class|data|attr|mod|obj|exc|const):`(?P<tilde>~?)(?P<target>[\w.]+)(?:\(\))?`"
)


def _candidates(obj: griffe.Object, target: str) -> list[str]:
    """Return the identifiers a role may mean, most specific first (Sphinx's lookup order)."""
    names = []
    if obj.is_class:
        names.append(f"{obj.path}.{target}")
    elif obj.parent is not None and obj.parent.is_class:
        names.append(f"{obj.parent.path}.{target}")
    return [*names, f"{obj.module.path}.{target}", f"{obj.package.path}.{target}", target]


def _exists(pkg: griffe.Module, name: str) -> bool:
    """Whether ``name`` is an object of the package (an alias to one counts)."""
    if name == pkg.path:
        return True
    if not name.startswith(pkg.path + "."):
        return False
    try:
        pkg[name.removeprefix(pkg.path + ".")]
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    return True


def _resolve(pkg: griffe.Module, obj: griffe.Object, target: str) -> str | None:
    return next((name for name in _candidates(obj, target) if _exists(pkg, name)), None)


class SphinxRoles(griffe.Extension):
    """Turn ``:role:`target``` into optional autorefs links in every docstring of the package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is None or ":`" not in obj.docstring.value:
                continue

            def link(match: re.Match[str], obj: griffe.Object = obj) -> str:
                target = match["target"]
                shown = target.rsplit(".", 1)[-1] if match["tilde"] else target
                if match.group(0).startswith((":func:", ":meth:", ":py:func:", ":py:meth:")):
                    shown += "()"
                identifier = _resolve(pkg, obj, target)
                if identifier is None:
                    return f"`{shown}`"
                return f'<autoref identifier="{identifier}" optional><code>{shown}</code></autoref>'

            obj.docstring.value = ROLE.sub(link, obj.docstring.value)


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if member.is_alias:
            continue
        found += _walk(member)  # type: ignore[arg-type]
    return found
