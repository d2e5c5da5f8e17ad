"""What the forward search moves: factors one at a time, or whole terms in the order their hierarchy allows.

A spec without terms offers its factors as candidates, one design column
each. A spec with terms (:mod:`bayes_ubpr.terms`) offers its terms: every
level of a categorical factor, a spline's linear and nonlinear columns, an
interaction's products enter together, and an interaction only once the
main effects it is made of are in the submodel (the hierarchy principle:
an interaction without its main effects, or a curve's bend without its
slope, is a model nobody would fit). Nothing here depends on PyMC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bayes_ubpr.model import ModelSpec
from bayes_ubpr.priors import INTERCEPT
from bayes_ubpr.terms import Categorical, Interaction, Terms

__all__ = ["Candidates", "submodel_spec"]


@dataclass(frozen=True)
class Candidates:
    """Named groups of design columns the search adds whole, and which groups each needs first.

    Attributes
    ----------
    names : tuple of str
        Candidate names: factors, or terms.
    columns : tuple of tuple of int
        Each candidate's design columns, as indices into ``design``.
    requires : tuple of frozenset of int
        Each candidate's prerequisites (indices into ``names``), all of which
        must be selected before it is a candidate.
    design : tuple of str
        Design column names, in the reference model's order.
    terms : Terms, optional
        The terms, for a spec with terms.
    """

    names: tuple[str, ...]
    columns: tuple[tuple[int, ...], ...]
    requires: tuple[frozenset[int], ...]
    design: tuple[str, ...]
    terms: Terms | None = None

    @classmethod
    def of_columns(cls, names: Sequence[str]) -> Candidates:
        """Every design column a candidate of its own, none needing another (a spec without terms)."""
        names = tuple(names)
        return cls(names, tuple((j,) for j in range(len(names))), (frozenset(),) * len(names), names)

    @classmethod
    def of_terms(cls, terms: Terms) -> Candidates:
        """Every term a candidate, with all its design columns; an interaction needing its main effects.

        An interaction needs those of its two parts that are terms of the
        model: a formula may leave a main effect out (``y ~ a + a:b``), and
        then there is nothing to wait for.
        """
        design = terms.columns
        index = {column: j for j, column in enumerate(design)}
        position = {name: i for i, name in enumerate(terms.names)}
        requires = [
            frozenset(position[p.name] for p in term.parts if p.name in position)
            if isinstance(term, Interaction)
            else frozenset()
            for term in terms.terms
        ]
        columns = tuple(tuple(index[c] for c in term.columns) for term in terms.terms)
        return cls(terms.names, columns, tuple(requires), design, terms)

    @property
    def grouped(self) -> bool:
        """Whether candidates are terms (rather than single factors)."""
        return self.terms is not None

    def available(self, selected: Sequence[int]) -> list[int]:
        """Candidates not yet selected whose prerequisites all are, in model order."""
        done = set(selected)
        return [i for i in range(len(self.names)) if i not in done and self.requires[i] <= done]

    def design_columns(self, order: Sequence[int]) -> list[int]:
        """Design column indices of the candidates ``order``, in that order."""
        return [j for i in order for j in self.columns[i]]

    def column_names(self, candidate: int) -> tuple[str, ...]:
        """Design column names of one candidate."""
        return tuple(self.design[j] for j in self.columns[candidate])

    def describe_column(self, column: str) -> tuple[str, str]:
        """Return how an error names a design column, and what to do about it.

        For a factor: ``factor "x"`` and ``Leave x out of factors``; for a
        term: ``term "t"`` (a term of one column) or ``column "c" of term
        "t"``, and ``Leave t out of the formula`` (for a level of a
        categorical factor: or pool the level with another).
        """
        if self.terms is None:
            return f'factor "{column}"', f"Leave {column} out of factors"
        term = self.terms.column_terms()[column]
        owner = self.terms[term]
        advice = f"Leave {term} out of the formula"
        if isinstance(owner, Categorical):
            level = dict(zip(owner.columns, owner.kept_levels, strict=True))[column]
            advice = (
                f"Pool level {level!r} of {term} with another level (recode the column), "
                f"or leave {term} out of the formula"
            )
        if owner.columns == (column,):
            return f'term "{term}"', advice
        return f'column "{column}" of term "{term}"', advice


def submodel_spec(reference: ModelSpec, keep: Sequence[str]) -> ModelSpec:
    """Return the reference spec restricted to the factors or terms ``keep``.

    With terms, the submodel's terms are ``reference.terms.subset(keep)``
    (their levels and knots as the reference stored them), so it fits from
    the raw columns; its factors are made anew from those terms. Priors
    given as a mapping keep the entries of the columns that remain (and the
    intercept); a preset or a shrinkage prior is kept as it is.
    """
    if reference.terms is not None:
        terms = reference.terms.subset(keep)
        kept = set(terms.columns)
        return replace(reference, terms=terms, factors=(), priors=_kept_priors(reference.priors, kept))
    kept = set(keep)
    factors = tuple(f for f in reference.factors if f.name in kept)
    return replace(reference, factors=factors, priors=_kept_priors(reference.priors, kept))


def _kept_priors(priors: Any, kept: set[str]) -> Any:
    if not isinstance(priors, dict):
        return priors
    return {name: prior for name, prior in priors.items() if name in kept or name == INTERCEPT}
