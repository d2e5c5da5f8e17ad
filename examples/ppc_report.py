"""Posterior-predictive checks, E-values and a self-contained HTML report of one fit.

The study (Pain Physician, "Causes of Residual Back Pain at Early Stage After
Percutaneous Vertebroplasty: A Retrospective Analysis of 1,316 Cases") fitted
a logistic regression to 60 cases and 60 random controls (Table 5) without
showing how well it fits. This script simulates a cohort like the paper's,
fits its 60:60 sample with the case-control correction and asks:

- does data replicated from the fit look like the data (the number of cases
  and the case group's mean of each factor, as in Table 4), and how well
  does it discriminate and calibrate (posterior-predictive checks)?
- how strong would an unmeasured confounder have to be to explain each
  association away (E-values, VanderWeele & Ding 2017), beside the odds
  ratios and the paper's?

It prints the checks, the odds ratios with their E-values and a short
reading, and saves the replicated-cases and calibration figures and the
HTML report (odds ratios, diagnostics, checks, calibration, example risks)
in --output-dir (default output/ppc_report).

Run:  python examples/ppc_report.py [--quick] [--seed 2016] [--output-dir DIR]
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from _common import example_parser, paper_like_sample, parse, print_saved, sampling_options, save_figure

import bayes_ubpr as bu
from bayes_ubpr.paper import RISK_FACTORS
from bayes_ubpr.posterior import PPCSummary

# A posterior-predictive p-value this close to 0 or 1 means the data sit in a tail of what the fit replicates.
PPP_FLAG = 0.05


def _interval(centre: float, lower: float, upper: float) -> str:
    return "-" if pd.isna(centre) else f"{centre:.3g} ({lower:.3g} to {upper:.3g})"


def _odds_with_e_values(odds: pd.DataFrame, e_values: pd.DataFrame) -> pd.DataFrame:
    """One row per factor: posterior and published ORs beside the E-values of the posterior."""
    prob = odds.attrs.get("prob", 0.95)
    merged = odds.merge(e_values.drop(columns=["or_median", "or_lower", "or_upper"]), on="factor")
    return pd.DataFrame(
        {
            "factor": merged["label"],
            f"posterior OR ({prob:.0%} CrI)": [
                _interval(r.or_median, r.or_lower, r.or_upper) for r in merged.itertuples(index=False)
            ],
            "paper OR (95% CI)": [
                _interval(r.paper_or, r.paper_lower, r.paper_upper) for r in merged.itertuples(index=False)
            ],
            "E-value": merged["e_value"].map(lambda v: f"{v:.3g}"),
            "E-value of limit": merged["e_value_limit"].map(lambda v: f"{v:.3g}"),
            f"E-value ({prob:.0%} posterior)": [
                f"{r.e_value_posterior_lower:.3g} to {r.e_value_posterior_upper:.3g}"
                for r in merged.itertuples(index=False)
            ],
        }
    )


def _reading(summary: PPCSummary, e_values: pd.DataFrame) -> list[str]:
    """Plain-language reading of the checks and E-values, computed from them."""
    checks = summary.checks
    flagged = checks[(checks["ppp"] < PPP_FLAG) | (checks["ppp"] > 1 - PPP_FLAG)]
    if flagged.empty:
        lines = [
            f"- No check flags misfit: every posterior-predictive p-value lies between {PPP_FLAG:g} and "
            f"{1 - PPP_FLAG:g} ({checks['ppp'].min():.2f} to {checks['ppp'].max():.2f})."
        ]
    else:
        lines = [f"- The fit misses {row.statistic} (ppp {row.ppp:.3f})." for row in flagged.itertuples()]
    performance = summary.performance.set_index("metric")
    auc = performance.loc["auc"]
    lines.append(
        f"- On its own data the model discriminates cases from controls with AUC {auc['median']:.2f} "
        f"({auc['lower']:.2f} to {auc['upper']:.2f}), an in-sample figure that new patients would lower."
    )
    for row in e_values.itertuples(index=False):
        if row.e_value_limit > 1:
            lines.append(
                f"- {RISK_FACTORS[row.factor].label}: an unmeasured confounder tied to both it and UBPR by a risk "
                f"ratio of {row.e_value_limit:.3g} each would be needed to move its interval to OR 1 "
                f"({row.e_value:.3g} to move the median)."
            )
    if (e_values["e_value_limit"] <= 1).all():
        lines.append("- Every interval already includes OR 1, so no confounding is needed to explain it away.")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; see the module docstring."""
    parser = example_parser(__doc__, name="ppc_report")
    args = parse(parser, argv, quick={"draws": 200, "tune": 200, "chains": 2})

    sample = paper_like_sample(args.seed)
    idata = bu.fit(sample, design="case_control", seed=args.seed + 2, **sampling_options(args))

    # For a case-control fit the checks are on the sample's scale, the scale its data were drawn on.
    summary = bu.ppc_summary(idata, seed=args.seed + 3)
    print()
    print(summary)

    e_values = bu.e_value_table(idata)
    print("\nOdds ratios and E-values (the risk ratio an unmeasured confounder would need with both the factor")
    print("and UBPR to explain the association away; of the limit nearest 1: to move the interval to include 1).")
    print("Like the ORs, they are per unit of each factor, so a continuous factor's E-value depends on its unit.")
    print(_odds_with_e_values(bu.odds_ratio_table(idata), e_values).to_string(index=False))
    print("\nReading")
    print("\n".join(_reading(summary, e_values)))

    saved = [
        save_figure(
            lambda ax: bu.ppc_plot(summary, idata, seed=args.seed + 3, ax=ax), args.output_dir / "ppc_cases.png"
        ),
        save_figure(
            lambda ax: bu.calibration_plot(idata, seed=args.seed + 4, ax=ax),
            args.output_dir / "calibration.png",
            size=(5.0, 5.0),
        ),
        bu.write_report(idata, args.output_dir / "report.html", seed=args.seed + 3),
    ]
    print_saved(saved, args.output_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
