"""The abstract's and the text's numerical claims, against the tables and against each other.

Each claim is quoted with where it stands in the paper. The claims are the
paper's own, so this module only audits the paper; the tables they are
compared with can be passed in (a corrected or corrupted copy) like the
other checks'.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from bayes_ubpr.audit._rows import GROUP_SIZE, ROUNDING, Check, frame, half_unit, number, printed_table
from bayes_ubpr.paper import N_CASES, N_PATIENTS

__all__ = ["check_text"]

_TEXT = "Text"
_VS4 = "Text vs Table 4"
_VS5 = "Text vs Table 5"
_VS2 = "Text vs Tables 2-3"

N_SATISFIED = 1256
"""Discussion: satisfactory relief in '95.3% (1,256 of 1,316)'."""

VERTEBRAE = (613, 863)
"""Methods: '613 thoracic vertebrae and 863 lumbar vertebrae fractures'."""

ABSTRACT_UNIVARIATE = (
    "bmd_tscore_abs",
    "n_fractures",
    "cement_distribution_poor",
    "cement_volume_ml",
    "fascia_injury",
    "depression",
)
"""Abstract: 'Univariate analyses showed that preoperative BMD, number of fractures, cement distribution and
volume injected per level, lumbodorsal fascia contusion, and depression were associated with UBPR (P < 0.001)'."""

RESULTS_P01 = ("fascia_injury", "depression", "cement_distribution_poor")
"""Results: 'The presence of thoracolumbar fascia injury, depression, and cement distribution were significantly
different between groups (P < 0.01)'."""

NOT_SIGNIFICANT = ("sex_male", "age", "bilateral_approach", "general_anesthesia", "hypertension", "diabetes", "copd")
"""Results: 'no statistically significant difference in the demographic characteristics (gender, age, ...);
unilateral or bilateral approach; local or general anesthesia; and comorbidities, such as hypertension, diabetes,
and COPD'."""

RESULTS_SUMMARIES = {
    "bmd_tscore_abs": ("-3.29", "0.33", "-3.04", "0.25"),
    "cement_volume_ml": ("4.75", "0.65", "5.55", "0.46"),
    "n_fractures": ("2.17", "0.78", "1.37", "0.60"),
}
"""Results: case and control mean and SD with 'P < 0.0001' for BMD (T-score), cement volume and OVCF count."""

MULTIVARIATE = {
    # factor: (abstract OR, abstract P bound or value, Results CI lower, Results CI upper, Results P)
    "bmd_tscore_abs": ("3.577", "0.029", "1.138", "11.25", "0.029"),
    "fascia_injury": ("3.805", "0.002", "1.661", "8.717", "0.002"),
    "n_fractures": ("3.440", "<0.001", "1.907", "6.206", "<0.0001"),
    "cement_volume_ml": ("0.079", "<0.001", "0.036", "0.172", "<0.0001"),
    "cement_distribution_poor": ("3.009", "0.013", "1.264", "7.1630", "0.013"),
    "depression": ("3.426", "0.028", "1.145", "10.2550", "0.028"),
}
"""Abstract and Results (Multivariate Analysis) odds ratios, P values and 95% CIs."""

LITERATURE = (
    ("Layton et al (19): 7 rib fractures in 673 procedures", 7, 673, "1"),
    ("Evans et al (20): 7 in 245 patients", 7, 245, "2.9"),
    ("Jensen et al (6): 2 in 29 patients", 2, 29, "6.9"),
    ("Eck et al (21): cement leakage in 1,838 of 9,330 vertebral bodies", 1838, 9330, "19.7"),
    ("Eck et al (21): symptomatic leakage in 65 of 4,125", 65, 4125, "1.6"),
    ("Eck et al (21): new compression fractures in 565 of 3,159", 565, 3159, "17.9"),
)
"""Discussion: percentages quoted from other studies, with their counts."""


def _check(
    table: str,
    quantity: str,
    factor: str,
    printed: float,
    recomputed: float,
    ok: bool,
    reason: str,
    *,
    assumption: str = ROUNDING,
    bad: str = "inconsistent",
    probability: float = math.nan,
) -> Check:
    return Check(
        table,
        quantity,
        factor,
        printed,
        recomputed,
        "agrees" if ok else "disagrees",
        "ok" if ok else bad,
        reason,
        assumption=assumption,
        probability=math.nan if ok else probability,
    )


def _percent(count: int, total: int, printed: str) -> tuple[float, bool]:
    value = 100 * count / total
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return value, abs(value - float(printed)) <= 0.5 * 10.0**-decimals + 1e-12


def _p_satisfies(p: float, claim: str) -> bool:
    """Whether a P (0 standing for a printed 0.000, i.e. < 0.0005) satisfies a claim 'P < x' or 'P = x'."""
    if claim.startswith("<"):
        bound = float(claim[1:])
        return p < bound if p > 0 else bound >= 0.0005
    return abs(p - float(claim)) <= 0.5 * 10.0 ** -len(claim.split(".")[1]) + 1e-12


def _counts_and_rates(t4: pd.DataFrame) -> list[Check]:
    males = int(number(t4.loc["sex_male", "unsatisfactory_n1"]))
    satisfied_pct, satisfied_ok = _percent(N_SATISFIED, N_PATIENTS, "95.3")
    prevalence, prevalence_ok = _percent(N_CASES, N_PATIENTS, "4.6")
    checks = [
        _check(
            "Text vs Table 4",
            "male cases",
            "sex_male",
            41,
            males,
            males == 41,
            f"Results: '41 male patients and 19 female patients' among the cases; Table 4 has {males} male and "
            f"{int(number(t4.loc['sex_male', 'unsatisfactory_n0']))} female",
        ),
        _check(
            _TEXT,
            "female + male patients",
            "",
            842 + 474,
            N_PATIENTS,
            N_PATIENTS == 842 + 474,
            "Methods: '842 female patients and 474 male patients' of 1,316",
        ),
        _check(
            _TEXT,
            "satisfactory relief, %",
            "",
            95.3,
            satisfied_pct,
            satisfied_ok,
            f"Discussion: '95.3% (1,256 of 1,316)'; 1,256 / 1,316 = {satisfied_pct:.2f}%",
        ),
        _check(
            _TEXT,
            "satisfied patients = all minus cases",
            "",
            N_SATISFIED,
            N_PATIENTS - N_CASES,
            N_SATISFIED == N_PATIENTS - N_CASES,
            "Discussion: 1,256 satisfied; 1,316 - 60 = 1,256",
        ),
        _check(
            _TEXT,
            "prevalence, %",
            "",
            4.6,
            prevalence,
            prevalence_ok,
            f"Abstract and Results: 4.6%; 60 / 1,316 = {prevalence:.2f}%",
        ),
        _check(
            _TEXT,
            "end of the study period (year)",
            "",
            2015,
            2016,
            False,
            "Abstract: March 2013 to January 2015; Methods: March 2013 to January 2016",
            assumption="the abstract and the Methods describe the same cohort",
        ),
    ]
    for label, count, total, printed in LITERATURE:
        value, ok = _percent(count, total, printed)
        checks.append(
            _check(_TEXT, "quoted rate, %", "", float(printed), value, ok, f"Discussion: {label} ({printed}%)")
        )
    return checks


def _fractures(t4: pd.DataFrame) -> Check:
    """Methods' vertebra count against Table 4's numbers of fractures, for controls drawn at random."""
    row = t4.loc["n_fractures"]
    control_mean, control_sd = number(row["satisfactory_mean"]), number(row["satisfactory_sd"])
    case_mean = number(row["unsatisfactory_mean"])
    half = [half_unit(row[c]) for c in ("satisfactory_mean", "satisfactory_sd", "unsatisfactory_mean")]
    total = sum(VERTEBRAE)
    # every rounding taken in the direction that makes the controls look least unusual
    satisfied_mean = (total - N_CASES * (case_mean - half[2])) / N_SATISFIED
    fpc = math.sqrt((N_SATISFIED - GROUP_SIZE) / (N_SATISFIED - 1))
    se = (control_sd + half[1]) / math.sqrt(GROUP_SIZE) * fpc
    z = (control_mean - half[0] - satisfied_mean) / se
    probability = float(2 * stats.norm.sf(abs(z)))
    ok = probability >= 0.05
    return _check(
        _VS4,
        "treated vertebrae per patient",
        "n_fractures",
        total / N_PATIENTS,
        control_mean,
        ok,
        f"Methods: 613 thoracic + 863 lumbar = {total} fractures for 1,316 patients ({total / N_PATIENTS:.2f} each). "
        f"Less the cases' {N_CASES} x {case_mean} leaves {satisfied_mean:.3f} per satisfied patient, yet the 60 "
        f"controls drawn at random from them average {control_mean} (z = {z:.1f} with the printed SD {control_sd} "
        "and the finite-population correction)",
        assumption=(
            "the controls are a simple random sample of the 1,256 satisfied patients (Results) and 613 + 863 counts "
            "every fracture of the 1,316; the satisfied patients' SD is at most the controls' printed SD"
        ),
        bad="implausible",
        probability=probability,
    )


def _ages(t4: pd.DataFrame) -> list[Check]:
    """Results: the cases' age range 68-85 against their printed mean and SD, and the Methods' 61-87."""
    low, high = 68, 85
    mean, sd = number(t4.loc["age", "unsatisfactory_mean"]), number(t4.loc["age", "unsatisfactory_sd"])
    largest = math.sqrt((mean - low) * (high - mean) * GROUP_SIZE / (GROUP_SIZE - 1))
    # a lower bound: both ends are reached, whatever the other values are
    smallest = math.sqrt(((high - mean) ** 2 + (low - mean) ** 2) / (GROUP_SIZE - 1))
    ok = low <= mean <= high and smallest - 0.005 <= sd <= largest + 0.005
    return [
        _check(
            _VS4,
            "case age SD within what the age range 68-85 allows",
            "age",
            sd,
            largest,
            ok,
            f"Results: cases aged 68-85; with mean {mean} their SD can be {smallest:.2f} to {largest:.2f} "
            f"(Bhatia & Davis 2000, doi:10.2307/2589180); printed {sd}",
        ),
        _check(
            _TEXT,
            "case age range within the cohort's",
            "age",
            68,
            61,
            low >= 61 and high <= 87,
            "Results: cases aged 68-85; Methods: all patients aged 61-87",
        ),
    ]


def _univariate_claims(t4: pd.DataFrame) -> list[Check]:
    checks = []
    for claim, factors, where in (
        ("<0.001", ABSTRACT_UNIVARIATE, "Abstract: univariate analyses 'P < 0.001'"),
        ("<0.01", RESULTS_P01, "Results: 'significantly different between groups (P < 0.01)'"),
    ):
        for factor in factors:
            p = number(t4.loc[factor, "p"])
            ok = _p_satisfies(p, claim)
            shown = "0.000" if p == 0 else f"{p:.3f}"
            checks.append(
                _check(
                    _VS4,
                    f"univariate P {claim.replace('<', '< ')}",
                    factor,
                    float(claim[1:]),
                    p,
                    ok,
                    f"{where}; Table 4 prints P = {shown}",
                )
            )
    for factor in NOT_SIGNIFICANT:
        p = number(t4.loc[factor, "p"])
        checks.append(
            _check(
                _VS4,
                "no significant difference (P >= 0.05)",
                factor,
                0.05,
                p,
                p >= 0.05,
                f"Results: 'no statistically significant difference'; Table 4 prints P = {p:.3f}",
            )
        )
    checks.append(
        Check(
            _VS4,
            "no significant difference in body mass index and vertebral height",
            "",
            math.nan,
            math.nan,
            "not in Table 4",
            "note",
            "Results name body mass index and vertebral height among the demographics; Table 4 has height and "
            "weight but neither BMI nor vertebral height, so the claim cannot be checked",
        )
    )
    for factor, (case_mean, case_sd, control_mean, control_sd) in RESULTS_SUMMARIES.items():
        row = t4.loc[factor]
        pairs = [
            (abs(float(case_mean)), number(row["unsatisfactory_mean"])),
            (float(case_sd), number(row["unsatisfactory_sd"])),
            (abs(float(control_mean)), number(row["satisfactory_mean"])),
            (float(control_sd), number(row["satisfactory_sd"])),
        ]
        ok = all(abs(a - b) < 1e-9 for a, b in pairs)
        df = 2 * GROUP_SIZE - 2
        p = float(2 * stats.t.sf(abs(number(row["statistic"])), df=df))
        checks.append(
            _check(
                _VS4,
                "Results' means and SDs, P < 0.0001",
                factor,
                abs(float(case_mean)),
                number(row["unsatisfactory_mean"]),
                ok and p < 0.0001,
                f"Results: cases {case_mean} ± {case_sd}, controls {control_mean} ± {control_sd}, P < 0.0001; "
                f"Table 4 prints the same summaries, and its t gives P = {p:.1g}",
                assumption="the text's P comes from Table 4's t statistic (118 df)",
            )
        )
    checks.append(
        Check(
            _VS4,
            "sign of the BMD T-scores",
            "bmd_tscore_abs",
            number(t4.loc["bmd_tscore_abs", "unsatisfactory_mean"]),
            -number(t4.loc["bmd_tscore_abs", "unsatisfactory_mean"]),
            "sign dropped in Table 4",
            "note",
            "Results: T-scores -3.29 and -3.04; Table 4 prints 3.29 and 3.04 (magnitudes; the package stores "
            "them as |T-score|)",
        )
    )
    return checks


def _multivariate_claims(t5: pd.DataFrame) -> list[Check]:
    checks = []
    for factor, (odds_ratio, p_claim, lower, upper, p_results) in MULTIVARIATE.items():
        row = t5.loc[factor]
        p_wald = float(stats.chi2.sf(number(row["wald"]), df=1))
        p_table = number(row["p"]) if number(row["p"]) > 0 else p_wald
        equal = [
            abs(float(odds_ratio) - number(row["odds_ratio"])) < 1e-9,
            abs(float(lower) - number(row["ci_lower"])) < 1e-9,
            abs(float(upper) - number(row["ci_upper"])) < 1e-9,
            _p_satisfies(p_table, p_claim),
            _p_satisfies(p_table, p_results),
        ]
        checks.append(
            _check(
                _VS5,
                "abstract and Results OR, 95% CI and P",
                factor,
                float(odds_ratio),
                number(row["odds_ratio"]),
                all(equal),
                f"Abstract: OR {odds_ratio}, P {p_claim}; Results: 95% CI {lower}-{upper}, P {p_results}; Table 5: "
                f"OR {row['odds_ratio']}, CI {row['ci_lower']}-{row['ci_upper']}, P {row['p']} "
                f"(from its Wald statistic {p_wald:.2g})",
            )
        )
    for factor, quoted in (("fascia_injury", "3.805"), ("depression", "3.426")):
        shown = number(t5.loc[factor, "odds_ratio"])
        checks.append(
            _check(
                _VS5,
                "Discussion OR",
                factor,
                float(quoted),
                shown,
                abs(float(quoted) - shown) < 1e-9,
                f"Discussion: 'with an OR of {quoted}'; Table 5 prints {shown}",
            )
        )
    volume = number(t5.loc["cement_volume_ml", "odds_ratio"])
    distribution = number(t5.loc["cement_distribution_poor", "odds_ratio"])
    checks.append(
        Check(
            _VS5,
            "'the OR of cement distribution was higher than that of cement volume'",
            "cement_volume_ml",
            distribution,
            1 / volume,
            "compares ORs in different units",
            "note",
            f"Discussion reads OR {distribution} (unsatisfactory vs satisfactory distribution) as stronger than OR "
            f"{volume} per mL; the volume OR is protective, and per mL less cement it is {1 / volume:.1f}, "
            "larger than the distribution's; ORs of factors on different scales do not rank their importance",
        )
    )
    checks.append(
        Check(
            "Table 5",
            "footnote 'B, baseline'",
            "",
            math.nan,
            math.nan,
            "misnamed column",
            "note",
            "B is the regression coefficient (log odds ratio per unit), as OR = exp(B) in every row confirms, "
            "not a baseline",
        )
    )
    return checks


def _time_course_claims(t2: pd.DataFrame) -> list[Check]:
    times = ", ".join(t2["time"].astype(str))
    vas = t2.set_index("time")
    last = vas.loc["12_months"] if "12_months" in vas.index else None
    checks = [
        Check(
            _VS2,
            "'significant differences at 1 week, 1 month, and 3 months'",
            "",
            math.nan,
            math.nan,
            "no 1-week column",
            "note",
            f"Results and Discussion name 1 week; Tables 2 and 3 have {times} and mark 'immediately after "
            "operation', 1 month and 3 months",
        )
    ]
    if last is not None:
        m0, s0 = number(last["satisfactory_mean"]), number(last["satisfactory_sd"])
        m1, s1 = number(last["unsatisfactory_mean"]), number(last["unsatisfactory_sd"])
        t = (m1 - m0) / math.sqrt((s0**2 + s1**2) / GROUP_SIZE)
        p = float(2 * stats.t.sf(abs(t), df=2 * GROUP_SIZE - 2))
        checks.append(
            Check(
                _VS2,
                "'the clinical outcome was comparable at one year'",
                "12_months",
                math.nan,
                p,
                "see the Table 2 marker at 12 months",
                "note" if p < 0.05 else "ok",
                f"Discussion: comparable at one year; Table 2's 12-month VAS ({m1} ± {s1} vs {m0} ± {s0}) gives "
                f"t = {t:.2f}, P = {p:.2g}",
            )
        )
    return checks


def check_text(
    table4: pd.DataFrame | None = None, table5: pd.DataFrame | None = None, table2: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Check the abstract's and the text's numerical claims against the tables and each other.

    Counts and percentages (41 male cases, 842 + 474 patients, 95.3% and
    4.6%, the rates quoted from other studies), the study period, the age
    range, the number of vertebrae against Table 4's numbers of fractures,
    every significance claim (the abstract's univariate 'P < 0.001', the
    Results' 'P < 0.01' and 'no significant difference'), the text's
    summaries and odds ratios against Tables 4 and 5, and claims the tables
    cannot support (a 1-week time point, BMI, an OR ranking across units).

    Parameters
    ----------
    table4, table5, table2 : pandas.DataFrame, optional
        The tables as printed (string cells); default the paper's.

    Returns
    -------
    pandas.DataFrame
        One audit row per claim.

    Raises
    ------
    TypeError, ValueError
        If a table is not a DataFrame or lacks a column.

    References
    ----------
    Bhatia R, Davis C (2000). A better bound on the variance. The American
    Mathematical Monthly 107(4):353-357. doi:10.2307/2589180

    Examples
    --------
    >>> from bayes_ubpr.audit.text import check_text
    >>> rows = check_text().set_index(["quantity", "factor"])
    >>> rows.loc[("univariate P < 0.001", "depression"), "severity"]
    'inconsistent'
    """
    from bayes_ubpr.paper import as_printed

    t4 = printed_table(as_printed("table4") if table4 is None else table4, name="table4", required=["factor", "p"])
    t5 = printed_table(as_printed("table5") if table5 is None else table5, name="table5", required=["factor", "wald"])
    t2 = printed_table(as_printed("table2") if table2 is None else table2, name="table2", required=["time"])
    checks = [
        *_counts_and_rates(t4),
        _fractures(t4),
        *_ages(t4),
        *_univariate_claims(t4),
        *_multivariate_claims(t5),
        *_time_course_claims(t2),
    ]
    return frame(checks)
