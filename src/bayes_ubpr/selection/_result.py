"""What :func:`~bayes_ubpr.select_factors` returns: the search's path, the reference's elpd and the folds' orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import arviz as az
import pandas as pd

from bayes_ubpr._validate import check_positive_int
from bayes_ubpr.model import Fitted, ModelSpec
from bayes_ubpr.selection._terms import submodel_spec

__all__ = ["SelectionResult"]


@dataclass(frozen=True)
class SelectionResult:
    """Projection-predictive forward selection of factors; each part is a tidy DataFrame.

    For a reference spec with terms, what the search moves, names and counts
    is terms: ``factor`` holds term names, sizes count terms, and ``path``
    has a ``columns`` column of the design columns each term brought in.

    Attributes
    ----------
    path : pandas.DataFrame
        One row per submodel size 0 (intercept only) to ``max_size``:
        ``size``, ``factor`` (the factor, or term, added at this size; empty
        at 0), for a spec with terms ``columns`` (a tuple of the design
        columns the term added: all the levels of a categorical factor, a
        spline's linear and nonlinear columns, an interaction's products),
        ``kl`` (to the reference, summed over patients), ``elpd_loo`` and
        ``elpd_loo_se`` (PSIS-LOO with the reference's importance weights),
        ``elpd_diff_loo`` and ``elpd_diff_loo_se`` (to the reference), the
        same from K-fold cross-validation of the whole search
        (``elpd_cv``, ``elpd_cv_se``, ``elpd_diff_cv``,
        ``elpd_diff_cv_se``; NaN without folds) and ``fold_share``: the
        share of folds whose own search put this factor among its first
        ``size``.
    reference : pandas.DataFrame
        The reference model's elpd: ``estimate`` (``"psis_loo"``,
        ``"kfold"``), ``elpd``, ``se``; ``n_high_k`` for PSIS-LOO.
    fold_orders : pandas.DataFrame
        ``fold``, ``step``, ``factor``: each fold's selection order.
    suggested_size : int
        The smallest size m with ``elpd_diff + elpd_diff_se >= 0``, the
        submodel whose elpd is within one SE of the reference (projpred's
        default heuristic), on the cross-validated estimates when folds were
        run, else on PSIS-LOO.
    reference_fit : arviz.InferenceData
        The reference model fitted to all the data.
    settings : dict
        ``factors`` (the candidates: factor or term names), ``outcome``,
        ``priors``, ``n_clusters``, ``n_draws``, ``n_folds``, ``criterion``,
        ``seed``; for a spec with terms also ``formula`` and ``terms`` (each
        term's design columns).

    Examples
    --------
    >>> from bayes_ubpr import ModelSpec, Sampling, simulate_cohort, select_factors
    >>> cohort = simulate_cohort(n=400, prevalence=0.3, seed=5)
    >>> spec = ModelSpec(factors=["fascia_injury", "depression", "age", "copd"])
    >>> result = select_factors(cohort, spec, n_folds=0, sampling=Sampling(chains=2, draws=1000, tune=300), seed=1)
    >>> result.path[["size", "factor"]].to_dict("list")["size"], result.reference["estimate"].tolist()
    ([0, 1, 2, 3, 4], ['psis_loo'])
    >>> result.selected == result.order[: result.suggested_size]
    True
    """

    path: pd.DataFrame
    reference: pd.DataFrame
    fold_orders: pd.DataFrame
    suggested_size: int
    reference_fit: az.InferenceData = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> list[str]:
        """Factors (or terms) in the order the search on all the data selected them."""
        return self.path["factor"].iloc[1:].tolist()

    @property
    def selected(self) -> list[str]:
        """The factors (or terms) of the suggested submodel: for a spec with terms, ``spec.terms.subset(selected)``."""
        return self.order[: self.suggested_size]

    def submodel_spec(self, size: int | None = None) -> ModelSpec:
        """Return the spec of a submodel on the search's path, to fit from the raw columns.

        Parameters
        ----------
        size : int, optional
            Submodel size, 1 to the largest searched; default the suggested size.

        Returns
        -------
        ModelSpec
            The reference model (as its fit stored it) keeping the first
            ``size`` factors or terms of :attr:`order`. With terms, its terms
            are ``reference.terms.subset(...)``, levels and knots as the
            reference read them off the data, so :func:`~bayes_ubpr.fit`
            builds the design from the raw columns. The reference's priors
            are kept (a mapping of priors, for the columns that remain):
            replace a shrinkage prior chosen for many candidates with
            ``spec.replace(priors=...)`` if the submodel should have another.

        Raises
        ------
        ValueError
            For a size of 0 (the intercept alone is not a model of factors) or
            above the largest searched.
        TypeError
            For a size that is not a whole number.

        Notes
        -----
        This is a new model to fit, not the projection: the projection
        (``path``) keeps the reference's uncertainty, which is what the
        elpd of each size measures (Piironen et al. 2020, section 3).
        """
        largest = len(self.order)
        size = self.suggested_size if size is None else check_positive_int(size, name="size", minimum=0)
        if size == 0:
            raise ValueError(
                "the submodel of size 0 is the intercept alone, which has no factors to fit; "
                f"give a size from 1 to {largest}"
            )
        if size > largest:
            raise ValueError(f"size must be at most the largest submodel searched ({largest}); got {size}")
        return submodel_spec(Fitted.of(self.reference_fit, name="reference_fit").spec, self.order[:size])

    def fold_proportions(self) -> pd.DataFrame:
        """Share of folds selecting each factor among their first m, per size m: ``size``, ``factor``, ``share``."""
        folds = self.fold_orders
        n_folds = folds["fold"].nunique()
        rows = []
        for size in range(1, int(folds["step"].max()) + 1 if n_folds else 1):
            within = folds[folds["step"] <= size]
            for factor in self.settings["factors"]:
                share = (within["factor"] == factor).sum() / n_folds
                rows.append({"size": size, "factor": factor, "share": float(share)})
        return pd.DataFrame(rows, columns=["size", "factor", "share"])

    def __str__(self) -> str:
        show = {"index": False, "float_format": lambda v: f"{v:.2f}"}
        columns = ["size", "factor", "elpd_diff_loo", "elpd_diff_loo_se"]
        if self.settings.get("n_folds"):
            columns += ["elpd_diff_cv", "elpd_diff_cv_se", "fold_share"]
        candidates = f"{len(self.settings['factors'])} factors"
        if "terms" in self.settings:
            design = sum(len(c) for c in self.settings["terms"].values())
            candidates = f"{len(self.settings['terms'])} terms ({design} design columns, each term added whole)"
        return "\n".join(
            [
                f"Projection-predictive forward selection over {candidates} "
                f"(reference: {self.settings['priors']} priors)",
                self.path[columns].to_string(**show),
                f"Suggested size ({self.settings['criterion']}, smallest within one SE of the reference): "
                f"{self.suggested_size}: {', '.join(self.selected) or 'intercept only'}",
            ]
        )
