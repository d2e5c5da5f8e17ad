"""Sampling a model: compile once per structure, refit new data, check convergence."""

from __future__ import annotations

import functools
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from importlib.metadata import version
from importlib.util import find_spec
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from bayes_ubpr._rng import SeedLike, as_int_seed
from bayes_ubpr._validate import check_choice
from bayes_ubpr.data import FactorLike, validate_cohort
from bayes_ubpr.exceptions import FitInterrupted, StatisticalWarning
from bayes_ubpr.missing import IMPUTATIONS, ImputationSettings
from bayes_ubpr.model._build import INITIAL_PROBABILITY, ModelInputs, build_from_inputs, prepare_inputs
from bayes_ubpr.model._convergence import check_convergence, n_divergent
from bayes_ubpr.model._interrupt import interrupted, sample_nutpie, sigint_watch
from bayes_ubpr.model._latent import prepare_latent_inputs, record_latent
from bayes_ubpr.model._pooled import MISSING, FitOne, fit_completed, fit_with_missing
from bayes_ubpr.model._progress import TextProgress
from bayes_ubpr.model.design import check_design
from bayes_ubpr.model.fitted import Fitted
from bayes_ubpr.model.mapping import anchored_intercept
from bayes_ubpr.model.sampling import Sampling, sampling_from_keywords
from bayes_ubpr.model.spec import ModelSpec, PrevalenceLike
from bayes_ubpr.priors import PriorsLike
from bayes_ubpr.terms import Interaction, Terms

RETRY_TARGET_ACCEPT = 0.99
"""Target acceptance of the automatic second run after divergent transitions."""

SHRINKAGE_TARGET_ACCEPT = 0.95
"""Default target acceptance for the horseshoe and domain priors and for group intercepts, whose funnels need
small steps. For group intercepts it was measured (benchmarks/bench_hierarchical.py's cohort, six seeds): at 0.8,
five fits of six diverged and were run again at 0.99, 7.6 s a fit on average; at 0.95, one of six, 4.5 s."""


def default_target_accept(inputs: ModelInputs) -> float:
    """Target acceptance of a fit that names none: :data:`SHRINKAGE_TARGET_ACCEPT` where a funnel is, else 0.8."""
    funnel = inputs.priors.kind != "independent" or inputs.spec.group is not None
    return SHRINKAGE_TARGET_ACCEPT if funnel else 0.8


_CACHE_SIZE = 16
_COMPILED: OrderedDict[tuple, Any] = OrderedDict()
_COMPILED_LOCK = threading.Lock()  # threads of one process (a Dask worker) share the cache


def default_sampler() -> str:
    """Return "nutpie" where it is installed, else "pymc".

    Examples
    --------
    >>> from bayes_ubpr.model import SAMPLERS, default_sampler
    >>> default_sampler() in SAMPLERS
    True
    """
    return "nutpie" if find_spec("nutpie") is not None else "pymc"


def clear_compiled_models() -> None:
    """Forget every compiled model (the next fit of each structure compiles anew).

    Useful to free memory after many model structures, or to time a cold
    start in a benchmark.

    Examples
    --------
    >>> from bayes_ubpr.model import clear_compiled_models
    >>> clear_compiled_models()
    """
    _COMPILED.clear()


def one_off_sampler(data: pd.DataFrame, spec: ModelSpec) -> str:
    """Return the sampler that finishes first in a process that fits ``spec`` to ``data`` once.

    nutpie, where the hand-written density covers the model (numba loads it
    from its disk cache: nothing to compile); otherwise PyMC's sampler,
    whose compiled C code PyTensor caches on disk, while nutpie would compile
    its numba model anew in every process (6-20 s).

    Parameters
    ----------
    data : pandas.DataFrame
        The data the fit will use (they decide the factors' kinds and scales).
    spec : ModelSpec
        The model.

    Returns
    -------
    str
        "nutpie" or "pymc", a value of :func:`fit`'s ``sampler``.

    Raises
    ------
    CohortValidationError
        If the data break the contract (as :func:`fit` would raise).

    Examples
    --------
    >>> from bayes_ubpr import ModelSpec, simulate_cohort
    >>> from bayes_ubpr.model import one_off_sampler
    >>> cohort = simulate_cohort(n=300, seed=1).assign(hospital=lambda d: d.index % 3)
    >>> slopes = ModelSpec(group="hospital", varying_slopes=["depression"])  # outside the hand-written density
    >>> one_off_sampler(cohort, ModelSpec(group="hospital")), one_off_sampler(cohort, slopes)
    ('nutpie', 'pymc')
    """
    from bayes_ubpr.model._kernel_model import kernel_applies

    spec = spec.with_terms_of(data)
    frame = spec.model_frame(data)
    resolved = spec.resolve(validate_cohort(frame, factors=spec.factors, outcome=spec.outcome))
    if default_sampler() == "nutpie" and kernel_applies(resolved, resolved.prior_spec()):
        return "nutpie"
    return "pymc"


def _fixed_initial_points(model: pm.Model) -> dict[str, np.ndarray]:
    """Return starting values that do not depend on the data the model was compiled with.

    nutpie bakes the initial-point function at compile time; PyMC's default
    (the prior's support point) reads the data containers as they were then,
    so a refit would start where the first data set suggested and replicate k
    would depend on which replicate compiled the model. Constants (plus
    nutpie's seeded jitter) keep every fit a function of its own data and seed.
    """
    points = {}
    for rv in model.free_RVs:
        shape = model.initial_point()[model.rvs_to_values[rv].name].shape
        transform = type(model.rvs_to_transforms.get(rv)).__name__.lower()
        value = 1.0 if "log" in transform and "odds" not in transform else 0.0
        value = INITIAL_PROBABILITY if "odds" in transform else value
        points[rv.name] = np.full(shape, value)
    return points


def compiled_nutpie(inputs: ModelInputs) -> Any:
    """Return the nutpie model of ``inputs``' structure, compiled once, holding this data.

    Structures the hand-written density covers need no compiling: numba loads it from its disk cache
    (:mod:`bayes_ubpr.model._kernel`). The others are compiled from the PyMC model once per process.
    """
    import nutpie

    from bayes_ubpr.model._kernel_model import kernel_applies, kernel_failed, kernel_model

    if inputs.latent is None and kernel_applies(inputs.spec, inputs.priors):  # missing covariates: PyMC's density
        try:
            return kernel_model(inputs)
        except Exception as error:  # the kernel or nutpie's private model type: fall back on the public path
            kernel_failed(error)
    with _COMPILED_LOCK:
        compiled = _COMPILED.get(inputs.key)
        if compiled is None:
            model = build_from_inputs(inputs)
            compiled = nutpie.compile_pymc_model(model, initial_points=_fixed_initial_points(model))
            _COMPILED[inputs.key] = compiled
            if len(_COMPILED) > _CACHE_SIZE:
                _COMPILED.popitem(last=False)
        else:
            _COMPILED.move_to_end(inputs.key)
    return compiled.with_data(**inputs.data)


def _sample(
    inputs: ModelInputs,
    *,
    sampler: str,
    draws: int,
    tune: int,
    chains: int,
    cores: int,
    seed: int,
    target_accept: float,
    progressbar: bool,
) -> az.InferenceData:
    """Sample ``inputs``' model; raise :class:`~bayes_ubpr.FitInterrupted` (never return partial draws) on Ctrl-C."""
    if sampler == "nutpie":
        options = {"draws": draws, "tune": tune, "chains": chains, "cores": cores, "seed": seed}
        compiled = compiled_nutpie(inputs)
        # nutpie's bar draws nothing on a stream that is not a terminal: there, progress is printed as lines.
        text = TextProgress(chains * (tune + draws)) if progressbar and not sys.stderr.isatty() else None
        trace = sample_nutpie(
            compiled,
            target_accept=target_accept,
            progress_bar=progressbar and text is None,
            progress=None if text is None else text.advance_to,
            save_warmup=False,
            **options,
        )
        if text is not None:
            text.advance_to(text.total)
        return trace
    if sampler == "numpyro" and find_spec("numpyro") is None:
        raise ImportError('sampler="numpyro" needs numpyro and jax: pip install numpyro (or use "nutpie" or "pymc")')
    # PyMC's live progress bar draws nothing on a stream that is not a terminal (a log file, a batch job):
    # there, progress is printed as plain lines instead.
    text_progress = progressbar and sampler == "pymc" and not sys.stderr.isatty()
    idata = None
    with build_from_inputs(inputs), sigint_watch() as watch:
        progress = TextProgress(chains * (tune + draws)) if text_progress else None

        def callback(*args: Any, **kwargs: Any) -> None:
            # Sampling chains one after another, PyMC ends the interrupted chain and starts the next:
            # stop that one too, at its first draw.
            if watch.interrupted:
                raise KeyboardInterrupt
            if progress is not None:
                progress(*args, **kwargs)

        try:
            idata = pm.sample(
                draws=draws,
                tune=tune,
                chains=chains,
                cores=cores,
                random_seed=seed,
                target_accept=target_accept,
                nuts_sampler=sampler,
                progressbar=progressbar and not text_progress,
                callback=callback if sampler == "pymc" else None,
                compute_convergence_checks=False,
            )
        except BaseException:
            # PyMC returns what it has on Ctrl-C, or fails later (an IndexError while tuning): either way,
            # an interrupt is reported as one.
            if not watch.interrupted:
                raise
        if watch.interrupted or idata is None:
            raise interrupted(idata, draws, chains) from None
    # Keep what every sampler returns; fit attaches the data in one format.
    return az.InferenceData(posterior=idata.posterior, sample_stats=idata.sample_stats)


def _relabel(idata: az.InferenceData, inputs: ModelInputs) -> None:
    """Label dims with this data's levels (a reused compiled model carries the first data's labels)."""
    posterior = idata.posterior
    for dim, labels in inputs.coords.items():
        if dim in posterior.dims:
            posterior = posterior.assign_coords({dim: labels})
    idata.posterior = posterior


def _anchor_population_intercept(idata: az.InferenceData, inputs: ModelInputs) -> None:
    """For ``population_mapping="anchored"``, replace the offset-mapped population intercepts by anchored ones."""
    spec = inputs.spec
    if spec.design != "case_control" or spec.population_mapping != "anchored":
        return
    posterior = idata.posterior
    beta = posterior["beta"].transpose("chain", "draw", "factor")
    shape = beta.shape[:2]
    if "prevalence" in posterior:
        prevalence: Any = posterior["prevalence"].to_numpy().reshape(-1)
    else:
        prevalence = float(spec.population_prevalence)  # type: ignore[arg-type]
    flat_beta = beta.to_numpy().reshape(-1, beta.shape[-1])
    c = anchored_intercept(inputs.raw, inputs.data["outcome_values"], flat_beta, prevalence).reshape(shape)
    intercept = posterior["intercept_population"].copy(data=c)
    idata.posterior = posterior.assign(
        intercept_population=intercept,
        alpha_population=intercept
        + (posterior["beta"] * xr.DataArray(inputs.data["x_center"], dims="factor")).sum("factor"),
    )


def _attach_data(idata: az.InferenceData, inputs: ModelInputs, data: pd.DataFrame) -> None:
    """Store the fitted outcome and raw design, which tables, checks and reports rebuild from."""
    obs = np.asarray(_obs_index(data))
    idx_dims = np.ndim(inputs.data["group_idx"]) if "group_idx" in inputs.data else 0
    coords = {"grouping": inputs.coords["grouping"]} if idx_dims == 2 else {}
    idata.add_groups(
        observed_data=xr.Dataset({inputs.spec.outcome: ("obs", inputs.data["outcome_values"])}, coords={"obs": obs}),
        constant_data=xr.Dataset(
            {
                "x": (("obs", "factor"), inputs.raw),
                "x_center": ("factor", inputs.data["x_center"]),
                "x_scale": ("factor", inputs.data["x_scale"]),
                **({"group_idx": (_GROUP_IDX_DIMS[:idx_dims], inputs.data["group_idx"])} if idx_dims else {}),
            },
            coords={"obs": obs, "factor": list(inputs.factors), **coords},
        ),
    )


_GROUP_IDX_DIMS = ("obs", "grouping")


def _obs_index(data: pd.DataFrame) -> pd.Index:
    """Row labels of ``data`` for the ``obs`` dimension (positions if not unique)."""
    return data.index if data.index.is_unique else pd.RangeIndex(len(data))


def fit(
    data: pd.DataFrame | Sequence[pd.DataFrame],
    spec: ModelSpec | str | None = None,
    *,
    factors: Sequence[FactorLike] | None = None,
    outcome: str | None = None,
    priors: PriorsLike = None,
    design: str | None = None,
    population_prevalence: PrevalenceLike = None,
    group: str | Sequence[str] | None = None,
    varying_slopes: Sequence[str] | None = None,
    population_mapping: str | None = None,
    sampling: Sampling | None = None,
    seed: SeedLike = None,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    cores: int | None = None,
    sampler: str | None = None,
    target_accept: float | None = None,
    progressbar: bool | None = None,
    check: bool = True,
    log_likelihood: bool | None = None,
    missing: str = "error",
    imputations: int = IMPUTATIONS,
    impute_with: Sequence[str] = (),
    compare_complete_case: bool = False,
    threads: int | None = None,
    client: object = None,
) -> az.InferenceData:
    """Fit the Bayesian logistic regression of an outcome (UBPR by default) on risk factors.

    The model is given either as a :class:`~bayes_ubpr.ModelSpec` or by the
    keywords ``factors`` to ``population_mapping`` (the spec's fields), not
    both; how it is sampled, either as a :class:`~bayes_ubpr.Sampling` or by
    the keywords ``draws`` to ``progressbar`` (its fields), not both. The
    loose keywords are this function's convenience: every other function
    that fits takes ``spec`` and ``sampling`` only.

    Parameters
    ----------
    data : pandas.DataFrame or list of pandas.DataFrame
        Cohort or case-control sample: the factor columns and the outcome.
        A list is read as completed data sets of one cohort (multiple
        imputations made elsewhere, R's mice say): each is fitted and the
        draws are pooled, as with ``missing="impute"``.
    spec : ModelSpec or str, optional
        The whole model in one object, or a formula such as
        ``"pain ~ age + C(sex) + rcs(volume_ml, 4) + fascia_injury * C(level) + (1 | hospital/surgeon)"``
        (read by :meth:`ModelSpec.from_formula <bayes_ubpr.ModelSpec.from_formula>`;
        the keywords ``priors``, ``design``, ``population_prevalence`` and
        ``population_mapping`` then complete it).
    factors : sequence of str or Factor, default the six of Table 5
        Risk factors: names from the paper's catalogue
        (:data:`~bayes_ubpr.paper.RISK_FACTORS`), any other column (kind and
        reference scale read off the data, see :mod:`bayes_ubpr.factors`), or
        :class:`~bayes_ubpr.Factor` objects.
    outcome : str, default "ubpr"
        Outcome column, coded 0/1.
    priors : str, mapping, Horseshoe, DomainShrinkage or None
        ``None``/``"default"``, ``"paper"``, ``"sceptical"``,
        ``"horseshoe"``, ``"domains"``, a ``{factor: Prior}`` mapping of
        overrides, or a configured shrinkage object; see
        :func:`bayes_ubpr.priors.resolve_priors`.
    design : {"cohort", "case_control"}, default "cohort"
        ``"case_control"`` keeps the odds ratios and maps the intercept to
        the population (Prentice & Pyke 1979), so that predicted risks refer
        to the population rather than the sample.
    population_prevalence : float or PopulationPrevalence, optional
        Case-control design only: the population prevalence, fixed or with a
        Beta prior. Default: the cohort counts that
        :func:`~bayes_ubpr.case_control_sample` records in ``data.attrs``,
        else, for the outcome ``ubpr``, the paper's 60/1316 as
        Beta(60.5, 1256.5); other outcomes must state it.
    group : str or sequence of str, optional
        Column of a grouping (hospital, surgeon, region) for partially
        pooled, non-centred group intercepts; ``"hospital/surgeon"`` for
        surgeons nested in hospitals, a sequence for crossed groupings.
    varying_slopes : sequence of str, default ()
        Factors whose log odds ratio also varies by group.
    population_mapping : {"offset", "anchored"}, default "offset"
        Case-control design only: how ``intercept_population`` is obtained,
        see :class:`~bayes_ubpr.ModelSpec`.
    sampling : Sampling, optional
        How to sample: draws, tuning steps, chains, cores, sampler, target
        acceptance. Default ``Sampling()``: 4 chains x (1,000 + 1,000).
    seed : None, int or numpy.random.Generator
        Same seed, same draws.
    draws, tune, chains : int
        Posterior draws per chain, tuning steps per chain, and chains
        (default 1000, 1000, 4).
    cores : int, optional
        Chains run side by side: in threads for nutpie, in processes for
        PyMC's sampler. Default one per CPU core, at most ``chains``; a
        caller that already runs fits side by side passes 1.
    sampler : {"nutpie", "pymc", "numpyro"}, optional
        NUTS implementation; default nutpie where installed. nutpie compiles
        a model once per structure and refits new data without recompiling;
        its gradient costs the same per patient from 1,316 to 1,000,000
        patients (``benchmarks/bench_scale.py``).
    target_accept : float, optional
        NUTS target acceptance: 0.8 by default, 0.95 for the shrinkage
        priors and group intercepts (see :data:`SHRINKAGE_TARGET_ACCEPT`).
        After divergent transitions the fit is run once more at 0.99 before
        a warning is given.
    progressbar : bool, default False
        Show the sampler's progress bar.
    check : bool, default True
        Run :func:`check_design` first and warn about what it finds.
    log_likelihood : bool, optional
        Store each patient's log likelihood under each draw (group
        ``log_likelihood``, for :func:`bayes_ubpr.loo`, which recomputes it
        when absent); calibration studies, which never compare fits, skip
        it. Default: stored unless it would take more than
        :data:`~bayes_ubpr.model.LOG_LIKELIHOOD_MAX_BYTES` (a large cohort), with a warning
        when skipped.
    missing : {"error", "impute", "model"}, default "error"
        Missing values in the model's columns: refused, naming the column
        and rows (``"error"``), multiply imputed (``"impute"``), or modelled
        inside the model (``"model"``). ``"impute"``:
        ``imputations`` completed data sets by chained equations with
        predictive mean matching (:func:`bayes_ubpr.missing.impute`; the
        outcome, groups and ``impute_with`` columns in the imputation model),
        each fitted with the same terms and priors, and the draws pooled
        (chains carry an ``imputation`` coordinate; Zhou & Reiter 2010).
        ``attrs["missing"]`` records the settings and the missingness table.
        Each imputation is sampled with ``sampling``: 20 imputations of
        4 x 1,000 draws pool 80,000 draws; fewer draws per imputation
        (``draws=250``) keep the pooled fit small.

        ``"model"``, as brms' ``mi()`` terms (:mod:`bayes_ubpr.model._latent`):
        each covariate with missing values gets a regression on the model's
        complete covariates and the modelled columns before it (normal; for
        one 0/1 column, logistic) and its missing values become parameters
        of the one joint posterior (a 0/1 column's are summed out of the
        likelihood, then drawn from their conditional posterior under each
        draw). Preferable with few incomplete covariates, mostly continuous,
        when the analysis model should be the imputation model: the
        imputation is then congenial with the analysis (the outcome enters
        through the model itself, with its terms and groups) and there is
        no Monte Carlo error of a finite number of imputations. Its costs: a
        bigger posterior (one parameter per missing cell), a model compiled
        from PyMC (with nutpie, about half a minute once per process and
        structure) instead of the fast hand-written density (on 800 patients
        with 212 values missing, ``benchmarks/bench_missing_model.py``, 4
        chains x 2,000 steps on 2 busy cores: 38 s for the first fit, 10 s
        for a refit, against 51 s for 20 imputations), and a narrow
        scope: only columns that enter as one plain numeric term (not in a
        spline, an interaction or a categorical factor), at most one of them
        0/1, no varying slopes, the offset case-control mapping, and no
        auxiliary columns; anything else is refused with a message that
        says to use ``"impute"``. The fit stores ``posterior.x_missing``
        (dims ``chain, draw, cell``; each missing cell's value in units of
        its column), ``constant_data.missing_row`` (row position) and
        ``missing_column`` (factor) per cell, the imputation model's
        ``impute_intercept``, ``impute_coef`` and ``impute_sigma``, and in
        ``constant_data.x`` each missing cell's posterior mean. Risks, the
        pointwise log likelihood and so PSIS-LOO use each draw's own
        imputed values: LOO is conditional on them, as brms computes it for
        ``mi()``.
    imputations : int, default 20
        Completed data sets with ``missing="impute"`` (see
        :data:`bayes_ubpr.missing.IMPUTATIONS`).
    impute_with : sequence of str, default ()
        Auxiliary columns for the imputation model only: variables that
        predict the missing values or their being missing but are not
        risk factors of the analysis.
    compare_complete_case : bool, default False
        With ``missing="impute"``, also fit the patients with every value
        observed and record their odds ratios, patients and events in
        ``attrs["missing"]`` and its draws in group ``complete_case``
        (:func:`bayes_ubpr.missing_summary` sets them beside).
    threads : int, optional
        With several data sets: fits side by side in threads of this
        process, one core each (default one per CPU core), as the
        calibration studies run their replicates.
    client : dask.distributed.Client, optional
        With several data sets: fit them on a Dask cluster instead.

    Returns
    -------
    arviz.InferenceData
        ``posterior`` with ``alpha``, ``beta`` (dim ``factor``, log odds
        ratio per unit), ``intercept``, ``alpha_population``,
        ``intercept_population`` and the structure's own parameters;
        ``sample_stats``; ``observed_data`` (the outcome) and
        ``constant_data`` (raw design ``x``, ``x_center``, ``x_scale``);
        ``log_likelihood`` (one variable named as the outcome, dims
        ``chain, draw, obs``) unless ``log_likelihood=False``.
        A fit of several data sets has every imputation's chains (dim
        ``chain`` with coordinate ``imputation``) and
        ``constant_data.x_imputed`` (each imputation's design).
        ``attrs`` records the resolved model (read it back with
        :meth:`ModelSpec.from_idata <bayes_ubpr.ModelSpec.from_idata>`:
        factors with the kinds and reference scales used, priors, design,
        prevalence), seed, sampler and package version.

    Raises
    ------
    FitInterrupted
        On Ctrl-C (SIGINT) while sampling: a fit is never returned with
        fewer draws than asked for. Where every chain finished at least two
        draws, ``error.fit`` holds the fit of those draws, with
        ``attrs["interrupted"]`` saying how many.
    CohortValidationError
        Naming the column and rows, for data that break the contract; with
        ``missing="model"``, also for a column with missing values that
        enters the model other than as one plain numeric term, or a second
        0/1 column with missing values.
    ValueError
        With ``missing="model"``: for varying slopes, the anchored
        case-control mapping, or the options of ``missing="impute"``
        (``imputations``, ``impute_with``, ``compare_complete_case``).

    Warns
    -----
    StatisticalWarning
        Naming each parameter whose R-hat exceeds 1.01 or whose bulk or tail
        ESS is below 100 per chain, remaining divergences, and design
        problems (few events per parameter, separation, collinearity).

    References
    ----------
    Prentice RL, Pyke R (1979). Logistic disease incidence models and
    case-control studies. Biometrika 66(3):403-411. doi:10.1093/biomet/66.3.403

    Zhou X, Reiter JP (2010). A note on Bayesian inference after multiple
    imputation. Am Stat 64(2):159-163. doi:10.1198/tast.2010.09109

    Erler NS, Rizopoulos D, van Rosmalen J, Jaddoe VWV, Franco OH, Lesaffre
    EMEH (2016). Dealing with missing covariates in epidemiologic studies: a
    comparison between multiple imputation and a full Bayesian approach.
    Stat Med 35(17):2955-2974. doi:10.1002/sim.6944

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> idata.posterior["beta"].coords["factor"].values.tolist()[:2]
    ['bmd_tscore_abs', 'fascia_injury']
    """
    loose: dict[str, Any] = {"draws": draws, "tune": tune, "chains": chains, "cores": cores, "sampler": sampler}
    loose |= {"target_accept": target_accept, "progressbar": progressbar}
    sampling = sampling_from_keywords(sampling, loose, default=Sampling(), caller="fit", deprecated=False)
    draws, tune, chains, cores = sampling.draws, sampling.tune, sampling.chains, sampling.resolved_cores()
    sampler = default_sampler() if sampling.sampler is None else sampling.sampler
    target_accept, progressbar = sampling.target_accept, sampling.progressbar
    keywords: dict[str, Any] = {"factors": factors, "outcome": outcome, "priors": priors, "design": design}
    keywords |= {"population_prevalence": population_prevalence, "group": group, "varying_slopes": varying_slopes}
    keywords = {key: value for key, value in keywords.items() if value is not None}
    if population_mapping is not None:
        keywords["population_mapping"] = population_mapping
    if isinstance(spec, str):
        spec = ModelSpec.from_formula(spec, **keywords)
    else:
        spec = ModelSpec.from_arguments(spec, **keywords)
    settings: dict[str, Any] = {"sampler": sampler, "draws": draws, "tune": tune, "chains": chains}
    settings |= {"progressbar": progressbar, "target_accept": target_accept}
    fit_one: FitOne = functools.partial(_fit_resolved, **settings)
    check_choice(missing, MISSING, name="missing")

    def keep_log_likelihood(n_patients: int, n_fits: int) -> bool:
        """Whether a pooled fit stores its log likelihood: as asked, else the size rule over all its draws."""
        if log_likelihood is not None:
            return log_likelihood
        return _log_likelihood_fits(n_patients, chains * draws * n_fits, stacklevel=5)

    if isinstance(data, (list, tuple)):
        return fit_completed(
            data, spec, fit_one, seed=seed, threads=threads, client=client, log_likelihood=keep_log_likelihood
        )
    if missing == "model":
        _check_model_options(imputations, impute_with, compare_complete_case)
        return fit_one(data, spec, seed=seed, check=check, log_likelihood=log_likelihood, cores=cores, missing="model")
    if missing == "impute":
        imputation = ImputationSettings(imputations, auxiliary=tuple(impute_with))
        return fit_with_missing(
            data,
            spec,
            fit_one,
            settings=imputation,
            seed=seed,
            threads=threads,
            client=client,
            log_likelihood=keep_log_likelihood,
            compare_complete_case=compare_complete_case,
        )
    return fit_one(data, spec, seed=seed, check=check, log_likelihood=log_likelihood, cores=cores)


def _fit_resolved(
    data: pd.DataFrame,
    spec: ModelSpec,
    *,
    seed: SeedLike,
    check: bool,
    log_likelihood: bool | None,
    cores: int | None,
    sampler: str,
    draws: int,
    tune: int,
    chains: int,
    progressbar: bool,
    target_accept: float | None,
    check_sampling: bool = True,
    missing: str = "error",
) -> az.InferenceData:
    """Fit one data set: prepare, sample (once more at a higher target after divergences), check.

    ``check_sampling=False`` leaves the convergence check (and its warning) to
    the caller: fits of completed data sets run in threads, where warnings
    cannot be caught per fit. ``missing="model"``: the covariates with
    missing values are modelled inside the model (:mod:`._latent`).
    """
    if cores is None:
        cores = Sampling(chains=chains).resolved_cores()
    if missing == "model":
        inputs, checked = prepare_latent_inputs(data, spec)
    else:
        inputs, checked = prepare_inputs(data, spec), data
    if target_accept is None:
        target_accept = default_target_accept(inputs)
    if check:
        _warn_design(checked, inputs)
    int_seed = as_int_seed(seed)
    settings: dict[str, Any] = {
        "sampler": sampler,
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "cores": cores,
        "progressbar": progressbar,
    }
    finish: dict[str, Any] = {"sampler": sampler, "missing": missing}
    try:
        idata = _sample(inputs, seed=int_seed, target_accept=target_accept, **settings)
        if n_divergent(idata) and target_accept < RETRY_TARGET_ACCEPT:
            target_accept = RETRY_TARGET_ACCEPT
            idata = _sample(inputs, seed=int_seed + 1, target_accept=target_accept, **settings)
    except FitInterrupted as error:
        partial = getattr(error, "trace", None)
        if partial is not None:  # the finished draws, as a fit marked partial
            partial = az.InferenceData(posterior=partial.posterior, sample_stats=partial.sample_stats)
            _complete(partial, inputs, data, seed=int_seed, target_accept=target_accept, **finish)
            partial.attrs["interrupted"] = str(error)
            error.fit = partial
        raise
    _complete(idata, inputs, data, seed=int_seed, target_accept=target_accept, **finish)
    if log_likelihood is None:
        log_likelihood = _log_likelihood_fits(len(data), chains * draws)
    if log_likelihood:
        idata.add_groups(log_likelihood=Fitted(idata, inputs.spec).log_likelihood())
    if check_sampling:
        check_convergence(idata)
    return idata


def _complete(
    idata: az.InferenceData,
    inputs: ModelInputs,
    data: pd.DataFrame,
    *,
    seed: int,
    sampler: str,
    target_accept: float,
    missing: str = "error",
) -> None:
    """Turn a sampler's draws into a fit: labels, population intercept, data and the settings in ``attrs``."""
    _relabel(idata, inputs)
    _anchor_population_intercept(idata, inputs)
    _attach_data(idata, inputs, data)
    if missing == "model":  # the missing cells' draws, the design with their posterior means, attrs["missing"]
        record_latent(idata, inputs, data, seed=seed)
    idata.attrs.update(
        {
            "bayes_ubpr_version": version("bayes-ubpr"),
            **inputs.spec.to_attrs(),
            "seed": seed,
            "sampler": sampler,
            "target_accept": target_accept,
        }
    )


def _check_model_options(imputations: int, impute_with: Sequence[str], compare_complete_case: bool) -> None:
    """Refuse the options of multiple imputation with ``missing="model"``, which would silently do nothing."""
    given = [
        name
        for name, value in (
            ("imputations", imputations != IMPUTATIONS),
            ("impute_with", bool(impute_with)),
            ("compare_complete_case", compare_complete_case),
        )
        if value
    ]
    if given:
        raise ValueError(
            f'{", ".join(given)} belong(s) to missing="impute"; with missing="model" the missing values are '
            "parameters of the one model (no completed data sets, no auxiliary columns)"
        )


LOG_LIKELIHOOD_MAX_BYTES = 500 * 2**20
"""Largest pointwise log likelihood a fit stores by default: 500 MiB, e.g. 16,000 patients x 4,000 draws."""


def _log_likelihood_fits(n_patients: int, n_draws: int, *, stacklevel: int = 3) -> bool:
    """Whether the default fit stores its pointwise log likelihood; warn when it is too large to."""
    size = 8 * n_patients * n_draws
    if size <= LOG_LIKELIHOOD_MAX_BYTES:
        return True
    warnings.warn(
        f"The pointwise log likelihood ({n_patients:,} patients x {n_draws:,} draws, {size / 2**30:.1f} GiB) "
        "is not stored; pass log_likelihood=True to store it anyway.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return False


def _warn_design(data: pd.DataFrame, inputs: ModelInputs) -> None:
    frame = inputs.spec.model_frame(data)
    report = check_design(frame, inputs.spec.factors, outcome=inputs.spec.outcome)
    problems = report[(report["severity"] != "ok") & ~report.apply(_by_construction, axis=1, terms=inputs.spec.terms)]
    if not problems.empty:
        lines = "; ".join(f"{row.message} Suggestion: {row.suggestion}" for row in problems.itertuples())
        warnings.warn(f"Design check: {lines}", StatisticalWarning, stacklevel=3)


def _by_construction(finding: pd.Series, terms: Terms | None) -> bool:
    """Return whether the terms make a collinearity finding by construction (a spline's columns, a product's parts).

    A spline's columns, a factor's levels and a product with its parts are
    always correlated; they are estimated jointly, and the term summary
    (:func:`bayes_ubpr.term_summary`) reads them together.
    """
    if terms is None or finding["check"] != "collinearity":
        return False
    owner = terms.column_terms()
    names = [name.strip() for name in str(finding["factor"]).split(", ")]
    wide = {t.name for t in terms.terms if len(t.columns) > 1 or isinstance(t, Interaction)}
    if len(names) == 1:
        return owner.get(names[0]) in wide
    interactions = {t.name: {p.name for p in t.parts} for t in terms.terms if isinstance(t, Interaction)}
    a, b = (owner.get(name, "") for name in names[:2])
    return a == b or b in interactions.get(a, set()) or a in interactions.get(b, set())
