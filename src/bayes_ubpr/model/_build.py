"""Turning data, priors and a study design into a PyMC model.

The model, for patient i in group g(i) with factor vector x_i and outcome y_i
(``ubpr`` in the paper's model, any 0/1 column in the user's)::

    logit P(y_i = 1) = alpha + u_g(i) + sum_j (beta_j + v_g(i),j) (x_ij - m_j)

``alpha`` is the log odds at the factors' sample mean m; ``beta_j`` the log
odds ratio per unit of factor j. The sampler works in standardised
coordinates, ``beta_std_j = beta_j * s_j`` with s_j the sample SD and every
prior transformed exactly, so that all coefficients have comparable posterior
scales. Optional parts:

* group intercepts ``u_g = group_sd * z_g`` (non-centred) and varying slopes
  ``v_g,j = slope_sd_j * w_g,j`` for chosen factors (per SD);
* a case-control correction (Prentice & Pyke 1979): the sample's odds ratios
  are the population's, and the population intercept is
  ``alpha + logit(prevalence) - log(n_cases / n_controls)``.

With ``fit(..., missing="model")`` the covariates with missing values have
models of their own inside this one, and their missing values are
parameters put into the design (:mod:`bayes_ubpr.model._latent`).

All numbers that change between data sets (design, centre, scale, outcome,
group codes, prior hyperparameters, the correction) are ``pm.Data``, so a model
compiled once is refitted to new data of the same structure.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy import special

from bayes_ubpr.data import FactorLike, validate_cohort
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.model.spec import DESIGNS, ModelSpec, PrevalenceLike, spec_from_keywords
from bayes_ubpr.priors import PopulationPrevalence, PriorsLike, PriorSpec
from bayes_ubpr.terms import group_labels

if TYPE_CHECKING:
    from bayes_ubpr.model._latent import LatentCovariates

__all__ = ["DESIGNS", "ModelInputs", "build_from_inputs", "build_model", "prepare_inputs"]

GROUP_SD_PRIOR_SCALE = 1.0
"""Half-normal scale of the between-group SD of intercepts (log-odds): a
between-hospital odds ratio of exp(2 * 1) = 7.4 between the 2.5th and 97.5th
percentile hospital is already extreme."""
SLOPE_SD_PRIOR_SCALE = 0.5
"""Half-normal scale of the between-group SD of a varying slope (per SD of the factor)."""

INITIAL_PROBABILITY = 0.05
"""Where samplers start a probability parameter (the population prevalence) before their jitter: every fit
starts from constants, not from the data a model was first compiled with."""

CENTRED_INFORMATION_PER_FACTOR = 5.5
"""Information per factor, ``cases * controls / patients / factors`` (the Fisher information of a standardised
log odds ratio, n p (1 - p), shared among the factors), from which domain shrinkage uses the centred
parametrisation.

Measured (``DomainShrinkage()`` on samples of the paper's simulated world, 2 chains x (200 + 700), target
acceptance 0.95, 8 to 15 samples each; a replicate passes with no divergence, bulk and tail ESS >= 400 and R-hat
<= 1.01): 60:60 cases to controls (5.0 per factor): non-centred 29 leapfrog steps a draw, no divergence, 9 of 15
pass; centred 25 steps, divergences in 6 of 15, 9 pass. 50:100 (5.6): non-centred 3 of 8 pass, centred 7 of 8.
80:80 (6.7): 4 of 8 against 8 of 8 (30 steps against 19). 60:120, 60:240, 60:480 (6.7 to 8.9): non-centred
37-56 steps, 0-2 of 8 pass; centred 17-20 steps, 8 of 8. The simulated 1,316-patient cohort (9.5 per factor),
4 x (1,000 + 1,000): non-centred diverged at 0.95 and ran again at 0.99, about 88 steps; centred 14.5 steps, no
divergence, smallest ESS 1,347. The rule before (15 cases per factor, counting the rarer outcome only) kept all
of these non-centred."""

COLUMN_SUM_ROWS = 10_000
"""Patients from which the linear predictor is a sum of columns times coefficients instead of a matrix product.

PyTensor fuses the sum into one pass over the patients with the likelihood, while its matrix product runs
without BLAS in a pip installation: at 100,000 patients the gradient costs 1.3-2.3x less in both the C and
the numba backend (``benchmarks/bench_scale.py``); at 120 patients the product is 1.3x cheaper per step."""


@dataclass(frozen=True)
class ModelInputs:
    """Everything a model needs, checked and in arrays; ``key`` names its structure."""

    spec: ModelSpec
    priors: PriorSpec
    data: dict[str, np.ndarray] = field(repr=False)
    coords: dict[str, list[Hashable]] = field(repr=False)
    raw: np.ndarray = field(repr=False)
    centred: bool = False
    latent: LatentCovariates | None = None
    """Covariates with missing values modelled inside the model (``missing="model"``, :mod:`._latent`)."""

    @property
    def column_sum(self) -> bool:
        """Whether the linear predictor is built as a sum of columns (see :data:`COLUMN_SUM_ROWS`)."""
        return len(self.data["outcome_values"]) >= COLUMN_SUM_ROWS

    @property
    def factors(self) -> tuple[str, ...]:
        """Factor names in model order."""
        return self.spec.factor_names

    @property
    def key(self) -> tuple:
        """Hashable description of what must be compiled anew when it changes."""
        spec = self.spec
        return (
            self.factors,
            spec.outcome,
            self.priors.compile_key(),
            spec.design,
            type(spec.population_prevalence).__name__,
            spec.group,
            len(self.coords.get("group", ())),
            spec.varying_slopes,
            self.centred,
            self.column_sum,
            None if self.latent is None else self.latent.key,
        )


def _standardise(clean: pd.DataFrame, factors: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    raw = clean[list(factors)].to_numpy(dtype=float)
    center, scale = raw.mean(axis=0), raw.std(axis=0)
    constant = [f for f, s in zip(factors, scale, strict=True) if s == 0]
    if constant:
        value = clean[constant[0]].iloc[0]
        raise CohortValidationError(
            f'Column "{constant[0]}" is constant (every row is {value}): its odds ratio cannot be '
            "estimated from these data. Leave it out of factors.",
            column=constant[0],
        )
    return raw, (raw - center) / scale, center, scale


def prepare_inputs(data: pd.DataFrame, spec: ModelSpec, *, validated: bool = False) -> ModelInputs:
    """Validate the data against ``spec``, resolve the spec on it and collect the arrays a model needs.

    ``validated=True`` skips the validation, for data that cannot be invalid
    (a simulation study's own samples, refitted thousands of times).
    """
    spec = spec.with_terms_of(data)
    data = spec.model_frame(data)
    if validated:
        clean = data
    else:
        clean = validate_cohort(data, factors=spec.factors, outcome=spec.outcome)
        clean.attrs = dict(data.attrs)
    spec = spec.resolve(clean)
    priors = spec.prior_spec()
    names = spec.factor_names
    raw, standardised, center, scale = _standardise(clean, names)
    y = clean[spec.outcome].to_numpy(dtype=np.int64)
    values: dict[str, np.ndarray] = {"X": standardised, "x_center": center, "x_scale": scale, "outcome_values": y}
    values.update(priors.data_values(len(y)))
    if spec.design == "case_control":
        values.update(_case_control_values(y, spec.population_prevalence))
    coords: dict[str, list[Hashable]] = {"factor": list(names), **priors.coords()}
    if len(spec.groups) > 1:
        values["group_idx"], values["group_grouping"], coords["group"] = _nested_group_codes(clean, spec.groups)
        coords["grouping"] = list(spec.groups)
    elif spec.group is not None:
        codes, levels = _group_codes(clean, spec.groups[0])
        values["group_idx"] = codes
        coords["group"] = list(levels)
        if spec.varying_slopes:
            values["slope_idx"] = np.array([names.index(f) for f in spec.varying_slopes], dtype=np.int64)
            coords["slope"] = list(spec.varying_slopes)
    # Domain shrinkage: with informative data the centred form samples far faster (see DomainShrinkage.build).
    information = float(y.sum()) * float(len(y) - y.sum()) / len(y) / len(names)
    centred = priors.kind == "domains" and information >= CENTRED_INFORMATION_PER_FACTOR
    return ModelInputs(spec, priors, values, coords, raw, bool(centred))


def _case_control_values(y: np.ndarray, prevalence: PrevalenceLike) -> dict[str, np.ndarray]:
    n_cases, n_controls = int(y.sum()), int(len(y) - y.sum())
    values = {"log_sampling_ratio": np.array(np.log(n_cases / n_controls))}
    if isinstance(prevalence, PopulationPrevalence):
        values["prevalence_a"] = np.array(prevalence.alpha)
        values["prevalence_b"] = np.array(prevalence.beta)
    else:
        values["prevalence_logit"] = np.array(special.logit(prevalence))
    return values


def _nested_group_codes(clean: pd.DataFrame, groupings: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list]:
    """Codes of several groupings into one vector of levels labelled ``grouping[level]``."""
    idx: list[np.ndarray] = []
    owner: list[int] = []
    labels: list[str] = []
    for k, grouping in enumerate(groupings):
        codes, levels = _group_codes(clean, grouping)
        idx.append(codes + len(labels))
        owner.extend([k] * len(levels))
        labels.extend(f"{grouping}[{level}]" for level in levels)
    return np.column_stack(idx).astype(np.int64), np.array(owner, dtype=np.int64), labels


def _group_codes(clean: pd.DataFrame, group: str) -> tuple[np.ndarray, pd.Index]:
    labels = group_labels(clean, group)
    codes, levels = pd.factorize(labels, sort=True)
    if len(levels) < 2:
        raise CohortValidationError(f'group column "{group}" has a single level; a multilevel model needs >= 2')
    return codes.astype(np.int64), levels


def build_from_inputs(inputs: ModelInputs) -> pm.Model:
    """Build the PyMC model described by ``inputs``."""
    spec = inputs.spec
    with pm.Model(coords=inputs.coords) as model:
        data = {name: pm.Data(name, value) for name, value in inputs.data.items()}
        alpha = inputs.priors.intercept.build("alpha")
        beta_std = inputs.priors.build_coefficients(data, centred=inputs.centred)
        beta = pm.Deterministic("beta", beta_std / data["x_scale"], dims="factor")
        intercept = pm.Deterministic("intercept", alpha - pt.dot(data["x_center"], beta))
        x, binary_logit = data["X"], None
        if inputs.latent is not None:  # missing covariates: their models, and the design holding their latent values
            x, binary_logit = inputs.latent.build(data)
        eta = alpha + _linear_predictor(x, beta_std, len(inputs.factors), column_sum=inputs.column_sum)
        if len(spec.groups) > 1:
            eta = eta + _grouping_effects(data)
        elif spec.group is not None:
            eta = eta + _group_effects(data, varying_slopes=bool(spec.varying_slopes))
        correction = _case_control_correction(spec, data)
        pm.Deterministic("alpha_population", alpha + correction)
        pm.Deterministic("intercept_population", intercept + correction)
        if inputs.latent is not None:
            inputs.latent.outcome_likelihood(spec.outcome, eta, beta, binary_logit, data)
        else:
            pm.Bernoulli(spec.outcome, logit_p=eta, observed=data["outcome_values"])
    return model


def _linear_predictor(
    x: pt.TensorVariable, beta: pt.TensorVariable, n_factors: int, *, column_sum: bool
) -> pt.TensorVariable:
    """``x @ beta`` as one matrix product, or as a sum of columns that fuses with the likelihood (large data)."""
    if not column_sum:
        return pt.dot(x, beta)
    terms = [x[:, j] * beta[j] for j in range(n_factors)]
    return pt.add(*terms) if len(terms) > 1 else terms[0]


def _group_effects(data: Mapping[str, pt.TensorVariable], *, varying_slopes: bool) -> pt.TensorVariable:
    """Non-centred group intercepts and, optionally, group deviations of chosen slopes (per SD)."""
    group_sd = pm.HalfNormal("group_sd", GROUP_SD_PRIOR_SCALE)
    group_z = pm.Normal("group_z", 0.0, 1.0, dims="group")
    group_offset = pm.Deterministic("group_offset", group_sd * group_z, dims="group")
    effect = group_offset[data["group_idx"]]
    if varying_slopes:
        slope_sd = pm.HalfNormal("slope_sd", SLOPE_SD_PRIOR_SCALE, dims="slope")
        slope_z = pm.Normal("slope_z", 0.0, 1.0, dims=("group", "slope"))
        slope_offset = pm.Deterministic("slope_offset_std", slope_z * slope_sd, dims=("group", "slope"))
        x_slopes = data["X"][:, data["slope_idx"]]
        effect = effect + (x_slopes * slope_offset[data["group_idx"]]).sum(axis=1)
    return effect


def _grouping_effects(data: Mapping[str, pt.TensorVariable]) -> pt.TensorVariable:
    """Non-centred intercepts of several groupings (nested or crossed), each with its own SD."""
    group_sd = pm.HalfNormal("group_sd", GROUP_SD_PRIOR_SCALE, dims="grouping")
    group_z = pm.Normal("group_z", 0.0, 1.0, dims="group")
    group_offset = pm.Deterministic("group_offset", group_sd[data["group_grouping"]] * group_z, dims="group")
    return group_offset[data["group_idx"]].sum(axis=1)


def _case_control_correction(spec: ModelSpec, data: Mapping[str, pt.TensorVariable]) -> pt.TensorLike:
    """Shift from the sample's to the population's log odds (0 for a cohort)."""
    if spec.design == "cohort":
        return pt.as_tensor(0.0)
    if isinstance(spec.population_prevalence, PopulationPrevalence):
        prevalence = pm.Beta("prevalence", alpha=data["prevalence_a"], beta=data["prevalence_b"])
        logit_prevalence = pt.log(prevalence) - pt.log1p(-prevalence)
    else:
        logit_prevalence = data["prevalence_logit"]
    return logit_prevalence - data["log_sampling_ratio"]


def build_model(
    data: pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    factors: Sequence[FactorLike] | None = None,
    outcome: str | None = None,
    priors: PriorsLike = None,
    design: str | None = None,
    population_prevalence: PrevalenceLike = None,
    group: str | None = None,
    varying_slopes: Sequence[str] | None = None,
    population_mapping: str | None = None,
) -> pm.Model:
    """Build the PyMC logistic regression of the outcome on the factors.

    :func:`bayes_ubpr.fit` builds, compiles and samples this model; use
    ``build_model`` to inspect it or to sample it with your own PyMC calls.

    Parameters
    ----------
    data : pandas.DataFrame
        Cohort or case-control sample: the factor columns and the outcome.
    spec : ModelSpec, optional
        The model; default ``ModelSpec()``.
    factors, outcome, priors, design, population_prevalence, group, varying_slopes, population_mapping
        Deprecated: the fields of ``spec`` as loose keywords (they warn, and
        go in the next release); pass ``spec=ModelSpec(...)`` instead.

    Returns
    -------
    pymc.Model
        Data containers ``X`` (standardised design), ``x_center``,
        ``x_scale``, ``outcome_values`` and the prior and design constants;
        free variables ``alpha`` and the coefficient parameters;
        deterministics ``beta`` (dim ``factor``, per unit), ``intercept``,
        ``alpha_population`` and ``intercept_population`` (equal to the
        sample ones for a cohort); the observed outcome under its column name.

    Raises
    ------
    CohortValidationError
        If the data break the contract, a factor is constant or the group
        column is unusable.
    ValueError
        For an unknown design, prior preset or varying-slope factor.
    TypeError
        If ``spec`` is given together with model keywords.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, build_model
    >>> model = build_model(simulate_cohort(n=300, seed=3))
    >>> sorted(rv.name for rv in model.free_RVs)
    ['alpha', 'beta_std']
    """
    keywords: dict[str, Any] = {"factors": factors, "outcome": outcome, "priors": priors, "design": design}
    keywords |= {"population_prevalence": population_prevalence, "group": group, "varying_slopes": varying_slopes}
    spec = spec_from_keywords(spec, keywords | {"population_mapping": population_mapping}, caller="build_model")
    return build_from_inputs(prepare_inputs(data, spec))
