"""Multiple imputation against complete cases: a simulation study of bias and coverage (docs/tables/missing_study.md).

Each replicate simulates a cohort with known log odds ratios: ``n`` patients, two correlated continuous
covariates ``x1`` and ``x2`` (correlation 0.5, both standard normal), a binary ``z`` (40% ones) and an outcome
``y`` with about 25% events, logit P(y = 1) = -1.6 + 0.7 x1 + 0.5 x2 + 0.6 z. About 30% of ``x1`` is then made
missing at random given the outcome and ``x2``: 22% of non-events lose it, and an event loses it with
probability expit(-0.4 + 0.8 x2), most often when ``x2`` is high. Complete cases are then a sample selected on
the outcome and ``x2`` together, so the complete-case log odds ratio of ``x2`` is biased (toward zero and beyond),
while the missing values are missing at random given what is observed, which is what multiple imputation
with the outcome in the imputation model needs (Moons et al. 2006; White & Carlin 2010).

Every replicate is analysed four ways, on the same cohort:

``full_data``
    ``bu.fit`` on the cohort before the values were deleted (the benchmark: what the prior and the sample
    size alone give).
``complete_case``
    ``bu.fit`` on the patients whose ``x1`` is observed.
``bayes_mi``
    ``bu.fit(..., missing="impute", imputations=M)``: M completed data sets (chained equations, predictive
    mean matching), each fitted, the draws pooled.
``mice_rubin``
    The frequentist reference, statsmodels' own ``MICE`` with ``sm.Logit`` and its defaults (one chain of
    chained equations, 10 burn-in cycles, ``n_skip=3``, 20 PMM donors), M imputations, pooled by Rubin's rules
    with the Barnard-Rubin degrees of freedom (computed here from the per-imputation fits).

The Bayesian methods report the posterior median and the central 95% interval of each log odds ratio (the
default Normal(0, 1) prior per SD); the reference reports the pooled estimate and its 95% t interval. The
summary gives, per method and coefficient, the bias with its Monte Carlo SE, the empirical SD of the
estimates, the coverage of the 95% intervals with its binomial SE and the mean interval width.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python docs/missing_study.py --seed 2027 --out docs/tables/missing_study.md
    PYTHONPATH=src .venv/bin/python docs/missing_study.py --quick   # 3 small replicates, printed only

With ``--out x.md`` the summary is also written as ``x.csv``. Each finished replicate is appended to a store,
``$MISSING_STUDY_STORE`` or ``/tmp/missing-study``, one CSV per setting; a run that stops is resumed
by running the same command again (replicate k comes from the k-th child seed, so it is the same whichever
run computes it).

References
----------
Moons KGM, Donders RART, Stijnen T, Harrell FE (2006). Using the outcome for imputation of missing predictor
values was preferred. J Clin Epidemiol 59(10):1092-1101. doi:10.1016/j.jclinepi.2006.01.009

White IR, Carlin JB (2010). Bias and efficiency of multiple imputation compared with complete-case analysis
for missing covariate values. Stat Med 29(28):2920-2931. doi:10.1002/sim.3944

Barnard J, Rubin DB (1999). Small-sample degrees of freedom with multiple imputation. Biometrika
86(4):948-955. doi:10.1093/biomet/86.4.948

Zhou X, Reiter JP (2010). A note on Bayesian inference after multiple imputation. Am Stat 64(2):159-163.
doi:10.1198/tast.2010.09109
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import shlex
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit
from statsmodels.imputation.mice import MICE, MICEData

import bayes_ubpr as bu

STORE = Path(os.environ.get("MISSING_STUDY_STORE", "/tmp/missing-study"))
"""Where each finished replicate is kept (one CSV per seed and setting), so that a stopped run resumes."""

METHODS = ("full_data", "complete_case", "bayes_mi", "mice_rubin")
"""The analyses of each replicate, in the order of the table."""

COEFFICIENTS = ("x1", "x2", "z")
FORMULA = "y ~ x1 + x2 + z"
PROB = 0.95


@dataclasses.dataclass(frozen=True)
class Design:
    """The simulated cohort: sample size, covariates, true coefficients and the missingness mechanism.

    Parameters
    ----------
    n : int, default 600
        Patients per cohort.
    rho : float, default 0.5
        Correlation of ``x1`` and ``x2`` (both standard normal).
    p_z : float, default 0.4
        Proportion of ones of the binary ``z``.
    intercept : float, default -1.6
        Intercept of the outcome model (about 25% events).
    beta : tuple of float, default (0.7, 0.5, 0.6)
        True log odds ratios of ``x1``, ``x2`` and ``z``.
    missing_non_event : float, default -1.25
        Log odds that ``x1`` is missing for a non-event (22%).
    missing_event : float, default -0.4
        Log odds that ``x1`` is missing for an event with ``x2 = 0``.
    missing_event_slope : float, default 0.8
        Increase of that log odds per unit of ``x2`` (events only).
    """

    n: int = 600
    rho: float = 0.5
    p_z: float = 0.4
    intercept: float = -1.6
    beta: tuple[float, float, float] = (0.7, 0.5, 0.6)
    missing_non_event: float = -1.25
    missing_event: float = -0.4
    missing_event_slope: float = 0.8

    @property
    def truth(self) -> dict[str, float]:
        """Return the true log odds ratio of each coefficient."""
        return dict(zip(COEFFICIENTS, self.beta, strict=True))


def simulate_cohort(design: Design, seed: np.random.SeedSequence | int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return one cohort before and after ``x1`` is made missing (missing at random given ``y`` and ``x2``).

    Parameters
    ----------
    design : Design
        Sample size, true coefficients and missingness mechanism.
    seed : numpy.random.SeedSequence or int
        The replicate's seed.

    Returns
    -------
    full, observed : pandas.DataFrame
        Columns ``x1, x2, z, y``; ``observed`` has ``NaN`` where ``x1`` is missing.
    """
    rng = np.random.default_rng(seed)
    n = design.n
    x2 = rng.normal(size=n)
    x1 = design.rho * x2 + rng.normal(scale=np.sqrt(1 - design.rho**2), size=n)
    z = (rng.random(n) < design.p_z).astype(int)
    b1, b2, b3 = design.beta
    y = (rng.random(n) < expit(design.intercept + b1 * x1 + b2 * x2 + b3 * z)).astype(int)
    full = pd.DataFrame({"x1": x1, "x2": x2, "z": z, "y": y})
    log_odds = np.where(y == 1, design.missing_event + design.missing_event_slope * x2, design.missing_non_event)
    observed = full.copy()
    observed.loc[rng.random(n) < expit(log_odds), "x1"] = np.nan
    return full, observed


def _counted(call, *args, **kwargs) -> tuple[object, int, int]:
    """Run ``call``; return its result, the StatisticalWarnings and the other warnings it gave (none stop it)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = call(*args, **kwargs)
    statistical = sum(issubclass(w.category, bu.StatisticalWarning) for w in record)
    return result, statistical, len(record) - statistical


def posterior_summary(idata, prob: float = PROB) -> pd.DataFrame:
    """Return the posterior median, central interval and SD of each log odds ratio (one row per coefficient)."""
    beta = idata.posterior["beta"].stack(sample=("chain", "draw")).transpose("factor", "sample")
    draws = beta.to_numpy()
    low, mid, high = np.quantile(draws, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=1)
    return pd.DataFrame(
        {"estimate": mid, "lower": low, "upper": high, "sd": draws.std(axis=1, ddof=1)},
        index=pd.Index([str(f) for f in beta["factor"].values], name="coefficient"),
    )


def between_imputation_variance(idata) -> pd.Series:
    """Return the variance, across imputations, of each log odds ratio's posterior mean in a pooled fit."""
    means = idata.posterior["beta"].groupby("imputation").mean(("chain", "draw"))
    values = means.transpose("imputation", "factor").to_numpy()
    return pd.Series(values.var(axis=0, ddof=1), index=[str(f) for f in means["factor"].values])


def fit_bayes(data: pd.DataFrame | Sequence[pd.DataFrame], *, sampling: bu.Sampling, seed, **options):
    """Fit ``FORMULA`` with bayes_ubpr (no log likelihood: nothing here compares fits)."""
    return bu.fit(data, FORMULA, sampling=sampling, seed=seed, log_likelihood=False, **options)


def rubins_rules(
    estimates: np.ndarray, variances: np.ndarray, n_complete_df: float, prob: float = PROB
) -> pd.DataFrame:
    """Pool per-imputation estimates by Rubin's rules with the Barnard-Rubin degrees of freedom.

    Parameters
    ----------
    estimates, variances : numpy.ndarray
        Shape ``(M, p)``: each imputation's estimates and squared standard errors.
    n_complete_df : float
        Degrees of freedom of the complete-data analysis (patients less parameters).
    prob : float, default 0.95
        Interval probability.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, lower, upper, sd`` (the pooled SE), ``between`` (B), ``df`` and ``fmi``.
    """
    m = len(estimates)
    q_bar = estimates.mean(axis=0)
    within = variances.mean(axis=0)
    between = estimates.var(axis=0, ddof=1)
    total = within + (1 + 1 / m) * between
    share = (1 + 1 / m) * between / total  # lambda, the fraction of the variance due to the missing values
    df_old = (m - 1) / np.maximum(share, 1e-12) ** 2
    df_observed = (n_complete_df + 1) / (n_complete_df + 3) * n_complete_df * (1 - share)
    df = 1 / (1 / df_old + 1 / df_observed)
    half = stats.t.ppf((1 + prob) / 2, df) * np.sqrt(total)
    return pd.DataFrame(
        {
            "estimate": q_bar,
            "lower": q_bar - half,
            "upper": q_bar + half,
            "sd": np.sqrt(total),
            "between": between,
            "df": df,
            "fmi": (share + 2 / (df + 3)) / (1 + 2 / (df + 3)) if m > 1 else 0.0,
        }
    )


def fit_mice(data: pd.DataFrame, *, imputations: int, seed, prob: float = PROB) -> pd.DataFrame:
    """Fit the frequentist reference: statsmodels' ``MICE`` with ``sm.Logit``, pooled by Rubin's rules.

    statsmodels' own ``MICE.fit`` (10 burn-in cycles, then one imputation every ``n_skip + 1 = 4`` cycles of
    one chain) fits ``sm.Logit`` to each completed data set; its ``combine`` gives the pooled estimate and
    covariance (Rubin's rules, normal intervals). The interval here uses the same pooled estimate and
    variance with the Barnard-Rubin t degrees of freedom, from the per-imputation fits it keeps.

    Returns
    -------
    pandas.DataFrame
        As :func:`rubins_rules`, one row per coefficient.
    """
    imputer = MICEData(data[["y", *COEFFICIENTS]].copy(), rng=np.random.default_rng(seed))
    mice = MICE(FORMULA, sm.Logit, imputer, fit_kwds={"disp": 0})
    pooled = mice.fit(n_burnin=10, n_imputations=imputations)
    names = list(pooled.exog_names)
    columns = [names.index(c) for c in COEFFICIENTS]
    estimates = np.array([np.asarray(r.params)[columns] for r in mice.results_list])
    variances = np.array([np.asarray(r.bse)[columns] ** 2 for r in mice.results_list])
    table = rubins_rules(estimates, variances, len(data) - len(names), prob=prob)
    np.testing.assert_allclose(table["estimate"], np.asarray(pooled.params)[columns], rtol=1e-10)
    np.testing.assert_allclose(table["sd"], np.asarray(pooled.bse)[columns], rtol=1e-8)
    return table.set_axis(pd.Index(COEFFICIENTS, name="coefficient"))


def analyse(
    method: str,
    full: pd.DataFrame,
    observed: pd.DataFrame,
    *,
    imputations: int,
    sampling: bu.Sampling,
    seed,
    threads: int | None = None,
) -> pd.DataFrame:
    """Analyse one cohort by ``method`` (one of :data:`METHODS`); one row per coefficient.

    Columns ``estimate, lower, upper, sd``: the posterior median, central 95% interval and SD of a Bayesian
    fit, or Rubin's pooled estimate, 95% t interval and SE (with ``between``, ``df`` and ``fmi``).
    """
    if method == "mice_rubin":
        return fit_mice(observed, imputations=imputations, seed=seed)
    if method == "full_data":
        return posterior_summary(fit_bayes(full, sampling=sampling, seed=seed))
    if method == "complete_case":
        return posterior_summary(fit_bayes(observed.dropna(), sampling=sampling, seed=seed))
    if method == "bayes_mi":
        idata = fit_bayes(
            observed, sampling=sampling, seed=seed, missing="impute", imputations=imputations, threads=threads
        )
        return posterior_summary(idata).assign(between=between_imputation_variance(idata))
    raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")


def run_replicate(
    k: int, seed: np.random.SeedSequence, design: Design, *, imputations: int, sampling: bu.Sampling, threads: int
) -> pd.DataFrame:
    """Simulate replicate ``k`` and analyse it four ways; one row per method and coefficient.

    ``seed`` is the replicate's child seed: its own children seed the cohort, the two Bayesian fits of
    observed data, the pooled fit and the statsmodels reference, so each analysis is the same whatever
    else runs.
    """
    start = time.perf_counter()
    cohort_seed, full_seed, cc_seed, mi_seed, mice_seed = seed.spawn(5)
    full, observed = simulate_cohort(design, cohort_seed)
    results: dict[str, tuple[pd.DataFrame, int, int, float]] = {}
    for method, method_seed in zip(METHODS, [full_seed, cc_seed, mi_seed, mice_seed], strict=True):
        began = time.perf_counter()
        table, statistical, other = _counted(
            analyse,
            method,
            full,
            observed,
            imputations=imputations,
            sampling=sampling,
            threads=threads,
            seed=method_seed,
        )
        results[method] = (table, statistical, other, time.perf_counter() - began)
    rows = []
    for method, (table, statistical, other, seconds) in results.items():
        for coefficient, truth in design.truth.items():
            row = table.loc[coefficient]
            rows.append(
                {
                    "replicate": k,
                    "method": method,
                    "coefficient": coefficient,
                    "truth": truth,
                    "estimate": row["estimate"],
                    "lower": row["lower"],
                    "upper": row["upper"],
                    "sd": row["sd"],
                    "between": row.get("between", np.nan),
                    "covered": bool(row["lower"] <= truth <= row["upper"]),
                    "width": row["upper"] - row["lower"],
                    "statistical_warnings": statistical,
                    "other_warnings": other,
                    "method_seconds": seconds,
                }
            )
    frame = pd.DataFrame(rows)
    frame["n"] = design.n
    frame["events"] = int(full["y"].sum())
    frame["n_missing"] = int(observed["x1"].isna().sum())
    frame["missing_events"] = int((observed["x1"].isna() & (observed["y"] == 1)).sum())
    frame["replicate_seconds"] = time.perf_counter() - start
    frame["seed_entropy"] = str(seed.entropy)
    frame["spawn_key"] = "/".join(map(str, seed.spawn_key))
    return frame


def summarise(replicates: pd.DataFrame) -> pd.DataFrame:
    """Return bias (MCSE), empirical SD, coverage (binomial SE) and mean width per method and coefficient."""
    rows = []
    for (method, coefficient), group in replicates.groupby(["method", "coefficient"], sort=False):
        error = group["estimate"] - group["truth"]
        r = len(group)
        coverage = group["covered"].mean()
        rows.append(
            {
                "method": method,
                "coefficient": coefficient,
                "truth": group["truth"].iloc[0],
                "replicates": r,
                "bias": error.mean(),
                "bias_mcse": error.std(ddof=1) / np.sqrt(r),
                "empirical_sd": group["estimate"].std(ddof=1),
                "mean_sd": group["sd"].mean(),
                "rmse": np.sqrt((error**2).mean()),
                "coverage": coverage,
                "coverage_se": np.sqrt(coverage * (1 - coverage) / r),
                "mean_width": group["width"].mean(),
                "width_mcse": group["width"].std(ddof=1) / np.sqrt(r),
                "mean_between": group["between"].mean() if "between" in group else np.nan,
            }
        )
    order = {m: i for i, m in enumerate(METHODS)}
    table = pd.DataFrame(rows)
    return table.sort_values(["coefficient", "method"], key=lambda s: s.map(order) if s.name == "method" else s)


def _digits(se: float) -> int:
    """Decimals that a Monte Carlo SE justifies: two significant digits of the SE, at least one decimal."""
    if not np.isfinite(se) or se <= 0:
        return 3
    return max(1, 1 - int(np.floor(np.log10(se))))


def markdown_table(summary: pd.DataFrame) -> str:
    """Return the summary as a markdown table, each number with the digits its Monte Carlo error justifies."""
    labels = {
        "full_data": "Bayes, full data (before deletion)",
        "complete_case": "Bayes, complete cases",
        "bayes_mi": 'Bayes, pooled imputations (`missing="impute"`)',
        "mice_rubin": "statsmodels MICE + Rubin's rules",
    }
    lines = [
        "| coefficient (true log OR) | method | bias ± MCSE | empirical SD | mean SE/SD | coverage of 95% ± SE "
        "| mean width ± MCSE |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for _, row in summary.iterrows():
        d = _digits(row["bias_mcse"])
        c = _digits(100 * row["coverage_se"]) if row["coverage_se"] > 0 else 1
        w = _digits(row["width_mcse"])
        lines.append(
            f"| {row['coefficient']} ({row['truth']:g}) | {labels.get(row['method'], row['method'])} "
            f"| {row['bias']:+.{d}f} ± {row['bias_mcse']:.{d}f} | {row['empirical_sd']:.{d}f} "
            f"| {row['mean_sd']:.{d}f} | {100 * row['coverage']:.{c}f}% ± {100 * row['coverage_se']:.{c}f} "
            f"| {row['mean_width']:.{w}f} ± {row['width_mcse']:.{w}f} |"
        )
    return "\n".join(lines)


def _header(replicates: pd.DataFrame, summary: pd.DataFrame, args: argparse.Namespace, design: Design) -> str:
    """Say how the table was made: command, seed, replicates, settings, time, design, warnings; then notes."""
    per_rep = replicates.drop_duplicates("replicate")
    methods = replicates.drop_duplicates(["replicate", "method"])
    warn = methods.groupby("method", sort=False)[["statistical_warnings", "other_warnings"]].sum()
    seconds = methods.groupby("method", sort=False)["method_seconds"].mean()
    command = "PYTHONPATH=src .venv/bin/python docs/missing_study.py " + shlex.join(args.argv)
    b1, b2, b3 = design.beta
    return "\n".join(
        [
            "# Multiple imputation against complete cases: bias and coverage",
            "",
            f"Made by `{command}` (`docs/missing_study.py`, root seed {args.seed}), "
            f"{len(per_rep)} replicates, M = {args.imputations} imputations, "
            f"Bayesian fits with {args.chains} chains x ({args.tune} tuning + {args.draws} draws) per fit, "
            f"on {datetime.date.today().isoformat()} ({platform.machine()}, {_cores()} cores shared with other work; "
            f"bayes_ubpr {bu.__version__}, statsmodels {statsmodels.__version__}).",
            f"Time: {per_rep['replicate_seconds'].sum() / 60:.1f} min in all (the sum over replicates, run one after "
            f"another), {per_rep['replicate_seconds'].mean():.1f} s per replicate, of which "
            + ", ".join(f"{m} {s:.2f} s" for m, s in seconds.items())
            + ".",
            "",
            f"Cohorts of {design.n} patients: x1, x2 standard normal with correlation {design.rho}, "
            f"z ~ Bernoulli({design.p_z}); logit P(y = 1) = {design.intercept} + {b1} x1 + {b2} x2 + {b3} z; "
            f"{per_rep['events'].mean() / design.n:.1%} events on average. x1 missing at random given y and x2: "
            f"P(missing) = expit({design.missing_non_event}) for non-events and "
            f"expit({design.missing_event} + {design.missing_event_slope} x2) for events; on average "
            f"{per_rep['n_missing'].mean() / design.n:.1%} of x1 missing, "
            f"{per_rep['missing_events'].sum() / per_rep['events'].sum():.1%} among events.",
            "",
            "Bias is the mean of (estimate - truth) over replicates (posterior median for the Bayesian fits, "
            "Rubin's pooled estimate for statsmodels), with its Monte Carlo SE (SD / sqrt(R)); the coverage of the "
            "central 95% posterior interval (Bayes) or the 95% t interval with Barnard-Rubin df (statsmodels), with "
            "its binomial SE; 'mean SE/SD' the mean posterior SD or pooled SE, to compare with the empirical SD. "
            "Default priors (Normal(0, 1) per SD of each covariate).",
            "",
            "Warnings (counted, none stopped the run): "
            + "; ".join(
                f"{m} {int(r.statistical_warnings)} StatisticalWarning, {int(r.other_warnings)} other"
                for m, r in warn.iterrows()
            )
            + f" (over {len(per_rep)} replicates). Those of the pooled fits are mostly an R-hat above 1.01 in one "
            "of its M short fits (2 chains of a few hundred draws each).",
            "",
            _mixture_note(summary, args.imputations),
        ]
    )


def _mixture_note(summary: pd.DataFrame, m: int) -> str:
    """Say how the pooled posterior's spread differs from Rubin's total variance, with this run's numbers."""
    note = (
        "Pooling by mixing the draws (Zhou & Reiter 2010) gives a posterior variance of about "
        "W + (1 - 1/M) B (W the mean posterior variance within an imputation, B the variance of the M posterior "
        "means), where Rubin's rules use W + (1 + 1/M) B and a t quantile: with few imputations and much "
        "missing information the pooled interval is the narrower of the two, which is why Zhou & Reiter ask "
        "for many imputations."
    )
    if "mean_between" not in summary or summary["mean_between"].isna().all():
        return note
    rows = summary[summary["method"] == "bayes_mi"].set_index("coefficient")
    between = rows["mean_between"]
    total = rows["mean_sd"] ** 2  # ~ W + (1 - 1/M) B
    within = total - (1 - 1 / m) * between
    shortfall = 1 - np.sqrt(total / (within + (1 + 1 / m) * between))
    return (
        note
        + f" Here, with M = {m}, the pooled SD is smaller than Rubin's on the same draws by about "
        + ", ".join(f"{100 * v:.1f}% for {c}" for c, v in shortfall.items())
        + f" (mean B {', '.join(f'{b:.4f}' for b in between)})."
    )


def _cores() -> int:
    return os.cpu_count() or 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--replicates", type=int, default=200, help="simulated cohorts (default 200)")
    parser.add_argument("--imputations", type=int, default=10, help="imputations M per method (default 10)")
    parser.add_argument("--seed", type=int, default=2027, help="root seed; replicate k uses its k-th child")
    parser.add_argument("--n", type=int, default=Design.n, help="patients per cohort (default 600)")
    parser.add_argument("--draws", type=int, default=400, help="posterior draws per chain (default 400)")
    parser.add_argument("--tune", type=int, default=300, help="tuning steps per chain (default 300)")
    parser.add_argument("--chains", type=int, default=2, help="chains per fit (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="imputations fitted side by side (default 1)")
    parser.add_argument("--out", type=Path, help="summary table: .md (markdown with a header) or .csv")
    parser.add_argument("--quick", action="store_true", help="3 replicates, 3 imputations, printed only")
    return parser


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    """Run the study; return the summary table (and write it, and each replicate, beside ``--out``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    args.argv = argv
    if args.quick:
        args.replicates, args.imputations, args.draws, args.tune, args.out = 3, 3, 200, 200, None
    design = Design(n=args.n)
    sampling = bu.Sampling(draws=args.draws, tune=args.tune, chains=args.chains)
    settings = {"seed": args.seed, "imputations": args.imputations, "draws": args.draws, "tune": args.tune}
    settings |= {"chains": args.chains, "n": args.n}
    name = "replicates_" + "_".join(f"{key}{value}" for key, value in settings.items()) + ".csv"
    raw_path = None if args.out is None else STORE / name  # one store per setting: a resumed run mixes no others
    done = pd.DataFrame()
    if raw_path is not None and raw_path.exists():
        stored = pd.read_csv(raw_path)
        done = stored[stored["replicate"] < args.replicates]
        print(f"resuming: {done['replicate'].nunique()} replicates already in {raw_path}", flush=True)
    seeds = np.random.SeedSequence(args.seed).spawn(args.replicates)
    start = time.perf_counter()
    frames = [done]
    for k, seed in enumerate(seeds):
        if len(done) and k in set(done["replicate"]):
            continue
        frame = run_replicate(
            k, seed, design, imputations=args.imputations, sampling=sampling, threads=args.threads
        ).assign(**settings)
        frames.append(frame)
        if raw_path is not None:
            raw_path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(raw_path, mode="a", header=not raw_path.exists(), index=False, float_format="%.8g")
        print(f"replicate {k}: {frame['replicate_seconds'].iloc[0]:.1f} s", flush=True)
    wall = time.perf_counter() - start
    replicates = pd.concat(frames, ignore_index=True)
    summary = summarise(replicates)
    table = markdown_table(summary)
    print(table)
    print(f"{wall:.0f} s in all ({wall / 60:.1f} min)")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if args.out.suffix == ".md":
            args.out.write_text(_header(replicates, summary, args, design) + "\n\n" + table + "\n")
            summary.to_csv(args.out.with_suffix(".csv"), index=False, float_format="%.6g")
        else:
            summary.to_csv(args.out, index=False, float_format="%.6g")
    return summary


if __name__ == "__main__":
    main()
