"""Turning data, priors and a study design into a PyMC model.

The model, for patient i in group g(i) with factor vector x_i::

    logit P(ubpr_i = 1) = alpha + u_g(i) + sum_j (beta_j + v_g(i),j) (x_ij - m_j)

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

All numbers that change between data sets (design, centre, scale, outcome,
group codes, prior hyperparameters, the correction) are ``pm.Data``, so a model
compiled once is refitted to new data of the same structure.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy import special

from bayes_ubpr._validate import check_choice, check_names, did_you_mean
from bayes_ubpr.data import validate_cohort
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.paper import OUTCOME, SIX_FACTORS
from bayes_ubpr.priors import (
    PAPER_PREVALENCE,
    DomainShrinkage,
    Horseshoe,
    PopulationPrevalence,
    Prior,
    PriorsLike,
    PriorSpec,
    resolve_priors,
)

DESIGNS = ("cohort", "case_control")
GROUP_SD_PRIOR_SCALE = 1.0
"""Half-normal scale of the between-group SD of intercepts (log-odds): a
between-hospital odds ratio of exp(2 * 1) = 7.4 between the 2.5th and 97.5th
percentile hospital is already extreme."""
SLOPE_SD_PRIOR_SCALE = 0.5
"""Half-normal scale of the between-group SD of a varying slope (per SD of the factor)."""

CENTRED_EVENTS_PER_FACTOR = 15
"""Events per factor from which shrinkage priors use the centred parametrisation."""

PrevalenceLike = float | PopulationPrevalence | None


@dataclass(frozen=True)
class ModelInputs:
    """Everything a model needs, checked and in arrays; ``key`` names its structure."""

    factors: tuple[str, ...]
    spec: PriorSpec
    design: str
    prevalence: float | PopulationPrevalence | None
    group: str | None
    varying_slopes: tuple[str, ...]
    data: dict[str, np.ndarray] = field(repr=False)
    coords: dict[str, list[Hashable]] = field(repr=False)
    raw: np.ndarray = field(repr=False)
    centred: bool = False

    @property
    def key(self) -> tuple:
        """Hashable description of what must be compiled anew when it changes."""
        if self.spec.kind == "independent":
            families = tuple(p.family for p in self.spec.coefficients.values())
            # One family for all factors: its parameters are data (see _prior_data). Mixed families are baked in.
            non_normal = tuple(
                (f, p.mu, p.sigma, p.nu)
                for f, p in self.spec.coefficients.items()
                if p.family != "normal" and len(set(families)) > 1
            )
        else:
            families, non_normal = (), ()
        structure = repr(self.spec.structure) if self.spec.structure is not None else None
        intercept = self.spec.intercept
        return (
            self.factors,
            self.spec.kind,
            structure,
            families,
            non_normal,
            (intercept.family, intercept.mu, intercept.sigma, intercept.nu),
            self.design,
            type(self.prevalence).__name__,
            self.group,
            len(self.coords.get("group", ())),
            self.varying_slopes,
            self.centred,
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


def _default_prevalence(data: pd.DataFrame) -> PopulationPrevalence:
    """Cohort counts recorded by case_control_sample if present, else the paper's 60/1316."""
    attrs = data.attrs
    if "cohort_size" in attrs and "n_cases" in attrs:
        return PopulationPrevalence.from_counts(int(attrs["n_cases"]), int(attrs["cohort_size"]))
    return PAPER_PREVALENCE


def prepare_inputs(
    data: pd.DataFrame,
    *,
    factors: Sequence[str] = SIX_FACTORS,
    priors: PriorsLike = None,
    design: str = "cohort",
    population_prevalence: PrevalenceLike = None,
    group: str | None = None,
    varying_slopes: Sequence[str] = (),
) -> ModelInputs:
    """Validate arguments and data and collect the arrays a model needs."""
    factors = tuple(factors)
    if not factors:
        raise ValueError("factors must name at least one risk factor")
    check_choice(design, DESIGNS, name="design")
    clean = validate_cohort(data, factors=factors)
    spec = resolve_priors(factors, priors)
    raw, standardised, center, scale = _standardise(clean, factors)
    y = clean[OUTCOME].to_numpy(dtype=np.int64)
    values: dict[str, np.ndarray] = {
        "X": standardised,
        "x_center": center,
        "x_scale": scale,
        "y": y,
    }
    values.update(_prior_data(spec))
    if spec.kind == "horseshoe":
        assert isinstance(spec.structure, Horseshoe)
        values["tau0"] = np.array(spec.structure.global_scale(len(factors), len(y)))
    if spec.kind == "domains":
        assert isinstance(spec.structure, DomainShrinkage)
        names = spec.structure.domain_of(factors)
        values["domain_idx"] = pd.factorize(pd.Series(names), sort=False)[0].astype(np.int64)

    prevalence: float | PopulationPrevalence | None = None
    if design == "case_control":
        n_cases, n_controls = int(y.sum()), int(len(y) - y.sum())
        values["log_sampling_ratio"] = np.array(np.log(n_cases / n_controls))
        prevalence = _default_prevalence(data) if population_prevalence is None else population_prevalence
        if isinstance(prevalence, PopulationPrevalence):
            values["prevalence_a"] = np.array(prevalence.alpha)
            values["prevalence_b"] = np.array(prevalence.beta)
        else:
            if isinstance(prevalence, bool) or not isinstance(prevalence, (int, float)) or not 0 < prevalence < 1:
                raise ValueError(
                    "population_prevalence must be a number strictly between 0 and 1 or a PopulationPrevalence; "
                    f"got {prevalence!r}"
                )
            prevalence = float(prevalence)
            values["prevalence_logit"] = np.array(special.logit(prevalence))
    elif population_prevalence is not None:
        raise ValueError('population_prevalence applies only to design="case_control"')

    coords: dict[str, list[Hashable]] = {"factor": list(factors)}
    slopes = tuple(varying_slopes)
    if group is not None:
        if group not in clean.columns:
            raise CohortValidationError(
                f'group column "{group}" is not in the data.{did_you_mean(group, map(str, clean.columns))}',
                column=group,
            )
        labels = clean[group]
        if labels.isna().any():
            rows = list(clean.index[labels.isna().to_numpy()][:5])
            raise CohortValidationError(f'group column "{group}" has missing values in rows {rows}', column=group)
        codes, levels = pd.factorize(labels, sort=True)
        if len(levels) < 2:
            raise CohortValidationError(f'group column "{group}" has a single level; a multilevel model needs >= 2')
        values["group_idx"] = codes.astype(np.int64)
        coords["group"] = list(levels)
        check_names(slopes, factors, what="varying slope (a factor in the model)")
        if slopes:
            values["slope_idx"] = np.array([factors.index(f) for f in slopes], dtype=np.int64)
            coords["slope"] = list(slopes)
    elif slopes:
        raise ValueError("varying_slopes needs a group column (group=...)")
    # Domain shrinkage: a non-centred coefficient suits weak data, a centred one strong data
    # (Betancourt & Girolami 2015); with many events per factor the centred form samples far faster.
    # The horseshoe stays non-centred: its null coefficients' tiny scales make a centred funnel.
    centred = spec.kind == "domains" and min(y.sum(), len(y) - y.sum()) / len(factors) >= CENTRED_EVENTS_PER_FACTOR
    return ModelInputs(factors, spec, design, prevalence, group, slopes, values, coords, raw, bool(centred))


def _prior_rv(name: str, prior: Prior, scale: Any = 1.0, **kwargs: object) -> pt.TensorVariable:
    """Random variable with ``prior``'s law multiplied by ``scale`` (location and scale alike)."""
    mu, sigma = prior.mu * scale, prior.sigma * scale
    if prior.family == "normal":
        return pm.Normal(name, mu=mu, sigma=sigma, **kwargs)
    if prior.family == "student_t":
        return pm.StudentT(name, nu=prior.nu, mu=mu, sigma=sigma, **kwargs)
    return pm.Laplace(name, mu=mu, b=sigma, **kwargs)


def _prior_data(spec: PriorSpec) -> dict[str, np.ndarray]:
    """Prior parameters as data when every factor's prior is of one family.

    Data, not constants, so that a grid of priors of one family refits one
    compiled model instead of compiling one per setting.
    """
    priors = list(spec.coefficients.values())
    if spec.kind != "independent" or len({p.family for p in priors}) != 1:
        return {}
    values = {"prior_mu": np.array([p.mu for p in priors]), "prior_sigma": np.array([p.sigma for p in priors])}
    if priors[0].family == "student_t":
        values["prior_nu"] = np.array([p.nu for p in priors], dtype=float)
    return values


def _independent(inputs: ModelInputs, data: Mapping[str, pt.TensorVariable]) -> pt.TensorVariable:
    x_scale = data["x_scale"]
    if "prior_mu" in data:
        mu, sigma = data["prior_mu"] * x_scale, data["prior_sigma"] * x_scale
        family = next(iter(inputs.spec.coefficients.values())).family
        if family == "student_t":
            return pm.StudentT("beta_std", nu=data["prior_nu"], mu=mu, sigma=sigma, dims="factor")
        if family == "laplace":
            return pm.Laplace("beta_std", mu=mu, b=sigma, dims="factor")
        return pm.Normal("beta_std", mu=mu, sigma=sigma, dims="factor")
    priors = inputs.spec.coefficients
    parts = [_prior_rv(f"beta_std_{f}", priors[f], x_scale[j]) for j, f in enumerate(inputs.factors)]
    return pm.Deterministic("beta_std", pt.stack(parts), dims="factor")


def _half_cauchy(name: str, scale: pt.TensorLike, **kwargs: object) -> pt.TensorVariable:
    """Half-Cauchy as |N(0, 1)| * sqrt(InvGamma(1/2, 1/2)): same law, far easier geometry for NUTS."""
    normal = pm.HalfNormal(f"{name}_normal", 1.0, **kwargs)
    inverse_gamma = pm.InverseGamma(f"{name}_inverse_gamma", 0.5, 0.5, **kwargs)
    return pm.Deterministic(name, scale * normal * pt.sqrt(inverse_gamma), **kwargs)


def _horseshoe(structure: Horseshoe, tau0: pt.TensorVariable, centred: bool) -> pt.TensorVariable:
    local = _half_cauchy("local_scale", 1.0, dims="factor")
    tau = _half_cauchy("global_scale", tau0)
    slab2 = pm.InverseGamma(
        "slab_variance", alpha=structure.slab_df / 2, beta=structure.slab_df * structure.slab_scale**2 / 2
    )
    local_tilde = pt.sqrt(slab2 * local**2 / (slab2 + tau**2 * local**2))
    if centred:
        return pm.Normal("beta_std", 0.0, tau * local_tilde, dims="factor")
    z = pm.Normal("z", 0.0, 1.0, dims="factor")
    return pm.Deterministic("beta_std", z * tau * local_tilde, dims="factor")


def _domains(structure: DomainShrinkage, domain_idx: pt.TensorVariable, centred: bool) -> pt.TensorVariable:
    tau = pm.HalfNormal("global_scale", structure.global_scale)
    spread = pm.HalfNormal("domain_spread", structure.domain_spread)
    eta = pm.Normal("domain_z", 0.0, 1.0, dims="domain")
    domain_scale = pm.Deterministic("domain_scale", tau * pt.exp(spread * eta), dims="domain")
    if centred:
        return pm.Normal("beta_std", 0.0, domain_scale[domain_idx], dims="factor")
    z = pm.Normal("z", 0.0, 1.0, dims="factor")
    return pm.Deterministic("beta_std", z * domain_scale[domain_idx], dims="factor")


def build_from_inputs(inputs: ModelInputs) -> pm.Model:
    """Build the PyMC model described by ``inputs``."""
    coords = dict(inputs.coords)
    if inputs.spec.kind == "domains":
        assert isinstance(inputs.spec.structure, DomainShrinkage)
        coords["domain"] = list(dict.fromkeys(inputs.spec.structure.domain_of(inputs.factors)))
    with pm.Model(coords=coords) as model:
        data = {name: pm.Data(name, value) for name, value in inputs.data.items()}
        alpha = _prior_rv("alpha", inputs.spec.intercept)
        if inputs.spec.kind == "horseshoe":
            assert isinstance(inputs.spec.structure, Horseshoe)
            beta_std = _horseshoe(inputs.spec.structure, data["tau0"], inputs.centred)
        elif inputs.spec.kind == "domains":
            assert isinstance(inputs.spec.structure, DomainShrinkage)
            beta_std = _domains(inputs.spec.structure, data["domain_idx"], inputs.centred)
        else:
            beta_std = _independent(inputs, data)
        beta = pm.Deterministic("beta", beta_std / data["x_scale"], dims="factor")
        intercept = pm.Deterministic("intercept", alpha - pt.dot(data["x_center"], beta))
        eta = alpha + pt.dot(data["X"], beta_std)
        if inputs.group is not None:
            group_sd = pm.HalfNormal("group_sd", GROUP_SD_PRIOR_SCALE)
            group_z = pm.Normal("group_z", 0.0, 1.0, dims="group")
            group_offset = pm.Deterministic("group_offset", group_sd * group_z, dims="group")
            eta = eta + group_offset[data["group_idx"]]
            if inputs.varying_slopes:
                slope_sd = pm.HalfNormal("slope_sd", SLOPE_SD_PRIOR_SCALE, dims="slope")
                slope_z = pm.Normal("slope_z", 0.0, 1.0, dims=("group", "slope"))
                slope_offset = pm.Deterministic("slope_offset_std", slope_z * slope_sd, dims=("group", "slope"))
                x_slopes = data["X"][:, data["slope_idx"]]
                eta = eta + (x_slopes * slope_offset[data["group_idx"]]).sum(axis=1)
        correction = _case_control_correction(inputs, data)
        pm.Deterministic("alpha_population", alpha + correction)
        pm.Deterministic("intercept_population", intercept + correction)
        pm.Bernoulli(OUTCOME, logit_p=eta, observed=data["y"])
    return model


def _case_control_correction(inputs: ModelInputs, data: Mapping[str, pt.TensorVariable]) -> pt.TensorLike:
    """Shift from the sample's to the population's log odds (0 for a cohort)."""
    if inputs.design == "cohort":
        return pt.as_tensor(0.0)
    if "prevalence_a" in data:
        prevalence = pm.Beta("prevalence", alpha=data["prevalence_a"], beta=data["prevalence_b"])
        logit_prevalence = pt.log(prevalence) - pt.log1p(-prevalence)
    else:
        logit_prevalence = data["prevalence_logit"]
    return logit_prevalence - data["log_sampling_ratio"]


def build_model(
    data: pd.DataFrame,
    *,
    factors: Sequence[str] = SIX_FACTORS,
    priors: PriorsLike = None,
    design: str = "cohort",
    population_prevalence: PrevalenceLike = None,
    group: str | None = None,
    varying_slopes: Sequence[str] = (),
) -> pm.Model:
    """Build the PyMC logistic regression of ``ubpr`` on ``factors``.

    Parameters are those of :func:`bayes_ubpr.fit`, which builds, compiles and
    samples this model; use ``build_model`` to inspect it or to sample it with
    your own PyMC calls.

    Returns
    -------
    pymc.Model
        Data containers ``X`` (standardised design), ``x_center``,
        ``x_scale``, ``y`` and the prior and design constants; free variables
        ``alpha`` and the coefficient parameters; deterministics ``beta``
        (dim ``factor``, per unit), ``intercept``, ``alpha_population`` and
        ``intercept_population`` (equal to the sample ones for a cohort).

    Raises
    ------
    CohortValidationError
        If the data break the contract, a factor is constant or the group
        column is unusable.
    ValueError
        For an unknown design, prior preset or varying-slope factor.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, build_model
    >>> model = build_model(simulate_cohort(n=300, seed=3))
    >>> sorted(rv.name for rv in model.free_RVs)
    ['alpha', 'beta_std']
    """
    inputs = prepare_inputs(
        data,
        factors=factors,
        priors=priors,
        design=design,
        population_prevalence=population_prevalence,
        group=group,
        varying_slopes=varying_slopes,
    )
    return build_from_inputs(inputs)
