"""The simulated world of a study: cohorts with known truth, their case-control samples, the truth of a fit.

Each replicate's cohort and the paper's case-control sample of it, and the
quantities of a fitted model whose true value the world knows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bayes_ubpr._rng import spawn_seeds
from bayes_ubpr._validate import check_positive_int
from bayes_ubpr.model import ModelSpec
from bayes_ubpr.model.refit import FitArrays
from bayes_ubpr.paper import N_PATIENTS, OUTCOME, PREVALENCE
from bayes_ubpr.simulate import TrueModel, case_control_sample, simulate_cohort
from bayes_ubpr.simulate.effects import Effect
from bayes_ubpr.terms import Categorical, Interaction, Numeric
from bayes_ubpr.terms.groups import group_labels

if TYPE_CHECKING:
    from bayes_ubpr.studies._settings import StudySettings

__all__ = ["SITE", "Quantity", "replicate_seeds", "simulate_cohorts", "site_offsets", "true_quantities"]

SITE = "site"
"""The site column of a world of sites (:func:`bayes_ubpr.simulate_cohort`'s), the only grouping a study's model
may have."""


def replicate_seeds(seed: int | None, n_replicates: int) -> list[np.random.SeedSequence]:
    """Child seed sequences, one per replicate, spawned once from ``seed``.

    The studies' name for ``bayes_ubpr._rng.spawn_seeds``, the one seed
    helper of every study, with ``n_replicates`` checked.

    Examples
    --------
    >>> a = replicate_seeds(1, 5)[3].generate_state(1)
    >>> b = replicate_seeds(1, 10)[3].generate_state(1)
    >>> bool((a == b).all())
    True
    """
    return spawn_seeds(seed, check_positive_int(n_replicates, name="n_replicates"))


def _cohort(
    child: np.random.SeedSequence,
    *,
    n: int,
    prevalence: float,
    odds_ratios: Mapping[str, float] | None,
    n_cases: int | None,
    correlation: Mapping[tuple[str, str], float] | None = None,
    effects: Sequence[Effect] = (),
    n_sites: int = 1,
    site_sd: float = 0.0,
    max_tries: int = 10_000,
) -> pd.DataFrame:
    """One replicate's cohort; with ``n_cases``, redrawn until it has exactly that many cases."""
    rng = np.random.default_rng(child)
    for _ in range(max_tries):
        cohort = simulate_cohort(
            n,
            prevalence,
            seed=rng,
            odds_ratios=odds_ratios,
            correlation=correlation,
            effects=effects,
            n_sites=n_sites,
            site_sd=site_sd,
        )
        if n_cases is None or int(cohort[OUTCOME].sum()) == n_cases:
            return cohort
    raise RuntimeError(f"no cohort with exactly {n_cases} cases in {max_tries} draws; is the prevalence right?")


def simulate_cohorts(
    n_replicates: int,
    n: int = N_PATIENTS,
    prevalence: float = PREVALENCE,
    *,
    seed: int | None = None,
    odds_ratios: Mapping[str, float] | None = None,
    n_cases: int | None = None,
    correlation: Mapping[tuple[str, str], float] | None = None,
    effects: Sequence[Effect] | None = None,
    n_sites: int = 1,
    site_sd: float = 0.0,
) -> Iterator[pd.DataFrame]:
    """Yield ``n_replicates`` independent cohorts, replicate k from the k-th child seed.

    Parameters
    ----------
    n_replicates : int
        Number of cohorts.
    n, prevalence, odds_ratios, correlation, effects
        As for :func:`bayes_ubpr.simulate_cohort` (``correlation``: a
        Gaussian copula over the factors; ``effects``: a categorical factor
        or a curve, :class:`~bayes_ubpr.simulate.LevelEffects` and
        :class:`~bayes_ubpr.simulate.QuadraticEffect`).
    n_sites, site_sd
        As for :func:`bayes_ubpr.simulate_cohort`: above one site, a ``site``
        column and site intercepts of SD ``site_sd`` around the prevalence.
    seed : int, optional
        Root seed; replicate k is the same whatever ``n_replicates`` is.
    n_cases : int, optional
        Condition on exactly this many cases (the paper observed 60): cohorts
        are redrawn until they have it, which samples the conditional law
        exactly.

    Yields
    ------
    pandas.DataFrame
        A cohort with a ``replicate`` column.

    Examples
    --------
    >>> from bayes_ubpr.studies import simulate_cohorts
    >>> cohorts = list(simulate_cohorts(3, n=500, seed=1, n_cases=20))
    >>> [int(c["ubpr"].sum()) for c in cohorts]
    [20, 20, 20]
    """
    for k, child in enumerate(replicate_seeds(seed, n_replicates)):
        cohort = _cohort(
            child,
            n=n,
            prevalence=prevalence,
            odds_ratios=odds_ratios,
            n_cases=n_cases,
            correlation=correlation,
            effects=effects or (),
            n_sites=n_sites,
            site_sd=site_sd,
        )
        cohort.insert(0, "replicate", k)
        yield cohort


def replicate_sample(
    child: np.random.SeedSequence, settings: StudySettings, *, n_cases: int | None
) -> tuple[pd.DataFrame, pd.DataFrame, np.random.Generator]:
    """One replicate's cohort, its case-control sample, and the generator for the rest of the replicate."""
    cohort = _cohort(
        child,
        n=settings.n,
        prevalence=settings.prevalence,
        odds_ratios=settings.odds_ratios,
        n_cases=n_cases,
        correlation=settings.correlation,
        effects=settings.effects,
        n_sites=settings.n_sites,
        site_sd=settings.site_sd,
    )
    rng = np.random.default_rng(child.spawn(1)[0])
    return cohort, case_control_sample(cohort, settings.controls_per_case, seed=rng), rng


def site_offsets(
    arrays: FitArrays, cohort: pd.DataFrame, sample: pd.DataFrame, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each draw's intercept offset of every site of the cohort, and each patient's column of them.

    A site of the sample has the fit's offset (the fit's levels are the
    sample's sites, sorted); a site the sample lacks is a new site, whose
    offset is drawn per draw from N(0, group_sd), as a prediction for a new
    hospital would be (one column shared by every such site).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bayes_ubpr.model.refit import FitArrays
    >>> from bayes_ubpr.studies.world import site_offsets
    >>> draws = {"group_offset": np.array([[[-0.5, 0.5]]]), "group_sd": np.array([[0.7]])}  # 1 chain, 1 draw
    >>> fit = FitArrays(draws, n_divergent=0, rhat_max=1.0, ess_bulk_min=1.0, ess_tail_min=1.0)
    >>> offsets, column = site_offsets(fit, pd.DataFrame({"site": [2, 1, 3]}), pd.DataFrame({"site": [1, 2]}),
    ...                                np.random.default_rng(0))
    >>> column.tolist()  # sites 2 and 1 are the fit's; site 3, unseen, takes the new-site column
    [1, 0, 2]
    >>> offsets.shape
    (1, 3)
    """
    fitted = arrays.flat("group_offset")
    levels = pd.Index(np.unique(group_labels(sample, SITE)))
    column = levels.get_indexer(group_labels(cohort, SITE))
    new_site = arrays.flat("group_sd") * rng.standard_normal(fitted.shape[0])
    column[column < 0] = fitted.shape[1]
    return np.column_stack([fitted, new_site]), column


def design(data: pd.DataFrame, spec: ModelSpec) -> np.ndarray:
    """Return the design of ``data`` (a cohort or its sample) under a replicate's ``spec``, its terms resolved."""
    return spec.model_frame(data)[list(spec.factor_names)].to_numpy(float)


def sample_design(sample: pd.DataFrame, spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """Return the fitted case-control sample's raw design and outcomes, which both population mappings need."""
    return design(sample, spec), sample[OUTCOME].to_numpy()


@dataclass(frozen=True)
class Quantity:
    """A linear combination of a fitted model's log odds ratios whose true value the simulated world knows.

    Attributes
    ----------
    name : str
        A design column (``fascia_injury``, ``fracture_level[thoracic]``) or
        a contrast of a numeric variable, ``cement_volume_ml[5.04 vs 5.5]``.
    columns : tuple of int
        Positions of the design columns it combines.
    weights : tuple of float
        Their weights: 1 for a column; for a contrast of ``x = a`` against
        ``x = b``, the difference of the term's design columns at ``a`` and
        at ``b``.
    truth : float
        Its true value: the world's log odds ratio.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr.studies.world import Quantity
    >>> contrast = Quantity("x[1 vs 0]", columns=(0, 1), weights=(1.0, 0.5), truth=0.3)
    >>> contrast.draws(np.array([[0.2, 0.4], [0.0, 1.0]])).tolist()  # one per posterior draw
    [0.4, 0.5]
    """

    name: str
    columns: tuple[int, ...]
    weights: tuple[float, ...]
    truth: float

    def draws(self, beta: np.ndarray) -> np.ndarray:
        """Return the quantity per draw of ``beta`` (draws, design columns); a column's own draws exactly."""
        if self.weights == (1.0,):
            return beta[:, self.columns[0]]
        return beta[:, list(self.columns)] @ np.asarray(self.weights)


def true_quantities(spec: ModelSpec, world: TrueModel) -> list[Quantity]:
    """Return the quantities of a fitted ``spec`` whose truth ``world`` knows, with that truth.

    The truth of each is defined by the world's true model
    (:class:`~bayes_ubpr.simulate.TrueModel`), whatever the fitted model's
    coding:

    * a numeric factor the world gives a log odds ratio per unit: its column,
      the truth that log OR;
    * a categorical factor's level column (level against the fit's reference
      level): the world's log OR of that level against that reference
      (:meth:`~bayes_ubpr.simulate.TrueModel.log_odds_ratio`);
    * a spline, or a straight line through a variable the world gives a
      curve: the log OR of each of the variable's contrasts ``x = a``
      against ``x = b`` (:meth:`~bayes_ubpr.simulate.TrueModel.contrasts`),
      estimated as (design at a - design at b) times the term's
      coefficients, the truth ``f(a) - f(b)`` of the true curve ``f``. A
      spline that cannot take the shape of the true curve exactly, or a
      straight line through a curve, is judged against the curve itself:
      its error counts.

    Parameters
    ----------
    spec : ModelSpec
        A replicate's model, its terms resolved on the fitted sample
        (:meth:`~bayes_ubpr.ModelSpec.with_terms_of`): a spec without terms
        is read as one numeric term per factor.
    world : TrueModel
        The world the sample was drawn from.

    Returns
    -------
    list of Quantity
        In model order.

    Raises
    ------
    ValueError
        For an interaction term, whose truth the additive world does not state.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr import ModelSpec, simulate_cohort
    >>> from bayes_ubpr.simulate import LevelEffects, QuadraticEffect, true_model
    >>> from bayes_ubpr.studies.world import true_quantities
    >>> effects = [LevelEffects("fracture_level", ("lumbar", "thoracic"), (0.6, 0.4), odds_ratios={"thoracic": 2.0}),
    ...            QuadraticEffect("cement_volume_ml", curvature=1.5, centre=5.5)]
    >>> cohort = simulate_cohort(n=400, prevalence=0.2, seed=1, effects=effects)
    >>> spec = ModelSpec.from_formula("ubpr ~ C(fracture_level) + rcs(cement_volume_ml, 3)").with_terms_of(cohort)
    >>> for quantity in true_quantities(spec, true_model(prevalence=0.2, effects=effects)):
    ...     print(quantity.name, round(quantity.truth, 3))
    fracture_level[thoracic] 0.693
    cement_volume_ml[5.04 vs 5.5] 0.317
    cement_volume_ml[5.96 vs 5.5] 0.317
    """
    names = list(spec.factor_names)
    terms = spec.terms.terms if spec.terms is not None else tuple(Numeric(name) for name in names)
    quantities = []
    for term in terms:
        columns = [names.index(column) for column in term.columns]
        if isinstance(term, Interaction):
            raise ValueError(f'the simulated world is additive and states no truth for the interaction "{term.name}"')
        if isinstance(term, Categorical):
            for column, level in zip(columns, term.kept_levels, strict=True):
                truth = world.log_odds_ratio(term.column, level, term.reference)
                quantities.append(Quantity(names[column], (column,), (1.0,), truth))
        elif isinstance(term, Numeric) and world.effect(term.column) is None:
            truth = float(world.log_odds_ratios[term.column])
            quantities.append(Quantity(names[columns[0]], (columns[0],), (1.0,), truth))
        else:  # a spline, or a straight line through a curve: the contrasts the world states
            for a, b in world.contrasts(term.column):
                ends = term.matrix(pd.DataFrame({term.column: [a, b]}))
                weights = tuple(float(w) for w in ends[0] - ends[1])
                truth = world.log_odds_ratio(term.column, a, b)
                quantities.append(Quantity(f"{term.column}[{a:g} vs {b:g}]", tuple(columns), weights, truth))
    return quantities
