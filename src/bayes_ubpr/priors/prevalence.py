"""The Beta prior on the population prevalence, for the case-control correction."""

from __future__ import annotations

from dataclasses import dataclass

from bayes_ubpr._validate import is_finite_real
from bayes_ubpr.paper import N_CASES, N_PATIENTS

__all__ = ["PAPER_PREVALENCE", "PopulationPrevalence"]


@dataclass(frozen=True)
class PopulationPrevalence:
    """Beta prior on the population prevalence, for the case-control correction.

    Parameters
    ----------
    alpha, beta : float
        Beta parameters (> 0). ``PopulationPrevalence.from_counts(60, 1316)``
        gives Beta(60.5, 1256.5), the Jeffreys posterior of 60 cases in 1,316.

    Examples
    --------
    >>> from bayes_ubpr.priors import PopulationPrevalence
    >>> prevalence = PopulationPrevalence.from_counts(60, 1316)
    >>> prevalence
    PopulationPrevalence(alpha=60.5, beta=1256.5)
    >>> round(prevalence.mean, 4)
    0.0459
    """

    alpha: float
    beta: float

    def __post_init__(self) -> None:
        for name in ("alpha", "beta"):
            value = getattr(self, name)
            if not is_finite_real(value) or value <= 0:
                raise ValueError(f"PopulationPrevalence {name} must be a positive number; got {value!r}")

    @classmethod
    def from_counts(cls, cases: int, total: int) -> PopulationPrevalence:
        """Jeffreys posterior Beta(cases + 1/2, total - cases + 1/2)."""
        if not 0 <= cases <= total or total <= 0:
            raise ValueError(f"need 0 <= cases <= total and total > 0; got cases={cases}, total={total}")
        return cls(cases + 0.5, total - cases + 0.5)

    @property
    def mean(self) -> float:
        """Prior mean of the prevalence."""
        return self.alpha / (self.alpha + self.beta)


PAPER_PREVALENCE = PopulationPrevalence.from_counts(N_CASES, N_PATIENTS)
"""Beta(60.5, 1256.5): the paper's 60 cases in 1,316 patients."""
