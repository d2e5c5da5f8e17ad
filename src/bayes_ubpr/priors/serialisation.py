"""A ``priors`` argument as plain Python (JSON) and back, as a fit stores it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bayes_ubpr._validate import check_choice, check_text, describe_value
from bayes_ubpr.priors.families import Prior
from bayes_ubpr.priors.presets import PriorsLike
from bayes_ubpr.priors.shrinkage import STRUCTURES, DomainShrinkage, Horseshoe, structure_name

__all__ = ["priors_from_dict", "priors_to_dict"]


def priors_to_dict(priors: PriorsLike) -> dict[str, Any]:
    """Return a ``priors`` argument as plain Python (JSON), exactly as given; :func:`priors_from_dict` inverts it.

    Examples
    --------
    >>> from bayes_ubpr.priors import Horseshoe, priors_from_dict, priors_to_dict
    >>> priors_from_dict(priors_to_dict(Horseshoe(expected_nonzero=2))) == Horseshoe(expected_nonzero=2)
    True
    """
    if priors is None:
        return {"preset": "default"}
    if isinstance(priors, str):
        return {"preset": priors}
    if isinstance(priors, (Horseshoe, DomainShrinkage)):
        return {structure_name(priors): priors.to_dict()}
    return {"mapping": {key: prior.to_dict() for key, prior in priors.items()}}


def priors_from_dict(values: Mapping[str, Any]) -> PriorsLike:
    """Inverse of :func:`priors_to_dict`.

    Examples
    --------
    >>> from bayes_ubpr.priors import Prior, priors_from_dict
    >>> priors_from_dict({"mapping": {"depression": {"family": "normal", "mu": 0.0, "sigma": 1.0}}})
    {'depression': Prior(family='normal', mu=0.0, sigma=1.0, nu=None, per='unit')}
    """
    kinds = ("preset", "mapping", *STRUCTURES)
    if not isinstance(values, Mapping):
        raise TypeError(
            f"stored priors must be a table with one key ({', '.join(kinds)}); got {describe_value(values)}"
        )
    if len(values) != 1:
        raise ValueError(f"stored priors must have one key ({', '.join(kinds)}); got {list(values)}")
    ((kind, content),) = values.items()
    check_choice(kind, kinds, name="stored priors kind")
    if kind == "preset":
        check_text(content, name="stored priors preset")
        return content
    if kind == "mapping":
        if not isinstance(content, Mapping):
            raise TypeError(f"stored priors mapping must be a table of priors by factor; got {describe_value(content)}")
        return {key: Prior.from_dict(prior, what=f'stored prior of "{key}"') for key, prior in content.items()}
    return STRUCTURES[kind].from_dict(content)
