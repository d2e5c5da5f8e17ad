"""Synthetic cohorts shaped like the paper's, and case-control samples of them.

The simulated world is built from the paper's two tables:

* the satisfactory (control) group of Table 4 fixes the law of every factor
  among patients *without* UBPR: normal laws with the printed mean and SD for
  continuous factors, Bernoulli laws with the printed proportion for binary
  ones, and for ``n_fractures`` the maximum-entropy law on 1..6 with the
  printed mean and SD;
* Table 5's B are the true log odds ratios of the six factors, the other nine
  factors are null;
* the intercept makes the expected prevalence equal ``prevalence``.

Factors are independent within the control group (Table 4 prints no
correlations). Because the outcome model is logistic, the case group's law is
the control law exponentially tilted by the odds ratios, and the whole cohort
is the mixture ``(1 - p) * control + p * tilted``; drawing covariates from
that mixture and the outcome from the logistic model makes the controls
follow Table 4 exactly and the prevalence equal ``p`` in expectation, with
the intercept known in closed form (see :func:`true_model`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from bayes_ubpr._rng import SeedLike, as_generator
from bayes_ubpr._validate import check_names, check_positive_int, check_probability, require_dataframe
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.paper import N_PATIENTS, OUTCOME, PREVALENCE, RISK_FACTORS, table4, table5

__all__ = [
    "BernoulliLaw",
    "DiscreteLaw",
    "NormalLaw",
    "TrueModel",
    "case_control_sample",
    "control_laws",
    "simulate_cohort",
    "true_model",
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


@dataclass(frozen=True)
class TrueModel:
    """The data-generating logistic model of a simulated cohort.

    Attributes
    ----------
    intercept : float
        Log odds of UBPR when every factor is zero.
    log_odds_ratios : pandas.Series
        True log odds ratio per unit of each of the fifteen factors.
    prevalence : float
        Expected proportion of cases in the cohort.
    laws : dict
        Law of each factor among controls (see :func:`control_laws`).

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr.simulate import simulate_cohort, true_model
    >>> model = true_model(prevalence=0.1)
    >>> cohort = simulate_cohort(n=500, prevalence=0.1, seed=1)
    >>> risk = model.risk(cohort)
    >>> risk.shape, bool(np.allclose(risk, cohort["true_risk"]))
    ((500,), True)
    >>> sorted(model.as_dict())
    ['intercept', 'log_odds_ratios', 'prevalence']
    """

    intercept: float
    log_odds_ratios: pd.Series
    prevalence: float
    laws: dict[str, Law] = field(repr=False)

    def risk(self, data: pd.DataFrame) -> np.ndarray:
        """Return the true probability of UBPR for each row of ``data``."""
        design = data[list(self.log_odds_ratios.index)].to_numpy(dtype=float)
        return special.expit(self.intercept + design @ self.log_odds_ratios.to_numpy())

    def as_dict(self) -> dict[str, object]:
        """Plain-Python summary, suitable for ``DataFrame.attrs``."""
        return {
            "intercept": self.intercept,
            "log_odds_ratios": {k: float(v) for k, v in self.log_odds_ratios.items()},
            "prevalence": self.prevalence,
        }


def true_model(*, prevalence: float = PREVALENCE, odds_ratios: Mapping[str, float] | None = None) -> TrueModel:
    r"""Return the logistic model that :func:`simulate_cohort` draws from.

    Parameters
    ----------
    prevalence : float, default 60/1316
        Expected proportion of cases.
    odds_ratios : mapping of str to float, optional
        True odds ratio per unit for any of the fifteen factors; factors not
        given keep their default (exp(B) of Table 5 for the six, 1 for the
        nine others).

    Returns
    -------
    TrueModel

    Notes
    -----
    With control law :math:`f_0`, log odds ratios :math:`\beta` and
    :math:`M = E_{f_0}[e^{\beta^\top x}] = \prod_j E_{f_0}[e^{\beta_j x_j}]`,
    the intercept is :math:`\alpha = \operatorname{logit}(p) - \log M`. If
    covariates follow :math:`(1-p) f_0 + p f_0 e^{\beta^\top x} / M` and
    :math:`P(y=1 \mid x) = \operatorname{expit}(\alpha + \beta^\top x)`,
    then :math:`P(y = 1) = p` and :math:`x \mid y = 0 \sim f_0` exactly.

    Examples
    --------
    >>> from bayes_ubpr.simulate import true_model
    >>> model = true_model()
    >>> round(float(model.log_odds_ratios["fascia_injury"]), 3)
    1.336
    """
    prevalence = check_probability(prevalence, name="prevalence")
    beta = pd.Series(0.0, index=list(RISK_FACTORS), name="log_odds_ratio")
    paper = table5().set_index("factor")["B"]
    beta[paper.index] = paper.to_numpy()
    for name, odds_ratio in (odds_ratios or {}).items():
        check_names([name], RISK_FACTORS, what="risk factor in odds_ratios")
        if not np.isfinite(odds_ratio) or odds_ratio <= 0:
            raise ValueError(f'odds_ratios["{name}"] must be a positive finite number; got {odds_ratio!r}')
        beta[name] = np.log(odds_ratio)
    laws = control_laws()
    log_m = sum(laws[name].log_mgf(float(beta[name])) for name in beta.index)
    intercept = float(special.logit(prevalence) - log_m)
    return TrueModel(intercept=intercept, log_odds_ratios=beta, prevalence=prevalence, laws=laws)


def simulate_cohort(
    n: int = N_PATIENTS,
    prevalence: float = PREVALENCE,
    *,
    seed: SeedLike = None,
    odds_ratios: Mapping[str, float] | None = None,
    n_sites: int = 1,
    site_sd: float = 0.0,
    correlation: Mapping[tuple[str, str], float] | None = None,
) -> pd.DataFrame:
    """Simulate a cohort of PVP patients like the paper's.

    Parameters
    ----------
    n : int, default 1316
        Number of patients.
    prevalence : float, default 60/1316
        Expected proportion of patients with UBPR; the realised number of
        cases is Binomial(n, prevalence).
    seed : None, int or numpy.random.Generator
        Same seed, same cohort.
    odds_ratios : mapping of str to float, optional
        True odds ratios per unit overriding the defaults (see
        :func:`true_model`).
    n_sites : int, default 1
        Number of sites (hospitals); above 1, each patient is assigned a site
        uniformly at random, recorded in a ``site`` column (1..n_sites).
    site_sd : float, default 0.0
        Between-site SD of the log-odds intercept. Site offsets are drawn
        from N(0, site_sd) and shifted by one constant, solved numerically,
        so that the expected prevalence over sites is still ``prevalence``.
    correlation : mapping of (str, str) to float, optional
        Correlations of the factors' normal scores, e.g.
        ``{("bmd_tscore_abs", "n_fractures"): 0.3}`` for low bone density
        going with more fractures: a Gaussian copula over the factors that
        keeps each factor's law. Covariates are then drawn from the copula
        for every patient and the intercept is solved numerically (Monte
        Carlo integration over 200,000 draws) so that the expected
        prevalence is ``prevalence``; the controls' laws then differ from
        Table 4's by the small tilt that the cases leave behind.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id``, the fifteen factors of
        :data:`~bayes_ubpr.paper.RISK_FACTORS`, ``ubpr`` (0/1) and
        ``true_risk``. ``.attrs["truth"]`` holds the true intercept, log odds
        ratios and prevalence (and, with sites, ``site_sd`` and
        ``site_intercepts``); ``.attrs["seed"]`` the seed if it was an int.

    See Also
    --------
    true_model : the data-generating model and why its controls match Table 4.
    case_control_sample : draw the paper's 1:1 case-control sample.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort
    >>> cohort = simulate_cohort(seed=2016)
    >>> len(cohort), int(cohort["ubpr"].sum())
    (1316, 56)
    """
    n = check_positive_int(n, name="n")
    n_sites = check_positive_int(n_sites, name="n_sites")
    if not np.isfinite(site_sd) or site_sd < 0:
        raise ValueError(f"site_sd must be a finite number >= 0; got {site_sd!r}")
    model = true_model(prevalence=prevalence, odds_ratios=odds_ratios)
    rng = as_generator(seed)
    columns: dict[str, np.ndarray] = {"patient_id": np.arange(1, n + 1)}
    site_offsets = np.zeros(1)
    site = np.zeros(n, dtype=np.int64)
    if n_sites > 1:
        site = rng.integers(n_sites, size=n)
        site_offsets = _site_offsets(rng.normal(0.0, site_sd, n_sites), model.prevalence)
        columns["site"] = site + 1
    if correlation:
        cholesky = _copula_cholesky(correlation)
        model = replace(model, intercept=_copula_intercept(model, cholesky))
        scores = rng.standard_normal((n, len(model.laws))) @ cholesky.T
        for j, (name, law) in enumerate(model.laws.items()):
            columns[name] = law.from_normal(scores[:, j])
    else:
        # Each site is a world of its own prevalence with the same control laws and odds ratios.
        site_prevalence = special.expit(special.logit(model.prevalence) + site_offsets)[site]
        # The mixture component says from which law (control or tilted) a
        # patient's covariates come; the outcome is drawn afresh from the model.
        tilted = rng.random(n) < site_prevalence
        for name, law in model.laws.items():
            values = law.sample(rng, n)
            values[tilted] = law.tilt(float(model.log_odds_ratios[name])).sample(rng, int(tilted.sum()))
            columns[name] = values
    cohort = pd.DataFrame(columns)
    risk = special.expit(special.logit(model.risk(cohort)) + site_offsets[site])
    cohort[OUTCOME] = (rng.random(n) < risk).astype(np.int64)
    cohort["true_risk"] = risk
    cohort.attrs["truth"] = model.as_dict()
    if correlation:
        cohort.attrs["truth"]["correlation"] = {f"{a}~{b}": float(r) for (a, b), r in correlation.items()}
    if n_sites > 1:
        cohort.attrs["truth"].update(
            {"site_sd": float(site_sd), "site_intercepts": (model.intercept + site_offsets).tolist()}
        )
    if isinstance(seed, (int, np.integer)):
        cohort.attrs["seed"] = int(seed)
    return cohort


COPULA_INTEGRATION_DRAWS = 200_000


def _copula_cholesky(correlation: Mapping[tuple[str, str], float]) -> np.ndarray:
    """Cholesky factor of the normal-score correlation matrix over all fifteen factors."""
    names = list(RISK_FACTORS)
    matrix = np.eye(len(names))
    for pair, value in correlation.items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(f"correlation keys must be pairs of factor names; got {pair!r}")
        check_names(pair, RISK_FACTORS, what="risk factor in correlation")
        if pair[0] == pair[1] or not -1 < value < 1:
            raise ValueError(f"correlation {pair} must pair two factors with a value in (-1, 1); got {value!r}")
        i, j = names.index(pair[0]), names.index(pair[1])
        matrix[i, j] = matrix[j, i] = value
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise ValueError("the correlations do not form a positive definite matrix") from None


def _copula_intercept(model: TrueModel, cholesky: np.ndarray) -> float:
    """Intercept giving expected prevalence ``model.prevalence`` under the copula (Monte Carlo integral)."""
    scores = np.random.default_rng(20161316).standard_normal((COPULA_INTEGRATION_DRAWS, len(model.laws))) @ cholesky.T
    design = np.column_stack([law.from_normal(scores[:, j]) for j, law in enumerate(model.laws.values())])
    linear = design @ model.log_odds_ratios.to_numpy()

    def gap(intercept: float) -> float:
        return float(special.expit(intercept + linear).mean() - model.prevalence)

    return float(optimize.brentq(gap, -60.0, 60.0))


def _site_offsets(effects: np.ndarray, prevalence: float) -> np.ndarray:
    """Shift site effects so that equally likely sites average ``prevalence``."""
    base = special.logit(prevalence)

    def gap(shift: float) -> float:
        return float(special.expit(base + shift + effects).mean() - prevalence)

    shift = optimize.brentq(gap, -20.0, 20.0)
    return shift + effects


def case_control_sample(
    cohort: pd.DataFrame, controls_per_case: int = 1, *, seed: SeedLike = None, outcome: str = OUTCOME
) -> pd.DataFrame:
    """Take every case and a simple random sample of controls, as the paper did.

    Parameters
    ----------
    cohort : pandas.DataFrame
        A cohort with a 0/1 outcome column.
    controls_per_case : int, default 1
        Controls drawn per case without replacement (1 gives the paper's 60:60).
    seed : None, int or numpy.random.Generator
    outcome : str, default "ubpr"
        The outcome column (1 = case).

    Returns
    -------
    pandas.DataFrame
        The sampled rows in cohort order, index kept. ``.attrs`` records
        ``n_cases``, ``n_controls``, ``controls_per_case``, ``cohort_size``
        and ``cohort_prevalence`` (needed to map sample risks back to the
        population), plus the cohort's ``truth`` if it has one.

    Raises
    ------
    CohortValidationError
        If the outcome is missing or not 0/1, there are no cases, or there are
        fewer controls than requested.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, case_control_sample
    >>> sample = case_control_sample(simulate_cohort(seed=2016), seed=1)
    >>> sample.attrs["n_cases"], sample.attrs["n_controls"]
    (56, 56)
    """
    require_dataframe(cohort, name="cohort")
    controls_per_case = check_positive_int(controls_per_case, name="controls_per_case")
    if outcome not in cohort.columns:
        raise CohortValidationError(f'cohort has no "{outcome}" column to sample cases from.', column=outcome)
    values = cohort[outcome]
    bad = ~values.isin([0, 1])
    if bad.any():
        raise CohortValidationError(
            f'Column "{outcome}" must be 0 or 1; rows {list(cohort.index[bad.to_numpy()][:5])} are not.',
            column=outcome,
            rows=list(cohort.index[bad.to_numpy()]),
        )
    is_case = values.to_numpy() == 1
    n_cases = int(is_case.sum())
    n_controls = controls_per_case * n_cases
    available = len(cohort) - n_cases
    if n_cases == 0:
        raise CohortValidationError(f"cohort has no cases ({outcome} = 1) to build a case-control sample from.")
    if n_controls > available:
        raise CohortValidationError(
            f"{controls_per_case} controls per case needs {n_controls} controls, but the cohort has only {available}."
        )
    rng = as_generator(seed)
    chosen = rng.choice(np.flatnonzero(~is_case), size=n_controls, replace=False)
    keep = is_case.copy()
    keep[chosen] = True
    sample = cohort.loc[keep].copy()
    sample.attrs = {
        **{k: v for k, v in cohort.attrs.items() if k == "truth"},
        "n_cases": n_cases,
        "n_controls": n_controls,
        "controls_per_case": controls_per_case,
        "cohort_size": len(cohort),
        "cohort_prevalence": n_cases / len(cohort),
    }
    return sample
