"""Benchmark: what ``fit(..., missing="model")`` costs against ``missing="impute"`` (20 imputations).

The simulated cohort of ``tests/test_missing_model.py``'s recovery test:
800 patients, a continuous ``x1`` 25% missing at random given ``x2`` and the
outcome, a complete ``x2`` and a complete 0/1 ``x3``; model ``y ~ x1 + x2 + x3``.
Both fits use the same sampling per chain (default 4 chains x (1,000 +
1,000)), in one process, in this order:

* ``missing="model"``, cold: compiling the PyMC model for nutpie included;
* ``missing="model"`` again with another seed: the compiled model reused;
* ``missing="impute", imputations=20``: 20 completed data sets, each fitted
  on the hand-written density (threads, one per core), draws pooled.

Printed: wall times, the load average before each, and each fit's posterior
median and SD of the three log odds ratios.

Run:  python benchmarks/bench_missing_model.py [--chains 4] [--draws 1000] [--tune 1000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
from scipy import optimize, special

import bayes_ubpr as bu


def cohort(n: int = 800, seed: int = 11) -> pd.DataFrame:
    """The recovery test's cohort (log ORs 0.8, -0.5, 0.6; 25% of x1 missing given x2 and y)."""
    rng = np.random.default_rng(seed)
    x2 = rng.normal(size=n)
    x3 = (rng.random(n) < 0.4).astype(float)
    x1 = 0.5 * x2 - 0.3 * x3 + rng.normal(scale=0.85, size=n)
    y = (rng.random(n) < special.expit(-0.8 + 0.8 * x1 - 0.5 * x2 + 0.6 * x3)).astype(int)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "y": y})
    score = x2 + y
    a = optimize.brentq(lambda a: special.expit(a + score).mean() - 0.25, -10, 10)
    frame.loc[rng.random(n) < special.expit(a + score), "x1"] = np.nan
    return frame


def main(argv: list[str] | None = None) -> None:
    """Time the three fits and print what they estimate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    args = parser.parse_args(argv)
    sampling = bu.Sampling(chains=args.chains, draws=args.draws, tune=args.tune)
    frame = cohort()
    print(f"{len(frame)} patients, {frame['x1'].isna().sum()} values of x1 missing; {sampling}")
    runs = [
        ("missing='model' (cold, compiling)", {"missing": "model", "seed": 1}),
        ("missing='model' (compiled)", {"missing": "model", "seed": 2}),
        ("missing='impute', 20 imputations", {"missing": "impute", "imputations": 20, "seed": 1}),
    ]
    for label, keywords in runs:
        load = os.getloadavg()[0]
        start = time.perf_counter()
        idata = bu.fit(frame, "y ~ x1 + x2 + x3", sampling=sampling, **keywords)
        seconds = time.perf_counter() - start
        beta = idata.posterior["beta"]
        median, sd = beta.median(("chain", "draw")).to_numpy(), beta.std(("chain", "draw")).to_numpy()
        shown = ", ".join(f"{m:.3f} ({s:.3f})" for m, s in zip(median, sd, strict=True))
        print(f"{label}: {seconds:.1f} s (load {load:.1f}); log OR median (SD) x1, x2, x3: {shown}")


if __name__ == "__main__":
    main()
