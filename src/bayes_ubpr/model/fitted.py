"""The one reader of a fit: :class:`Fitted`, a frozen view built once from an ``InferenceData``.

Every function of a fit (tables, risks, checks, selection, validation,
sensitivity, figures, the report) reads it through this view: its model
(:class:`~bayes_ubpr.ModelSpec`), its data (raw design, outcome, centres and
scales, group indices) and, computed on demand and kept, the draws that the
rest of the library derives (log odds ratios, linear predictors, risks on the
sample's scale, the pointwise log likelihood). Anything that is not a
bayes_ubpr fit is refused here, once, with :class:`~bayes_ubpr.NotAFitError`.
Saving and loading fits live here too: what a file must hold is what this view reads.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from bayes_ubpr import metrics
from bayes_ubpr._io import FIT_SUFFIXES, check_storable_name, check_suffix, write_netcdf
from bayes_ubpr._validate import PREDICT_MISSING_ADVICE, advising_on_missing, one_line
from bayes_ubpr.data import as_factors, validate_cohort
from bayes_ubpr.exceptions import NotAFitError
from bayes_ubpr.model.spec import ModelSpec
from bayes_ubpr.paper import OUTCOME
from bayes_ubpr.terms import Numeric, Terms, group_labels
from bayes_ubpr.terms.kinds import summarise

__all__ = ["FIT_CONTENTS", "NEW_GROUPS", "Fitted", "GroupEffects", "fit_problem", "load_fit", "save_fit"]

NEW_GROUPS = ("sample", "average", "typical")
"""How a risk is computed for a patient of a group the model was not fitted on (or whose group is not given):
``"sample"`` draws the group's offset from the fitted between-group distribution once per posterior draw, so the
interval includes the spread between groups (brms' ``sample_new_levels = "gaussian"``); ``"average"`` integrates
the risk over that distribution (the population-averaged risk at a new group: what a calibration check of a new
site compares with); ``"typical"`` uses offset 0, a group at the centre of the distribution."""


@dataclass(frozen=True)
class GroupEffects:
    """Group contributions to new patients' log odds, per draw: known offsets and the variance of unknown ones.

    Attributes
    ----------
    known : numpy.ndarray
        (draws, patients): offsets (and slope deviations) of groups the model was fitted on; 0 for others.
    new_variance : numpy.ndarray
        (draws, patients): variance of the log odds contributed by groups it was not fitted on.
    unseen : dict of str to list
        Per grouping, the labels of patients' groups the model was not fitted on (``None`` when the
        patients have no column for it).
    """

    known: np.ndarray
    new_variance: np.ndarray
    unseen: dict[str, list | None]


FIT_CONTENTS = {"posterior": ("beta",), "observed_data": (), "constant_data": ("x", "x_scale")}
"""Variables each group of a fit must hold (and the outcome, named by its spec): what odds-ratio tables,
risks and reports are rebuilt from."""

_NO_BETA = "idata has no posterior variable 'beta': pass the result of bayes_ubpr.fit."


def fit_problem(idata: az.InferenceData) -> str | None:
    """Say what keeps ``idata`` from being a bayes_ubpr fit, or return None."""
    missing = [group for group in FIT_CONTENTS if group not in idata.groups()]
    if missing:
        return f"it lacks the {', '.join(missing)} group{'s' if len(missing) > 1 else ''}"
    try:
        spec = ModelSpec.from_idata(idata)
    except (ValueError, TypeError, KeyError) as error:
        return f"its model specification is missing or unreadable ({one_line(error)})"
    for group, names in {**FIT_CONTENTS, "observed_data": (spec.outcome,)}.items():
        absent = [name for name in names if name not in idata[group]]
        if absent:
            return f"its {group} lacks {', '.join(absent)}"
    labels = idata.posterior["beta"].coords.get("factor")
    if labels is None or [str(label) for label in labels.values] != list(spec.factor_names):
        return "its posterior beta does not hold one coefficient per factor of its model specification"
    return None


@dataclass(frozen=True, eq=False)
class Fitted:
    """A fit, read once: its model, its data and the draws derived from them.

    Build it with :meth:`of` (a whole bayes_ubpr fit, or
    :class:`~bayes_ubpr.NotAFitError`) or :meth:`of_draws` (draws of ``beta``
    made elsewhere, or a bare design, for the functions that need no more).
    Derived arrays are computed on first use and kept.

    Attributes
    ----------
    idata : arviz.InferenceData
        The fit.
    spec : ModelSpec
        Its model, as stored (or, for draws made elsewhere, the factors their
        coordinates name).

    Examples
    --------
    >>> from bayes_ubpr import fit, simulate_cohort
    >>> from bayes_ubpr.model import Fitted
    >>> view = Fitted.of(fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1))
    >>> view.spec.outcome, view.x.shape, view.risk_draws.shape
    ('ubpr', (600, 6), (2000, 600))
    >>> Fitted.of("fit.nc")
    Traceback (most recent call last):
    ...
    TypeError: fit must be an arviz.InferenceData from bayes_ubpr.fit or bayes_ubpr.load_fit; got str
    """

    idata: az.InferenceData
    spec: ModelSpec

    @classmethod
    def of(cls, fit: object, *, name: str = "fit") -> Fitted:
        """Return the view of a bayes_ubpr fit; refuse anything else, naming what it lacks.

        Raises
        ------
        TypeError
            If ``fit`` is not an ``InferenceData``.
        NotAFitError
            If it lacks a group, variable or the model specification a fit
            holds: ``not a bayes_ubpr fit: NAME (reason)``.
        """
        if isinstance(fit, Fitted):
            return fit
        if not isinstance(fit, az.InferenceData):
            raise TypeError(
                f"{name} must be an arviz.InferenceData from bayes_ubpr.fit or bayes_ubpr.load_fit; "
                f"got {type(fit).__name__}"
            )
        problem = fit_problem(fit)
        if problem is not None:
            raise NotAFitError(name, problem)
        return cls(fit, ModelSpec.from_idata(fit))

    @classmethod
    def of_draws(cls, idata: object, *, name: str = "idata") -> Fitted:
        """Return a view of a fit, or of draws of ``beta`` (or a design) made elsewhere.

        Without a stored model, the factors are those the ``factor``
        coordinate names and the outcome the one variable of ``observed_data``.

        Raises
        ------
        ValueError
            If ``idata`` holds neither ``posterior.beta`` nor ``constant_data.x``.
        """
        if isinstance(idata, Fitted):
            return idata
        if not isinstance(idata, az.InferenceData):
            raise TypeError(f"{name} must be an arviz.InferenceData from bayes_ubpr.fit; got {type(idata).__name__}")
        try:
            return cls(idata, ModelSpec.from_idata(idata))
        except ValueError:
            pass
        for group, variable in (("posterior", "beta"), ("constant_data", "x")):
            if group in idata.groups() and variable in idata[group]:
                factors = [str(f) for f in idata[group]["factor"].values]
                break
        else:
            raise ValueError(_NO_BETA)
        observed = list(idata.observed_data.data_vars) if "observed_data" in idata.groups() else []
        outcome = str(observed[0]) if len(observed) == 1 else OUTCOME
        return cls(idata, ModelSpec(factors=as_factors(factors), outcome=outcome))

    # --- data -------------------------------------------------------------------------------------

    @property
    def outcome(self) -> str:
        """The outcome's name."""
        return self.spec.outcome

    @functools.cached_property
    def _constant(self) -> xr.Dataset:
        if "constant_data" not in self.idata.groups() or "x" not in self.idata.constant_data:
            raise ValueError("idata holds no fitted data (constant_data.x): pass the result of bayes_ubpr.fit.")
        return self.idata.constant_data

    @property
    def x(self) -> np.ndarray:
        """Raw design of the fitted patients, (patients, factors).

        For a fit with ``missing="model"``, each missing cell holds its posterior mean
        (:attr:`missing_cells` says which; :attr:`linear_predictor_draws` uses each draw's own values).
        """
        return self._constant["x"].to_numpy()

    @functools.cached_property
    def missing_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column positions of the cells a ``missing="model"`` fit imputed (empty for other fits)."""
        constant = self._constant
        if "missing_row" not in constant:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        factors = [str(f) for f in constant["factor"].values]
        columns = [factors.index(str(c)) for c in constant["missing_column"].values]
        return constant["missing_row"].to_numpy().astype(np.int64), np.array(columns, dtype=np.int64)

    @property
    def y(self) -> np.ndarray:
        """Outcome of the fitted patients, 0/1."""
        self._constant  # noqa: B018  (the design first: its error names what a fit holds)
        return self.idata.observed_data[self.outcome].to_numpy()

    @property
    def x_scale(self) -> np.ndarray:
        """Sample SD of each factor (what the sampler standardised by)."""
        return self._constant["x_scale"].to_numpy()

    @property
    def x_center(self) -> np.ndarray:
        """Sample mean of each factor."""
        return self._constant["x_center"].to_numpy()

    @property
    def obs(self) -> np.ndarray:
        """Labels of the fitted patients (the ``obs`` coordinate)."""
        return self.idata.observed_data[self.outcome]["obs"].values

    def imputed_designs(self, m: int) -> np.ndarray:
        """Return ``m`` designs completed by evenly spaced draws of a ``missing="model"`` fit, (m, patients, factors).

        Each draw's values of the missing cells (``posterior.x_missing``) are
        a proper imputation from the joint model: completed designs for
        analyses that need complete data (maximum likelihood by Rubin's rules).
        """
        rows, columns = self.missing_cells
        if not len(rows):
            raise ValueError('this fit imputed no cells inside the model (missing="model")')
        values = self.idata.posterior["x_missing"].stack(sample=("chain", "draw")).transpose("sample", "cell")
        picked = np.linspace(0, values.sizes["sample"] - 1, m).round().astype(int)
        designs = np.repeat(self.x[None, :, :], m, axis=0)
        designs[:, rows, columns] = values.to_numpy()[picked]
        return designs

    # --- terms and new patients -----------------------------------------------------------------

    @functools.cached_property
    def terms(self) -> Terms:
        """The fit's terms; a fit made with ``factors=`` has one numeric term per factor (summaries from its data)."""
        if self.spec.terms is not None:
            return self.spec.terms
        names = self.spec.factor_names
        rows, columns = self.missing_cells  # imputed cells: summaries of the observed values
        summary = {
            name: summarise(pd.Series(np.delete(self.x[:, j], rows[columns == j])), False)
            for j, name in enumerate(names)
        }
        return Terms(tuple(Numeric(name) for name in names), None, summary)

    def typical_patient(self) -> pd.DataFrame:
        """Return a one-row frame of raw values: each numeric variable's median, each factor's commonest level."""
        return pd.DataFrame([self.terms.typical_values()], index=pd.Index(["typical"], name="patient"))

    def design(self, patients: pd.DataFrame, *, advice: str | None = None) -> np.ndarray:
        """Return the model's design columns of ``patients``' raw values, (patients, factors).

        ``advice`` is what a message about missing values tells the user to
        do (default: fill them in or leave those patients out).

        Raises
        ------
        CohortValidationError
            Naming the column and rows, for a missing column, a value out of
            range or of the wrong kind, or a level the model was not fitted on.
        """
        with advising_on_missing(advice or PREDICT_MISSING_ADVICE):
            frame = self.spec.model_frame(patients)
            clean = validate_cohort(frame, factors=self.spec.factors, outcome=self.outcome, require_outcome=False)
        return clean[list(self.spec.factor_names)].to_numpy(dtype=float)

    def group_effects(self, patients: pd.DataFrame, x: np.ndarray) -> GroupEffects:
        """Return the group part of new patients' log odds (``x`` their design, from :meth:`design`).

        A patient's group is read from the grouping columns in ``patients``;
        a label the model was not fitted on, or a grouping whose column is
        absent, counts as a new group (see :data:`NEW_GROUPS`).
        """
        post = self.idata.posterior.stack(sample=("chain", "draw"))
        draws, n = post.sizes["sample"], len(patients)
        known, variance = np.zeros((draws, n)), np.zeros((draws, n))
        unseen: dict[str, list | None] = {}
        groups = self.spec.groups
        if not groups or "group_offset" not in post:
            return GroupEffects(known, variance, unseen)
        offsets = post["group_offset"].transpose("sample", "group")
        labels = [str(level) for level in offsets["group"].values]
        lookup = {label: j for j, label in enumerate(labels)}
        for grouping in groups:
            sd = post["group_sd"] if len(groups) == 1 else post["group_sd"].sel(grouping=grouping)
            sd2 = sd.to_numpy()[:, None] ** 2
            columns = grouping.split(":")
            if not all(column in patients.columns for column in columns):
                unseen[grouping] = None
                variance += sd2
                continue
            values = group_labels(patients, grouping).astype(str)
            keys = values if len(groups) == 1 else grouping + "[" + values + "]"
            idx = np.array([lookup.get(key, -1) for key in keys])
            new = idx < 0
            unseen[grouping] = list(dict.fromkeys(values[new]))
            known[:, ~new] += offsets.to_numpy()[:, idx[~new]]
            variance[:, new] += sd2
            if self.spec.varying_slopes:
                self._slope_effects(post, x, idx, known, variance)
        return GroupEffects(known, variance, unseen)

    def _slope_effects(
        self, post: xr.Dataset, x: np.ndarray, idx: np.ndarray, known: np.ndarray, variance: np.ndarray
    ) -> None:
        """Add varying slopes' group deviations (per SD of the factor) for known groups, their variance for new ones."""
        factors = list(self.spec.factor_names)
        offsets = post["slope_offset_std"].transpose("sample", "group", "slope")
        columns = [factors.index(str(f)) for f in offsets["slope"].values]
        standardised = (x[:, columns] - self.x_center[columns]) / self.x_scale[columns]
        new = idx < 0
        known[:, ~new] += np.einsum("ik,sik->si", standardised[~new], offsets.to_numpy()[:, idx[~new], :])
        slope_sd = post["slope_sd"].transpose("sample", "slope").to_numpy()
        variance[:, new] += (slope_sd[:, None, :] ** 2 * standardised[new][None, :, :] ** 2).sum(axis=-1)

    # --- draws ------------------------------------------------------------------------------------

    @functools.cached_property
    def log_odds_ratio_draws(self) -> np.ndarray:
        """Posterior draws of ``beta``, (draws, factors)."""
        if "posterior" not in self.idata.groups() or "beta" not in self.idata.posterior:
            raise ValueError(_NO_BETA)
        beta = self.idata.posterior["beta"]
        return beta.stack(sample=("chain", "draw")).transpose("sample", "factor").to_numpy()

    @functools.cached_property
    def linear_predictor_draws(self) -> np.ndarray:
        """Log odds of each fitted patient per draw, on the sample's own scale, (draws, patients).

        ``intercept + beta . x``, plus the patient's group offset and, for
        varying slopes, the group's deviation of each slope (per SD of the
        factor, on the standardised design the sampler used). A pooled fit
        (``missing="impute"``) uses each draw's own imputation's design; a
        fit with ``missing="model"`` each draw's own values of the missing
        cells (``posterior.x_missing``), so that risks, the log likelihood
        and PSIS-LOO are conditional on each draw's imputed values, as brms
        computes them for ``mi()`` terms.
        """
        post = self.idata.posterior.stack(sample=("chain", "draw"))
        beta = post["beta"].transpose("sample", "factor").to_numpy()
        constant = self._constant
        if "x_imputed" in constant:  # a pooled fit: each draw predicts from its own imputation's design
            designs = constant["x_imputed"].to_numpy()
            which = np.repeat(self.idata.posterior["imputation"].to_numpy(), self.idata.posterior.sizes["draw"])
            eta = np.empty((len(which), designs.shape[1]))
            for k in np.unique(which):
                rows = which == k
                eta[rows] = beta[rows] @ designs[k].T
            x = self.x  # read below only by varying slopes, which pooled fits do not have
        else:
            x = self.x
            eta = beta @ x.T
        cell_rows, cell_columns = self.missing_cells
        if len(cell_rows):  # missing="model": each draw's own values of the missing cells, not their posterior means
            values = post["x_missing"].transpose("sample", "cell").to_numpy()
            shift = beta[:, cell_columns] * (values - x[cell_rows, cell_columns])
            np.add.at(eta.T, cell_rows, shift.T)
        eta += post["intercept"].to_numpy()[:, None]
        if "group_offset" in post and "group_idx" in constant:
            idx = constant["group_idx"].to_numpy()
            offsets = post["group_offset"].transpose("sample", "group").to_numpy()
            eta = eta + (offsets[:, idx] if idx.ndim == 1 else offsets[:, idx].sum(axis=-1))
            if "slope_offset_std" in post:
                offsets = post["slope_offset_std"].transpose("sample", "group", "slope")
                factors = [str(f) for f in constant["factor"].values]
                columns = [factors.index(str(f)) for f in offsets["slope"].values]
                centre, scale = self.x_center[columns], self.x_scale[columns]
                standardised = (x[:, columns] - centre) / scale
                eta = eta + np.einsum("ik,sik->si", standardised, offsets.to_numpy()[:, idx, :])
        return eta

    @property
    def risk_draws(self) -> np.ndarray:
        """Risk of each fitted patient per draw, on the sample's own scale, (draws, patients)."""
        return special.expit(self.linear_predictor_draws)

    def log_likelihood(self) -> xr.Dataset:
        """Bernoulli log likelihood of each fitted patient under each draw, dims ``(chain, draw, obs)``.

        ``log p(y_i | theta_s) = y_i eta_si - log(1 + exp(eta_si))``: what
        PyMC's ``compute_log_likelihood`` gives for the fitted model, computed
        from the stored posterior and data, so that it also serves fits saved
        without it. One variable, named as the outcome.
        """
        values = metrics.bernoulli_log_density(self.y, self.linear_predictor_draws)
        posterior = self.idata.posterior
        chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
        array = xr.DataArray(
            values.reshape(chains, draws, -1),  # stack(sample=(chain, draw)) is chain-major
            dims=("chain", "draw", "obs"),
            coords={"chain": posterior["chain"].values, "draw": posterior["draw"].values, "obs": self.obs},
        )
        return xr.Dataset({self.outcome: array})


def save_fit(idata: az.InferenceData, path: str | os.PathLike[str]) -> Path:
    """Save a fit to NetCDF, atomically, with everything needed to rebuild its tables and report.

    The posterior, sample statistics, fitted data (``observed_data``,
    ``constant_data``) and the settings in ``attrs`` (the model's
    :class:`~bayes_ubpr.ModelSpec`, seed, sampler, version) all go into the
    one file, which must end in ``.nc``.

    Raises
    ------
    ValueError
        For a file type other than ``.nc``, or an outcome name NetCDF cannot
        hold (with ``/``), before anything is written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayes_ubpr import simulate_cohort, fit, save_fit, load_fit
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> path = save_fit(idata, pathlib.Path(tempfile.mkdtemp()) / "fit.nc")
    >>> "model_spec" in load_fit(path).attrs
    True
    """
    target = check_suffix(path, FIT_SUFFIXES, what="a fit")
    if "model_spec" in idata.attrs:
        check_storable_name(ModelSpec.from_idata(idata).outcome, what="outcome")
    return write_netcdf(idata, target)


def load_fit(path: str | os.PathLike[str]) -> az.InferenceData:
    """Load a fit saved by :func:`save_fit` (or ``bayes-ubpr fit --out``).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    NotAFitError
        If the file is not a bayes_ubpr fit: not NetCDF, without the groups,
        variables or attributes that tables and reports are rebuilt from, or
        with a stored model specification that is not one a fit writes (not
        JSON; a field missing, unknown, or of the wrong type or value, checked
        as :meth:`ModelSpec.from_dict <bayes_ubpr.ModelSpec.from_dict>` checks
        it). The message is one line, ``not a bayes_ubpr fit: PATH (reason)``,
        and the reason names the field.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from bayes_ubpr import fit, load_fit, save_fit, simulate_cohort
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_fit(idata, Path(folder) / "fit.nc")
    ...     loaded = load_fit(path)
    >>> loaded.attrs["model_spec"] == idata.attrs["model_spec"]
    True
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"No fit file at {file}")
    try:
        idata = az.from_netcdf(str(file))
    except Exception as error:  # h5py, netCDF4 and xarray raise OSError, ValueError, KeyError... for other files
        raise NotAFitError(file, f"not a NetCDF file: {type(error).__name__}: {one_line(error)}") from None
    problem = fit_problem(idata)
    if problem is not None:
        raise NotAFitError(file, f"{problem}; save fits with bayes_ubpr.save_fit")
    return idata
