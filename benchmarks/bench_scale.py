"""Benchmark: how the cost of a fit grows with the number of patients.

For cohorts of 1,316 to 1,000,000 simulated patients (six factors), it times
one evaluation of the model's log-density gradient (the unit of work of
every NUTS leapfrog step) three ways: the hand-written, disk-cached numba
density that nutpie samples for this model (KERNEL), the PyTensor numba
function nutpie compiles for models the kernel does not cover (NUMBA), and
PyTensor's C backend that PyMC's sampler runs (FAST_RUN). It prints the time
per gradient per patient: a cost linear in patients keeps that flat. Then it
fits ``--fit-rows`` patients end to end on the large-cohort path of
docs/models.md (``bayes_ubpr.fit``'s default sampler, 4 chains x (300 + 300)
on every core, design check and pointwise log likelihood off) and prints the
wall time, ESS and R-hat.

Run:  python benchmarks/bench_scale.py [--sizes 1316 13160 131600 1000000] [--fit-rows 100000 1000000]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import bayes_ubpr as bu
from bayes_ubpr.model import ModelSpec
from bayes_ubpr.model._build import build_from_inputs, prepare_inputs
from bayes_ubpr.model._kernel_model import kernel_evaluation


def _time_per_call(function, point, seconds: float = 1.5) -> float:
    function(point)
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        function(point)
        calls += 1
    return (time.perf_counter() - start) / calls


def gradient_cost(n: int, mode: str) -> float:
    """Seconds per log-density-and-gradient evaluation for ``n`` patients: the kernel, or PyTensor ``mode``."""
    cohort = bu.simulate_cohort(n=n, prevalence=0.1, seed=1)
    inputs = prepare_inputs(cohort, ModelSpec())
    if mode == "KERNEL":
        gradient = kernel_evaluation(inputs)
        return _time_per_call(lambda _: gradient(), None)
    model = build_from_inputs(inputs)
    # the gradient carries the same passes over the patients as the log density it comes with
    return _time_per_call(model.compile_dlogp(mode=mode), model.initial_point())


def main(argv: list[str] | None = None) -> int:
    """Print the cost per gradient per patient across cohort sizes, then one large fit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1316, 13160, 131600, 1000000])
    parser.add_argument("--fit-rows", type=int, nargs="*", default=[100_000], help="cohort sizes to fit end to end")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    for mode in ("KERNEL", "NUMBA", "FAST_RUN"):
        per_row = {}
        for n in args.sizes:
            seconds = gradient_cost(n, mode)
            per_row[n] = seconds / n
            print(
                f"{mode:>8} n = {n:>9,}: {seconds * 1e3:9.3f} ms per gradient, {per_row[n] * 1e9:7.1f} ns per patient"
            )
        smallest, largest = per_row[min(per_row)], per_row[max(per_row)]
        print(f"{mode:>8} cost per patient, largest over smallest cohort: {largest / smallest:.2f}x")
    for rows in args.fit_rows:
        cohort = bu.simulate_cohort(n=rows, prevalence=0.1, seed=2)
        start = time.perf_counter()
        # the large-cohort path of docs/models.md: chains on every core, 4 x (300 + 300) draws
        idata = bu.fit(cohort, draws=300, tune=300, chains=4, seed=1, check=False, log_likelihood=False,
                       progressbar=rows >= 1_000_000)  # fmt: skip
        wall = time.perf_counter() - start
        checks = bu.check_convergence(idata)
        print(
            f"fit of {rows:,} patients ({idata.attrs['sampler']}), 4 chains x (300 + 300): {wall:.1f} s; "
            f"min bulk ESS {checks['ess_bulk'].min():.0f}, min tail ESS {checks['ess_tail'].min():.0f}, "
            f"max R-hat {checks['r_hat'].max():.3f}",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
