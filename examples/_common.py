"""Command-line flags and figure saving shared by the example scripts.

Not an example itself (``tests/test_examples.py`` runs every ``examples/*.py``
whose name does not start with an underscore). Each example imports it as
``_common``: Python puts a script's own directory first on ``sys.path``, so
``python examples/<name>.py`` finds it from any working directory.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import bayes_ubpr as bu
from bayes_ubpr._io import atomic_path

FIGURE_DPI = 110


def example_parser(docstring: str, *, name: str) -> argparse.ArgumentParser:
    """Return a parser with the flags every example takes.

    Parameters
    ----------
    docstring : str
        The example's module docstring; its first line describes the script.
    name : str
        The example's name; the default output directory is ``output/<name>``.

    Returns
    -------
    argparse.ArgumentParser
        With ``--draws``, ``--tune``, ``--chains``, ``--seed``, ``--output-dir``
        and ``--quick``; add the example's own flags, then call :func:`parse`.
    """
    parser = argparse.ArgumentParser(description=docstring.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000, help="posterior draws per chain (default 1000)")
    parser.add_argument("--tune", type=int, default=1000, help="tuning steps per chain (default 1000)")
    parser.add_argument("--chains", type=int, default=4, help="chains per fit (default 4)")
    parser.add_argument("--seed", type=int, default=2016, help="root seed of the simulation and fits (default 2016)")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("output") / name,
        help=f"where to save tables and figures (default output/{name})",
    )
    parser.add_argument("--quick", action="store_true", help="tiny settings, for smoke tests")
    return parser


def parse(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, *, quick: Mapping[str, object]
) -> argparse.Namespace:
    """Parse ``argv``, apply the ``quick`` settings under ``--quick`` and create the output directory.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        From :func:`example_parser`, with the example's own flags added.
    argv : sequence of str or None
        Arguments; ``None`` reads ``sys.argv``.
    quick : mapping
        Attribute values that ``--quick`` imposes, e.g. ``{"draws": 200}``.
        They override values given on the command line, so a smoke test stays
        small whatever else it passes.

    Returns
    -------
    argparse.Namespace
    """
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in quick.items():
            setattr(args, key, value)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    return args


def paper_like_sample(seed: int) -> pd.DataFrame:
    """Simulate a cohort like the paper's and draw its 1:1 case-control sample, and say so.

    Parameters
    ----------
    seed : int
        Seed of the cohort; the control draw uses ``seed + 1``.

    Returns
    -------
    pandas.DataFrame
        Every case of the simulated 1,316-patient cohort and as many random controls.
    """
    cohort = bu.simulate_cohort(seed=seed)
    sample = bu.case_control_sample(cohort, seed=seed + 1)
    n_cases = sample.attrs["n_cases"]
    print(
        f"Simulated {len(cohort):,} patients like the paper's; case-control sample of all {n_cases} cases "
        f"and {n_cases} random controls (the paper had 60 and 60)."
    )
    return sample


def sampling_options(args: argparse.Namespace) -> dict[str, int]:
    """Return the ``draws``, ``tune`` and ``chains`` keywords that the fitting functions take."""
    return {"draws": args.draws, "tune": args.tune, "chains": args.chains}


def save_figure(draw: Callable[[Axes], object], path: Path, *, size: tuple[float, float] = (6.0, 4.5)) -> Path:
    """Draw on a fresh off-screen Figure and save it; pyplot's global state is never touched.

    Parameters
    ----------
    draw : callable
        Called with the figure's single Axes.
    path : pathlib.Path
        Output file; the suffix picks the format.
    size : tuple of float, default (6.0, 4.5)
        Figure size in inches.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    figure = Figure(figsize=size, layout="constrained")
    draw(figure.subplots())
    return save_figure_file(figure, path)


def save_figure_file(figure: Figure, path: Path) -> Path:
    """Save a drawn Figure atomically (a killed run leaves no half-written file); return ``path``."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=FIGURE_DPI, format=path.suffix.lstrip("."))
    return path


def print_saved(paths: Sequence[Path], output_dir: Path) -> None:
    """Print which files an example wrote, and where."""
    names = [path.name for path in paths]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    print(f"\nSaved {listed} in {output_dir}/")
