"""False-positive rate of ``bayes_ubpr.audit.audit`` on simulated honest papers.

Each paper is a 60:60 study drawn from the package's simulated world (Table
4's control laws, cases tilted by Table 5's odds ratios, whole-number ages,
heights, weights, VAS and ODI), printed with the paper's rounding by
``bayes_ubpr.audit.simulate_paper`` and audited. Reports, per severity, the
share of papers with at least one flag and the share of checks flagged, each
with its binomial standard error.

    python benchmarks/audit_false_positives.py --papers 200 --replicates 200
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import pandas as pd

from bayes_ubpr.audit import audit, simulate_paper
from bayes_ubpr.exceptions import ConvergenceError, StatisticalWarning


def _rate(k: int, n: int) -> str:
    p = k / n if n else math.nan
    return f"{k}/{n} = {p:.3f} ± {math.sqrt(p * (1 - p) / n) if n else math.nan:.3f}"


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--replicates", type=int, default=200, help="simulated samples per cross-table check")
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--out", default=None, help="save every flagged row (.csv)")
    args = parser.parse_args(argv)
    seeds = np.random.SeedSequence(args.seed).spawn(args.papers)
    flagged, audited, separated, failed, n_checks = [], 0, 0, 0, 0
    start = time.perf_counter()
    for k, seed in enumerate(seeds):
        paper = simulate_paper(seed=np.random.default_rng(seed))
        if paper is None:
            separated += 1
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", StatisticalWarning)
                findings = audit(tables=paper, n_replicates=args.replicates, seed=np.random.default_rng(seed))
        except (ConvergenceError, ValueError):
            # too few usable simulated fits, or no count law on 1..6 has the printed mean and SD (e.g. 1.2 and
            # 0.4, a law on 1 and 2 only): the within-table and granularity checks still run
            failed += 1
            findings = audit(tables=paper, across=False)
        audited += 1
        n_checks += len(findings)
        flagged.append(findings[findings["severity"] != "ok"].assign(paper=k))
    rows = pd.concat(flagged, ignore_index=True) if flagged else pd.DataFrame(columns=["severity", "paper"])
    print(
        f"{args.papers} papers in {time.perf_counter() - start:.0f} s: {audited} audited, {separated} separated "
        f"(no logistic fit to print), {failed} audited without the cross-table checks (they could not run)"
    )
    for severity in ("inconsistent", "implausible", "note"):
        chosen = rows[rows["severity"] == severity]
        print(
            f"{severity:>12}: papers with a flag {_rate(chosen['paper'].nunique(), audited)}; "
            f"checks flagged {_rate(len(chosen), n_checks)}"
        )
    anything = rows[rows["severity"].isin(["inconsistent", "implausible"])]
    print(f"inconsistent or implausible: papers {_rate(anything['paper'].nunique(), audited)}")
    print(rows.groupby(["severity", "table", "quantity"]).size().to_string())
    if args.out:
        rows.to_csv(args.out, index=False)
    return rows


if __name__ == "__main__":
    main()
