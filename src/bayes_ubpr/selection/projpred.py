"""Choosing factors by projection: the projection-predictive forward search.

:func:`select_factors` runs the projection-predictive forward search of
Piironen, Paasiniemi & Vehtari (2020): a reference model over all candidate
factors with shrinkage (the regularised horseshoe by default), then the
submodels that best reproduce its predictions, one factor (or, for a spec
with terms, one whole term) at a time. The Bernoulli-logit projection is a
logistic regression on the reference's fitted probabilities, solved by the
Newton kernel of :mod:`bayes_ubpr.metrics`. What the search moves is in
:mod:`bayes_ubpr.selection._terms`, what it returns in
:mod:`bayes_ubpr.selection._result`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
from scipy import special
from scipy.cluster.vq import kmeans2

from bayes_ubpr import metrics
from bayes_ubpr._rng import SeedLike, spawn_seeds
from bayes_ubpr._steps import report_step
from bayes_ubpr._validate import check_positive_int, describe_rows, did_you_mean, require_dataframe
from bayes_ubpr.data import as_factors, validate_cohort
from bayes_ubpr.exceptions import CohortValidationError, ConvergenceError
from bayes_ubpr.model import Fitted, ModelSpec, Sampling, fit
from bayes_ubpr.model.refit import sigint_watch
from bayes_ubpr.model.sampling import sampling_from_keywords
from bayes_ubpr.paper import OUTCOME, RISK_FACTORS
from bayes_ubpr.selection._result import SelectionResult
from bayes_ubpr.selection._terms import Candidates
from bayes_ubpr.selection.loo import PARETO_K_THRESHOLD

__all__ = ["SelectionResult", "select_factors"]


def _project(mu: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """KL projections of rows of reference probabilities onto logistic submodels.

    ``mu`` is (rows, n); ``z`` is (n, k), or (rows, n, k) for a design per
    row. Each row's coefficients (intercept first) maximise
    ``sum_i mu_i log p_i + (1 - mu_i) log(1 - p_i)``, which minimises the
    Kullback-Leibler divergence from Bernoulli(mu) to the submodel. Returns
    the coefficients (rows, k + 1) and the submodel's log odds (rows, n).
    """
    rows, n = mu.shape
    design = np.broadcast_to(z, (rows, *z.shape[-2:])) if z.ndim == 2 else z
    columns = [np.ones((rows, n)), *(design[:, :, j] for j in range(design.shape[2]))]
    start = [float(special.logit(mu.mean())), *([0.0] * design.shape[2])]
    coef = metrics.logistic_mle(mu, columns, np.zeros((rows, n)), start=start)
    if not np.isfinite(coef).all():
        raise ConvergenceError("the projection onto a submodel did not converge (Newton's method)")
    eta = coef[:, :1] + np.einsum("rnk,rk->rn", design, coef[:, 1:])
    return coef, eta


def _kl(mu: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Kullback-Leibler divergence from Bernoulli(mu) to Bernoulli(expit(eta)), summed over patients, per row."""
    entropy = special.xlogy(mu, mu) + special.xlogy(1 - mu, 1 - mu)
    return (entropy - metrics.bernoulli_log_density(mu, eta)).sum(axis=1)


def _forward_search(
    mu: np.ndarray, weights: np.ndarray, z: np.ndarray, max_size: int, candidates: Candidates | None = None
) -> tuple[list[int], list[float]]:
    """Greedy forward search: at each step add the candidate whose projection has the least weighted KL.

    ``mu`` (clusters, n) are the reference's probabilities, ``weights`` the
    clusters' shares of the draws. ``candidates`` are groups of columns of
    ``z`` added whole, each once its prerequisites are in (default: every
    column on its own). The candidates of a step that add as many columns
    are projected in one vectorised Newton solve. Returns the candidate
    order and each size's KL.
    """
    candidates = Candidates.of_columns([str(j) for j in range(z.shape[1])]) if candidates is None else candidates
    selected: list[int] = []
    kl_path = [float(weights @ _kl(mu, _project(mu, z[:, []])[1]))]
    clusters = len(mu)
    for _ in range(max_size):
        available = candidates.available(selected)
        in_model = candidates.design_columns(selected)
        by_width: dict[int, list[int]] = {}
        for position, candidate in enumerate(available):
            by_width.setdefault(len(candidates.columns[candidate]), []).append(position)
        kl = np.empty(len(available))
        for positions in by_width.values():
            designs = np.stack([z[:, [*in_model, *candidates.columns[available[p]]]] for p in positions])
            stacked = np.repeat(designs, clusters, axis=0)  # (candidates x clusters, n, size)
            _, eta = _project(np.tile(mu, (len(positions), 1)), stacked)
            kl[positions] = (
                _kl(np.tile(mu, (len(positions), 1)), eta).reshape(len(positions), clusters) * weights
            ).sum(axis=1)
        best = int(np.argmin(kl))
        selected.append(available[best])
        kl_path.append(float(kl[best]))
    return selected, kl_path


def _clusters(eta: np.ndarray, n_clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """k-means clusters of the reference draws' log odds: each cluster's mean probability and share of draws.

    The projection of a cluster is the projection of its draws' mean
    probability (the KL is linear in the reference probabilities), as in
    projpred.
    """
    if n_clusters >= len(eta):
        return special.expit(eta), np.full(len(eta), 1 / len(eta))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # an empty cluster: dropped below
        _, labels = kmeans2(eta, n_clusters, seed=seed, minit="++")
    used = np.unique(labels)
    mu = special.expit(eta)
    centres = np.stack([mu[labels == c].mean(axis=0) for c in used])
    weights = np.array([(labels == c).mean() for c in used])
    return centres, weights


@dataclass(frozen=True)
class _Reference:
    """What the search needs of one reference fit, on its own patients."""

    eta: np.ndarray  # (draws, n) log odds
    thinned: np.ndarray  # (n_draws, n) evenly thinned log odds, for performance
    center: np.ndarray
    scale: np.ndarray
    x: np.ndarray
    intercept: np.ndarray  # (n_draws,) thinned, for new patients
    beta: np.ndarray  # (n_draws, factor)

    def standardise(self, x: np.ndarray) -> np.ndarray:
        return (x - self.center) / self.scale

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Thinned draws of new patients' log odds (a fit without group effects)."""
        return self.intercept[:, None] + self.beta @ x.T


def _reference(idata: az.InferenceData, n_draws: int) -> _Reference:
    view = Fitted.of(idata)
    eta, x = view.linear_predictor_draws, view.x
    post = idata.posterior.stack(sample=("chain", "draw"))
    intercept = metrics.thin_draws(post["intercept"].to_numpy()[:, None], n_draws)[:, 0]
    beta = metrics.thin_draws(post["beta"].transpose("sample", "factor").to_numpy(), n_draws)
    return _Reference(eta, metrics.thin_draws(eta, n_draws), x.mean(axis=0), x.std(axis=0), x, intercept, beta)


def _psis_weights(log_lik: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pareto-smoothed leave-one-out log weights (n, draws) and Pareto k (n,) from a (draws, n) log likelihood."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto", category=UserWarning)
        log_weights, k = az.psislw(-log_lik.T, reff=1.0)
    return np.asarray(log_weights), np.asarray(k)


def _search(
    ref: _Reference, candidates: Candidates, n_clusters: int, max_size: int, seed: int
) -> tuple[list[int], list[float], list[np.ndarray]]:
    """Forward search on one reference: order, KL per size, and each size's projection of the thinned draws."""
    z = ref.standardise(ref.x)
    mu, weights = _clusters(ref.eta, n_clusters, seed)
    order, kl = _forward_search(mu, weights, z, max_size, candidates)
    mu_thin = special.expit(ref.thinned)
    coefs = [_project(mu_thin, z[:, candidates.design_columns(order[:m])])[0] for m in range(max_size + 1)]
    return order, kl, coefs


def _sum_se(values: np.ndarray) -> tuple[float, float]:
    """Sum of pointwise values and its standard error sqrt(n) * SD."""
    return float(values.sum()), float(np.sqrt(len(values)) * values.std(ddof=1))


def _fold_indices(y: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold of each patient, stratified by outcome so that every fold holds cases and controls."""
    folds = np.empty(len(y), dtype=int)
    for value in (0, 1):
        members = rng.permutation(np.flatnonzero(y == value))
        folds[members] = np.arange(len(members)) % n_folds
    return folds


def _check_folds_vary(
    x: np.ndarray, names: Sequence[str], folds: np.ndarray, candidates: Candidates | None = None
) -> None:
    """Refuse, before any fit, a design column that the patients outside some fold hold constant.

    ``names`` are the columns of ``x``; ``candidates`` (default: each column
    a factor) say how the message names a column: the factor, or the
    column and its term. A column constant in all the data is left to the
    reference fit, which refuses it in its own words.
    """
    candidates = Candidates.of_columns(names) if candidates is None else candidates
    for fold in range(int(folds.max()) + 1):
        kept = x[folds != fold]
        for j in np.flatnonzero((kept == kept[0]).all(axis=0)):
            name, value = names[int(j)], kept[0, j]
            carriers = int((x[:, j] != value).sum())
            if carriers:
                described, advice = candidates.describe_column(name)
                raise ValueError(
                    f"{described} differs from {value:g} in only {carriers} of {len(x)} patient(s), all in "
                    f"cross-validation fold {fold}: refitted without that fold, the reference model would see "
                    f"{name} constant ({value:g}) and could not estimate its odds ratio. {advice}, "
                    "or set n_folds=0 (--folds 0) to select without cross-validating the search."
                )


def _submodel_eta(coef: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Log odds (draws, n) of a projected submodel: intercept and coefficients per row, standardised design z."""
    return coef[:, :1] + coef[:, 1:] @ z.T


def _held_out_density(eta: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Log predictive density of held-out patients, the likelihood averaged over the draws of log odds (per patient)."""
    return special.logsumexp(metrics.bernoulli_log_density(y, eta), axis=0) - np.log(len(eta))


_SPEC_KEYWORDS = ("factors", "outcome", "priors")
_SAMPLING_KEYWORDS = ("draws", "tune", "chains", "sampler")


def _reference_spec(spec: ModelSpec | None, old: Mapping[str, Any]) -> ModelSpec:
    """Return the reference model: ``spec``, else the one of the deprecated keywords ``old``, else the default.

    The default, and the deprecated keywords' defaults, are today's: the
    fifteen factors of Table 4, outcome ``ubpr``, the regularised horseshoe.
    """
    if spec is not None:
        if old:
            raise TypeError(
                f"select_factors: give the reference model either as spec or as {', '.join(old)}, not both; "
                "use spec.replace(...) to change a spec"
            )
        if not isinstance(spec, ModelSpec):
            raise TypeError(f"spec must be a bayes_ubpr.ModelSpec; got {type(spec).__name__}")
        if spec.group is not None:
            raise ValueError(
                f'select_factors projects onto submodels of the factors alone: a reference spec with group="'
                f'{spec.group}" (group intercepts) is not supported; pass spec.replace(group=None, '
                "varying_slopes=()) to select among the factors"
            )
        return spec
    if old:
        given = ", ".join(f"{name}=..." for name in old)
        fields = {"factors": "bayes_ubpr.RISK_FACTORS", "outcome": None, "priors": '"horseshoe"'}
        fields |= {name: "..." for name in old}
        shown = ", ".join(f"{name}={value}" for name, value in fields.items() if value is not None)
        warnings.warn(
            f"select_factors({given}) is deprecated and will be removed in the next release: pass "
            f"spec=bayes_ubpr.ModelSpec({shown}) instead (a spec is used as given, and ModelSpec's own defaults "
            'are the six factors of Table 5 and the "default" priors)',
            DeprecationWarning,
            stacklevel=3,
        )
    factors = old.get("factors")
    candidates = as_factors(list(RISK_FACTORS) if factors is None else factors)
    return ModelSpec(factors=candidates, outcome=old.get("outcome", OUTCOME), priors=old.get("priors", "horseshoe"))


def select_factors(
    data: pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    max_size: int | None = None,
    n_clusters: int = 20,
    n_draws: int = 400,
    n_folds: int = 5,
    sampling: Sampling | None = None,
    seed: SeedLike = None,
    **deprecated: Any,
) -> SelectionResult:
    """Projection-predictive forward selection of risk factors (Piironen, Paasiniemi & Vehtari 2020).

    1. A **reference model** over all candidate factors, with shrinkage (the
       regularised horseshoe by default), is fitted to ``data``.
    2. A **forward search** starts from the intercept-only model and adds, at
       each step, the factor whose submodel comes closest to the reference:
       for each draw s, the submodel's coefficients minimise the
       Kullback-Leibler divergence from the reference's fitted
       probabilities mu_s (a logistic regression with fractional outcomes
       mu_s). The search projects ``n_clusters`` k-means clusters of the
       reference draws. For a spec with **terms** (a formula), each step adds
       a whole term, not a design column: all the levels of a categorical
       factor together, a spline's linear and nonlinear columns together, and
       an interaction only once both its main effects are in (see Notes).
    3. Each size's submodel is projected on ``n_draws`` draws and its
       **elpd** estimated by PSIS-LOO with the reference's importance
       weights, and, with ``n_folds >= 2``, by K-fold cross-validation of
       the whole procedure (reference refitted and search rerun without
       each fold, predicting the fold), which also counts how often each
       factor enters early.
    4. The **suggested size** is the smallest whose elpd difference to the
       reference is within one SE (``diff + SE >= 0``), projpred's default
       heuristic, on the cross-validated estimates when folds were run.

    Parameters
    ----------
    data : pandas.DataFrame
        Cohort or case-control sample with the candidate factors and the
        outcome. A case-control sample is fitted on its own scale, which is
        all the search and the elpd use.
    spec : ModelSpec, optional
        The reference model: its factors, or its terms if it has them
        (:meth:`ModelSpec.from_formula`), are the candidates, its outcome
        and priors those of every reference fit. Terms' levels and knots are
        read off all of ``data`` once, and every fold's fit uses them. Default: the fifteen
        factors of Table 4 with the regularised horseshoe,
        ``ModelSpec(factors=bayes_ubpr.RISK_FACTORS, priors="horseshoe")``.
        A given spec is used as it is, priors included: ModelSpec's own
        default priors are ``"default"`` (independent, no shrinkage), so pass
        a shrinkage prior (``priors="horseshoe"`` or ``"domains"``) for a
        reference model over many candidates, as Piironen et al. (2020)
        recommend. Its design and population prevalence play no part (the
        search and the elpd are on the scale of ``data``); a spec with a
        ``group`` (a formula's ``(1 | g)``) is refused.
    max_size : int, optional
        Largest submodel searched, in factors (or terms); default all
        candidates.
    n_clusters : int, default 20
        Clusters of reference draws projected during the search.
    n_draws : int, default 400
        Reference draws (evenly thinned) projected for the elpd of each size.
    n_folds : int, default 5
        Folds of the cross-validation of the search; 0 skips it (one fit
        instead of ``n_folds + 1``).
    sampling : Sampling, optional
        How each reference fit is sampled. Default ``Sampling()``: 4 chains
        x (1,000 + 1,000).
    seed : None, int or numpy.random.Generator
        Seeds of the fits, the clustering and the folds, spawned up front
        (:func:`numpy.random.SeedSequence.spawn`).
    **deprecated
        ``factors``, ``outcome`` and ``priors`` (default ``"horseshoe"``)
        instead of ``spec``, and ``draws``, ``tune``, ``chains`` and
        ``sampler`` instead of ``sampling``: still accepted in this
        release, with a ``DeprecationWarning``, and give the same results.

    Returns
    -------
    SelectionResult

    Raises
    ------
    CohortValidationError
        If the data lack a factor (or a term's column) or the outcome, or
        break the data contract.
    TypeError
        For a ``spec`` that is not a ModelSpec, or a ``sampling`` that is not
        a Sampling, either given beside the deprecated keywords it replaces,
        or an unknown keyword.
    ValueError
        For a ``spec`` with a ``group``, ``n_folds`` of 1 or more than the
        smaller outcome class, ``max_size`` above the number of factors (or
        terms), or a bad count or sampling setting; and,
        before any fit, for a factor that the patients outside one of the
        folds hold constant (a factor carried by a single patient always
        is), naming the factor, how many patients it varies in and the fold;
        for a spec with terms, the design column and its term (a level of a
        categorical factor seen in one fold only, say).

    Notes
    -----
    A factor that varies in so few patients that one fold holds all of
    them is refused rather than fitted around. Without that fold, the
    reference model has no information on the factor (its odds ratio would
    be its prior alone) and no scale to standardise it by, so every
    cross-validated elpd of a submodel holding it would measure the prior,
    not the data; and folds cannot be drawn to avoid this when one patient
    carries the factor. A factor seen in one or two patients cannot be
    selected on evidence in any case: leave it out (or pool it with a
    related one), or set ``n_folds=0`` to search without cross-validation.
    The check is made on the folds, drawn up front, before the first fit.

    With terms, the search moves terms, as projpred does for the terms of a
    brms or Bambi formula: a submodel holding one level of a three-level
    factor, a spline's bend without its slope, or an interaction without
    its main effects would each depend on how the factor is coded or
    centred, and none is a model one would fit. So a term enters whole:
    its design columns (``result.path["columns"]``) are projected together,
    and the path, the sizes, ``max_size`` and the folds' orders count
    terms. A spline's nonlinear columns are not a separate step after its
    linear one: the term is one candidate. An interaction ``a:b`` becomes
    a candidate only after those of ``a`` and ``b`` that are terms of the
    model (the hierarchy principle), so every submodel on the path is
    ``spec.terms.subset(...)`` of a prefix of the order, and
    :meth:`SelectionResult.submodel_spec` returns it ready to fit from the
    raw columns. A term of several columns competes with single columns on
    KL alone, which favours it slightly in a close call; the elpd of each
    size, cross-validated, says whether its extra columns pay their way.

    PSIS-LOO of the submodels reuses the reference's leave-one-out weights
    and the search run on all the data, so it is optimistic for the sizes
    where the search chose among near ties; the K-fold estimates redo the
    search without each fold and are not (Piironen et al. 2020, section 4).
    Both are on the scale of ``data``: for a case-control sample, the
    density of patients sampled like its cases and controls.

    References
    ----------
    Piironen J, Paasiniemi M, Vehtari A (2020). Projective inference in
    high-dimensional problems: prediction and feature selection. Electronic
    Journal of Statistics 14(1):2155-2197. doi:10.1214/20-EJS1711

    Examples
    --------
    >>> from bayes_ubpr import ModelSpec, Sampling, simulate_cohort, select_factors
    >>> cohort = simulate_cohort(n=400, prevalence=0.3, seed=5)
    >>> candidates = ["fascia_injury", "depression", "age", "copd"]  # the last two without effect
    >>> quick = Sampling(chains=2, draws=1000, tune=300)  # small settings (and default priors) for speed
    >>> result = select_factors(cohort, ModelSpec(factors=candidates), n_folds=0, sampling=quick, seed=1)
    >>> result.order[:2]
    ['fascia_injury', 'depression']

    With a formula, terms move whole (``docs/validation.md`` shows a run):
    ``select_factors(data, ModelSpec.from_formula("ubpr ~ C(level) * fascia_injury + age"))``
    adds both levels of ``level`` in one step, and ``level:fascia_injury``
    only after ``level`` and ``fascia_injury``.
    """
    unknown = [name for name in deprecated if name not in (*_SPEC_KEYWORDS, *_SAMPLING_KEYWORDS)]
    if unknown:
        allowed = ("max_size", "n_clusters", "n_draws", "n_folds", "sampling", "seed")
        raise TypeError(
            f"select_factors() got an unexpected keyword argument '{unknown[0]}'.{did_you_mean(unknown[0], allowed)}"
        )
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, pd.DataFrame) for d in data):
        raise TypeError(
            "select_factors projects a reference fit on one data set; multiply imputed data are not supported yet. "
            "Select on the complete cases or one completed data set and say so, or compare candidate models fitted "
            "with missing='impute' by bayes_ubpr.compare_models (PSIS-LOO)"
        )
    require_dataframe(data)
    spec = _reference_spec(spec, {k: v for k, v in deprecated.items() if k in _SPEC_KEYWORDS})
    sampling = sampling_from_keywords(
        sampling,
        {k: v for k, v in deprecated.items() if k in _SAMPLING_KEYWORDS},
        default=Sampling(),
        caller="select_factors",
    )
    holes = [c for c in (*spec.variables, spec.outcome) if c in data.columns and data[c].isna().any()]
    if holes:
        rows = list(data.index[data[holes[0]].isna().to_numpy()])
        raise CohortValidationError(
            f'Column "{holes[0]}" has missing values in rows {describe_rows(rows)}: select_factors needs complete '
            "data (multiply imputed data are not supported yet); select on the complete cases and say so, or "
            "compare candidate models fitted with missing='impute' by bayes_ubpr.compare_models",
            column=holes[0],
            rows=rows,
        )
    spec = spec.with_terms_of(data)  # levels and knots read off all the data, the same in every fold's fit
    candidates = Candidates.of_columns(spec.factor_names) if spec.terms is None else Candidates.of_terms(spec.terms)
    names = list(candidates.names)
    outcome = spec.outcome
    max_size = len(names) if max_size is None else check_positive_int(max_size, name="max_size", minimum=0)
    if max_size > len(names):
        what = "terms" if candidates.grouped else "factors"
        raise ValueError(f"max_size must be at most the number of {what} ({len(names)}); got {max_size}")
    n_clusters = check_positive_int(n_clusters, name="n_clusters")
    n_draws = check_positive_int(n_draws, name="n_draws")
    n_folds = check_positive_int(n_folds, name="n_folds", minimum=0)
    if n_folds == 1:
        raise ValueError("n_folds must be 0 (no cross-validation of the search) or at least 2; got 1")
    clean = validate_cohort(spec.model_frame(data), factors=spec.factors, outcome=outcome)
    rows = data if candidates.grouped else clean  # what a fit reads: terms are built from the raw columns
    y = clean[outcome].to_numpy(dtype=float)
    smaller = int(min(y.sum(), len(y) - y.sum()))
    if n_folds > smaller:
        raise ValueError(f"n_folds ({n_folds}) exceeds the {smaller} patients of the smaller outcome class")
    children = spawn_seeds(seed, n_folds + 2)
    x_all = clean[list(candidates.design)].to_numpy(dtype=float)
    if n_folds:
        folds = _fold_indices(y, n_folds, np.random.default_rng(children[-1]))
        _check_folds_vary(x_all, candidates.design, folds, candidates)

    def run(frame: pd.DataFrame, child: np.random.SeedSequence) -> tuple[az.InferenceData, _Reference, tuple]:
        fit_seed, cluster_seed = (int(v) for v in child.generate_state(2) % (2**31 - 1))
        with sigint_watch() as watch:  # a Ctrl-C that Python dropped in a weakref callback still stops the search
            idata = fit(frame, spec, sampling=sampling, seed=fit_seed, check=False, log_likelihood=False)
        if watch.interrupted:
            raise KeyboardInterrupt
        ref = _reference(idata, n_draws)
        return idata, ref, _search(ref, candidates, n_clusters, max_size, cluster_seed)

    what = "terms" if candidates.grouped else "factors"
    folds_words = f"then the same in each of {n_folds} folds" if n_folds else "no folds"
    report_step(
        f"reference fit to {len(y):,} patients, then the forward search over {len(names)} {what} ({folds_words})"
    )
    reference_fit, ref, (order, kl_path, coefs) = run(rows, children[0])
    z = ref.standardise(ref.x)
    ref_log_lik = metrics.bernoulli_log_density(y, ref.thinned)
    log_weights, k = _psis_weights(ref_log_lik)
    ref_loo = special.logsumexp(log_weights + ref_log_lik.T, axis=1)
    path = pd.DataFrame({"size": range(max_size + 1), "factor": ["", *(names[i] for i in order)]})
    if candidates.grouped:
        path["columns"] = [(), *(candidates.column_names(i) for i in order)]
    path["kl"] = kl_path
    loo_rows = []
    for m, coef in enumerate(coefs):
        sub_log_lik = metrics.bernoulli_log_density(y, _submodel_eta(coef, z[:, candidates.design_columns(order[:m])]))
        sub_loo = special.logsumexp(log_weights + sub_log_lik.T, axis=1)
        loo_rows.append([*_sum_se(sub_loo), *_sum_se(sub_loo - ref_loo)])
    path[["elpd_loo", "elpd_loo_se", "elpd_diff_loo", "elpd_diff_loo_se"]] = np.array(loo_rows)
    reference = [{"estimate": "psis_loo", **dict(zip(("elpd", "se"), _sum_se(ref_loo), strict=True))}]
    reference[0]["n_high_k"] = int((k > PARETO_K_THRESHOLD).sum())

    fold_rows: list[dict[str, Any]] = []
    cv = np.full((max_size + 1, len(y)), np.nan)
    ref_cv = np.full(len(y), np.nan)
    if n_folds:
        for fold in range(n_folds):
            test = folds == fold
            report_step(f"fold {fold + 1} of {n_folds}: reference fit to {int((~test).sum()):,} patients and search")
            _, fold_ref, (fold_order, _, fold_coefs) = run(rows.loc[~test], children[fold + 1])
            fold_rows += [{"fold": fold, "step": s + 1, "factor": names[i]} for s, i in enumerate(fold_order)]
            z_test = fold_ref.standardise(x_all[test])
            ref_cv[test] = _held_out_density(fold_ref.predict(x_all[test]), y[test])
            for m, coef in enumerate(fold_coefs):
                sub_eta = _submodel_eta(coef, z_test[:, candidates.design_columns(fold_order[:m])])
                cv[m, test] = _held_out_density(sub_eta, y[test])
        cv_rows = [[*_sum_se(cv[m]), *_sum_se(cv[m] - ref_cv)] for m in range(max_size + 1)]
        reference.append({"estimate": "kfold", **dict(zip(("elpd", "se"), _sum_se(ref_cv), strict=True))})
    else:
        cv_rows = [[np.nan] * 4] * (max_size + 1)
    path[["elpd_cv", "elpd_cv_se", "elpd_diff_cv", "elpd_diff_cv_se"]] = np.array(cv_rows, dtype=float)
    fold_orders = pd.DataFrame(fold_rows, columns=["fold", "step", "factor"])
    shares = [np.nan]
    for m in range(1, max_size + 1):
        factor = path["factor"].iloc[m]
        early = fold_orders[(fold_orders["step"] <= m) & (fold_orders["factor"] == factor)]
        shares.append(len(early) / n_folds if n_folds else np.nan)
    path["fold_share"] = shares
    criterion = "kfold" if n_folds else "psis_loo"
    column = "cv" if n_folds else "loo"
    within = path[f"elpd_diff_{column}"] + path[f"elpd_diff_{column}_se"] >= 0
    suggested = int(path.loc[within, "size"].min()) if within.any() else max_size
    settings = {
        "factors": names,
        "outcome": outcome,
        "priors": spec.priors if isinstance(spec.priors, str) else type(spec.priors).__name__,
        "n_clusters": n_clusters,
        "n_draws": n_draws,
        "n_folds": n_folds,
        "criterion": criterion,
        "seed": seed if isinstance(seed, (int, np.integer)) else None,
    }
    if candidates.grouped:
        settings |= {
            "formula": spec.formula,
            "terms": {n: list(candidates.column_names(i)) for i, n in enumerate(names)},
        }
    return SelectionResult(path, pd.DataFrame(reference), fold_orders, suggested, reference_fit, settings)
