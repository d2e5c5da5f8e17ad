"""Benchmark: one fit of the six-factor model, bayes_ubpr against Bambi and a plain ``pm.sample`` script.

All fit the six-factor logistic model to the same simulated 1,316-patient
cohort (4 chains x 1,000 draws after 1,000 tuning steps) and report wall time
and the smallest bulk ESS per second over the six odds ratios.

* Cold start: a fresh Python process from start to printed table:
  ``bayes-ubpr fit cohort.csv`` (the command line) and ``bayes_ubpr.fit`` in
  a script, both nutpie sampling the hand-written log density that numba
  caches on disk (nothing is compiled after the first run), a Bambi 0.17
  script (``pip install -e ".[bench]"``; skipped
  if Bambi is missing) with every core in use, and the plain ``pm.sample``
  script a user would write. The contenders run in turn, A B C A B C, and
  the medians and the ratios to Bambi are printed. Disk caches are whatever
  earlier runs left, for all of them (run twice: the first run fills them).
  ``bayes-ubpr reproduce`` is timed the same way.
* Warm refit: in one process, a second fit on new data of the same shape,
  bayes_ubpr (compiled model reused) against ``pm.sample`` (its compiled
  functions cached by pytensor).

Run:  python benchmarks/bench_fit.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import arviz as az
import pymc as pm

import bayes_ubpr as bu

OURS = """
import sys, time
start = float(sys.argv[2])
import pandas as pd, bayes_ubpr as bu
idata = bu.fit(pd.read_csv(sys.argv[1]), seed=1, check=False)
print(bu.format_odds_ratio_table(bu.odds_ratio_table(idata)))
print("ESS", float(bu.check_convergence(idata, var_names=["beta"])["ess_bulk"].min()))
print("WALL", time.time() - start)
"""

BAMBI = """
import sys, time
start = float(sys.argv[2])
import arviz as az, bambi as bmb, numpy as np, pandas as pd
data = pd.read_csv(sys.argv[1])
factors = ["bmd_tscore_abs", "fascia_injury", "cement_distribution_poor", "n_fractures", "cement_volume_ml", "depression"]
model = bmb.Model("ubpr ~ " + " + ".join(factors), data, family="bernoulli")
idata = model.fit(draws=1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
print(np.exp(idata.posterior[factors].median(("chain", "draw"))).to_pandas())
print("ESS", min(float(az.ess(idata, var_names=[f])[f]) for f in factors))
print("WALL", time.time() - start)
"""

CLI = """
import sys, time
start = float(sys.argv[2])
from bayes_ubpr.cli import main
main(["fit", sys.argv[1], "--seed", "1"])
print("ESS", float("nan"))
print("WALL", time.time() - start)
"""

REPRODUCE = """
import sys, time
start = float(sys.argv[2])
from bayes_ubpr.cli import main
main(["reproduce"])
print("ESS", float("nan"))
print("WALL", time.time() - start)
"""

PLAIN = """
import sys, time
start = float(sys.argv[2])
import arviz as az, numpy as np, pandas as pd, pymc as pm
data = pd.read_csv(sys.argv[1])
factors = ["bmd_tscore_abs", "fascia_injury", "cement_distribution_poor", "n_fractures", "cement_volume_ml", "depression"]
with pm.Model(coords={"factor": factors}):
    intercept = pm.Normal("intercept", 0, 2.5)
    beta = pm.Normal("beta", 0, 2.5, dims="factor")
    pm.Bernoulli("ubpr", logit_p=intercept + pm.math.dot(data[factors].to_numpy(float), beta), observed=data["ubpr"])
    idata = pm.sample(1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
print(np.exp(idata.posterior["beta"].median(("chain", "draw"))).to_series())
print("ESS", float(az.ess(idata, var_names=["beta"])["beta"].min()))
print("WALL", time.time() - start)
"""


def _run(script: str, data: Path) -> tuple[float, float]:
    """Run ``script`` in a fresh interpreter; return its wall time (from process start) and min ESS."""
    start = time.time()
    output = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(data), repr(start)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    values = dict(line.split(" ", 1) for line in output.splitlines() if line.startswith(("ESS", "WALL")))
    return float(values["WALL"]), float(values["ESS"])


def _plain_in_process(cohort, *, standardise: bool = False) -> tuple[float, float]:
    factors = list(bu.SIX_FACTORS)
    start = time.perf_counter()
    with pm.Model(coords={"factor": factors}):
        intercept = pm.Normal("intercept", 0, 2.5)
        beta = pm.Normal("beta", 0, 2.5, dims="factor")
        x = cohort[factors].to_numpy(float)
        if standardise:  # what a careful user would do by hand
            x = (x - x.mean(axis=0)) / x.std(axis=0)
        pm.Bernoulli("ubpr", logit_p=intercept + pm.math.dot(x, beta), observed=cohort["ubpr"])
        idata = pm.sample(1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
    wall = time.perf_counter() - start
    return wall, float(az.ess(idata, var_names=["beta"])["beta"].min())


def _ours_in_process(cohort) -> tuple[float, float]:
    start = time.perf_counter()
    idata = bu.fit(cohort, seed=1, check=False)
    wall = time.perf_counter() - start
    return wall, float(bu.check_convergence(idata, var_names=["beta"])["ess_bulk"].min())


def density_comparison(data, spec, repeats: int = 3) -> tuple[float, float]:
    """Median seconds of nutpie sampling the hand-written density and PyTensor's generated one, interleaved.

    The same data, settings (4 x (1,000 + 1,000), cores=2) and seeds; PyTensor's model is compiled once
    beforehand, so only sampling is timed.
    """
    import nutpie

    from bayes_ubpr.model._build import build_from_inputs, prepare_inputs
    from bayes_ubpr.model._fit import _fixed_initial_points
    from bayes_ubpr.model._kernel_model import kernel_model

    inputs = prepare_inputs(data, spec)
    model = build_from_inputs(inputs)
    generated = nutpie.compile_pymc_model(model, initial_points=_fixed_initial_points(model)).with_data(**inputs.data)
    contenders = {"kernel": kernel_model(inputs), "generated": generated}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for seed in range(repeats):
        for name, compiled in contenders.items():
            start = time.perf_counter()
            nutpie.sample(compiled, draws=1000, tune=1000, chains=4, cores=2, seed=seed, progress_bar=False)
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["kernel"]), statistics.median(times["generated"])


def _line(label: str, wall: float, ess: float) -> str:
    return f"{label:<42} {wall:7.2f} s   min bulk ESS {ess:6.0f}   ESS/s {ess / wall:8.1f}"


def _has_bambi() -> bool:
    return subprocess.run([sys.executable, "-c", "import bambi"], capture_output=True).returncode == 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="cold-start runs of each, interleaved")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    import os

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    cohorts = [bu.simulate_cohort(seed=seed) for seed in (1, 2, 3)]
    contenders = {
        "bayes-ubpr fit (CLI)": CLI,
        "bayes_ubpr.fit (nutpie) script": OURS,
        "plain pm.sample script (cores=2)": PLAIN,
    }
    contenders["bayes-ubpr reproduce"] = REPRODUCE
    if _has_bambi():
        contenders["Bambi 0.17 script (cores=2)"] = BAMBI
    else:
        print("Bambi not installed (pip install -e '.[bench]'): its comparison is skipped")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cohort.csv"
        cohorts[0].to_csv(path, index=False)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
        for _ in range(args.repeats):
            for name, script in contenders.items():
                runs[name].append(_run(script, path))
    print(f"Six-factor model, n = {len(cohorts[0])}, 4 chains x 1000 draws after 1000 tuning steps")
    print(f"Cold start (fresh process, start to table; median of {args.repeats} interleaved runs)")
    medians = {name: statistics.median(wall for wall, _ in values) for name, values in runs.items()}
    for name, values in runs.items():
        ess = statistics.median(e for _, e in values)
        print(_line(f"  {name}", medians[name], ess) if ess == ess else f"  {name:<40} {medians[name]:7.2f} s")
    bambi = medians.get("Bambi 0.17 script (cores=2)")
    if bambi is not None:
        for name in ("bayes-ubpr fit (CLI)", "bayes_ubpr.fit (nutpie) script"):
            print(f"  {name} / Bambi wall: {medians[name] / bambi:.2f}")

    _ours_in_process(cohorts[0])  # compile once
    _plain_in_process(cohorts[0])
    _plain_in_process(cohorts[0], standardise=True)
    ours_warm = _ours_in_process(cohorts[1])
    plain_warm = _plain_in_process(cohorts[1])
    careful_warm = _plain_in_process(cohorts[1], standardise=True)
    print("Warm refit (same process, new data)")
    print(_line("  bayes_ubpr.fit (nothing compiled)", *ours_warm))
    print(_line("  pm.sample, cores=2 (functions cached)", *plain_warm))
    print(_line("  pm.sample, design standardised by hand", *careful_warm))
    print(
        f"  speed-up: {plain_warm[0] / ours_warm[0]:.1f}x wall, {ours_warm[1] / ours_warm[0] / (plain_warm[1] / plain_warm[0]):.1f}x ESS/s"
    )
    print(f"  against pm.sample on a hand-standardised design: {careful_warm[0] / ours_warm[0]:.1f}x wall")
    print("nutpie sampling only: hand-written density against PyTensor's generated one (median of 3, interleaved)")
    sample = bu.case_control_sample(cohorts[2], seed=4)
    for label, data, spec in (
        ("1,316-patient cohort", cohorts[2], bu.ModelSpec()),
        (f"{len(sample)}-patient case-control sample", sample, bu.ModelSpec(design="case_control")),
    ):
        kernel, generated = density_comparison(data, spec)
        print(f"  {label:<34} {kernel:6.2f} s against {generated:6.2f} s: {kernel / generated:.2f}x")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
