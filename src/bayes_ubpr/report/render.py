"""A report's sections as one self-contained HTML page (screen and print stylesheets) or as Markdown.

The HTML fits its column at any width: every table is at most as wide as
the column and wraps its cells (between words; inside a word only where one
word alone is wider than its column can be), short cells such as "0.995" or
">0.999" never wrap, figures shrink to the column, and the print stylesheet sets A4 portrait
margins, drops scrolling and keeps tables and figures off page breaks where
it can (figures and tables of up to :data:`KEEP_TOGETHER_ROWS` rows whole, a heading and its text with what
follows them).
"""

from __future__ import annotations

import html
import re

import pandas as pd

from bayes_ubpr.report.content import Image, Points, Section, Table

__all__ = ["STYLE", "markdown_text", "render_html", "render_markdown"]

WIDE_TABLE_CHARACTERS = 100
"""A table whose columns' widest cells add up to more characters than this spans the whole column."""

KEEP_TOGETHER_ROWS = 15
"""In print, a table of at most this many rows is kept on one page; a longer one may break between rows (its
header repeated on the next page)."""

SHORT_CELL_CHARACTERS = 10
"""Columns whose every cell is at most this long ("0.995", ">0.999", "5,470") never wrap; the others wrap between
words, and inside a word only where a word alone is wider than the column could be."""

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0;
       line-height: 1.45; }
main { max-width: 1100px; margin: 2em auto; padding: 0 24px; box-sizing: border-box; }
h1 { font-size: 1.6em; }
h1.part { font-size: 1.4em; margin-top: 2.5em; padding-top: 0.6em; border-top: 3px double #999; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
p.note { color: #444; }
section.summary { background: #f3f6fa; border: 1px solid #c9d6e6; border-radius: 6px; padding: 0.1em 1.2em 0.6em; }
section.summary h2 { border-bottom: none; }
ul.points li { margin: 0.25em 0; }
nav.contents { font-size: 0.9em; color: #444; }
nav.contents ol { columns: 2; margin: 0.3em 0; }
.table-wrap { max-width: 100%; }
table.table { border-collapse: collapse; font-size: 0.85em; max-width: 100%; margin: 0.4em 0 1em; }
table.table.wide { width: 100%; }
table.table th, table.table td { padding: 3px 8px; border-bottom: 1px solid #e4e4e4; text-align: left;
                                 vertical-align: top; overflow-wrap: anywhere; }
table.table th { border-bottom: 2px solid #bbb; font-weight: 600; overflow-wrap: break-word; }
table.table .num { text-align: right; }
table.table .short { white-space: nowrap; }
figure { margin: 0.6em 0 1.2em; max-width: 100%; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 0.85em; color: #555; margin-top: 0.3em; }
@page { size: A4 portrait; margin: 14mm 12mm; }
@media print {
  body { font-size: 9.5pt; }
  main { max-width: none; margin: 0; padding: 0; }
  nav.contents { display: none; }
  .table-wrap { overflow: visible; }
  table.table { font-size: 8.5pt; }
  figure, tr, section.summary, table.table.keep, div.keep { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  h1, h2, p.note { break-after: avoid; page-break-after: avoid; }
  h1.part { break-before: page; page-break-before: always; border-top: none; margin-top: 0; }
  figure img { max-width: 100%; max-height: 200mm; width: auto; }
  section.summary { background: none; }
}
"""
"""The report's stylesheet: a column of at most 1,100 px on screen; A4 portrait in print."""


def _anchor(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"
    anchor, k = base, 2
    while anchor in taken:
        anchor, k = f"{base}-{k}", k + 1
    taken.add(anchor)
    return anchor


def _html_table(table: Table) -> str:
    frame = table.frame
    lengths = [max([len(str(v)) for v in frame[c]] + [0]) for c in frame.columns]
    wide = sum(max(n, len(str(c)) // 2) for n, c in zip(lengths, frame.columns, strict=True)) > WIDE_TABLE_CHARACTERS
    numeric = set(table.numeric)
    kinds = []
    for column, n in zip(frame.columns, lengths, strict=True):
        names = (["num"] if column in numeric else []) + (["short"] if n <= SHORT_CELL_CHARACTERS else [])
        kinds.append(f' class="{" ".join(names)}"' if names else "")
    classes = "table" + (" wide" if wide else "") + (" keep" if len(frame) <= KEEP_TOGETHER_ROWS else "")
    parts = [f'<table class="{classes}">']
    head_class = ' class="num"'
    heads = "".join(f"<th{head_class if c in numeric else ''}>{html.escape(str(c))}</th>" for c in frame.columns)
    parts.append(f"<thead><tr>{heads}</tr></thead><tbody>")
    for row in frame.itertuples(index=False):
        cells = "".join(f"<td{kind}>{html.escape(str(v))}</td>" for v, kind in zip(row, kinds, strict=True))
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</tbody></table>")
    return '<div class="table-wrap">' + "".join(parts) + "</div>"


def _html_block(block: object, heading: str) -> str:
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Image):
        caption = f"<figcaption>{html.escape(block.caption)}</figcaption>" if block.caption else ""
        return f'<figure><img alt="{html.escape(heading)}" src="data:image/png;base64,{block.png}">{caption}</figure>'
    if isinstance(block, Points):
        return '<ul class="points">' + "".join(f"<li>{html.escape(item)}</li>" for item in block.items) + "</ul>"
    return f'<p class="note">{html.escape(str(block))}</p>'


APPENDIX_TITLE = "Technical appendix"


def render_html(title: str, sections: list[Section], footer: str) -> str:
    """Return the sections as one self-contained HTML page: contents, main part, technical appendix, footer."""
    taken: set[str] = set()
    anchors = [_anchor(section.title, taken) for section in sections]
    appendix_anchor = _anchor(APPENDIX_TITLE, taken)
    items = []
    in_appendix = False
    for section, anchor in zip(sections, anchors, strict=True):
        if section.appendix and not in_appendix:
            in_appendix = True
            items.append(f'<li><a href="#{appendix_anchor}">{APPENDIX_TITLE}</a></li>')
        if not section.appendix:
            items.append(f'<li><a href="#{anchor}">{html.escape(section.title)}</a></li>')
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{html.escape(title)}</h1>",
        f'<nav class="contents"><strong>Contents</strong><ol>{"".join(items)}</ol></nav>',
    ]
    in_appendix = False
    for section, anchor in zip(sections, anchors, strict=True):
        if section.appendix and not in_appendix:
            in_appendix = True
            parts.append(f'<h1 class="part" id="{appendix_anchor}">{APPENDIX_TITLE}</h1>')
            parts.append(
                '<p class="note">What a statistician audits: the priors, the sampler\'s diagnostics, every '
                "coefficient beside maximum likelihood, posterior-predictive checks, predictive performance and "
                "leave-one-out cross-validation.</p>"
            )
        css = ' class="summary"' if section.summary else ""
        parts.append(f'<section id="{anchor}"{css}>')
        blocks = list(section.blocks)
        lead = 0
        while lead < len(blocks) and isinstance(blocks[lead], str):
            lead += 1
        heading = f"<h2>{html.escape(section.title)}</h2>"
        if lead < len(blocks) and isinstance(blocks[lead], Image):  # in print, a figure's heading stays with it
            held = "".join(_html_block(block, section.title) for block in blocks[: lead + 1])
            parts.append(f'<div class="keep">{heading}{held}</div>')
            blocks = blocks[lead + 1 :]
        else:
            parts.append(heading)
        parts.extend(_html_block(block, section.title) for block in blocks)
        parts.append("</section>")
    parts.append(f'<footer><p class="note">{html.escape(footer)}</p></footer></main></body></html>')
    return "\n".join(parts)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|!~&])")


def markdown_text(value: object) -> str:
    r"""Return text shown as itself in Markdown: markup characters backslash-escaped, on one line.

    Examples
    --------
    >>> markdown_text("a_b | <c>")
    'a\\_b \\| \\<c\\>'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(markdown_text, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(markdown_text(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def _markdown_block(block: object, heading: str) -> str:
    if isinstance(block, Table):
        return _markdown_table(block.frame)
    if isinstance(block, Image):
        image = f"![{markdown_text(heading)}](data:image/png;base64,{block.png})"
        return image + (f"\n\n*{markdown_text(block.caption)}*" if block.caption else "")
    if isinstance(block, Points):
        return "\n".join(f"- {markdown_text(item)}" for item in block.items)
    return markdown_text(block)


def render_markdown(title: str, sections: list[Section], footer: str) -> str:
    """Return the sections as Markdown: the same sections and tables, figures as inline PNGs."""
    parts = [f"# {markdown_text(title)}"]
    in_appendix = False
    for section in sections:
        if section.appendix and not in_appendix:
            in_appendix = True
            parts.append(f"# {APPENDIX_TITLE}")
        parts.append(f"## {markdown_text(section.title)}")
        parts.extend(_markdown_block(block, section.title) for block in section.blocks)
    parts.append(markdown_text(footer))
    return "\n\n".join(parts) + "\n"
