"""Laws of the factors among controls: normal, Bernoulli and count laws, and Table 4's law of each factor.

Each law knows its cumulant generating function and its exponential tilt,
the law among cases when the outcome model is logistic (see
:func:`~bayes_ubpr.simulate.true_model`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from bayes_ubpr.paper import RISK_FACTORS, table4

__all__ = [
    "MAX_FRACTURES",
    "BernoulliLaw",
    "DiscreteLaw",
    "Law",
    "NormalLaw",
    "control_laws",
    "max_entropy_count_law",
]

MAX_FRACTURES = 6
"""Largest number of treated fractures the simulated law allows."""


@dataclass(frozen=True)
class NormalLaw:
    """Normal law of a continuous factor.

    Parameters
    ----------
    mean : float
        Mean.
    sd : float
        Standard deviation.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr.simulate import NormalLaw
    >>> law = NormalLaw(mean=4.75, sd=0.5)  # cement volume per level, mL
    >>> law.tilt(-2.0)  # the law among cases when the log OR per mL is -2
    NormalLaw(mean=4.25, sd=0.5)
    >>> law.sample(np.random.default_rng(1), 3).shape
    (3,)
    """

    mean: float
    sd: float

    def log_mgf(self, beta: float) -> float:
        """Cumulant generating function log E[exp(beta * X)]."""
        return beta * self.mean + 0.5 * (beta * self.sd) ** 2

    def tilt(self, beta: float) -> NormalLaw:
        """Law with density proportional to this one times exp(beta * x)."""
        return NormalLaw(self.mean + beta * self.sd**2, self.sd)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values."""
        return rng.normal(self.mean, self.sd, size)

    def moments(self) -> tuple[float, float]:
        """Mean and standard deviation."""
        return self.mean, self.sd

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        """Values whose normal scores are ``z`` (the Gaussian-copula transform)."""
        return self.mean + self.sd * z


@dataclass(frozen=True)
class BernoulliLaw:
    """Bernoulli law of a 0/1 factor with P(X = 1) = ``p``.

    Parameters
    ----------
    p : float
        Probability of a 1.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr.simulate import BernoulliLaw
    >>> law = BernoulliLaw(0.25)
    >>> round(law.tilt(np.log(3.0)).p, 3)  # odds 1:3 times an odds ratio of 3
    0.5
    >>> law.sample(np.random.default_rng(1), 5).tolist()
    [0, 0, 1, 0, 0]
    """

    p: float

    def log_mgf(self, beta: float) -> float:
        """Cumulant generating function log E[exp(beta * X)]."""
        return float(np.logaddexp(np.log1p(-self.p), np.log(self.p) + beta))

    def tilt(self, beta: float) -> BernoulliLaw:
        """Law with the odds of X = 1 multiplied by exp(beta)."""
        return BernoulliLaw(float(special.expit(special.logit(self.p) + beta)))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values as 0/1 integers."""
        return (rng.random(size) < self.p).astype(np.int64)

    def moments(self) -> tuple[float, float]:
        """Mean and standard deviation."""
        return self.p, float(np.sqrt(self.p * (1 - self.p)))

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        """Values whose normal scores are ``z`` (the Gaussian-copula transform)."""
        return (z > stats.norm.ppf(1 - self.p)).astype(np.int64)


@dataclass(frozen=True)
class DiscreteLaw:
    """Law on a finite set of whole numbers.

    Parameters
    ----------
    support : tuple of int
        The values, in increasing order.
    pmf : tuple of float
        Their probabilities (summing to 1).

    Examples
    --------
    >>> from bayes_ubpr.simulate import DiscreteLaw
    >>> law = DiscreteLaw(support=(1, 2, 3), pmf=(0.5, 0.3, 0.2))
    >>> [round(m, 3) for m in law.moments()]
    [1.7, 0.781]
    >>> [round(float(p), 3) for p in law.tilt(1.0).pmf]  # weights times e^k, renormalised
    [0.179, 0.292, 0.529]
    """

    support: tuple[int, ...]
    pmf: tuple[float, ...]

    def log_mgf(self, beta: float) -> float:
        """Cumulant generating function log E[exp(beta * X)]."""
        return float(special.logsumexp(np.log(self.pmf) + beta * np.asarray(self.support)))

    def tilt(self, beta: float) -> DiscreteLaw:
        """Law with probabilities proportional to pmf * exp(beta * k)."""
        log_weights = np.log(self.pmf) + beta * np.asarray(self.support)
        return DiscreteLaw(self.support, tuple(np.exp(log_weights - special.logsumexp(log_weights))))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values."""
        return rng.choice(np.asarray(self.support, dtype=np.int64), size=size, p=np.asarray(self.pmf))

    def moments(self) -> tuple[float, float]:
        """Mean and standard deviation."""
        k, p = np.asarray(self.support, dtype=float), np.asarray(self.pmf)
        mean = float(p @ k)
        return mean, float(np.sqrt(p @ (k - mean) ** 2))

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        """Values whose normal scores are ``z`` (the Gaussian-copula transform)."""
        cdf = np.cumsum(self.pmf)
        index = np.minimum(np.searchsorted(cdf, stats.norm.cdf(z), side="right"), len(cdf) - 1)
        return np.asarray(self.support, dtype=np.int64)[index]


Law = NormalLaw | BernoulliLaw | DiscreteLaw


def max_entropy_count_law(mean: float, sd: float, support: tuple[int, ...]) -> DiscreteLaw:
    """Maximum-entropy law on ``support`` with the given mean and SD.

    Its probabilities are proportional to exp(a*k + c*k**2), the least
    committal law on whole numbers that reproduces two moments. It is the law
    of ``n_fractures`` in :func:`control_laws`, and the audit rebuilds the
    count law of a printed group with it.

    Raises
    ------
    ValueError
        If no law on ``support`` has that mean and SD (the root finding fails).
    """
    k = np.asarray(support, dtype=float)

    def law(theta: np.ndarray) -> np.ndarray:
        log_weights = theta[0] * k + theta[1] * k**2
        return np.exp(log_weights - special.logsumexp(log_weights))

    def mismatch(theta: np.ndarray) -> list[float]:
        p = law(theta)
        m = p @ k
        return [m - mean, np.sqrt(p @ (k - m) ** 2) - sd]

    solution = optimize.root(mismatch, x0=np.array([-1.0, 0.0]))
    if not solution.success or max(abs(e) for e in mismatch(solution.x)) > 1e-8:
        raise ValueError(f"No law on {support[0]}..{support[-1]} has mean {mean} and SD {sd}.")
    return DiscreteLaw(support, tuple(law(solution.x)))


def control_laws() -> dict[str, Law]:
    """Law of each of the fifteen factors in the satisfactory (control) group.

    Built from the satisfactory-group columns of :func:`bayes_ubpr.paper.table4`.

    Returns
    -------
    dict of str to law
        :class:`NormalLaw` for continuous factors, :class:`BernoulliLaw` for
        binary ones (the proportion of level 1 is count / 60), and the
        maximum-entropy :class:`DiscreteLaw` on 1..6 for ``n_fractures``.

    Notes
    -----
    The BMD inclusion criterion (T <= -2.5) is not imposed: the printed mean
    3.04 and SD 0.25 put 1.5% of a normal law below 2.5, and truncating it
    would change the mean and SD that Table 4 prints.

    Examples
    --------
    >>> from bayes_ubpr.simulate import control_laws
    >>> law = control_laws()["n_fractures"]
    >>> [round(m, 2) for m in law.moments()]
    [1.37, 0.6]
    """
    return dict(_control_laws())


@functools.cache
def _control_laws() -> dict[str, Law]:
    """Build the laws once per process: the count law's root finding cost a study 40 ms per replicate."""
    laws: dict[str, Law] = {}
    for row in table4().itertuples(index=False):
        if row.kind == "binary":
            laws[row.factor] = BernoulliLaw(row.satisfactory_n1 / (row.satisfactory_n1 + row.satisfactory_n0))
        elif row.kind == "count":
            support = tuple(range(1, MAX_FRACTURES + 1))
            laws[row.factor] = max_entropy_count_law(row.satisfactory_mean, row.satisfactory_sd, support)
        else:
            laws[row.factor] = NormalLaw(row.satisfactory_mean, row.satisfactory_sd)
    return {name: laws[name] for name in RISK_FACTORS}
