"""Fits of multiply imputed data: one fit per completed data set, their draws pooled.

Mixing the draws of the fits to every completed data set approximates the
posterior given the observed data alone (Zhou & Reiter 2010; what brms'
``brm_multiple`` does). Every fit uses the same model: the terms' levels and
knots, the factors' reference scales and the case-control prevalence are
resolved once, on all the completed data sets together, so that a
coefficient means the same in every imputation.

The pooled fit's chains are those of every imputation (coordinate
``imputation`` on dim ``chain``); ``constant_data.x_imputed`` holds each
imputation's design (``imputation, obs, factor``) and ``constant_data.x``
their mean. With ``compare_complete_case``, group ``complete_case`` holds
the draws (``intercept``, ``beta``) of the same model fitted to the patients
with every value observed. A draw's in-sample predictions and log likelihood use its own
imputation's design, so PSIS-LOO on the pooled draws estimates the
predictive density averaged over the imputations. Chains of different
imputations are not expected to agree: R-hat and ESS are computed within
each imputation (:func:`~bayes_ubpr.model.diagnostics_summary`).

References
----------
Zhou X, Reiter JP (2010). A note on Bayesian inference after multiple
imputation. Am Stat 64(2):159-163. doi:10.1198/tast.2010.09109
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from bayes_ubpr._rng import SeedLike, as_int_seed, spawn_seeds
from bayes_ubpr._steps import report_step
from bayes_ubpr._validate import check_positive_int, require_dataframe
from bayes_ubpr.data import validate_cohort
from bayes_ubpr.exceptions import CohortValidationError, StatisticalWarning
from bayes_ubpr.missing import ImputationSettings, complete_cases, impute, missingness_table
from bayes_ubpr.model.spec import ModelSpec

__all__ = ["MISSING", "completed_data", "fit_completed", "fit_with_missing", "imputation_info", "resolve_spec"]

MISSING = ("error", "impute", "model")
"""What :func:`~bayes_ubpr.fit` does with missing values: refuse them, naming the rows (``"error"``),
impute them (``"impute"``: multiple imputation, one fit per completed data set, draws pooled), or model
them (``"model"``: the covariates' missing values are parameters of the one model, see
:mod:`bayes_ubpr.model._latent`)."""

FitOne = Callable[..., az.InferenceData]
KeepLogLikelihood = Callable[[int, int], bool]
"""Whether a pooled fit of (patients, data sets) stores its pointwise log likelihood (asked once data are checked)."""


def imputation_info(idata: az.InferenceData) -> dict[str, Any] | None:
    """Return what a fit records of its missing values (``attrs["missing"]``), or None."""
    text = idata.attrs.get("missing")
    return None if text is None else json.loads(text)


def _check_datasets(datasets: Sequence[object], spec: ModelSpec) -> list[pd.DataFrame]:
    """Refuse completed data sets that are not the same patients with the same outcomes and no missing values."""
    if isinstance(datasets, pd.DataFrame) or not len(datasets):
        raise TypeError("the completed data sets must be a non-empty list of DataFrames")
    frames = [require_dataframe(d, name=f"data[{k}]") for k, d in enumerate(datasets)]
    first = frames[0]
    for k, frame in enumerate(frames[1:], start=1):
        if len(frame) != len(first) or not frame.index.equals(first.index):
            raise CohortValidationError(
                f"data[{k}] has other rows than data[0] ({len(frame)} against {len(first)}, or other row labels): "
                "completed data sets must be the same patients in the same order."
            )
        outcome = spec.outcome
        if outcome in frame.columns and outcome in first.columns:
            differ = ~(frame[outcome].eq(first[outcome]) | (frame[outcome].isna() & first[outcome].isna()))
            if differ.any():
                rows = list(frame.index[differ.to_numpy()])
                raise CohortValidationError(
                    f'data[{k}] has another outcome than data[0] in column "{outcome}" (rows {rows[:5]}): '
                    "only covariates are imputed.",
                    column=outcome,
                    rows=rows,
                )
    for k, frame in enumerate(frames):
        holes = [c for c in spec.variables if c in frame.columns and frame[c].isna().any()]
        if holes:
            raise CohortValidationError(
                f'data[{k}] is not complete: column "{holes[0]}" has missing values. '
                "Pass completed data sets, or one data set with missing='impute'.",
                column=holes[0],
            )
    return frames


def resolve_spec(data: pd.DataFrame | Sequence[pd.DataFrame], spec: ModelSpec) -> ModelSpec:
    """Return ``spec`` resolved on ``data`` (terms' levels and knots, factor scales, prevalence).

    Completed data sets (a list) are resolved once, on all of them stacked,
    so that every imputation's fit has the same model.
    """
    if isinstance(data, pd.DataFrame):
        stacked = data
    else:
        stacked = pd.concat(list(data), ignore_index=True)
        stacked.attrs = {k: v for k, v in data[0].attrs.items() if k != "imputation"}
    spec = spec.with_terms_of(stacked)
    frame = spec.model_frame(stacked)
    clean = validate_cohort(frame, factors=spec.factors, outcome=spec.outcome)
    clean.attrs = dict(stacked.attrs)
    return spec.resolve(clean)


def _fit_each(
    frames: Sequence[pd.DataFrame],
    spec: ModelSpec,
    fit_one: FitOne,
    seed: SeedLike,
    threads: int | None,
    client: object,
) -> list[az.InferenceData]:
    """Fit every completed data set; return the fits in order (the k-th from the k-th child seed).

    In threads of this process (one core each when several run) or on a Dask
    client, as a calibration study runs its replicates; the fits are the same
    whichever runs them. Warnings are caught here, in the calling thread
    (``warnings.catch_warnings`` is not thread-safe), and convergence is
    checked per imputation afterwards, so that a warning names its imputations.
    """
    seeds = [as_int_seed(child) for child in spawn_seeds(seed, len(frames))]
    n_threads = min(len(frames), check_positive_int(threads, name="threads") if threads else os.cpu_count() or 1)
    cores = 1 if client is not None or n_threads > 1 else None
    options = {"check": False, "log_likelihood": False, "cores": cores, "check_sampling": False}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if client is not None:
            futures = [
                client.submit(fit_one, frame, spec, seed=s, pure=False, **options)  # type: ignore[attr-defined]
                for frame, s in zip(frames, seeds, strict=True)
            ]
            fits = []
            try:
                for future in futures:
                    fits.append(future.result())
                    report_step(f"{len(fits)} of {len(futures)} completed data sets fitted")
            except BaseException:  # Ctrl-C: no fit of the others is waited for
                client.cancel(futures)  # type: ignore[attr-defined]
                raise
        else:
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                jobs = [
                    pool.submit(fit_one, frame, spec, seed=s, **options) for frame, s in zip(frames, seeds, strict=True)
                ]
                finished = 0
                try:
                    for job in as_completed(jobs):  # said from this thread, where a listener listens
                        if job.exception() is None:
                            finished += 1
                            report_step(f"{finished} of {len(jobs)} completed data sets fitted")
                except BaseException:  # Ctrl-C: end after the fits that are running, not after every queued one
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
                fits = [job.result() for job in jobs]
    for message in {(w.category, str(w.message)): w for w in caught}.values():
        warnings.warn(message.message, message.category, stacklevel=4)
    _warn_convergence(fits)
    return fits


def _warn_convergence(fits: Sequence[az.InferenceData]) -> None:
    """Check each imputation's chains; warn once per problem, naming the imputations that have it."""
    from bayes_ubpr.model._convergence import check_convergence

    seen: dict[str, list[int]] = {}
    for k, fit in enumerate(fits):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            check_convergence(fit)
        for message in record:
            if issubclass(message.category, StatisticalWarning):
                seen.setdefault(str(message.message), []).append(k)
    for text, where in seen.items():
        warnings.warn(f"Imputation(s) {', '.join(map(str, where))}: {text}", StatisticalWarning, stacklevel=5)


def pool_fits(fits: Sequence[az.InferenceData]) -> az.InferenceData:
    """Return one fit whose chains are those of every fit, in order, with the imputation of each chain."""
    chains = fits[0].posterior.sizes["chain"]
    label = np.repeat(np.arange(len(fits)), chains)

    def stack(group: str) -> xr.Dataset:
        parts = [getattr(f, group).drop_vars("chain") for f in fits]
        joined = xr.concat(parts, dim="chain", data_vars="all", coords="minimal", compat="override", join="override")
        return joined.assign_coords(chain=np.arange(len(label)), imputation=("chain", label))

    designs = np.stack([f.constant_data["x"].to_numpy() for f in fits])
    constant = fits[0].constant_data.copy()
    constant["x"] = (("obs", "factor"), designs.mean(axis=0))
    constant["x_imputed"] = (("imputation", "obs", "factor"), designs)
    constant["x_center"] = ("factor", designs.reshape(-1, designs.shape[-1]).mean(axis=0))
    constant["x_scale"] = ("factor", designs.reshape(-1, designs.shape[-1]).std(axis=0))
    constant = constant.assign_coords(imputation=np.arange(len(fits)))
    pooled = az.InferenceData(
        posterior=stack("posterior"),
        sample_stats=stack("sample_stats"),
        observed_data=fits[0].observed_data,
        constant_data=constant,
    )
    pooled.attrs = dict(fits[0].attrs)
    return pooled


def _complete_case_fit(
    data: pd.DataFrame, spec: ModelSpec, fit_one: FitOne, seed: int
) -> tuple[xr.Dataset, dict[str, Any]]:
    """Fit the patients with every value observed (same terms and priors): their draws, patients, events, warnings."""
    keep = complete_cases(data, [*spec.variables, spec.outcome])
    subset = data.loc[keep]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        cc = fit_one(subset, spec, seed=seed, check=False, log_likelihood=False, cores=None)
    y = subset[spec.outcome].to_numpy()
    notes = sorted({str(w.message) for w in record if issubclass(w.category, StatisticalWarning)})
    counts = {"n_patients": len(subset), "n_events": int((y == 1).sum()), "warnings": notes}
    return cc.posterior[["intercept", "beta"]], counts


def fit_completed(
    datasets: Sequence[pd.DataFrame],
    spec: ModelSpec,
    fit_one: FitOne,
    *,
    seed: SeedLike,
    threads: int | None = None,
    client: object = None,
    log_likelihood: KeepLogLikelihood | None = None,
    info: dict[str, Any] | None = None,
) -> az.InferenceData:
    """Fit each completed data set with the same resolved model and pool the draws (see the module's notes)."""
    if spec.varying_slopes:
        raise ValueError(
            "varying slopes are not supported with multiply imputed data yet (each imputation standardises "
            "its slopes on its own design); fit the group intercepts only, or one completed data set"
        )
    frames = _check_datasets(datasets, spec)
    spec = resolve_spec(frames, spec)
    fits = _fit_each(frames, spec, fit_one, seed, threads, client)
    pooled = pool_fits(fits)
    record = {"method": "given", "imputations": len(frames), **(info or {})}
    pooled.attrs["missing"] = json.dumps(record)
    if log_likelihood is None or log_likelihood(len(frames[0]), len(frames)):
        from bayes_ubpr.model.fitted import Fitted

        pooled.add_groups(log_likelihood=Fitted.of(pooled).log_likelihood())
    return pooled


def checked_raw(frame: pd.DataFrame, spec: ModelSpec, auxiliary: Sequence[str] = ()) -> pd.DataFrame:
    """Check every value present before imputing or modelling the holes (kinds, ranges, 0/1 outcome).

    Missing values are kept; everything else breaks the data contract as in
    :func:`~bayes_ubpr.validate_cohort`, naming column and rows.
    """
    groups = list(spec.group_columns)
    extra = [c for c in auxiliary if c not in spec.variables]
    if spec.terms is None:
        checked = validate_cohort(
            frame, factors=spec.factors, outcome=spec.outcome, columns=[*groups, *extra], missing="keep"
        )
        checked.attrs = dict(frame.attrs)
        return checked
    validate_cohort(frame, factors=(), columns=[*spec.variables, *extra], outcome=spec.outcome, missing="keep")
    return frame


def fit_with_missing(
    data: pd.DataFrame,
    spec: ModelSpec,
    fit_one: FitOne,
    *,
    settings: ImputationSettings,
    seed: SeedLike,
    threads: int | None = None,
    client: object = None,
    log_likelihood: KeepLogLikelihood | None = None,
    compare_complete_case: bool = False,
) -> az.InferenceData:
    """Impute ``data``'s missing values, fit every completed data set, pool; record the missingness."""
    groups = list(spec.group_columns)
    own = [c for c in spec.variables if c not in groups]
    frame = checked_raw(require_dataframe(data), spec, settings.auxiliary)
    table = missingness_table(frame, [*own, *groups, *settings.auxiliary], outcome=spec.outcome)
    impute_seed, fit_seed, cc_seed = spawn_seeds(seed, 3)
    if not table["n_missing"].any():  # nothing to impute: one fit, which says so
        keep = None if log_likelihood is None else log_likelihood(len(frame), 1)
        idata = fit_one(frame, spec, seed=as_int_seed(fit_seed), check=True, log_likelihood=keep, cores=None)
        record = {"method": "impute", **settings.as_dict(), "imputations": 0, "imputed_columns": []}
        idata.attrs["missing"] = json.dumps({**record, "table": table.to_dict("records"), "counts": dict(table.attrs)})
        return idata
    datasets = impute(frame, own, outcome=spec.outcome, groups=groups, settings=settings, seed=impute_seed)
    info: dict[str, Any] = {
        "method": "impute",
        "seed": {"entropy": str(impute_seed.entropy), "spawn_key": list(impute_seed.spawn_key)},
        "imputer": "statsmodels MICEData, predictive mean matching",
        **settings.as_dict(),
        "imputed_columns": [c for c in own + list(settings.auxiliary) if frame[c].isna().any()],
        "table": table.to_dict("records"),
        "counts": dict(table.attrs),
    }
    report_step(f"{len(datasets)} completed data sets imputed")
    complete_case = None
    if compare_complete_case:
        report_step("fitting the complete cases, for comparison")
        resolved = resolve_spec(datasets, spec)
        complete_case, info["complete_case"] = _complete_case_fit(frame, resolved, fit_one, as_int_seed(cc_seed))
    pooled = fit_completed(
        datasets, spec, fit_one, seed=fit_seed, threads=threads, client=client, log_likelihood=log_likelihood, info=info
    )
    if complete_case is not None:
        with warnings.catch_warnings():  # a group of its own, outside ArviZ's scheme: ArviZ says so, rightly
            warnings.simplefilter("ignore", UserWarning)
            pooled.add_groups(complete_case=complete_case)
    return pooled


def completed_data(fit: az.InferenceData, data: pd.DataFrame) -> list[pd.DataFrame]:
    """Return the completed data sets a fit made with ``missing="impute"`` was fitted to, made again from ``data``.

    The imputation is rerun with the settings and seed the fit recorded,
    so the data sets are those of the fit, value for value: pass them to a
    function that refits (:func:`bayes_ubpr.sensitivity.prior_sensitivity`,
    :func:`bayes_ubpr.fit` with other priors) to refit on the same
    imputations.

    Parameters
    ----------
    fit : arviz.InferenceData
        A fit made with ``missing="impute"``.
    data : pandas.DataFrame
        The data with missing values that the fit was made from.

    Raises
    ------
    ValueError
        If the fit imputed nothing, or ``data`` are not its patients (other
        number of rows or other outcomes).

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr import fit, simulate_cohort
    >>> from bayes_ubpr.model import Fitted, completed_data
    >>> cohort = simulate_cohort(n=400, prevalence=0.3, seed=5)
    >>> cohort.loc[cohort.index[::10], "bmd_tscore_abs"] = np.nan
    >>> idata = fit(cohort, missing="impute", imputations=3, chains=2, draws=400, seed=1)
    >>> again = completed_data(idata, cohort)
    >>> design = idata.constant_data["x_imputed"].sel(imputation=2, factor="bmd_tscore_abs").to_numpy()
    >>> bool(np.array_equal(again[2]["bmd_tscore_abs"].to_numpy(), design))
    True
    """
    from bayes_ubpr.model.fitted import Fitted

    view = Fitted.of(fit)
    info = imputation_info(view.idata)
    if info is None or info.get("method") != "impute" or not info.get("imputations"):
        raise ValueError("completed_data needs a fit made with missing='impute' that imputed values")
    frame = require_dataframe(data)
    spec = view.spec
    y = view.y
    observed = frame[spec.outcome].to_numpy() if spec.outcome in frame.columns else None
    if len(frame) != len(y) or observed is None or not np.array_equal(observed, y):
        raise ValueError(
            f"data are not the patients of this fit ({len(frame)} rows against {len(y)}, or other outcomes): "
            "pass the data with missing values the fit was made from"
        )
    settings = ImputationSettings(
        imputations=info["imputations"],
        iterations=info["iterations"],
        donors=info["donors"],
        auxiliary=tuple(info["auxiliary"]),
    )
    groups = list(spec.group_columns)
    own = [c for c in spec.variables if c not in groups]
    seed = np.random.SeedSequence(int(info["seed"]["entropy"]), spawn_key=tuple(info["seed"]["spawn_key"]))
    checked = checked_raw(frame, spec, settings.auxiliary)
    return impute(checked, own, outcome=spec.outcome, groups=groups, settings=settings, seed=seed)
