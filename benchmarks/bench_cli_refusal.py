"""Benchmark: how long the command line takes to refuse a bad argument, against importing PyMC.

Before issue 25 every refusal imported the whole package, PyMC and ArviZ
included, before it looked at the arguments: 7-9 s on a busy machine for
``bayes-ubpr fit cohort.csv --chains 0``. The arguments are now checked with
the standard library alone, so a refusal should take a small fraction of
``python -c "import pymc"``, the old floor.

Each refusal below runs in a fresh process (as a user's shell starts it),
alternating with ``python -c "import pymc"`` so that the ratio of each pair
is measured under the same load; printed: the median seconds of each, and
the median ratio (goal: well below 0.2). The exit code (2) and the one-line
message are checked on every run.

Run:  python benchmarks/bench_cli_refusal.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFUSALS = {
    "a number out of range": ["fit", "cohort.csv", "--chains", "0"],
    "a missing input file": ["fit", "absent.csv"],
    "options that exclude each other": ["select", "cohort.csv", "--formula", "y ~ x", "--factors", "a"],
    "an output folder that is a file": ["calibrate", "--out", "cohort.csv"],
    "an unknown choice (argparse)": ["fit", "cohort.csv", "--priors", "bold"],
}


def _seconds(command: list[str], folder: Path, *, expect: int) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=600)
    seconds = time.perf_counter() - start
    if result.returncode != expect:
        raise SystemExit(f"{' '.join(command)}: exit {result.returncode}, expected {expect}\n{result.stderr}")
    if expect == 2 and len(result.stderr.splitlines()) != 1:
        raise SystemExit(f"{' '.join(command)}: the refusal is not one line:\n{result.stderr}")
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="pairs of runs per refusal (default 7)")
    args = parser.parse_args(argv)
    floor = [sys.executable, "-c", "import pymc"]
    print(f"{'refusal':34} {'refusal s':>10} {'import pymc s':>14} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "cohort.csv").write_text("ubpr\n0\n")
        _seconds(floor, folder, expect=0)  # warm the file cache: the first import reads every file from disk
        for what, arguments in REFUSALS.items():
            command = [sys.executable, "-m", "bayes_ubpr.cli", *arguments]
            pairs = [(_seconds(command, folder, expect=2), _seconds(floor, folder, expect=0)) for _ in range(args.runs)]
            refusal = statistics.median(a for a, _ in pairs)
            pymc = statistics.median(b for _, b in pairs)
            ratio = statistics.median(a / b for a, b in pairs)
            print(f"{what:34} {refusal:10.2f} {pymc:14.2f} {ratio:7.3f}")


if __name__ == "__main__":
    main()
