"""Checks within each table: every printed number against what the table's other numbers determine.

Each function takes the table *as printed* (string cells, so that ``0.60``
keeps its two decimals) and returns audit rows (see
:data:`bayes_ubpr.audit.AUDIT_COLUMNS`). With no argument it audits the
paper's table; any table with the same columns (a simulated paper, a
corrected copy) can be audited the same way.

Each table's checks live in a private module of their own (``_table5``,
``_table4``, ``_time_course``, ``_whole_numbers``); import them from here.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from bayes_ubpr.audit._table4 import check_table4, chi_square, t_range
from bayes_ubpr.audit._table5 import check_table5
from bayes_ubpr.audit._time_course import check_time_course
from bayes_ubpr.audit._whole_numbers import check_granularity

__all__ = [
    "check_granularity",
    "check_table4",
    "check_table5",
    "check_time_course",
    "chi_square",
    "t_range",
]

CHECKS: dict[str, Callable[..., pd.DataFrame]] = {
    "table5": check_table5,
    "table4": check_table4,
    "time_course": check_time_course,
    "granularity": check_granularity,
}
