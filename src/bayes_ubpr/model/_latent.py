"""Missing covariates modelled inside the model (``fit(..., missing="model")``): their missing values are parameters.

Each covariate with missing values gets a model of its own given the
model's complete covariates, and the outcome model and the covariate models
are sampled as one joint posterior: a full Bayesian (joint model) treatment
of missing covariates (Ibrahim et al. 2002; Erler et al. 2016, 2021), what
brms does with ``mi()`` terms (Bürkner 2017). On the sampler's standardised
scale ``X = (x - centre) / scale``, with centre and scale the mean and SD of
the observed values:

* each continuous modelled column j (any column that is not 0/1), in model
  order, is a normal linear regression on Z, the standardised complete
  design columns (the model's other covariates; not the outcome, not the
  groups), and on the modelled columns before it::

      X_ij ~ Normal(gamma0_j + Z_i . gamma_j + sum_{k < j} X_ik gamma_jk, sigma_j)

  a sequence of univariate conditional models that together are a joint
  model of the incomplete columns (the sequential factorisation of Ibrahim
  et al. 2002 and Erler et al. 2016; with one modelled column it is
  ``Normal(gamma0 + Z gamma, sigma)``). Priors: ``gamma ~ Normal(0, 1)``,
  ``sigma ~ HalfNormal(1)``. Observed values are observed data of this
  model; each missing value is a parameter, ``X_ij = mu_ij + sigma_j z_ij``
  with ``z_ij ~ Normal(0, 1)`` (non-centred: the latent values move with
  gamma and sigma without a funnel), put into the design
  (``pt.set_subtensor``) that the outcome model reads;
* at most one 0/1 column b, last, is a logistic regression on Z and the
  continuous modelled columns, ``x_ib ~ Bernoulli(logit^-1(delta0 + W_i . delta))``
  with ``delta ~ Normal(0, 1)``, ``delta0 ~ Normal(0, 2.5)``. NUTS cannot
  sample a discrete value, so where ``x_ib`` is missing it is summed out of
  the outcome's likelihood::

      log p(y_i | ...) = logsumexp_{x in {0, 1}} [log p(x_ib = x | W_i) + log Bernoulli(y_i | eta_i(x))]

  (a ``pm.Potential``; the other patients' outcomes are the observed
  variable named as the outcome). After sampling, each missing ``x_ib`` is
  drawn from its conditional posterior ``P(x_ib = 1 | y_i, W_i, theta_s)``
  under every draw s (from a child of the fit's seed), so that every draw
  has one imputed value per missing cell.

The covariate models leave the outcome out on purpose: the outcome model
itself is the likelihood that makes each missing value's posterior depend
on the patient's outcome (as an imputation model should, Moons et al.
2006), and the imputation is congenial with the analysis, the same model
(Bartlett et al. 2015). The missing values are assumed missing at random
given the model's covariates and outcome; a skewed or bounded column is
modelled as normal (imputed values of a count are fractional, and may fall
outside a plausible range); groups enter the outcome model only; in a
case-control sample the covariate models describe the sample.

A fit stores ``posterior.x_missing`` (``chain, draw, cell``: each missing
cell's value per draw, in units of its column), ``constant_data.missing_row``
(the cell's row position) and ``constant_data.missing_column`` (its column),
and the imputation model's parameters ``impute_intercept`` (dim
``modelled``), ``impute_coef`` (dim ``impute_term``, labelled
``"target ~ predictor"``) and ``impute_sigma`` (dim ``modelled_continuous``).
``constant_data.x`` holds each missing cell's posterior mean (for a 0/1
column, the posterior probability of 1), and :class:`~bayes_ubpr.model.Fitted`
computes each draw's linear predictor from that draw's own values.

References
----------
Ibrahim JG, Chen M-H, Lipsitz SR (2002). Bayesian methods for generalized
linear models with covariates missing at random. Can J Stat 30(1):55-78.
doi:10.2307/3315865

Erler NS, Rizopoulos D, van Rosmalen J, Jaddoe VWV, Franco OH, Lesaffre EMEH
(2016). Dealing with missing covariates in epidemiologic studies: a
comparison between multiple imputation and a full Bayesian approach. Stat
Med 35(17):2955-2974. doi:10.1002/sim.6944

Erler NS, Rizopoulos D, Lesaffre EMEH (2021). JointAI: joint analysis and
imputation of incomplete data in R. J Stat Softw 100(20):1-56.
doi:10.18637/jss.v100.i20

Bürkner P-C (2017). brms: an R package for Bayesian multilevel models using
Stan. J Stat Softw 80(1):1-28. doi:10.18637/jss.v080.i01 (``mi()`` terms:
the vignette "Handle missing values with brms").

Bartlett JW, Seaman SR, White IR, Carpenter JR (2015). Multiple imputation of
covariates by fully conditional specification: accommodating the
substantive model. Stat Methods Med Res 24(4):462-487.
doi:10.1177/0962280214521348
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy import special

from bayes_ubpr._rng import spawn_seeds
from bayes_ubpr._validate import describe_rows, require_dataframe
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.missing import missingness_table
from bayes_ubpr.model._build import ModelInputs, prepare_inputs
from bayes_ubpr.model._pooled import checked_raw
from bayes_ubpr.model.spec import ModelSpec
from bayes_ubpr.terms import Categorical, Interaction, Numeric, Spline, Term, Terms, is_categorical
from bayes_ubpr.terms.kinds import summarise

__all__ = ["LatentCovariates", "prepare_latent_inputs", "record_latent"]

BINARY_INTERCEPT_SCALE = 2.5
"""Prior SD of the 0/1 column's logistic intercept (log odds at the complete covariates' means): from
prevalences of 0.7% to 99.3% within two SDs."""

_INTERNAL = ("x_latent_std", "x_latent_z", "impute_sigma_log__")
"""Posterior variables of the sampler only: replaced by ``x_missing`` in the fit."""

_USE_IMPUTE = 'use missing="impute" (multiple imputation), which imputes the raw column'


class LatentDesign(NamedTuple):
    """What the covariate models give the outcome model: the design with the latent values, the 0/1 column's logit."""

    X: pt.TensorVariable
    binary_logit: pt.TensorVariable | None


@dataclass(frozen=True)
class LatentCovariates:
    """The modelled covariates of a model: which design columns, with what predictors, how many missing cells.

    The per-patient arrays (rows of the missing and observed cells, the
    observed values) are data of the model (``ModelInputs.data``), so a
    compiled model is refitted to new data with the same counts; the counts
    set the shapes of the latent parameters and are part of :attr:`key`.

    Attributes
    ----------
    factors : tuple of str
        Every design column, in model order.
    continuous : tuple of int
        Positions of the continuous modelled columns, in model order.
    binary : int or None
        Position of the modelled 0/1 column.
    counts : tuple of int
        Missing cells of each continuous modelled column.
    binary_count : int
        Missing cells of the 0/1 column (0 without one).
    """

    factors: tuple[str, ...]
    continuous: tuple[int, ...]
    binary: int | None
    counts: tuple[int, ...]
    binary_count: int = 0

    @property
    def modelled(self) -> tuple[int, ...]:
        """Positions of the modelled columns: the continuous ones, then the 0/1 one."""
        return (*self.continuous, *(() if self.binary is None else (self.binary,)))

    @property
    def complete(self) -> tuple[int, ...]:
        """Positions of the complete design columns (Z)."""
        return tuple(j for j in range(len(self.factors)) if j not in self.modelled)

    def predictors_of(self, k: int) -> tuple[int, ...]:
        """Positions of the k-th modelled column's predictors: Z, then the continuous modelled columns before it."""
        return (*self.complete, *self.continuous[:k])

    @property
    def coefficient_labels(self) -> list[str]:
        """Labels of ``impute_coef``: ``"target ~ predictor"``, target by target."""
        names = self.factors
        return [
            f"{names[target]} ~ {names[p]}" for k, target in enumerate(self.modelled) for p in self.predictors_of(k)
        ]

    @property
    def key(self) -> tuple:
        """What the compiled model's structure depends on: which columns are modelled, how, and how many cells."""
        return (self.continuous, self.binary, self.counts, self.binary_count)

    def coords(self) -> dict[str, list]:
        """Dimensions of the imputation model's parameters."""
        names = self.factors
        return {
            "modelled": [names[j] for j in self.modelled],
            "modelled_continuous": [names[j] for j in self.continuous],
            "impute_term": list(self.coefficient_labels),
        }

    def build(self, data: Mapping[str, Any]) -> LatentDesign:
        """Add the covariate models to the current PyMC model; return the design holding the latent values."""
        X = data["X"]
        n_modelled = len(self.modelled)
        scales = np.array([1.0] * len(self.continuous) + [BINARY_INTERCEPT_SCALE] * (n_modelled - len(self.continuous)))
        intercept = pm.Normal("impute_intercept", 0.0, scales, dims="modelled")
        coef = pm.Normal("impute_coef", 0.0, 1.0, dims="impute_term") if self.coefficient_labels else None
        start = 0

        def regression(k: int) -> pt.TensorVariable:
            nonlocal start
            p = list(self.predictors_of(k))
            if not p:
                return pt.zeros((X.shape[0],)) + intercept[k]
            value = intercept[k] + pt.dot(X[:, p], coef[start : start + len(p)])  # type: ignore[index]
            start += len(p)
            return value

        if self.continuous:
            sigma = pm.HalfNormal("impute_sigma", 1.0, dims="modelled_continuous")
            z = pm.Normal("x_latent_z", 0.0, 1.0, shape=(sum(self.counts),))
            rows = data["latent_row"]
            means, latent, first = [], [], 0
            for k, (j, count) in enumerate(zip(self.continuous, self.counts, strict=True)):
                mu = regression(k)
                cells = rows[first : first + count]
                values = mu[cells] + sigma[k] * z[first : first + count]
                X = pt.set_subtensor(X[cells, j], values)
                means.append(mu)
                latent.append(values)
                first += count
            slot = data["covariate_slot"]
            pm.Normal(
                "covariates_observed",
                mu=pt.stack(means, axis=1)[data["covariate_row"], slot],
                sigma=sigma[slot],
                observed=data["covariate_value"],
            )
            pm.Deterministic("x_latent_std", pt.concatenate(latent))
        binary_logit = None
        if self.binary is not None:
            binary_logit = regression(len(self.continuous))
            pm.Bernoulli(
                "binary_observed",
                logit_p=binary_logit[data["binary_observed_row"]],
                observed=data["binary_observed_value"],
            )
        return LatentDesign(X, binary_logit)

    def outcome_likelihood(
        self,
        outcome: str,
        eta: pt.TensorVariable,
        beta: pt.TensorVariable,
        binary_logit: pt.TensorVariable | None,
        data: Mapping[str, Any],
    ) -> None:
        """Add the outcome's likelihood: observed, and, where the 0/1 column is missing, with it summed out."""
        y = data["outcome_values"]
        if self.binary is None or binary_logit is None:
            pm.Bernoulli(outcome, logit_p=eta, observed=y)
            return
        kept = data["binary_observed_row"]
        pm.Bernoulli(outcome, logit_p=eta[kept], observed=y[kept])
        rows = data["binary_missing_row"]
        eta0 = eta[rows]  # the design holds x_b = 0 in these cells
        eta1 = eta0 + beta[self.binary]
        q = binary_logit[rows]
        y_rows = y[rows]
        terms = pt.stack(
            [
                -pt.softplus(q) + y_rows * eta0 - pt.softplus(eta0),
                -pt.softplus(-q) + y_rows * eta1 - pt.softplus(eta1),
            ]
        )
        pm.Potential("outcome_marginalised", pt.logsumexp(terms, axis=0).sum())


# --- preparing the data -----------------------------------------------------------------------------


def _checked(frame: pd.DataFrame, spec: ModelSpec, groups: Sequence[str]) -> pd.DataFrame:
    """Check every value present (kinds, ranges, a complete 0/1 outcome), and that the groups are complete."""
    checked = checked_raw(frame, spec)
    for column in groups:
        absent = checked[column].isna().to_numpy()
        if absent.any():
            rows = list(checked.index[absent])
            raise CohortValidationError(
                f'Column "{column}" (a grouping) has missing values in rows {describe_rows(rows)}: a grouping is not '
                "imputed. Remove those patients explicitly, or give the unknown ones a group of their own.",
                column=column,
                rows=rows,
            )
    return checked


def _how(term: Term) -> str:
    if isinstance(term, Spline):
        return f'inside a spline (term "{term.name}")'
    if isinstance(term, Interaction):
        return f'in an interaction (term "{term.name}")'
    if isinstance(term, Categorical):
        return f'as a categorical factor (term "{term.name}")'
    return f'as term "{term.name}"'


def _check_scope(frame: pd.DataFrame, spec: ModelSpec, modelled: Sequence[str]) -> None:
    """Refuse what the covariate models cannot take, naming the column and saying what to do."""
    if spec.varying_slopes:
        raise ValueError(
            'missing="model" does not support varying slopes (the covariate models do not include group '
            f"deviations); drop varying_slopes={list(spec.varying_slopes)}, or impute the data elsewhere and "
            "fit one completed data set"
        )
    if spec.design == "case_control" and spec.population_mapping == "anchored":
        raise ValueError(
            'missing="model" needs population_mapping="offset": the anchored mapping averages risks over the '
            'sample\'s complete design; use the offset mapping, or missing="impute"'
        )
    for column in modelled:
        absent = frame[column].isna().to_numpy()
        rows = list(frame.index[absent])
        where = f'Column "{column}" has missing values in rows {describe_rows(rows)}'
        if spec.terms is not None:
            odd = [t for t in spec.terms.terms if column in t.variables and not isinstance(t, Numeric)]
            if odd:
                raise CohortValidationError(
                    f'{where} and enters the model {_how(odd[0])}: missing="model" models only a column that '
                    f"enters as one plain numeric term; {_USE_IMPUTE}.",
                    column=column,
                    rows=rows,
                )
        if is_categorical(frame[column].dropna()):
            raise CohortValidationError(
                f'{where} and holds text or categories: missing="model" models numeric columns only; {_USE_IMPUTE}.',
                column=column,
                rows=rows,
            )


def _resolved_on_observed(spec: ModelSpec, observed: Mapping[str, np.ndarray]) -> ModelSpec:
    """Return ``spec`` with the modelled columns' kinds, reference scales and summaries from their observed values."""
    factors = []
    for factor in spec.factors:
        if factor.name in observed:
            try:
                factor = factor.resolve(observed[factor.name])
            except ValueError as error:
                raise CohortValidationError(str(error), column=factor.name) from None
        factors.append(factor)
    terms = spec.terms
    if terms is not None and terms.summary is not None:
        fixed = {c: summarise(pd.Series(v), False) for c, v in observed.items() if c in terms.summary}
        terms = Terms(terms.terms, terms.formula, {**terms.summary, **fixed})
    return spec.replace(factors=tuple(factors), terms=terms)


def prepare_latent_inputs(data: pd.DataFrame, spec: ModelSpec) -> tuple[ModelInputs, pd.DataFrame]:
    """Check ``data`` for ``missing="model"`` and collect the arrays of the joint model.

    Missing cells are first filled with their column's observed median (the
    lower one: an observed value, so a column keeps its kind), for the
    terms and checks that need complete data; the design is then
    standardised with the centre and scale of the observed values only, and
    the filled cells are replaced by parameters in the model (continuous)
    or summed over (0/1; their design cells hold 0).

    Returns
    -------
    ModelInputs
        With ``latent`` set (None if nothing is missing).
    pandas.DataFrame
        The filled data, for the design checks.
    """
    frame = require_dataframe(data)
    groups = list(spec.group_columns)
    own = [c for c in spec.variables if c not in groups]
    frame = _checked(frame, spec, groups)
    modelled = [c for c in own if frame[c].isna().any()]
    if not modelled:
        return prepare_inputs(frame, spec), frame
    _check_scope(frame, spec, modelled)
    filled = frame.copy()
    observed: dict[str, np.ndarray] = {}
    for column in modelled:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        observed[column] = values[~np.isnan(values)]
        if not len(observed[column]):
            raise CohortValidationError(
                f'Column "{column}" has no values at all: nothing to model it from.', column=column
            )
        filled[column] = np.where(np.isnan(values), np.quantile(observed[column], 0.5, method="lower"), values)
    resolved = _resolved_on_observed(spec.with_terms_of(filled), observed)
    binary = [f.name for f in resolved.factors if f.name in observed and f.kind == "binary"]
    if len(binary) > 1:
        raise CohortValidationError(
            f'Columns {", ".join(map(repr, binary))} are 0/1 with missing values: missing="model" sums one 0/1 '
            f"column out of the likelihood, not {len(binary)} (the sum grows as 2^k); {_USE_IMPUTE}.",
            column=binary[1],
        )
    inputs = prepare_inputs(filled, resolved)
    absent = {c: frame[c].isna().to_numpy() for c in modelled}
    return _with_latent(inputs, absent, binary[0] if binary else None), filled


def _with_latent(inputs: ModelInputs, absent: Mapping[str, np.ndarray], binary: str | None) -> ModelInputs:
    """Return ``inputs`` standardised on the observed values, with the covariate models' arrays and description."""
    names = list(inputs.factors)
    raw = inputs.raw
    center, scale = inputs.data["x_center"].copy(), inputs.data["x_scale"].copy()
    for column, mask in absent.items():
        j = names.index(column)
        center[j], scale[j] = raw[~mask, j].mean(), raw[~mask, j].std()
    X = (raw - center) / scale
    continuous = tuple(names.index(c) for c in names if c in absent and c != binary)
    values: dict[str, np.ndarray] = {"X": X, "x_center": center, "x_scale": scale}
    if continuous:
        masks = [absent[names[j]] for j in continuous]
        values["latent_row"] = np.concatenate([np.flatnonzero(m) for m in masks]).astype(np.int64)
        kept = [np.flatnonzero(~m) for m in masks]
        values["covariate_row"] = np.concatenate(kept).astype(np.int64)
        values["covariate_slot"] = np.concatenate([np.full(len(r), k) for k, r in enumerate(kept)]).astype(np.int64)
        values["covariate_value"] = np.concatenate([X[r, j] for r, j in zip(kept, continuous, strict=True)])
    b = None
    if binary is not None:
        b = names.index(binary)
        mask = absent[binary]
        X[mask, b] = -center[b] / scale[b]  # the standardised 0: the marginal adds beta_b for x = 1
        values["binary_observed_row"] = np.flatnonzero(~mask).astype(np.int64)
        values["binary_observed_value"] = raw[~mask, b].astype(np.int64)
        values["binary_missing_row"] = np.flatnonzero(mask).astype(np.int64)
    latent = LatentCovariates(
        factors=tuple(names),
        continuous=continuous,
        binary=b,
        counts=tuple(int(absent[names[j]].sum()) for j in continuous),
        binary_count=0 if binary is None else int(absent[binary].sum()),
    )
    return replace(
        inputs,
        data={**inputs.data, **values},
        coords={**inputs.coords, **latent.coords()},
        latent=latent,
    )


# --- after sampling ------------------------------------------------------------------------------


def _flat(posterior: Any, name: str) -> np.ndarray:
    """Draws of a posterior variable as (chain * draw, ...) in chain-major order."""
    values = posterior[name].to_numpy()
    return values.reshape(-1, *values.shape[2:])


def _group_part(posterior: Any, inputs: ModelInputs, rows: np.ndarray) -> np.ndarray | float:
    """Group offsets of ``rows`` per draw (0 without groups)."""
    if "group_offset" not in posterior or "group_idx" not in inputs.data:
        return 0.0
    offsets = _flat(posterior, "group_offset")
    idx = inputs.data["group_idx"][rows]
    return offsets[:, idx] if idx.ndim == 1 else offsets[:, idx].sum(axis=-1)


def binary_log_odds(
    posterior: Any, inputs: ModelInputs, latent: LatentCovariates, b: int, continuous: np.ndarray
) -> np.ndarray:
    """Return the log odds of x = 1 in each missing cell of the 0/1 column given y, the covariates and each draw.

    ``logit P(x_ib = 1 | y_i, W_i, theta_s) = q_si + log p(y_i | eta_si(1)) - log p(y_i | eta_si(0))``,
    shape (draws, cells), with q the 0/1 column's own model and eta the outcome's linear predictor.
    ``continuous`` holds each draw's values of the continuous modelled cells (raw scale), which enter
    both where they are missing in the same rows.
    """
    rows = inputs.data["binary_missing_row"]
    X, raw = inputs.data["X"], inputs.raw.copy()
    raw[rows, b] = 0.0
    beta = _flat(posterior, "beta")
    eta0 = _flat(posterior, "intercept")[:, None] + beta @ raw[rows].T + _group_part(posterior, inputs, rows)
    k = len(latent.continuous)
    predictors = list(latent.predictors_of(k))
    first = sum(len(latent.predictors_of(i)) for i in range(k))
    q = np.repeat(_flat(posterior, "impute_intercept")[:, [k]], len(rows), axis=1)
    if predictors:
        coef = _flat(posterior, "impute_coef")[:, first : first + len(predictors)]
        q += coef @ X[rows][:, predictors].T
    if latent.continuous:  # each draw's own values where a continuous column is missing in these rows too
        cell_rows = inputs.data["latent_row"]
        cell_columns = np.repeat(latent.continuous, latent.counts)
        cell_slots = np.repeat(np.arange(k), latent.counts)
        position = np.full(len(raw), -1)
        position[rows] = np.arange(len(rows))
        shared = np.flatnonzero(position[cell_rows] >= 0)
        at, j = position[cell_rows[shared]], cell_columns[shared]
        value = continuous[:, shared]
        np.add.at(eta0.T, at, (beta[:, j] * (value - raw[cell_rows[shared], j])).T)
        std = (value - inputs.data["x_center"][j]) / inputs.data["x_scale"][j]
        slope = coef[:, len(latent.complete) + cell_slots[shared]]
        np.add.at(q.T, at, (slope * (std - X[cell_rows[shared], j])).T)
    eta1 = eta0 + beta[:, [b]]
    y = inputs.data["outcome_values"][rows]
    return q + (y * eta1 - np.logaddexp(0.0, eta1)) - (y * eta0 - np.logaddexp(0.0, eta0))


def record_latent(idata: az.InferenceData, inputs: ModelInputs, data: pd.DataFrame, *, seed: int) -> None:
    """Turn a ``missing="model"`` fit's sampler draws into its stored pieces (see the module's notes).

    ``posterior.x_missing`` and ``constant_data.missing_row``/``missing_column``,
    ``constant_data.x`` with the posterior means, and ``attrs["missing"]``.
    """
    spec = inputs.spec
    groups = list(spec.group_columns)
    own = [c for c in spec.variables if c not in groups]
    table = missingness_table(data, [*own, *groups], outcome=spec.outcome)
    info: dict[str, Any] = {"method": "model", "modelled_columns": [], "binary_column": None, "predictors": {}}
    latent = inputs.latent
    if latent is not None:
        _store_draws(idata, inputs, latent, seed)
        names = latent.factors
        info["modelled_columns"] = [names[j] for j in latent.modelled]
        info["binary_column"] = None if latent.binary is None else names[latent.binary]
        info["predictors"] = {
            names[j]: [names[p] for p in latent.predictors_of(k)] for k, j in enumerate(latent.modelled)
        }
    info |= {"table": table.to_dict("records"), "counts": dict(table.attrs)}
    idata.attrs["missing"] = json.dumps(info)


def _store_draws(idata: az.InferenceData, inputs: ModelInputs, latent: LatentCovariates, seed: int) -> None:
    posterior = idata.posterior
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    center, scale = inputs.data["x_center"], inputs.data["x_scale"]
    rows: list[np.ndarray] = []
    columns: list[np.ndarray] = []
    values: list[np.ndarray] = []
    continuous = np.empty((chains * draws, 0))
    if latent.continuous:
        cols = np.repeat(latent.continuous, latent.counts)
        continuous = center[cols] + scale[cols] * _flat(posterior, "x_latent_std")
        rows.append(inputs.data["latent_row"])
        columns.append(cols)
        values.append(continuous)
    if latent.binary is not None:
        rows.append(inputs.data["binary_missing_row"])
        columns.append(np.full(latent.binary_count, latent.binary))
        log_odds = binary_log_odds(posterior, inputs, latent, latent.binary, continuous)
        rng = np.random.default_rng(spawn_seeds(seed, 1)[0])  # a child of the fit's seed: same seed, same values
        values.append((rng.random(log_odds.shape) < special.expit(log_odds)).astype(float))
    row, column, cells = np.concatenate(rows), np.concatenate(columns), np.concatenate(values, axis=1)
    internal = [name for name in _INTERNAL if name in posterior]
    dims = {d for name in internal for d in posterior[name].dims if d not in ("chain", "draw")}
    posterior = posterior.drop_vars(internal).drop_dims(list(dims), errors="ignore")
    idata.posterior = posterior.assign(
        x_missing=(("chain", "draw", "cell"), cells.reshape(chains, draws, -1))
    ).assign_coords(cell=np.arange(len(row)))
    x = inputs.raw.copy()
    x[row, column] = cells.mean(axis=0)
    constant = idata.constant_data.assign(
        x=(("obs", "factor"), x),
        missing_row=("cell", row.astype(np.int64)),
        missing_column=("cell", np.array([latent.factors[j] for j in column], dtype=object)),
    )
    idata.constant_data = constant.assign_coords(cell=np.arange(len(row)))
