"""The model's terms together: :class:`Terms` resolves them on the fitted data and builds their design columns.

:meth:`Terms.resolve` reads off the data what each term needs (levels and
reference, knots) and a summary of each raw variable (typical value,
quantiles); :meth:`Terms.design` then builds the same columns from any data,
the fitted sample or new patients. Everything is stored in the fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from bayes_ubpr._validate import check_keys, describe_value, did_you_mean
from bayes_ubpr.factors import Factor
from bayes_ubpr.terms.kinds import (
    Categorical,
    Interaction,
    Level,
    Numeric,
    Role,
    Spline,
    Term,
    main_parts,
    summarise,
    term_from_dict,
)

__all__ = ["Terms"]


@dataclass(frozen=True)
class Terms:
    """The fixed terms of a model, and the design columns they make.

    Parameters
    ----------
    terms : sequence of Term
        In model order. Interactions need not repeat their main effects, but
        :func:`~bayes_ubpr.select_factors` adds an interaction only after
        those of its main effects that are terms.
    formula : str, optional
        The formula the terms were read from, for display.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr.terms import Terms, Categorical, Numeric
    >>> data = pd.DataFrame({"age": [70, 81, 77, 65], "level": ["T", "L", "TL", "L"]})
    >>> terms = Terms((Numeric("age"), Categorical("level", reference="T"))).resolve(data)
    >>> terms.columns
    ('age', 'level[L]', 'level[TL]')
    >>> terms.design(data).iloc[1].tolist()
    [81.0, 1.0, 0.0]
    """

    terms: tuple[Term, ...]
    formula: str | None = None
    summary: Mapping[str, Mapping[str, Any]] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        terms = tuple(self.terms)
        if not terms:
            raise ValueError("a model needs at least one term")
        for term in terms:
            if not isinstance(term, (Numeric, Categorical, Spline, Interaction)):
                raise TypeError(
                    f"terms must be Numeric, Categorical, Spline or Interaction; got {describe_value(term)}"
                )
        names = [t.name for t in terms]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"term(s) {', '.join(twice)} appear twice (e.g. as a column and as a spline); keep one")
        object.__setattr__(self, "terms", terms)

    @property
    def names(self) -> tuple[str, ...]:
        """Term names, in model order."""
        return tuple(t.name for t in self.terms)

    @property
    def variables(self) -> tuple[str, ...]:
        """Raw columns the terms read, each once, in order."""
        return tuple(dict.fromkeys(v for t in self.terms for v in t.variables))

    @property
    def resolved(self) -> bool:
        """Whether the terms were resolved on data: every level and knot known, each variable's kind and summary read.

        A plain column is resolved too: only the data say whether it holds
        numbers or categories.
        """
        return self.summary is not None and all(t.resolved for t in self.terms)

    def __getitem__(self, name: str) -> Term:
        for term in self.terms:
            if term.name == name:
                return term
        raise KeyError(f'no term "{name}" in the model.{did_you_mean(name, self.names)}')

    def resolve(self, data: pd.DataFrame) -> Terms:
        """Return the terms with levels and knots read off ``data``; an interaction reuses its main effects'."""
        main: dict[str, Term] = {}
        resolved: list[Term] = []
        for term in self.terms:
            if not isinstance(term, Interaction):
                main[term.name] = term.resolve(data)
                resolved.append(main[term.name])
        out: list[Term] = []
        for term in self.terms:
            if isinstance(term, Interaction):
                parts: list[Term] = [main.get(p.name, p) for p in term.parts]
                for i, part in enumerate(parts):
                    other = parts[1 - i]
                    # a factor interacting with a variable that has no main effect is coded in full, as patsy does
                    if isinstance(part, Categorical) and not isinstance(other, Categorical) and other.name not in main:
                        parts[i] = replace(part, full=True)
                out.append(Interaction(tuple(parts)).resolve(data))  # type: ignore[arg-type]
            else:
                out.append(main[term.name])
        categorical = {v for t in out for p in main_parts(t) if isinstance(p, Categorical) for v in p.variables}
        summary = {v: summarise(data[v], v in categorical) for v in self.variables}
        return Terms(tuple(out), self.formula, summary)

    def typical_values(self) -> dict[str, Level]:
        """Return a typical patient: numeric medians (0/1: the commoner value), commonest levels.

        Read off the fitted data when the terms were resolved, and stored
        with them.
        """
        if self.summary is None:
            raise ValueError("the terms hold no summary of the fitted data: resolve them on data first")
        return {v: values["typical"] for v, values in self.summary.items()}

    @property
    def columns(self) -> tuple[str, ...]:
        """Design column names, term by term."""
        return tuple(c for t in self.terms for c in t.columns)

    def column_terms(self) -> dict[str, str]:
        """Return the term each design column belongs to."""
        return {c: t.name for t in self.terms for c in t.columns}

    def column_roles(self) -> dict[str, Role]:
        """Return what each design column is to its term (:data:`ROLES`)."""
        return {c: r for t in self.terms for c, r in zip(t.columns, t.roles, strict=True)}

    def factors(self) -> tuple[Factor, ...]:
        """Return the design columns as Factors, for the model's priors, tables and checks."""
        interacting = {p.name for t in self.terms if isinstance(t, Interaction) for p in t.parts}
        return tuple(f for t in self.terms for f in t.factors(alone=t.name not in interacting))

    def design(self, data: pd.DataFrame) -> pd.DataFrame:
        """Return the design columns of ``data`` (same index), built with the stored levels and knots.

        Raises
        ------
        CohortValidationError
            Naming the column and rows, for a missing column, missing values,
            text in a numeric term, or a level the model was not fitted on.
        """
        if not self.resolved:
            raise ValueError("resolve the terms on the fitted data first (Terms.resolve)")
        blocks = [t.matrix(data) for t in self.terms]
        values = np.column_stack(blocks) if blocks else np.empty((len(data), 0))
        return pd.DataFrame(values, index=data.index, columns=list(self.columns))

    def subset(self, names: Iterable[str]) -> Terms:
        """Return the terms named, in model order (for selection)."""
        keep = set(names)
        unknown = keep - set(self.names)
        if unknown:
            raise KeyError(f"no term(s) {sorted(unknown)} in the model")
        kept = tuple(t for t in self.terms if t.name in keep)
        variables = {v for t in kept for v in t.variables}
        summary = None if self.summary is None else {v: s for v, s in self.summary.items() if v in variables}
        return Terms(kept, None, summary)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (JSON); :meth:`from_dict` inverts it."""
        summary = None if self.summary is None else {v: dict(s) for v, s in self.summary.items()}
        return {"formula": self.formula, "terms": [t.to_dict() for t in self.terms], "summary": summary}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Terms:
        """Inverse of :meth:`to_dict`, every field checked."""
        stored = check_keys(values, ("formula", "terms", "summary"), what="terms", required=("formula", "terms"))
        formula, terms, summary = stored["formula"], stored["terms"], stored.get("summary")
        if summary is not None and (
            not isinstance(summary, Mapping)
            or not all(isinstance(s, Mapping) and "typical" in s for s in summary.values())
        ):
            raise TypeError(
                f"summary must map each variable to its summary (with 'typical'); got {describe_value(summary)}"
            )
        if formula is not None and not isinstance(formula, str):
            raise TypeError(f"formula must be text; got {describe_value(formula)}")
        if not isinstance(terms, Sequence) or isinstance(terms, str):
            raise TypeError(f"terms must be a list; got {describe_value(terms)}")
        return cls(tuple(term_from_dict(t) for t in terms), formula, summary)  # type: ignore[arg-type]
