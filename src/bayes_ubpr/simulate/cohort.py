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

Effects (:mod:`~bayes_ubpr.simulate.effects`) add to this world a categorical
factor with text levels or a curved effect of a continuous variable; they
keep the same construction, exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import optimize, special

from bayes_ubpr._rng import SeedLike, as_generator
from bayes_ubpr._validate import check_names, check_positive_int, check_probability, require_dataframe
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.paper import N_PATIENTS, OUTCOME, PREVALENCE, RISK_FACTORS, table5
from bayes_ubpr.simulate.effects import NUMERIC_EFFECTS, Effect, check_effects
from bayes_ubpr.simulate.laws import Law, control_laws

__all__ = ["TrueModel", "case_control_sample", "simulate_cohort", "true_model"]


@dataclass(frozen=True)
class TrueModel:
    """The data-generating logistic model of a simulated cohort.

    Attributes
    ----------
    intercept : float
        Log odds of UBPR when every factor is zero (every level at its
        reference, every curve at its centre).
    log_odds_ratios : pandas.Series
        True log odds ratio per unit of each of the fifteen factors (but
        those an effect takes over).
    prevalence : float
        Expected proportion of cases in the cohort.
    laws : dict
        Law of each of those factors among controls (see :func:`control_laws`).
    effects : tuple of LevelEffects or QuadraticEffect
        The effects of the world beyond a log odds ratio per unit, each
        taking over one variable (see :mod:`~bayes_ubpr.simulate.effects`).

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
    >>> round(model.log_odds_ratio("n_fractures", 3, 1), 3)  # two more fractures: twice Table 5's B
    2.47
    >>> [(round(a, 2), round(b, 2)) for a, b in model.contrasts("cement_volume_ml")]  # mean -/+ 1 SD vs mean
    [(5.09, 5.55), (6.01, 5.55)]
    """

    intercept: float
    log_odds_ratios: pd.Series
    prevalence: float
    laws: dict[str, Law] = field(repr=False)
    effects: tuple[Effect, ...] = ()

    @property
    def variables(self) -> tuple[str, ...]:
        """Every column the world draws, in cohort order: the fifteen factors, then the effects' own variables."""
        taken = {e.variable for e in self.effects}
        catalogue = [name for name in RISK_FACTORS if name in self.laws or name in taken]
        return (*catalogue, *(e.variable for e in self.effects if e.variable not in RISK_FACTORS))

    def effect(self, variable: str) -> Effect | None:
        """Return the effect that takes over ``variable``, or None for a factor with a log odds ratio per unit."""
        return next((e for e in self.effects if e.variable == variable), None)

    def contribution(self, variable: str, values: Sequence[object] | np.ndarray | pd.Series) -> np.ndarray:
        """Return the contribution of ``variable`` at ``values`` to the true log odds.

        ``beta * x`` for a factor with a log odds ratio per unit; the level's
        log OR against the first level, or the curve, for an effect.

        Raises
        ------
        ValueError
            For a variable the world does not have (with "did you mean").
        """
        check_names([variable], self.variables, what="variable of the simulated world")
        effect = self.effect(variable)
        if effect is not None:
            return effect.log_odds(values)
        return float(self.log_odds_ratios[variable]) * np.asarray(values, dtype=float)

    def contrasts(self, variable: str) -> tuple[tuple[float, float], ...]:
        """Return the pairs ``(a, b)`` of a numeric variable whose log odds ratio a study reports.

        A curve's own (``contrasts`` of a QuadraticEffect or CurveEffect); for a factor with
        a log odds ratio per unit, one SD of its control law either side of
        its mean, against the mean.

        Raises
        ------
        ValueError
            For a variable with text levels, or one the world does not have.
        """
        check_names([variable], self.variables, what="variable of the simulated world")
        effect = self.effect(variable)
        if isinstance(effect, NUMERIC_EFFECTS):
            return effect.contrasts  # type: ignore[return-value]
        if effect is not None:
            raise ValueError(f'"{variable}" has text levels in the simulated world: it has no numeric contrasts')
        mean, sd = self.laws[variable].moments()
        return ((mean - sd, mean), (mean + sd, mean))

    def log_odds_ratio(self, variable: str, value: object, reference: object) -> float:
        """Return the true log odds ratio of ``variable = value`` against ``variable = reference``."""
        both = self.contribution(variable, np.array([value, reference], dtype=object))
        return float(both[0] - both[1])

    def risk(self, data: pd.DataFrame) -> np.ndarray:
        """Return the true probability of UBPR for each row of ``data``."""
        design = data[list(self.log_odds_ratios.index)].to_numpy(dtype=float)
        eta = self.intercept + design @ self.log_odds_ratios.to_numpy()
        for effect in self.effects:
            eta = eta + effect.log_odds(data[effect.variable])
        return special.expit(eta)

    def as_dict(self) -> dict[str, object]:
        """Plain-Python summary, suitable for ``DataFrame.attrs`` (``effects`` only when the world has some)."""
        summary: dict[str, object] = {
            "intercept": self.intercept,
            "log_odds_ratios": {k: float(v) for k, v in self.log_odds_ratios.items()},
            "prevalence": self.prevalence,
        }
        if self.effects:
            summary["effects"] = [e.as_dict() for e in self.effects]
        return summary


def true_model(
    *,
    prevalence: float = PREVALENCE,
    odds_ratios: Mapping[str, float] | None = None,
    effects: Sequence[Effect] | None = None,
) -> TrueModel:
    r"""Return the logistic model that :func:`simulate_cohort` draws from.

    Parameters
    ----------
    prevalence : float, default 60/1316
        Expected proportion of cases.
    odds_ratios : mapping of str to float, optional
        True odds ratio per unit for any of the fifteen factors; factors not
        given keep their default (exp(B) of Table 5 for the six, 1 for the
        nine others).
    effects : sequence of LevelEffects or QuadraticEffect, optional
        Effects beyond a log odds ratio per unit, each taking over one
        variable: a new one (a categorical ``fracture_level``) or one of the
        fifteen factors, whose log odds ratio per unit it replaces (a
        U-shaped ``cement_volume_ml``).

    Returns
    -------
    TrueModel

    Raises
    ------
    ValueError, TypeError
        For an unknown factor, an odds ratio that is not positive and
        finite or given for a factor an effect takes over, or effects that
        are not effects or take a variable twice.

    Notes
    -----
    With control law :math:`f_0`, log odds ratios :math:`\beta` and
    :math:`M = E_{f_0}[e^{\beta^\top x}] = \prod_j E_{f_0}[e^{\beta_j x_j}]`,
    the intercept is :math:`\alpha = \operatorname{logit}(p) - \log M`. If
    covariates follow :math:`(1-p) f_0 + p f_0 e^{\beta^\top x} / M` and
    :math:`P(y=1 \mid x) = \operatorname{expit}(\alpha + \beta^\top x)`,
    then :math:`P(y = 1) = p` and :math:`x \mid y = 0 \sim f_0` exactly. An
    effect's contribution :math:`g(x_k)` enters :math:`\beta^\top x` and
    :math:`M` in the same way, through its own factor
    :math:`E_{f_0}[e^{g(X_k)}]` of the product (its ``log_mgf``) and its
    tilted law.

    Examples
    --------
    >>> from bayes_ubpr.simulate import QuadraticEffect, true_model
    >>> model = true_model()
    >>> round(float(model.log_odds_ratios["fascia_injury"]), 3)
    1.336
    >>> curved = true_model(effects=[QuadraticEffect("cement_volume_ml", curvature=1.5, centre=5.5)])
    >>> "cement_volume_ml" in curved.log_odds_ratios, round(curved.log_odds_ratio("cement_volume_ml", 4.5, 5.5), 3)
    (False, 1.5)
    """
    prevalence = check_probability(prevalence, name="prevalence")
    effects = check_effects(effects)
    beta = pd.Series(0.0, index=list(RISK_FACTORS), name="log_odds_ratio")
    paper = table5().set_index("factor")["B"]
    beta[paper.index] = paper.to_numpy()
    taken = {e.variable for e in effects}
    for name, odds_ratio in (odds_ratios or {}).items():
        check_names([name], RISK_FACTORS, what="risk factor in odds_ratios")
        if not np.isfinite(odds_ratio) or odds_ratio <= 0:
            raise ValueError(f'odds_ratios["{name}"] must be a positive finite number; got {odds_ratio!r}')
        if name in taken:
            raise ValueError(f'odds_ratios["{name}"]: an effect takes over "{name}"; state its truth there')
        beta[name] = np.log(odds_ratio)
    beta = beta.drop([name for name in beta.index if name in taken])
    laws = {name: law for name, law in control_laws().items() if name not in taken}
    log_m = sum(laws[name].log_mgf(float(beta[name])) for name in beta.index)
    log_m += sum(effect.log_mgf() for effect in effects)
    intercept = float(special.logit(prevalence) - log_m)
    return TrueModel(intercept=intercept, log_odds_ratios=beta, prevalence=prevalence, laws=laws, effects=effects)


def simulate_cohort(
    n: int = N_PATIENTS,
    prevalence: float = PREVALENCE,
    *,
    seed: SeedLike = None,
    odds_ratios: Mapping[str, float] | None = None,
    n_sites: int = 1,
    site_sd: float = 0.0,
    correlation: Mapping[tuple[str, str], float] | None = None,
    effects: Sequence[Effect] | None = None,
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
    effects : sequence of LevelEffects or QuadraticEffect, optional
        A categorical factor with text levels, or a curved effect of a
        continuous variable, each with its known truth (see
        :func:`true_model`); not with ``correlation``. Their variables are
        drawn like the factors', from their law among controls or, for the
        mixture's case component, the tilted law.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id``, the fifteen factors of
        :data:`~bayes_ubpr.paper.RISK_FACTORS` (an effect's catalogue
        variable in its place), the effects' new variables, ``ubpr`` (0/1)
        and ``true_risk``. ``.attrs["truth"]`` holds the true intercept, log
        odds ratios, prevalence and effects (and, with sites, ``site_sd``
        and ``site_intercepts``); ``.attrs["seed"]`` the seed if it was an
        int.

    Raises
    ------
    ValueError, TypeError
        Naming the argument: a count below 1, a negative ``site_sd``, an
        unknown factor, or effects together with ``correlation``.

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

    A world with a categorical fracture level and a U-shaped cement volume:

    >>> from bayes_ubpr.simulate import LevelEffects, QuadraticEffect
    >>> level = LevelEffects("fracture_level", ("lumbar", "thoracic", "thoracolumbar"), (0.3, 0.25, 0.45),
    ...                      odds_ratios={"thoracic": 1.5, "thoracolumbar": 2.5})
    >>> volume = QuadraticEffect("cement_volume_ml", curvature=1.5, centre=5.5)
    >>> cohort = simulate_cohort(n=2000, prevalence=0.2, seed=1, effects=[level, volume])
    >>> cohort.groupby("ubpr")["fracture_level"].value_counts(normalize=True).unstack().round(2)  # cases tilted
    fracture_level  lumbar  thoracic  thoracolumbar
    ubpr
    0                 0.29      0.26           0.45
    1                 0.17      0.20           0.63
    """
    n = check_positive_int(n, name="n")
    n_sites = check_positive_int(n_sites, name="n_sites")
    if not np.isfinite(site_sd) or site_sd < 0:
        raise ValueError(f"site_sd must be a finite number >= 0; got {site_sd!r}")
    model = true_model(prevalence=prevalence, odds_ratios=odds_ratios, effects=effects)
    if correlation and model.effects:
        raise ValueError(
            "simulate_cohort: correlation (a Gaussian copula over the fifteen factors) cannot be combined with "
            "effects yet; pass one of them"
        )
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
        for name in model.variables:
            effect = model.effect(name)
            if effect is None:
                law = model.laws[name]
                values = law.sample(rng, n)
                values[tilted] = law.tilt(float(model.log_odds_ratios[name])).sample(rng, int(tilted.sum()))
            else:
                values = effect.sample(rng, n)
                values[tilted] = effect.sample(rng, int(tilted.sum()), tilted=True)
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
