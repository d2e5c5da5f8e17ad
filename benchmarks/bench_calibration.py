"""Benchmark: per-replicate cost of calibration_study against a plain pm.sample loop.

Both fit the six-factor model to 60:60-style case-control samples of
simulated 1,316-patient cohorts (4 chains x 1,000 draws after 1,000 tuning
steps). The baseline is what a user would write without this package: a loop
that builds a PyMC model on the raw design and calls ``pm.sample`` for each
replicate. Both run in this one process; the ratio of per-replicate times is
printed, with the peak memory of the study.

Run:  python benchmarks/bench_calibration.py [--replicates 50] [--baseline-replicates 3]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
import warnings

import pymc as pm

import bayes_ubpr as bu
from bayes_ubpr.calibrate import calibration_study, replicate_seeds


def _baseline(n_replicates: int) -> float:
    factors = list(bu.SIX_FACTORS)
    start = time.perf_counter()
    for k, child in enumerate(replicate_seeds(1, n_replicates)):
        sample = bu.case_control_sample(bu.simulate_cohort(seed=child.spawn(1)[0]), seed=k)
        with pm.Model():
            intercept = pm.Normal("intercept", 0, 2.5)
            beta = pm.Normal("beta", 0, 2.5, shape=len(factors))
            x = sample[factors].to_numpy(float)
            pm.Bernoulli("ubpr", logit_p=intercept + pm.math.dot(x, beta), observed=sample["ubpr"].to_numpy())
            pm.sample(1000, tune=1000, chains=4, random_seed=k, progressbar=False, compute_convergence_checks=False)
    return (time.perf_counter() - start) / n_replicates


def _peak_memory_mb(n_replicates: int) -> float:
    """Peak resident memory of a fresh process running a study of ``n_replicates``."""
    script = (
        "import resource, warnings; warnings.filterwarnings('ignore')\n"
        "from bayes_ubpr.calibrate import calibration_study\n"
        f"calibration_study(n_replicates={n_replicates}, seed=1)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    output = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    return float(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print per-replicate times and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=50)
    parser.add_argument("--baseline-replicates", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    calibration_study(n_replicates=1, seed=0)  # compile once, as a long study would
    start = time.perf_counter()
    result = calibration_study(n_replicates=args.replicates, seed=1)
    ours = (time.perf_counter() - start) / args.replicates
    flagged = int(result.replicates.groupby("replicate")["flagged"].any().sum())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    baseline = _baseline(args.baseline_replicates)
    print(f"calibration_study: {ours:.3f} s per replicate over {args.replicates} ({flagged} flagged)")
    print(f"plain pm.sample loop: {baseline:.3f} s per replicate over {args.baseline_replicates}")
    print(f"ratio: {baseline / ours:.1f}x faster per replicate; peak resident memory {peak_mb:.0f} MB")
    print(f"1,000 replicates would take about {1000 * ours / 60:.1f} min at this rate")
    small, large = _peak_memory_mb(10), _peak_memory_mb(40)
    print(f"peak memory of a fresh process: {small:.0f} MB for 10 replicates, {large:.0f} MB for 40")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
