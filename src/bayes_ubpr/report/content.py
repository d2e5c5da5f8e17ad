"""What a report is made of, before it is HTML or Markdown: sections of paragraphs, lists, tables and figures."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Block", "Image", "Points", "Section", "Table"]


@dataclass(frozen=True)
class Table:
    """A table of display strings (every number already formatted); ``numeric`` names right-aligned columns."""

    frame: pd.DataFrame
    numeric: tuple[str, ...] = ()


@dataclass(frozen=True)
class Image:
    """A base64 PNG with the line under it (which scale its risks are on, what the marks are)."""

    png: str
    caption: str = ""


@dataclass(frozen=True)
class Points:
    """A list of short statements (the headline's findings)."""

    items: tuple[str, ...]


Block = Table | Image | Points | str
"""One piece of a section: a table, a figure, a list, or a paragraph of text."""


@dataclass(frozen=True)
class Section:
    """A titled part of the report: its blocks in order; ``appendix`` for the technical appendix."""

    title: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    appendix: bool = False
    summary: bool = False
