"""Picture the HTML report of two fits for docs/posterior.md: on a 1,280 px screen, and the first printed A4 page.

The fits: the paper-style demo (the simulated 1,316-patient cohort of `bayes-ubpr
reproduce`, seed 2016, its 56:56 case-control sample, seed 2017, fitted with the
case-control correction, seed 1) and the own-data cohort of docs/own-data.md
(920 patients of two hospitals, a formula with a spline, an interaction and
surgeons nested in hospitals). Each report is opened in Debian's headless
Chromium (tests/headless.py drives it): a screenshot of the top of the page at
1,280 px, and the report printed to PDF through its print stylesheet, whose
first page is rasterised by poppler's `pdftoppm` where it is installed (else the
print layout at A4 width, as Chromium lays it out for print, stands in; the
script says which). PNGs are reduced to 256 colours to stay small.

Run from the repository root (a few minutes on two cores: two fits and two reports):

    PYTHONPATH=src .venv/bin/python docs/make_report_screenshots.py [--output-dir docs/figures] [--fits DIR]

``--fits DIR`` reuses ``demo.nc`` and ``own.nc`` in DIR when they exist (and saves them there when not).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy.special import expit

import bayes_ubpr as bu

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import headless

SCREEN_WIDTH = 1280
SCREEN_HEIGHT = 1500
SCREEN_SCALE = 0.6
PDF_DPI = 72


def own_data_cohort(seed: int = 23, n: int = 920) -> pd.DataFrame:
    """Return the messy two-hospital cohort of docs/own-data.md (the same code and seed)."""
    rng = np.random.default_rng(seed)
    hospital = rng.choice(["North", "South"], n)
    surgeon = np.array([f"{h[0]}{k}" for h, k in zip(hospital, rng.integers(1, 5, n), strict=True)])
    level = rng.choice(["thoracic", "thoracolumbar", "lumbar"], n, p=[0.3, 0.45, 0.25])
    cohort = pd.DataFrame(
        {
            "age": rng.normal(74, 7, n).round(),
            "sex": rng.choice(["F", "M"], n, p=[0.7, 0.3]),
            "fracture_level": level,
            "n_fractures": rng.poisson(0.5, n) + 1,
            "bmd_tscore": rng.normal(-3.0, 0.6, n).round(1),
            "fascia_injury": rng.binomial(1, 0.25, n),
            "depression": rng.binomial(1, 0.15, n),
            "cement_volume_ml": rng.gamma(9, 0.55, n).round(1),
            "hospital": hospital,
            "surgeon": surgeon,
        }
    )
    surgeon_effect = dict(zip(sorted(set(surgeon)), rng.normal(0, 0.4, 8), strict=True))
    c = cohort
    log_odds = (
        -4.3 + 0.03 * (c.age - 74) + 0.3 * (c.sex == "M") + 0.15 * (c.cement_volume_ml - 5) ** 2
        + 0.3 * c.fascia_injury + 1.2 * c.fascia_injury * (c.fracture_level == "thoracolumbar")
        + 0.6 * c.depression + 0.3 * (c.n_fractures - 1) - 0.4 * (c.bmd_tscore + 3)
        + 0.3 * (c.hospital == "South") + c.surgeon.map(surgeon_effect)
    )  # fmt: skip
    cohort["residual_pain"] = rng.binomial(1, expit(log_odds))
    return cohort


OWN_FORMULA = (
    "residual_pain ~ age + sex + C(fracture_level) + n_fractures + bmd_tscore"
    " + fascia_injury * C(fracture_level) + depression + rcs(cement_volume_ml, 4) + (1 | hospital/surgeon)"
)


def fits(folder: Path | None) -> dict[str, object]:
    """Return the two fits, from ``folder`` where saved there, else fitted (and saved there)."""
    made = {
        "demo": lambda: bu.fit(
            bu.case_control_sample(bu.simulate_cohort(seed=2016), seed=2017),
            bu.ModelSpec(design="case_control"),
            seed=1,
        ),
        "own": lambda: bu.fit(own_data_cohort(), OWN_FORMULA, seed=1),
    }
    result = {}
    for name, make in made.items():
        path = folder / f"{name}.nc" if folder else None
        if path is not None and path.exists():
            result[name] = bu.load_fit(path)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fits' design and convergence warnings are the report's caveats
            result[name] = make()
        if path is not None:
            bu.save_fit(result[name], path)
    return result


def small_png(data: bytes, path: Path, *, scale: float = 1.0) -> None:
    """Save a PNG reduced by ``scale`` and to 256 colours."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB, {image.width} x {image.height} px)")


def first_pdf_page(pdf: bytes, folder: Path) -> bytes | None:
    """Return the PDF's first page as a PNG by poppler's pdftoppm, or None where it is not installed."""
    if shutil.which("pdftoppm") is None:
        return None
    source = folder / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(PDF_DPI), "-f", "1", "-l", "1", str(source), str(folder / "page")], check=True
    )
    return next(folder.glob("page*.png")).read_bytes()


def picture(report: Path, out: Path, name: str) -> None:
    """Screen screenshot at 1,280 px and the first printed page of one report."""
    with headless.Chromium() as browser:
        browser.open(report, width=SCREEN_WIDTH, height=SCREEN_HEIGHT)
        small_png(browser.screenshot(height=SCREEN_HEIGHT), out / f"report_{name}_screen.png", scale=SCREEN_SCALE)
        browser.send("Emulation.setEmulatedMedia", media="print")
        pdf = browser.print_pdf()
        with tempfile.TemporaryDirectory() as folder:
            page = first_pdf_page(pdf, Path(folder))
        if page is None:
            print("pdftoppm is not installed: the print layout at A4 width stands in for the PDF's first page")
            browser.open(report, width=headless.a4_content_width_px(), media="print")
            page = browser.screenshot(height=round(297 * headless.PX_PER_MM))
        small_png(page, out / f"report_{name}_print.png")


def main(argv: Sequence[str] | None = None) -> int:
    """Fit (or load) the two fits, write their reports and picture them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).parent / "figures")
    parser.add_argument("--fits", type=Path, default=None, help="folder to reuse (or save) demo.nc and own.nc")
    args = parser.parse_args(argv)
    if not headless.available():
        print("Debian's chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS", category=UserWarning)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    if args.fits is not None:
        args.fits.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        for name, idata in fits(args.fits).items():
            report = bu.write_report(idata, Path(folder) / f"{name}.html", seed=2)
            picture(report, args.output_dir, name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
