"""Benchmark: calibration studies against the loops a user would write instead, in one run.

Every contender fits the six-factor logistic model to 60:60-style
case-control samples of simulated 1,316-patient cohorts.

* ``coverage_study`` and ``sbc_study`` at their defaults: replicates side
  by side in threads, each replicate's chains (2 x (200 + 700)) on one core, sized
  to the convergence target (bulk and tail ESS >= 400 and R-hat <= 1.01 for
  every parameter, checked per replicate; misses refitted longer, never
  dropped).
* A plain ``pm.sample`` loop on a standardised design with PyMC's defaults
  (4 chains x (1,000 + 1,000), ``cores=2``: every core in use).
* simuk 0.2.0's SBC (if installed: ``pip install simuk==0.2.0``), which calls
  ``pm.sample`` per simulation, with ``cores=2``.

Peak memory is read from outside a fresh process (its VmHWM in /proc, polled),
for a small and a four times larger study. The machine's load average is
printed: compare ratios, which hold across loads better than seconds do.

Run:  python benchmarks/bench_calibration.py [--replicates 200] [--baseline-replicates 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pymc as pm

import bayes_ubpr as bu
from bayes_ubpr.studies import coverage_study, replicate_seeds, sbc_study

STUDIES = {"fixed": coverage_study, "sbc": sbc_study}

FACTORS = list(bu.SIX_FACTORS)


def _standardised_sample(child: np.random.SeedSequence, k: int) -> tuple[np.ndarray, np.ndarray]:
    sample = bu.case_control_sample(bu.simulate_cohort(seed=child.spawn(1)[0]), seed=k)
    x = sample[FACTORS].to_numpy(float)
    return (x - x.mean(axis=0)) / x.std(axis=0), sample["ubpr"].to_numpy()


def _baseline_model(x: np.ndarray, y: np.ndarray | None) -> pm.Model:
    with pm.Model() as model:
        intercept = pm.Normal("intercept", 0, 2.5)
        beta = pm.Normal("beta", 0, 2.5, shape=x.shape[1])
        pm.Bernoulli("ubpr", logit_p=intercept + pm.math.dot(x, beta), observed=y)
    return model


def pm_sample_loop(n_replicates: int) -> float:
    """Seconds per replicate of the loop a PyMC user writes: a model per sample, ``pm.sample`` on every core."""
    start = time.perf_counter()
    for k, child in enumerate(replicate_seeds(1, n_replicates)):
        x, y = _standardised_sample(child, k)
        with _baseline_model(x, y):
            pm.sample(chains=4, cores=2, random_seed=k, progressbar=False, compute_convergence_checks=False)
    return (time.perf_counter() - start) / n_replicates


def simuk_sbc(n_simulations: int) -> float | None:
    """Seconds per simulation of simuk 0.2.0's SBC of the same model, or None without simuk."""
    try:
        from simuk import SBC
    except ImportError:
        return None
    x, y = _standardised_sample(replicate_seeds(1, 1)[0], 0)  # simuk replaces y by prior-predictive draws
    settings = {"chains": 4, "cores": 2, "progressbar": False, "compute_convergence_checks": False}
    sbc = SBC(_baseline_model(x, y), num_simulations=n_simulations, seed=1, sample_kwargs=settings)
    start = time.perf_counter()
    sbc.run_simulations()
    return (time.perf_counter() - start) / n_simulations


def _study(mode: str, n_replicates: int, seed: int) -> tuple[float, object]:
    start = time.perf_counter()
    result = STUDIES[mode](n_replicates=n_replicates, seed=seed)
    return (time.perf_counter() - start) / n_replicates, result


def _quality(result: object, mode: str) -> str:
    rows = result.replicates if mode == "fixed" else result.ranks  # type: ignore[attr-defined]
    per_replicate = rows.groupby("replicate")
    refitted = int(per_replicate["refitted"].any().sum()) if "refitted" in rows else 0
    flagged = int(per_replicate["flagged"].any().sum())
    return f"{refitted} refitted longer, {flagged} still flagged"


def peak_memory_mb(n_replicates: int) -> float:
    """Peak resident memory (VmHWM) of a fresh process running a study, polled from outside it."""
    script = (
        "import warnings; warnings.filterwarnings('ignore')\n"
        "from bayes_ubpr.studies import coverage_study\n"
        f"coverage_study(n_replicates={n_replicates}, seed=1)\n"
        "import time; time.sleep(0.5)\n"  # let the poller see the final high-water mark
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    peak = 0.0
    while child.poll() is None:
        try:
            with open(f"/proc/{child.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
        except FileNotFoundError:
            break
        time.sleep(0.05)
    if child.returncode:
        raise RuntimeError(f"the study process failed with exit code {child.returncode}")
    return peak


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print per-replicate times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200, help="replicates of each calibration study")
    parser.add_argument("--baseline-replicates", type=int, default=3, help="fits of each baseline loop")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("pymc").setLevel(logging.WARNING)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    coverage_study(n_replicates=2, seed=0)  # compile once, as any long study does
    sbc_study(n_replicates=2, seed=0)
    # Baselines before and after the studies, so that a drift in the machine's load hits both sides alike.
    before = pm_sample_loop(args.baseline_replicates)
    simuk_before = simuk_sbc(args.baseline_replicates)
    results = {}
    for mode in ("fixed", "sbc"):
        per_replicate, result = _study(mode, args.replicates, seed=1)
        results[mode] = per_replicate
        print(
            f"{STUDIES[mode].__name__}: {per_replicate:.3f} s per replicate over {args.replicates} "
            f"({_quality(result, mode)}); 1,000 replicates: {1000 * per_replicate:.0f} s"
        )
    baseline = (before + pm_sample_loop(args.baseline_replicates)) / 2
    print(f"plain pm.sample loop (standardised design, cores=2): {baseline:.2f} s per replicate")
    simuk = None if simuk_before is None else (simuk_before + simuk_sbc(args.baseline_replicates)) / 2  # type: ignore[operator]
    if simuk is None:
        print("simuk not installed (pip install simuk==0.2.0): its comparison is skipped")
    else:
        print(f"simuk 0.2.0 SBC (cores=2): {simuk:.2f} s per simulation")
    for mode, ours in results.items():
        ratios = f"{baseline / ours:.1f}x faster than the pm.sample loop"
        if simuk is not None:
            ratios += f", {simuk / ours:.1f}x faster than simuk"
        print(f"ratio ({mode}): {ratios}")
    if not args.skip_memory:
        small, large = peak_memory_mb(10), peak_memory_mb(40)
        print(f"peak memory of a fresh process (VmHWM, from outside): {small:.0f} MB for 10 replicates, "
              f"{large:.0f} MB for 40")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
