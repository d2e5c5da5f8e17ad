"""The original fit and its revisions for a new setting, validated side by side on data none was revised on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
from scipy import special

from bayes_ubpr import metrics
from bayes_ubpr._rng import SeedLike, as_generator, spawn_seeds
from bayes_ubpr._validate import check_choice, check_positive_int, check_probability, require_dataframe
from bayes_ubpr.model import Fitted, Sampling
from bayes_ubpr.posterior import risk_draws
from bayes_ubpr.validation._revision import check_sampling, design_of, seed_of
from bayes_ubpr.validation.external import DEFAULT_THRESHOLDS, ValidationResult, score_risks, warn_if_few_events
from bayes_ubpr.validation.recalibration import RECALIBRATION_METHODS, recalibrate
from bayes_ubpr.validation.updating import DEFAULT_DISCOUNT, check_discount, update

__all__ = ["ORIGINAL", "UPDATING_METHODS", "UpdatingValidation", "validate_updating"]

UPDATING_METHODS = (*RECALIBRATION_METHODS, "update")
"""The revisions :func:`validate_updating` compares with the original fit."""

ORIGINAL = "original"
"""The name of the unrevised fit in :class:`UpdatingValidation`'s tables."""


Revision = Callable[..., az.InferenceData]


def _by_intercept(model: az.InferenceData, data: pd.DataFrame, **options: Any) -> az.InferenceData:
    return recalibrate(model, data, "intercept", sampling=options["sampling"], seed=options["seed"])


def _by_slope(model: az.InferenceData, data: pd.DataFrame, **options: Any) -> az.InferenceData:
    return recalibrate(model, data, "slope", sampling=options["sampling"], seed=options["seed"])


def _by_update(model: az.InferenceData, data: pd.DataFrame, **options: Any) -> az.InferenceData:
    return update(model, data, discount=options["discount"], sampling=options["sampling"], seed=options["seed"])


_REVISIONS: dict[str, Revision] = {"intercept": _by_intercept, "slope": _by_slope, "update": _by_update}


@dataclass(frozen=True)
class UpdatingValidation:
    """The original fit and its revisions, validated on the same patients, none of which any was fitted on.

    Attributes
    ----------
    performance : pandas.DataFrame
        One row per model and metric: ``model`` (``"original"``, then each
        method), then the columns of
        :attr:`ValidationResult.performance <bayes_ubpr.ValidationResult.performance>`
        (``estimate`` at the posterior-mean risks; ``median``, ``lower``,
        ``upper`` over draws x bootstrap resamples).
    log_score : pandas.DataFrame
        One row per model: ``n``, ``log_score`` (mean log predictive
        density per patient, log of the posterior-mean probability of the
        observed outcome; higher is better) with ``log_score_se``, and
        ``difference`` from the original's with its paired ``difference_se``.
    results : dict of str to ValidationResult
        Each model's whole validation (calibration curve, decision curve).
    settings : dict
        ``evaluation`` (``"holdout"``, ``"cross-validation"`` or
        ``"apparent"``), ``folds``, ``n``, ``n_events``, ``methods``,
        ``discount``, ``prob``, ``n_draws``, ``bootstrap``, ``seed``.

    Examples
    --------
    >>> import bayes_ubpr as bu
    >>> old = bu.fit(bu.simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> new = bu.simulate_cohort(n=600, prevalence=0.5, seed=6)
    >>> result = bu.validate_updating(old, new, methods=["intercept"], folds=0, n_draws=100, bootstrap=False)
    >>> result.log_score["model"].tolist(), result.settings["evaluation"]
    (['original', 'intercept'], 'apparent')
    >>> str(result).splitlines()[0].split(", ")[-1]  # the title says how the models were validated
    'on the data they were revised on (apparent performance: optimistic)'
    """

    performance: pd.DataFrame
    log_score: pd.DataFrame
    results: dict[str, ValidationResult]
    settings: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        evaluation = self.settings.get("evaluation")
        how = {
            "holdout": "on a hold-out sample, revised on the new cohort",
            "cross-validation": f"by {self.settings.get('folds')}-fold cross-validation",
            "apparent": "on the data they were revised on (apparent performance: optimistic)",
        }.get(str(evaluation), "")
        title = (
            f"The fit and its revisions in {self.settings.get('n')} patients "
            f"({self.settings.get('n_events')} events), {how}"
        )
        table = self.performance.pivot(index="metric", columns="model", values="estimate")
        table = table.reindex(index=list(dict.fromkeys(self.performance["metric"])), columns=list(self.results))
        show = {"float_format": lambda v: f"{v:.3g}"}
        parts = [title, "Estimates at the posterior-mean risks", table.to_string(**show)]
        parts += ["Log score per patient (higher is better)", self.log_score.to_string(index=False, **show)]
        return "\n\n".join(parts)


def _check_methods(methods: Sequence[str] | str) -> tuple[str, ...]:
    chosen = (methods,) if isinstance(methods, str) else tuple(methods)
    if not chosen:
        raise ValueError(f"methods must name at least one of {', '.join(map(repr, UPDATING_METHODS))}")
    for method in chosen:
        check_choice(method, UPDATING_METHODS, name="methods")
    return tuple(dict.fromkeys(chosen))


def _thinned_risks(model: az.InferenceData, data: pd.DataFrame, n_draws: int) -> np.ndarray:
    draws = risk_draws(model, data, new_groups="average").stack(sample=("chain", "draw"))
    return metrics.thin_draws(draws.transpose("sample", "patient").to_numpy(), n_draws)


def _folds(y: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold of each patient, stratified by outcome (events and non-events dealt out in turn, at random)."""
    fold = np.empty(len(y), dtype=int)
    for outcome in (0.0, 1.0):
        members = rng.permutation(np.flatnonzero(y == outcome))
        fold[members] = np.arange(len(members)) % folds
    return fold


def _log_scores(y: np.ndarray, risks: dict[str, np.ndarray], evaluation: str) -> pd.DataFrame:
    pointwise = {
        name: metrics.bernoulli_log_density(y, special.logit(np.clip(risk.mean(axis=0), 1e-12, 1 - 1e-12)))
        for name, risk in risks.items()
    }
    n, rows = len(y), []
    for name, values in pointwise.items():
        difference = values - pointwise[ORIGINAL]
        rows.append(
            {
                "model": name,
                "evaluation": evaluation,
                "n": n,
                "log_score": values.mean(),
                "log_score_se": values.std(ddof=1) / np.sqrt(n),
                "difference": difference.mean(),
                "difference_se": difference.std(ddof=1) / np.sqrt(n),
            }
        )
    return pd.DataFrame(rows)


def validate_updating(
    fit: az.InferenceData,
    new_cohort: pd.DataFrame,
    *,
    methods: Sequence[str] = UPDATING_METHODS,
    holdout: pd.DataFrame | None = None,
    folds: int = 5,
    discount: float = DEFAULT_DISCOUNT,
    sampling: Sampling | None = None,
    n_draws: int = 1000,
    prob: float = 0.95,
    bootstrap: bool = True,
    seed: SeedLike = None,
) -> UpdatingValidation:
    """Validate a fit and its revisions (recalibrations, update) for a new cohort, before and after, fairly.

    The original fit is validated beside each revision of it made with the
    new cohort (``methods``: :func:`recalibrate` by ``"intercept"`` and by
    ``"slope"``, :func:`update`), all on the same patients and none on the
    patients it was revised on:

    * with ``holdout``, the revisions are made on all of ``new_cohort`` and
      every model is validated on ``holdout`` (an independent sample of the
      new setting: later patients, another ward of the same hospital);
    * without it, by ``folds``-fold cross-validation: each revision is made
      on all folds but one and predicts that one; the predictions of the
      folds, pooled, are validated beside the original fit's on the whole
      new cohort (stratified folds: events and non-events dealt out in
      turn);
    * ``folds=0`` validates the revisions on the data they were made on:
      apparent performance, optimistic (flagged as such in ``settings`` and
      the printout).

    Parameters
    ----------
    fit : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    new_cohort : pandas.DataFrame
        The new setting's cohort: the model's raw columns and the outcome.
    methods : sequence of {"intercept", "slope", "update"}, default all three
        The revisions to make and validate.
    holdout : pandas.DataFrame, optional
        Patients of the new setting kept apart for validation.
    folds : int, default 5
        Without ``holdout``: folds of the cross-validation (at least 2), or
        0 for apparent performance.
    discount : float, default 0.5
        For ``"update"``: the weight of the old posterior (see :func:`update`).
    sampling : Sampling, optional
        How the revisions are sampled (see :func:`recalibrate`, :func:`update`).
    n_draws : int, default 1000
        Posterior draws of the risks scored per model (evenly thinned).
    prob : float, default 0.95
        Mass of the intervals.
    bootstrap : bool, default True
        As for :func:`~bayes_ubpr.validate_model`.
    seed : None, int or numpy.random.Generator
        For the folds, the revisions (one child seed per fold and method,
        spawned up front) and the bootstrap.

    Returns
    -------
    UpdatingValidation

    Raises
    ------
    ValueError
        For an unknown method, ``folds`` of 1 or below 0, a bad ``prob`` or
        ``discount``.
    TypeError
        If ``new_cohort`` or ``holdout`` is not a DataFrame.
    CohortValidationError
        If a cohort lacks a column of the model or the outcome, or has only
        one outcome class.

    Warns
    -----
    StatisticalWarning
        If the patients validated on have fewer than 100 events or
        non-events (:data:`~bayes_ubpr.validation.RECOMMENDED_EVENTS`), and
        as :func:`update` warns for each refit.

    See Also
    --------
    recalibrate, update, bayes_ubpr.validate_model

    Notes
    -----
    Cross-validation estimates how a revision *procedure* performs on new
    patients of the setting, for a cohort of (folds - 1)/folds the size of
    ``new_cohort``; the revision to use is then made on all of it
    (:func:`recalibrate` or :func:`update`). Draw s of the pooled
    predictions comes from draw s of each fold's fit: independent
    posteriors, so the pooled draws are draws of their product.

    Examples
    --------
    >>> import bayes_ubpr as bu
    >>> old = bu.fit(bu.simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> new = bu.simulate_cohort(n=600, prevalence=0.5, seed=6)  # UBPR commoner in the new hospital
    >>> result = bu.validate_updating(old, new, methods=["intercept"], folds=2, n_draws=100, bootstrap=False, seed=3)
    >>> table = result.performance.set_index(["model", "metric"])["estimate"]
    >>> citl = table.xs("calibration_in_the_large", level="metric").round(1)
    >>> float(citl["original"]), float(citl["intercept"])  # cross-validated: each fold recalibrated on the others
    (0.9, 0.0)
    >>> bool(result.log_score.set_index("model").loc["intercept", "difference"] > 0)  # better held-out log score
    True
    """
    view = Fitted.of(fit)
    require_dataframe(new_cohort, name="new_cohort")
    chosen = _check_methods(methods)
    discount = check_discount(discount)
    sampling = check_sampling(sampling, caller="validate_updating")
    prob = check_probability(prob, name="prob")
    n_draws = check_positive_int(n_draws, name="n_draws")
    folds = check_positive_int(folds, name="folds", minimum=0)
    if holdout is None and folds == 1:
        raise ValueError("folds must be 0 (apparent performance) or at least 2 (cross-validation); got 1")
    fold_seed, revision_seed, scoring_seed = spawn_seeds(seed, 3)
    # child 0 revises on all of new_cohort; child k on all folds but fold k (1..folds); then one child per method
    per_part = spawn_seeds(revision_seed, folds + 1 if holdout is None else 1)
    options = {"discount": discount, "sampling": sampling}

    def revised(part: int, method: str, data: pd.DataFrame) -> az.InferenceData:
        child = spawn_seeds(per_part[part], len(UPDATING_METHODS))[UPDATING_METHODS.index(method)]
        return _REVISIONS[method](fit, data, seed=child, **options)

    _, y_new, _ = design_of(view, new_cohort, name="new_cohort")
    if holdout is not None:
        evaluation = "holdout"
        _, y, _ = design_of(view, holdout, name="holdout")
        risks = {ORIGINAL: _thinned_risks(fit, holdout, n_draws)}
        risks |= {method: _thinned_risks(revised(0, method, new_cohort), holdout, n_draws) for method in chosen}
    elif folds == 0:
        evaluation, y = "apparent", y_new
        risks = {ORIGINAL: _thinned_risks(fit, new_cohort, n_draws)}
        risks |= {method: _thinned_risks(revised(0, method, new_cohort), new_cohort, n_draws) for method in chosen}
    else:
        evaluation, y = "cross-validation", y_new
        fold = _folds(y, folds, as_generator(fold_seed))
        risks = {ORIGINAL: _thinned_risks(fit, new_cohort, n_draws)}
        for method in chosen:
            parts = []
            for k in range(folds):
                model = revised(k + 1, method, new_cohort.iloc[fold != k])
                parts.append((np.flatnonzero(fold == k), _thinned_risks(model, new_cohort.iloc[fold == k], n_draws)))
            rows = min(len(part) for _, part in parts)
            pooled = np.empty((rows, len(y)))
            for index, part in parts:
                pooled[:, index] = metrics.thin_draws(part, rows)
            risks[method] = pooled
    warn_if_few_events(y, stacklevel=2)
    names = (ORIGINAL, *UPDATING_METHODS)
    scoring = dict(zip(names, spawn_seeds(scoring_seed, len(names)), strict=True))
    results: dict[str, ValidationResult] = {}
    for name, risk in risks.items():
        performance, calibration, decision = score_risks(
            y,
            risk,
            prob=prob,
            thresholds=DEFAULT_THRESHOLDS,
            frac=metrics.LOWESS_FRAC,
            n_draws=n_draws,
            rng=as_generator(scoring[name]),
            bootstrap=bootstrap,
        )
        settings = {"model": name, "evaluation": evaluation, "n": len(y), "n_events": int(y.sum()), "prob": prob}
        settings |= {"n_draws": len(risk), "frac": metrics.LOWESS_FRAC, "bootstrap": bootstrap}
        results[name] = ValidationResult(performance, None, calibration, decision, settings)
    performance = pd.concat(
        [result.performance.assign(model=name) for name, result in results.items()], ignore_index=True
    )
    performance = performance[["model", *[c for c in performance.columns if c != "model"]]]
    settings = {
        "evaluation": evaluation,
        "folds": folds if evaluation == "cross-validation" else None,
        "n": len(y),
        "n_events": int(y.sum()),
        "methods": list(chosen),
        "discount": discount if "update" in chosen else None,
        "prob": prob,
        "n_draws": n_draws,
        "bootstrap": bootstrap,
        "seed": seed_of(seed),
    }
    return UpdatingValidation(performance, _log_scores(y, risks, evaluation), results, settings)
