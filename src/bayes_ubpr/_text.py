"""Plain-text tables for terminals and logs, shared by every stage that prints one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["format_interval", "text_table"]


def format_interval(center: float, lower: float, upper: float) -> str:
    """Return ``"center (lower to upper)"`` to three significant digits, or "-" for a missing value.

    Three digits are what the Monte Carlo error of a few thousand draws
    supports; stored values keep full precision.

    Examples
    --------
    >>> format_interval(3.1234, 1.2, 9.87)
    '3.12 (1.2 to 9.87)'
    """
    if np.isnan(center):
        return "-"
    return f"{center:.3g} ({lower:.3g} to {upper:.3g})"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Return the rows under the header, each column left-aligned to its widest cell.

    Examples
    --------
    >>> print(text_table(["a", "bb"], [["ccc", "d"]]))
    a    bb
    ccc  d
    """
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in [header, *rows]
    )
