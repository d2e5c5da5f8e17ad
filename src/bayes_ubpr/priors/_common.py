"""Helpers shared by the modules of :mod:`bayes_ubpr.priors`."""

from __future__ import annotations

from bayes_ubpr.data import FactorLike, as_factors
from bayes_ubpr.factors import Factor

__all__ = ["known_factor"]


def known_factor(factor: FactorLike) -> Factor:
    """Return the Factor of a name or Factor, with its kind and reference scale known."""
    resolved = as_factors([factor])[0]
    if resolved.kind is None or resolved.scale is None:
        raise ValueError(
            f'Factor "{resolved.name}" has no {"kind" if resolved.kind is None else "reference scale"} yet: '
            "fit() reads it off the data; to describe priors before fitting, pass "
            f'Factor("{resolved.name}", kind=..., scale=...) or call Factor.resolve(values).'
        )
    return resolved
