"""Reproduce the paper's Table 5 as a Bayesian analysis on a simulated cohort.

The study (Pain Physician, "Causes of Residual Back Pain at Early Stage After
Percutaneous Vertebroplasty: A Retrospective Analysis of 1,316 Cases") found 60
of 1,316 patients with unsatisfactory back pain relief, compared them with 60
random satisfactory patients and fitted a logistic regression (Table 5). This
script builds a cohort with the same size, prevalence, control-group
distributions (Table 4) and true odds ratios (Table 5), draws the same kind of
1:1 case-control sample, fits the Bayesian model and prints the posterior odds
ratios beside the published ones. It saves the table as CSV and the fit as
NetCDF in --output-dir (default output/reproduce_paper).

Run:  python examples/reproduce_paper.py [--quick] [--seed 2016] [--output-dir DIR]
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import example_parser, paper_like_sample, parse, print_saved

import bayes_ubpr as bu
from bayes_ubpr._io import write_frame, write_netcdf


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; see the module docstring."""
    parser = example_parser(__doc__, name="reproduce_paper")
    args = parse(parser, argv, quick={"draws": 500, "tune": 500, "chains": 2})

    sample = paper_like_sample(args.seed)
    print("Priors (per unit of each factor):")
    print(bu.describe_priors(bu.SIX_FACTORS).to_string(index=False, float_format=lambda v: f"{v:.3g}"))

    # The paper's design: all cases, as many random controls. Its 60 events for six factors make
    # the design check warn (few events per parameter), as it should.
    idata = bu.fit(sample, design="case_control", draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed)
    table = bu.odds_ratio_table(idata)
    print()
    print(bu.format_odds_ratio_table(table))
    table_path, fit_path = args.output_dir / "odds_ratios.csv", args.output_dir / "reproduce_fit.nc"
    write_frame(table, table_path)
    write_netcdf(idata, fit_path)
    print_saved([table_path, fit_path], args.output_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
