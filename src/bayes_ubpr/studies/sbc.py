"""Simulation-based calibration: the truth drawn from the prior, its rank among the posterior draws."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from bayes_ubpr._validate import check_positive_int
from bayes_ubpr.model import ModelSpec, Sampling
from bayes_ubpr.model.refit import ModelInputs, build_from_inputs, prepare_inputs
from bayes_ubpr.paper import N_PATIENTS, OUTCOME, PREVALENCE
from bayes_ubpr.priors import PriorsLike
from bayes_ubpr.simulate.effects import Effect
from bayes_ubpr.studies._fit import fit_replicate
from bayes_ubpr.studies._runner import run_replicates
from bayes_ubpr.studies._settings import StudySettings
from bayes_ubpr.studies.predictive import predictive_calibration, summarise_predictive
from bayes_ubpr.studies.world import design, replicate_sample, sample_design

__all__ = ["SBCResult", "sbc_study", "sbc_verdicts", "simultaneous_ecdf_band"]


def simultaneous_ecdf_band(
    n_ranks: int, n_values: int, *, prob: float = 0.95, n_simulations: int = 2000, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simultaneous band for the ECDF of ``n_ranks`` uniform ranks on 0..n_values-1.

    The band is built from pointwise binomial intervals at an adjusted level
    gamma, chosen by simulation so that a uniform sample stays inside at every
    evaluation point with probability ``prob`` (Säilynoja, Bürkner & Vehtari
    2022, the simulation variant).

    Returns
    -------
    z, lower, upper : numpy.ndarray
        Evaluation points (fractions of the rank range) and the band for the
        ECDF minus z.

    References
    ----------
    Säilynoja T, Bürkner PC, Vehtari A (2022). Graphical test for discrete
    uniformity and its applications in goodness-of-fit evaluation and
    multiple sample comparison. Statistics and Computing 32:32.
    doi:10.1007/s11222-022-10090-6

    Examples
    --------
    >>> from bayes_ubpr.studies import simultaneous_ecdf_band
    >>> z, lower, upper = simultaneous_ecdf_band(100, 20, seed=0)
    >>> z.shape, bool((lower < 0).all() and (upper > 0).all())
    ((19,), True)
    """
    from scipy import stats

    z = np.arange(1, n_values) / n_values
    rng = np.random.default_rng(seed)
    counts = np.stack(
        [
            (rng.integers(0, n_values, size=n_ranks)[:, None] < np.arange(1, n_values)).sum(axis=0)
            for _ in range(n_simulations)
        ]
    )
    cdf = stats.binom.cdf(counts, n_ranks, z)
    tail = np.minimum(cdf, 1 - stats.binom.cdf(counts - 1, n_ranks, z))
    gamma = np.quantile(2 * tail.min(axis=1), 1 - prob)
    lower = stats.binom.ppf(gamma / 2, n_ranks, z) / n_ranks - z
    upper = stats.binom.ppf(1 - gamma / 2, n_ranks, z) / n_ranks - z
    return z, lower, upper


def sbc_verdicts(ranks: pd.DataFrame, n_values: int, *, prob: float = 0.95, seed: int | None = 0) -> pd.DataFrame:
    """Uniformity check of SBC ranks per parameter.

    Parameters
    ----------
    ranks : pandas.DataFrame
        Columns ``parameter`` and ``rank`` (0..n_values-1), one row per replicate.
    n_values : int
        Number of possible rank values (thinned draws + 1).

    Returns
    -------
    pandas.DataFrame
        Per parameter: ``n_replicates``, ``max_ecdf_difference`` and
        ``verdict`` ("consistent with uniform" or "miscalibrated": the ECDF
        difference leaves its simultaneous ``prob`` band).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bayes_ubpr.studies import sbc_verdicts
    >>> rng = np.random.default_rng(1)
    >>> ranks = pd.DataFrame({
    ...     "parameter": ["uniform"] * 200 + ["too narrow"] * 200,
    ...     "rank": np.r_[rng.integers(0, 100, 200), rng.choice([0, 99], 200)],  # truth always outside
    ... })
    >>> sbc_verdicts(ranks, 100)["verdict"].tolist()
    ['consistent with uniform', 'miscalibrated']
    """
    rows = []
    for parameter, group in ranks.groupby("parameter", sort=False):
        values = group["rank"].to_numpy()
        z, lower, upper = simultaneous_ecdf_band(len(values), n_values, prob=prob, seed=seed)
        difference = (values[:, None] < np.arange(1, n_values)).mean(axis=0) - z
        inside = bool(np.all((difference >= lower - 1e-12) & (difference <= upper + 1e-12)))
        rows.append(
            {
                "parameter": parameter,
                "n_replicates": len(values),
                "max_ecdf_difference": float(np.abs(difference).max()),
                "verdict": "consistent with uniform" if inside else "miscalibrated",
            }
        )
    return pd.DataFrame(rows)


def _sbc_replicate(
    k: int, child: np.random.SeedSequence, *, settings: StudySettings, n_thinned: int
) -> tuple[list[dict], list[dict], list[dict]]:
    """Draw parameters from the prior, outcomes given them, fit, rank the truth and check predicted risks."""
    cohort, sample, rng = replicate_sample(child, settings, n_cases=None)
    inputs = prepare_inputs(sample, settings.prior_spec, validated=True)
    x = inputs.data["X"]
    for _ in range(1000):
        alpha, beta_std, beta, intercept_population = _prior_draw(inputs, int(rng.integers(2**31 - 1)))
        y = (rng.random(len(x)) < special.expit(alpha + x @ beta_std)).astype(np.int64)
        if 0 < y.sum() < len(y):  # the model needs both outcomes; SBC holds conditionally on the data
            break
    simulated = sample.assign(**{OUTCOME: y})
    arrays, _, flagged = fit_replicate(simulated, settings.fit_spec, settings.sampling, rng)
    step = max(1, arrays.flat("beta").shape[0] // n_thinned)
    draws = arrays.flat("beta")[::step][:n_thinned]
    alpha_draws = arrays.flat("alpha")[::step][:n_thinned]
    rows = [{"replicate": k, "parameter": "alpha", "rank": int((alpha_draws < alpha).sum()), "flagged": flagged}]
    rows += [
        {"replicate": k, "parameter": f"beta[{f}]", "rank": int((draws[:, j] < beta[j]).sum()), "flagged": flagged}
        for j, f in enumerate(inputs.factors)  # design columns, with terms those of this sample's levels and knots
    ]
    # Predictive calibration against the drawn truth: the cohort's population risks under the prior draw
    # (its intercept mapped to the population as the model maps it), with outcomes drawn from them.
    x_cohort = design(cohort, inputs.spec)
    true_risk = special.expit(intercept_population + x_cohort @ beta)
    y_cohort = (rng.random(len(true_risk)) < true_risk).astype(np.int64)
    predictive, curve = predictive_calibration(
        k, arrays, x_cohort, y_cohort, true_risk, sample=sample_design(simulated, inputs.spec)
    )
    return rows, predictive, curve


_PRIOR_DRAWS = threading.local()  # each thread its own models: their data are set before every draw


def _prior_draw(inputs: ModelInputs, seed: int) -> list[np.ndarray]:
    """One draw of alpha, beta_std, beta and intercept_population from the prior of ``inputs``' model.

    What ``pm.draw(..., random_seed=seed)`` returns, from a function compiled
    once per model structure (and thread) instead of once per call: the new
    data go into the model's data containers and the seed into its random
    generators.
    """
    import pymc as pm
    from pymc.sampling.mcmc import _get_seeds_per_chain
    from pytensor.graph.traversal import graph_inputs
    from pytensor.tensor.random.type import RandomType

    cache = _PRIOR_DRAWS.__dict__.setdefault("cache", {})
    if inputs.key not in cache:
        model = build_from_inputs(inputs)
        outputs = [model[name] for name in ("alpha", "beta_std", "beta", "intercept_population")]
        rngs = [v for v in graph_inputs(outputs) if isinstance(v.type, RandomType)]
        cache[inputs.key] = (model, pm.pytensorf.compile(inputs=[], outputs=outputs), rngs)
    model, draw, rngs = cache[inputs.key]
    for name, value in inputs.data.items():
        model[name].set_value(np.asarray(value, dtype=model[name].dtype))  # pm.Data keeps integers as int32
    (seed,) = _get_seeds_per_chain(seed, 1)
    pm.pytensorf.reseed_rngs(rngs, seed)
    return draw()


@dataclass(frozen=True)
class SBCResult:
    """Outcome of :func:`sbc_study`, simulation-based calibration; printing it shows the verdicts.

    Attributes
    ----------
    verdicts : pandas.DataFrame
        Per parameter: the uniformity verdict of its ranks (see :func:`sbc_verdicts`).
    ranks : pandas.DataFrame
        One row per replicate and parameter: ``rank`` and whether the fit was ``flagged``.
    n_values : int
        Possible rank values (``n_thinned + 1``).
    settings : dict
        What was run.
    failed : pandas.DataFrame or None
        Replicates that raised, with the reason.
    predictive, replicate_predictive, risk_curve : pandas.DataFrame or None
        Predictive calibration as in :class:`CalibrationResult`, where each
        replicate's true risks are the population risks under its prior draw
        (the drawn intercept mapped to the population as the model maps it).

    Examples
    --------
    >>> from bayes_ubpr import Sampling
    >>> from bayes_ubpr.studies import sbc_study
    >>> quick = Sampling(draws=200, tune=300, chains=2)
    >>> sbc = sbc_study(n_replicates=2, n=600, prevalence=0.2, sampling=quick, seed=1, n_thinned=19)
    >>> sbc.n_values, list(sbc.verdicts.columns)
    (20, ['parameter', 'n_replicates', 'max_ecdf_difference', 'verdict'])
    """

    verdicts: pd.DataFrame
    ranks: pd.DataFrame
    n_values: int
    settings: dict
    failed: pd.DataFrame | None = None
    predictive: pd.DataFrame | None = None
    replicate_predictive: pd.DataFrame | None = None
    risk_curve: pd.DataFrame | None = None

    def __str__(self) -> str:
        def show(frame: pd.DataFrame) -> str:
            return frame.to_string(index=False, float_format=lambda v: f"{v:.3g}")

        text = f"Simulation-based calibration: {self.settings['n_replicates']} replicates\n{show(self.verdicts)}"
        if self.predictive is not None and not self.predictive.empty:
            text += "\n\nPredictive calibration of the whole cohort's risks (truth drawn from the prior)\n"
            text += show(self.predictive)
        return text


def _sbc_task(k: int, child: np.random.SeedSequence, *, settings: StudySettings, n_thinned: int) -> dict:
    rows, predictive, curve = _sbc_replicate(k, child, settings=settings, n_thinned=n_thinned)
    return {"rows": rows, "predictive": predictive, "curve": curve}


def sbc_study(
    spec: ModelSpec | None = None,
    *,
    n_replicates: int,
    truth_priors: PriorsLike | str = "same",
    sampling: Sampling | None = None,
    seed: int | None = None,
    n: int = N_PATIENTS,
    prevalence: float = PREVALENCE,
    odds_ratios: Mapping[str, float] | None = None,
    correlation: Mapping[tuple[str, str], float] | None = None,
    effects: Sequence[Effect] | None = None,
    controls_per_case: int = 1,
    n_thinned: int = 99,
    progress: bool = False,
    client: object = None,
    threads: int | None = None,
    store: str | os.PathLike[str] | None = None,
) -> SBCResult:
    """Run a simulation-based calibration study of ``spec`` in a world like the paper's.

    For each replicate (Talts et al. 2018): simulate a cohort and take the
    paper's case-control sample, draw the parameters from the prior and the
    sample's outcomes from the model given them, fit ``spec``, and rank each
    true parameter among ``n_thinned`` posterior draws. The ranks are
    uniform when the inference is calibrated (:func:`sbc_verdicts`). The
    whole cohort's predicted risks are checked against the population
    risks under the drawn truth, as in :func:`coverage_study`.

    Parameters
    ----------
    spec : ModelSpec, optional
        The fitted model: its factors (of the paper's catalogue) or terms
        (of the world's variables: ``C()`` and ``rcs()``, with levels and
        knots read off each replicate's sample, one rank per design
        column), priors, design and population mapping. Default
        :data:`STUDY_SPEC` (see :func:`coverage_study`).
    n_replicates : int
        Number of simulated cohorts.
    truth_priors : priors or "same", default "same"
        Priors the true parameters are drawn from, when they should differ
        from the analysis priors of ``spec``: to see what a misspecified
        prior does to calibration. ``"same"``: the spec's.
    sampling : Sampling, optional
        As for :func:`coverage_study`; default :data:`STUDY_SAMPLING`.
    seed : int, optional
        Root seed; replicate k uses the k-th spawned child.
    n, prevalence, odds_ratios, correlation, effects
        The simulated world of the cohorts the samples come from (see
        :func:`simulate_cohorts`); the samples' outcomes are drawn afresh.
    controls_per_case : int, default 1
        Controls per case in each sample.
    n_thinned : int, default 99
        Posterior draws kept (evenly thinned) to rank the truth among, so
        ranks run from 0 to ``n_thinned``.
    progress, client, threads, store
        As for :func:`coverage_study`.

    Returns
    -------
    SBCResult
        Ranks, their verdicts per parameter, and the predictive calibration.

    Raises
    ------
    ValueError, TypeError
        Naming the argument, before any replicate runs (as for
        :func:`coverage_study`).

    See Also
    --------
    coverage_study : the fixed-truth study, the truth Table 5's.

    References
    ----------
    Talts S, Betancourt M, Simpson D, Vehtari A, Gelman A (2018). Validating
    Bayesian inference algorithms with simulation-based calibration.
    arXiv:1804.06788. doi:10.48550/arXiv.1804.06788

    Examples
    --------
    >>> from bayes_ubpr import Sampling
    >>> from bayes_ubpr.studies import STUDY_SPEC, sbc_study
    >>> quick = Sampling(draws=200, tune=300, chains=2)
    >>> spec = STUDY_SPEC.replace(priors="sceptical")
    >>> sbc = sbc_study(spec, n_replicates=2, n=600, prevalence=0.2, sampling=quick, seed=1, n_thinned=19)
    >>> sbc.verdicts["parameter"].tolist()[:2]
    ['alpha', 'beta[bmd_tscore_abs]']
    """
    study = StudySettings.from_spec(
        spec,
        caller="sbc_study",
        mode="sbc",
        truth_priors=truth_priors,
        n_replicates=n_replicates,
        sampling=sampling,
        seed=seed,
        n=n,
        prevalence=prevalence,
        odds_ratios=odds_ratios,
        correlation=correlation,
        effects=effects or (),
        controls_per_case=controls_per_case,
        progress=progress,
    )
    return run_sbc(study, n_thinned, client=client, threads=threads, store=store)


def run_sbc(
    study: StudySettings,
    n_thinned: int,
    *,
    client: object,
    threads: int | None,
    store: str | os.PathLike[str] | None,
) -> SBCResult:
    """Run the replicates of an SBC study and judge their ranks."""
    n_thinned = check_positive_int(n_thinned, name="n_thinned")
    task = functools.partial(_sbc_task, settings=study, n_thinned=n_thinned)
    parts = run_replicates(task, study, client=client, threads=threads, store=store)
    ranks = parts.get("rows", pd.DataFrame(columns=["replicate", "parameter", "rank", "flagged"]))
    replicate_predictive = parts.get("predictive", pd.DataFrame(columns=["replicate", "model"]))
    return SBCResult(
        verdicts=sbc_verdicts(ranks, n_thinned + 1),
        ranks=ranks,
        n_values=n_thinned + 1,
        settings=study.as_dict(),
        failed=parts.get("failed"),
        predictive=summarise_predictive(replicate_predictive),
        replicate_predictive=replicate_predictive,
        risk_curve=parts.get("curve"),
    )
