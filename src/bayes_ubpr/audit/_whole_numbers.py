"""GRIM and GRIMMER for the summaries in Tables 2-4 that could come from whole-number data.

:func:`check_granularity`, public through :mod:`bayes_ubpr.audit.within`;
the kernels are in :mod:`bayes_ubpr.audit.granularity`.
"""

from __future__ import annotations

import math

import pandas as pd

from bayes_ubpr.audit._rows import GROUP_SIZE, GROUPS, Check, frame, half_unit, number, printed_table
from bayes_ubpr.audit._tables import TABLE4_COLUMNS, TIME_COLUMNS, severity_of
from bayes_ubpr.audit.granularity import grim, grimmer

GRIM_REF = "GRIM, Brown & Heathers 2017, doi:10.1177/1948550616673876"
GRIMMER_REF = "GRIMMER, Anaya 2016, doi:10.7287/peerj.preprints.2400v1"

#: Summaries that could come from whole-number data: (table, source, factor or time, quantity label,
#: bounds, assumption). Table 4's BMD T-scores and cement volumes are measured to a decimal and left out.
_WHOLE_NUMBER_SUMMARIES: dict[str, tuple[tuple[int | None, int | None], str]] = {
    "age": ((None, None), "ages recorded in whole years"),
    "height_cm": ((None, None), "heights recorded in whole centimetres"),
    "weight_kg": ((None, None), "weights recorded in whole kilograms"),
    "n_fractures": ((1, None), "the number of fractures is a count of at least 1"),
}
_VAS = ((0, 10), "VAS recorded as whole numbers 0-10 (if read to 0.1 on a 100 mm line, these rows do not apply)")
_ODI = ((0, 100), "ODI recorded as a whole-number percentage 0-100")
#: Lower bounds that the paper's own criteria put on Table 2 (whole-number VAS): the inclusion
#: criterion (VAS > 6 before surgery) and the UBPR definition (VAS > 4 immediately and at 1 month).
_VAS_CRITERIA = {
    ("preoperative", "satisfactory"): (7, "inclusion criterion VAS > 6 (Table 1)"),
    ("preoperative", "unsatisfactory"): (7, "inclusion criterion VAS > 6 (Table 1)"),
    ("immediate", "unsatisfactory"): (5, "UBPR defined as VAS > 4 immediately after the operation"),
    ("1_month", "unsatisfactory"): (5, "UBPR defined as VAS > 4 one month after the operation"),
}


def _granularity_checks(
    table: str, factor: str, group: str, mean: str, sd: str, bounds: tuple[int | None, int | None], assumption: str
) -> list[Check]:
    checks = []
    mean_ok = grim(mean, GROUP_SIZE, bounds=bounds)
    checks.append(
        Check(
            table,
            f"GRIM: {group} mean",
            factor,
            number(mean),
            number(mean) * GROUP_SIZE,
            "possible" if mean_ok else "no whole-number total gives it",
            severity_of(mean_ok),
            (
                f"{GROUP_SIZE} x {mean} = {number(mean) * GROUP_SIZE:.2f}; "
                + (
                    "a whole-number total rounds to the printed mean"
                    if mean_ok
                    else "no whole number / 60 rounds to it"
                )
                + f" ({GRIM_REF})"
            ),
            assumption=assumption,
        )
    )
    if not mean_ok:  # GRIMMER needs a GRIM-consistent mean; its row would only repeat the GRIM finding
        return checks
    sd_ok = grimmer(mean, sd, GROUP_SIZE, bounds=bounds)
    checks.append(
        Check(
            table,
            f"GRIMMER: {group} SD",
            factor,
            number(sd),
            math.nan,
            "possible" if sd_ok else "no whole-number data give mean and SD",
            severity_of(sd_ok),
            (
                ("some" if sd_ok else "no")
                + f" {GROUP_SIZE} whole numbers"
                + (f" in {bounds[0]}..{bounds[1] if bounds[1] is not None else ''}" if bounds[0] is not None else "")
                + f" have mean {mean} and SD {sd} within rounding"
                + ("" if sd_ok else " (no whole sum of squares of the right parity fits)")
                + f" ({GRIMMER_REF})"
            ),
            assumption=assumption,
        )
    )
    return checks


def check_granularity(
    table4: pd.DataFrame | None = None, table2: pd.DataFrame | None = None, table3: pd.DataFrame | None = None
) -> pd.DataFrame:
    """GRIM and GRIMMER for every mean and SD in Tables 2-4 that could come from whole-number data.

    Table 4: age (whole years), height (whole cm), weight (whole kg) and the
    number of fractures (a count of at least 1). Table 2: the VAS (whole
    numbers 0-10), also with the lower bounds the paper's inclusion
    criterion (VAS > 6 before surgery) and UBPR definition (VAS > 4
    immediately and at one month, cases only) impose. Table 3: the ODI
    (whole-number percent). Each row states the assumption it rests on;
    BMD T-scores and cement volumes, measured to a decimal, are not tested.

    Parameters
    ----------
    table4, table2, table3 : pandas.DataFrame, optional
        The tables as printed (string cells); default the paper's.

    Returns
    -------
    pandas.DataFrame
        A GRIM row and (when the mean passes GRIM) a GRIMMER row per group
        and quantity, then the criterion rows for Table 2.

    Raises
    ------
    TypeError, ValueError
        If a table is not a DataFrame or lacks a column.

    References
    ----------
    Brown NJL, Heathers JAJ (2017). The GRIM test. Social Psychological and
    Personality Science 8(4):363-369. doi:10.1177/1948550616673876

    Anaya J (2016). The GRIMMER test. PeerJ Preprints 4:e2400v1.
    doi:10.7287/peerj.preprints.2400v1

    Examples
    --------
    >>> from bayes_ubpr.audit.within import check_granularity
    >>> rows = check_granularity().set_index(["quantity", "factor"])
    >>> rows.loc[("GRIM: satisfactory mean", "age"), "severity"]
    'inconsistent'
    """
    from bayes_ubpr.paper import as_printed

    loaded: dict[str, pd.DataFrame] = {}
    for key, given, columns in (
        ("table4", table4, TABLE4_COLUMNS),
        ("table2", table2, TIME_COLUMNS),
        ("table3", table3, TIME_COLUMNS),
    ):
        loaded[key] = printed_table(as_printed(key) if given is None else given, name=key, required=columns)
    checks: list[Check] = []
    for factor, (bounds, assumption) in _WHOLE_NUMBER_SUMMARIES.items():
        if factor not in loaded["table4"].index:
            continue
        row = loaded["table4"].loc[factor]
        for group in GROUPS:
            checks += _granularity_checks(
                "Table 4", factor, group, row[f"{group}_mean"], row[f"{group}_sd"], bounds, assumption
            )
    for key, label, (bounds, assumption) in (("table2", "Table 2", _VAS), ("table3", "Table 3", _ODI)):
        for time, row in loaded[key].iterrows():
            for group in GROUPS:
                checks += _granularity_checks(
                    label, str(time), group, row[f"{group}_mean"], row[f"{group}_sd"], bounds, assumption
                )
    for (time, group), (low, criterion) in _VAS_CRITERIA.items():
        if time in loaded["table2"].index:
            row = loaded["table2"].loc[time]
            checks.append(_criterion_check(time, group, row[f"{group}_mean"], row[f"{group}_sd"], low, criterion))
    return frame(checks)


def _criterion_check(time: str, group: str, mean: str, sd: str, low: int, criterion: str) -> Check:
    """Whether whole-number VAS of at least ``low`` (as a criterion of the paper demands) give mean and SD."""
    high = _VAS[0][1]
    ok = grimmer(mean, sd, GROUP_SIZE, bounds=(low, high))
    if ok:
        detail = f"some {GROUP_SIZE} whole numbers in {low}..{high} have mean {mean} and SD {sd}"
    elif number(mean) + half_unit(mean) < low:
        detail = f"the printed mean {mean} is below {low}, the smallest value the criterion allows"
    else:
        detail = f"no {GROUP_SIZE} whole numbers in {low}..{high} have mean {mean} and SD {sd}"
    return Check(
        "Table 2",
        f"{group} mean and SD with every VAS >= {low}",
        time,
        number(mean),
        float(low),
        "possible" if ok else "impossible under the criterion",
        severity_of(ok),
        f"{criterion}: {detail} ({GRIMMER_REF})",
        assumption=f"{_VAS[1]}; {criterion}",
    )
