"""Print the findings of ``bayes_ubpr.audit.audit`` as the Markdown table of docs/audit.md.

python docs/make_audit.py [--full] > findings.md
"""

from __future__ import annotations

import argparse

import pandas as pd

from bayes_ubpr.audit import audit, summary

REFERENCES = {
    "GRIMMER": "Anaya 2016",
    "GRIM": "Brown & Heathers 2017",
    "every VAS": "Anaya 2016",
    "Altman": "Altman & Bland 2011",
    "implied by the ORs": "Prentice & Pyke 1979",
    "fits simulated": "Albert & Anderson 1984 (separation)",
    "marker": "Student / Welch t",
    "chi2": "Pearson chi-square",
    "|t|": "Welch t",
}


def _method(quantity: str) -> str:
    return next((ref for key, ref in REFERENCES.items() if key in quantity), "arithmetic")


def _markdown(frame: pd.DataFrame) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return "" if pd.isna(value) else f"{value:.4g}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the summary by severity and the flagged findings, each with its method's reference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="4,000 simulated samples per check instead of 400")
    args = parser.parse_args(argv)
    findings = audit(full=args.full)
    print(_markdown(summary(findings)))
    print()
    flagged = findings[findings["severity"] != "ok"].copy()
    order = {"inconsistent": 0, "implausible": 1, "note": 2}
    flagged = flagged.sort_values("severity", key=lambda s: s.map(order), kind="stable")
    flagged["method"] = flagged["quantity"].map(_method)
    flagged["probability"] = flagged["probability"].map(lambda p: "" if pd.isna(p) else f"{p:.2g}")
    columns = ["severity", "table", "quantity", "factor", "printed", "recomputed", "probability", "method"]
    print(_markdown(flagged[columns]))


if __name__ == "__main__":
    main()
