"""How often projection-predictive selection ranks the paper's six factors first, at the paper's sample size.

Each replicate simulates a cohort of the paper's world (1,316 patients at
60/1316; Table 5's six factors with its odds ratios, the other nine of Table 4
without effect: :func:`bayes_ubpr.simulate_cohort`), takes its 1:1
case-control sample (about 60:60, as the paper's) and runs
:func:`bayes_ubpr.select_factors` over the fifteen candidates (regularised
horseshoe reference, no cross-validation of the search). A replicate
*recovers* the six when the first six factors selected are exactly Table 5's
six. The recovery rate is reported with its binomial Monte Carlo SE
sqrt(r (1 - r) / R).

Run from the repository root (about 5 s per replicate on two cores after a
one-off compilation):

    .venv/bin/python benchmarks/selection_recovery.py [--replicates 40] [--seed 2016] [--out recovery.csv]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import bayes_ubpr as bu


def replicate(seed: np.random.SeedSequence, *, draws: int, chains: int) -> dict[str, object]:
    """Simulate one cohort and its case-control sample, select factors; return the order and what it found."""
    cohort_seed, sample_seed, select_seed = (int(v) for v in seed.generate_state(3) % (2**31 - 1))
    cohort = bu.simulate_cohort(seed=cohort_seed)
    sample = bu.case_control_sample(cohort, seed=sample_seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bu.StatisticalWarning)  # design checks of 60:60 samples; divergences counted
        sampling = bu.Sampling(draws=draws, tune=draws, chains=chains)
        result = bu.select_factors(sample, n_folds=0, sampling=sampling, seed=select_seed)
    order = result.order
    six = set(bu.SIX_FACTORS)
    return {
        "n_cases": int(sample[bu.OUTCOME].sum()),
        "order": " ".join(order),
        "six_in_first_six": len(six & set(order[:6])),
        "recovered": set(order[:6]) == six,
        "suggested_size": result.suggested_size,
        "mean_rank_six": float(np.mean([order.index(f) + 1 for f in bu.SIX_FACTORS])),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the study and print the recovery rate with its Monte Carlo SE."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--draws", type=int, default=1000, help="draws and tuning steps per chain")
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="CSV of the replicates")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS", category=UserWarning)
    children = np.random.SeedSequence(args.seed).spawn(args.replicates)
    rows = []
    for k, child in enumerate(children):
        rows.append({"replicate": k, **replicate(child, draws=args.draws, chains=args.chains)})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    rate = table["recovered"].mean()
    se = np.sqrt(rate * (1 - rate) / len(table))
    print(
        f"\nrecovered the six first in {table['recovered'].sum()} of {len(table)} replicates: {rate:.2f} (SE {se:.2f})"
    )
    print("of the six among the first six:", table["six_in_first_six"].value_counts().sort_index().to_dict())
    print("suggested size:", table["suggested_size"].value_counts().sort_index().to_dict())
    shares = {f: float(np.mean([f in o.split()[:6] for o in table["order"]])) for f in bu.RISK_FACTORS}
    print("share of replicates with each factor among the first six:")
    print(pd.Series(shares).sort_values(ascending=False).round(2).to_string())
    if args.out is not None:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
