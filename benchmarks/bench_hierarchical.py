"""Benchmark (issue 26): hierarchical fits, bayes_ubpr against Bambi and against its own flat fit.

The same simulated 1,316-patient cohort, with a six-level ``site`` column
whose sites shift the log odds (SD 0.5), is fitted cold, in fresh
processes, 4 chains x (1,000 + 1,000), the contenders interleaved
A B C A B C:

* ``bayes-ubpr fit cohort.csv --group site`` (group intercepts; nutpie on
  the hand-written density, which now covers one grouping of intercepts);
* a Bambi 0.17 script, ``ubpr ~ six factors + (1|site)``, ``cores=2``, as
  Bambi's users write it (skipped if Bambi is missing:
  ``pip install -e ".[bench]"``);
* ``bayes-ubpr fit cohort.csv`` without the group (the flat model);
* ``bayes-ubpr fit cohort.csv --priors horseshoe`` and ``--priors domains``
  (both on the hand-written density);
* goal 3: ``bayes-ubpr fit cohort.csv --formula "ubpr ~ six factors + (1 | site/surgeon)"``
  (surgeons nested in sites, four per site; the hand-written density covers
  several groupings) against Bambi's script with the same formula.

Printed: median wall times, the ratios the issue names (grouped against
Bambi's grouped fit, horseshoe against the flat fit), the load average, and
for the grouped fit the smallest bulk and tail ESS over every parameter
(the group SD included) and the divergences.

Then goal 4: coverage studies (``bayes_ubpr.studies.coverage_study``, the
paper's 60:60 world) of the default, the horseshoe and the grouped model
(``group="site"``, in the same world with six sites of log-odds SD 0.5),
interleaved, ``--study-replicates`` each.

Run:  python benchmarks/bench_hierarchical.py [--repeats 3] [--study-replicates 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

import bayes_ubpr as bu

SIX = ", ".join(f'"{f}"' for f in bu.SIX_FACTORS)

OURS = """
import sys, time
start = float(sys.argv[2])
from bayes_ubpr.cli import main
main(["fit", sys.argv[1], "--seed", "1", *sys.argv[3:]])
print("WALL", time.time() - start)
"""

BAMBI = f"""
import sys, time
start = float(sys.argv[2])
import bambi as bmb, pandas as pd
data = pd.read_csv(sys.argv[1])
model = bmb.Model("ubpr ~ " + " + ".join([{SIX}]) + " + " + sys.argv[3], data, family="bernoulli")
idata = model.fit(draws=1000, tune=1000, chains=4, cores=2, random_seed=1, progressbar=False)
print("WALL", time.time() - start)
"""


def _cohort(seed: int = 1) -> pd.DataFrame:
    """The paper's simulated cohort with six sites (log-odds SD 0.5) and four surgeons in each (SD 0.3)."""
    rng = np.random.default_rng(seed)
    cohort = bu.simulate_cohort(seed=seed)
    site = rng.integers(0, 6, size=len(cohort))
    surgeon = rng.integers(0, 4, size=len(cohort))
    shift = rng.normal(0.0, 0.5, 6)[site] + rng.normal(0.0, 0.3, (6, 4))[site, surgeon]
    truth = bu.true_model()
    x = cohort[list(bu.SIX_FACTORS)].to_numpy(float)
    eta = truth.intercept + x @ truth.log_odds_ratios[list(bu.SIX_FACTORS)].to_numpy() + shift
    outcome = (rng.random(len(cohort)) < special.expit(eta)).astype(int)
    return cohort.assign(site=site, surgeon=surgeon, ubpr=outcome)


def _run(script: str, data: Path, *args: str) -> float:
    start = time.time()
    output = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(data), repr(start), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(next(line.split()[1] for line in output.splitlines() if line.startswith("WALL")))


def _has_bambi() -> bool:
    return subprocess.run([sys.executable, "-c", "import bambi"], capture_output=True).returncode == 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="cold-start runs of each, interleaved")
    parser.add_argument("--study-replicates", type=int, default=200, help="replicates of each coverage study")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    cohort = _cohort()
    nested = "ubpr ~ " + " + ".join(bu.SIX_FACTORS) + " + (1 | site/surgeon)"
    contenders: dict[str, tuple[str, tuple[str, ...]]] = {
        "bayes-ubpr fit --group site": (OURS, ("--group", "site")),
        "bayes-ubpr fit (flat)": (OURS, ()),
        "bayes-ubpr fit --priors horseshoe": (OURS, ("--priors", "horseshoe")),
        "bayes-ubpr fit --priors domains": (OURS, ("--priors", "domains")),
        "bayes-ubpr fit (1 | site/surgeon)": (OURS, ("--formula", nested)),
    }
    if _has_bambi():
        contenders["Bambi 0.17 (1|site), cores=2"] = (BAMBI, ("(1|site)",))
        contenders["Bambi 0.17 (1|site/surgeon), cores=2"] = (BAMBI, ("(1|site/surgeon)",))
    else:
        print("Bambi not installed (pip install -e '.[bench]'): its comparison is skipped")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cohort.csv"
        cohort.to_csv(path, index=False)
        for script, extra in contenders.values():  # fill the disk caches (numba, PyTensor) before timing
            _run(script, path, *extra)
        runs: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.repeats):
            for name, (script, extra) in contenders.items():
                runs[name].append(_run(script, path, *extra))
    print(
        f"n = {len(cohort)}, 6 sites of 4 surgeons, 4 chains x (1000 + 1000); cold processes, median of {args.repeats}"
    )
    medians = {name: statistics.median(values) for name, values in runs.items()}
    for name, values in runs.items():
        print(f"  {name:<36} {medians[name]:6.2f} s   (runs: {', '.join(f'{v:.2f}' for v in values)})")
    bambi = medians.get("Bambi 0.17 (1|site), cores=2")
    if bambi is not None:
        print(f"  goal 1: grouped fit / Bambi's grouped fit: {medians['bayes-ubpr fit --group site'] / bambi:.2f}")
        ours, theirs = medians["bayes-ubpr fit (1 | site/surgeon)"], medians["Bambi 0.17 (1|site/surgeon), cores=2"]
        print(f"  goal 3: nested fit / Bambi's nested fit: {ours / theirs:.2f}")
    flat = medians["bayes-ubpr fit (flat)"]
    print(f"  goal 2: horseshoe fit / flat fit: {medians['bayes-ubpr fit --priors horseshoe'] / flat:.2f}")
    print(f"  goal 2: domains fit / flat fit: {medians['bayes-ubpr fit --priors domains'] / flat:.2f}")
    print(f"  grouped fit / flat fit: {medians['bayes-ubpr fit --group site'] / flat:.2f}")
    print(_convergence_line("grouped", bu.fit(cohort, bu.ModelSpec(group="site"), seed=1, check=False)))
    print(_convergence_line("nested", bu.fit(cohort, nested, seed=1, check=False)))
    for priors in ("horseshoe", "domains"):
        print(_convergence_line(priors, bu.fit(cohort, bu.ModelSpec(priors=priors), seed=1, check=False)))
    study_ratio(args.study_replicates)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


def _convergence_line(name: str, idata: object) -> str:
    """The sampler, the smallest bulk and tail ESS over every parameter (group SDs included), R-hat, divergences."""
    names = [
        "alpha",
        "beta",
        "group_sd",
        "group_offset",
        "global_scale",
        "slab_variance",
        "domain_spread",
        "domain_scale",
    ]
    table = bu.check_convergence(idata, var_names=[name for name in names if name in idata.posterior])  # type: ignore[attr-defined]
    divergent = int(idata.sample_stats["diverging"].sum())  # type: ignore[attr-defined]
    scale = next(name for name in ("group_sd", "global_scale", "beta") if name in idata.posterior)  # type: ignore[attr-defined]
    return (
        f"{name} fit's sampler: {idata.attrs['sampler']}; smallest bulk ESS {table['ess_bulk'].min():.0f}, "  # type: ignore[attr-defined]
        f"tail ESS {table['ess_tail'].min():.0f} ({scale}: {table.loc[table.index.str.startswith(scale), 'ess_bulk'].min():.0f}); "
        f"largest R-hat {table['r_hat'].max():.3f}; {divergent} divergent transitions; "
        f"{float(idata.sample_stats['n_steps'].mean()):.1f} leapfrog steps a draw"  # type: ignore[attr-defined]
    )


def study_ratio(n_replicates: int) -> None:
    """Time coverage studies of the default, grouped and horseshoe models, interleaved; print the ratios (goal 4).

    The default and horseshoe studies run in the paper's world; the grouped one (``group="site"``) in the same
    world with six sites whose log-odds intercepts have SD 0.5. Order A B C A B C A: the default's time is the
    mean of its runs around the others.
    """
    import warnings

    from bayes_ubpr.studies import STUDY_SPEC, coverage_study

    studies = {
        "default": (STUDY_SPEC, {}),
        "grouped": (STUDY_SPEC.replace(group="site"), {"n_sites": 6, "site_sd": 0.5}),
        "horseshoe": (STUDY_SPEC.replace(priors="horseshoe"), {}),
    }
    times: dict[str, list[float]] = {name: [] for name in studies}
    refitted: dict[str, int] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("default", "grouped", "horseshoe", "default", "grouped", "horseshoe", "default"):
            spec, world = studies[name]
            start = time.perf_counter()
            result = coverage_study(spec, n_replicates=n_replicates, seed=14, **world)
            times[name].append(time.perf_counter() - start)
            refitted[name] = int(result.replicates.groupby("replicate")["refitted"].first().sum())
    default = statistics.mean(times["default"])
    print(f"goal 4: coverage studies of {n_replicates} replicates (mean of runs; replicates refitted in the last):")
    for name, values in times.items():
        mean = statistics.mean(values)
        print(
            f"  {name:<10} {mean:6.1f} s  ({', '.join(f'{v:.1f}' for v in values)}); {mean / default:.2f}x the "
            f"default; {refitted[name]} refitted"
        )


if __name__ == "__main__":
    raise SystemExit(main())
