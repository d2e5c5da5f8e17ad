"""Run the tutorial's code and rewrite the outputs it prints (docs/tutorial.md).

The ```python blocks run in order in one namespace, as a reader runs them in
one Python session. The stdout of each block replaces the ```text block that
directly follows it (only blank lines between); a block without one is run
and its output dropped. Blocks run in a temporary folder, so files they write
(the report, a figure) go there and are deleted; warnings are shown on stderr but do not
stop the run (PyTensor's notice that it found no BLAS is left out, as in
the tests). The figures come from ``docs/make_figures.py``.

Run from the repository root (about a minute on two cores):

    .venv/bin/python docs/run_tutorial.py [--check] [PATH]

``--check`` leaves the file alone, prints a unified diff of what would change
and exits 1 if anything would.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import re
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import matplotlib

from bayes_ubpr._io import atomic_path

TUTORIAL = Path(__file__).parent / "tutorial.md"
BLOCK = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
"""A fenced block: its language and its body (which ends with a newline)."""


def run_blocks(text: str, *, source: str = "tutorial") -> str:
    r"""Run the python blocks of ``text`` and return it with their following text blocks rewritten.

    Parameters
    ----------
    text : str
        Markdown with ```python and ```text fenced blocks.
    source : str, default "tutorial"
        Name of the file, shown in tracebacks and warnings.

    Returns
    -------
    str
        ``text`` with each ```text block that directly follows a ```python
        block replaced by that block's stdout (without trailing spaces);
        everything else unchanged.

    Raises
    ------
    ValueError
        If a block that prints nothing is followed by a ```text block.

    Examples
    --------
    >>> run_blocks("```python\nx = 6 * 7\nprint(x)\n```\n\n```text\nold\n```\n")
    '```python\nx = 6 * 7\nprint(x)\n```\n\n```text\n42\n```\n'
    """
    namespace: dict[str, object] = {"__name__": "__tutorial__"}
    blocks = list(BLOCK.finditer(text))
    pieces, done = [], 0
    for block, following in zip(blocks, [*blocks[1:], None], strict=True):
        if block["lang"] != "python":
            continue
        line = text.count("\n", 0, block.start()) + 2
        print(f"{source}:{line}: running block", file=sys.stderr, flush=True)
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            code = "\n" * (line - 1) + block["body"]  # tracebacks and warnings give the file's line numbers
            exec(compile(code, source, "exec"), namespace)  # the tutorial's own code
        adjacent = following is not None and not text[block.end() : following.start()].strip()
        if following is None or following["lang"] != "text" or not adjacent:
            continue
        output = "".join(f"{row.rstrip()}\n" for row in stdout.getvalue().rstrip().splitlines())
        if not output:
            raise ValueError(f"{source}:{line}: the block prints nothing, but a ```text block follows it")
        pieces += [text[done : following.start("body")], output]
        done = following.end("body")
    return "".join([*pieces, text[done:]])


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the tutorial's outputs, or with ``--check`` show the difference; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=TUTORIAL, help="markdown file (default: the tutorial)")
    parser.add_argument("--check", action="store_true", help="only print a diff; exit 1 if the file would change")
    args = parser.parse_args(argv)
    path = args.path.resolve()
    old = path.read_text(encoding="utf-8")
    matplotlib.use("Agg")  # no window; the tutorial draws off-screen
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        warnings.simplefilter("default")  # shown once per place on stderr, never raised
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS", category=UserWarning)
        new = run_blocks(old, source=path.name)
    if args.check:
        diff = difflib.unified_diff(old.splitlines(True), new.splitlines(True), str(path), f"{path} (regenerated)")
        sys.stdout.writelines(diff)
        return int(new != old)
    if new != old:
        with atomic_path(path) as temporary:
            temporary.write_text(new, encoding="utf-8")
    print(f"{path}: {'rewritten' if new != old else 'already current'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
