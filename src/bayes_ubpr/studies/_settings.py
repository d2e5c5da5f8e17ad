"""What decides a study's replicates: one frozen value, validated once, read by every part of the study."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bayes_ubpr._validate import check_choice, check_names, check_positive_int, is_finite_real
from bayes_ubpr.model import ModelSpec, Sampling
from bayes_ubpr.model.mapping import MAPPINGS
from bayes_ubpr.paper import N_PATIENTS, PREVALENCE, RISK_FACTORS, SIX_FACTORS
from bayes_ubpr.priors import PriorsLike
from bayes_ubpr.simulate import NormalLaw, TrueModel, true_model
from bayes_ubpr.simulate.effects import NUMERIC_EFFECTS, Effect, check_effects
from bayes_ubpr.studies.world import SITE
from bayes_ubpr.terms import Interaction, Spline, Terms

STUDY_CHAINS, STUDY_TUNE, STUDY_DRAWS = 2, 200, 700
"""A study's default sampling: 2 chains x (200 + 700), the cheapest of the settings tried that met the
convergence target in every one of 100 replicates of the paper's design (bulk ESS >= 1,020, tail ESS >= 694,
R-hat <= 1.0075; nutpie adapts in 200 steps). 4 x (300 + 500) met it in 99 of 100 at 1.6x the time and
4 x (100 + 450) in 97; R-hat over more but shorter chains is noisier at the same total draws. A user fit
keeps 4 chains, for which R-hat is a stronger check of mixing: pass ``chains=4`` for the same here."""

STUDY_SAMPLING = Sampling(draws=STUDY_DRAWS, tune=STUDY_TUNE, chains=STUDY_CHAINS)
"""A study's default :class:`~bayes_ubpr.Sampling` (see :data:`STUDY_DRAWS`)."""

STUDY_SPEC = ModelSpec(design="case_control")
"""A study's default model: the six factors of Table 5, the default priors, the case-control design."""

MODES = ("fixed", "sbc")
"""The two studies: fixed truth (coverage) and simulation-based calibration."""


@dataclasses.dataclass(frozen=True)
class StudySettings:
    """Everything that decides a study's replicates, checked once when made.

    The replicate runner, the simulated world and the replicate fits read
    it; :meth:`as_dict` is what a result records as ``settings`` and what
    fingerprints a store (without ``n_replicates`` and ``progress``).

    ``priors`` are those of the fitted model in a fixed-truth study and
    those the truth is drawn from in SBC; ``fit_priors`` those of the SBC
    analysis (``"same"``: ``priors``). The model's other fields
    (``factors`` or ``terms``, ``design``, ``population_mapping``) are the
    spec's, and ``group`` (``"site"`` or None) whether it has the sites'
    intercepts; the world's (``n``, ``prevalence``, ``odds_ratios``,
    ``n_cases``, ``correlation``, ``controls_per_case``, ``effects``,
    ``n_sites``, ``site_sd``) are those of
    :func:`~bayes_ubpr.studies.simulate_cohorts`.
    """

    n_replicates: int
    mode: str = "fixed"
    n: int = N_PATIENTS
    prevalence: float = PREVALENCE
    design: str = "case_control"
    priors: PriorsLike = None
    factors: Sequence[str] = SIX_FACTORS
    odds_ratios: Mapping[str, float] | None = None
    n_cases: int | None = None
    correlation: Mapping[tuple[str, str], float] | None = None
    controls_per_case: int = 1
    population_mapping: str | None = None
    sampling: Sampling = STUDY_SAMPLING
    seed: int | None = None
    fit_priors: PriorsLike | str = "same"
    progress: bool = False
    effects: Sequence[Effect] = ()
    terms: Terms | None = None
    n_sites: int = 1
    site_sd: float = 0.0
    group: str | tuple[str, ...] | None = None  # "site" or None; anything else is refused

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "n_replicates", check_positive_int(self.n_replicates, name="n_replicates"))
        check_choice(self.mode, MODES, name="mode")
        if self.population_mapping is not None:
            check_choice(self.population_mapping, MAPPINGS, name="population_mapping")
        set_(self, "population_mapping", self.population_mapping or ModelSpec().population_mapping)
        if isinstance(self.factors, str) or not all(isinstance(f, str) for f in self.factors):
            raise TypeError(f"factors must be a sequence of factor names; got {self.factors!r}")
        set_(self, "factors", tuple(self.factors))
        check_names(self.factors, RISK_FACTORS, what="factor of the simulated world")
        set_(self, "odds_ratios", dict(self.odds_ratios or {}))
        set_(self, "correlation", dict(self.correlation or {}))
        if isinstance(self.fit_priors, str) and self.fit_priors == "same":
            set_(self, "fit_priors", self.priors)
        check_positive_int(self.n, name="n")
        check_positive_int(self.controls_per_case, name="controls_per_case")
        if self.n_cases is not None and check_positive_int(self.n_cases, name="n_cases") > self.n:
            raise ValueError(f"n_cases must be at most n = {self.n}; got {self.n_cases}")
        seed = self.seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"seed must be None or a non-negative integer; got {type(seed).__name__} {seed!r}")
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be None or a non-negative integer; got {seed}")
        if self.sampling is None:
            set_(self, "sampling", STUDY_SAMPLING)
        if not isinstance(self.sampling, Sampling):
            raise TypeError(f"sampling must be a bayes_ubpr.Sampling; got {type(self.sampling).__name__}")
        if self.sampling.cores not in (None, 1) or self.sampling.progressbar:
            raise ValueError(
                "a study runs each replicate's chains on one core and without a progress bar "
                "(replicates run side by side: threads= or client=, progress=True); "
                f"leave sampling.cores and sampling.progressbar unset; got {self.sampling}"
            )
        set_(self, "effects", check_effects(self.effects))
        if self.terms is not None and not isinstance(self.terms, Terms):
            raise TypeError(f"terms must be bayes_ubpr.terms.Terms; got {type(self.terms).__name__}")
        _check_in_world(self.terms, self.world)  # the world's truth exists, and the model reads what it draws
        self._check_sites()
        for priors in (self.priors, self.fit_priors) if self.mode == "sbc" else (self.priors,):
            self._spec(priors)  # the fitted model (and SBC's model of the truth) can be made

    def _check_sites(self) -> None:
        """Refuse a world of sites or a grouped model that the study cannot run as asked."""
        set_ = object.__setattr__
        set_(self, "n_sites", check_positive_int(self.n_sites, name="n_sites"))
        if isinstance(self.site_sd, bool) or not is_finite_real(self.site_sd) or self.site_sd < 0:
            raise ValueError(f"site_sd must be a finite number >= 0; got {self.site_sd!r}")
        set_(self, "site_sd", float(self.site_sd))
        if self.mode == "sbc" and (self.n_sites > 1 or self.group is not None):
            raise ValueError(
                "simulation-based calibration draws every parameter of the truth from the prior, and its world "
                "has no sites: leave n_sites and the spec's group out of sbc_study (coverage_study takes them)"
            )
        if self.group not in (None, SITE):
            raise ValueError(
                f"a study's model may have the simulated sites' intercepts, group=\"{SITE}\", and no other "
                f"grouping; got group={self.group!r}"
            )
        if self.group is not None and self.n_sites < 2:
            raise ValueError(
                f'a model with group="{SITE}" needs a world of sites: pass n_sites >= 2 (and site_sd, the SD of '
                f"their log-odds intercepts); got n_sites={self.n_sites}"
            )
        if self.group is not None and self.design == "case_control" and self.population_mapping == "anchored":
            raise ValueError(
                'population_mapping="anchored" solves one intercept for the whole sample without the sites\' '
                'intercepts; a grouped study uses the default "offset" mapping'
            )

    @property
    def world(self) -> TrueModel:
        """The simulated world's true model (prevalence, odds ratios, effects)."""
        return true_model(prevalence=self.prevalence, odds_ratios=self.odds_ratios, effects=self.effects)

    @classmethod
    def from_spec(
        cls, spec: ModelSpec | None, *, caller: str, mode: str, truth_priors: PriorsLike | str = "same", **fields: Any
    ) -> StudySettings:
        """Return the settings of a study that fits ``spec`` (default :data:`STUDY_SPEC`) in the simulated world.

        The spec gives the factors, priors, design and population mapping; in
        SBC, ``truth_priors`` are those the truth is drawn from (``"same"``:
        the spec's). A spec with an outcome, a prevalence, groups or factors
        of its own is refused: the world simulates none of them.
        """
        spec = STUDY_SPEC if spec is None else spec
        _check_study_spec(spec, caller=caller)
        same = isinstance(truth_priors, str) and truth_priors == "same"
        return cls(
            mode=mode,
            factors=spec.factor_names if spec.terms is None else (),
            terms=spec.terms,
            priors=spec.priors if mode != "sbc" or same else truth_priors,
            fit_priors=spec.priors,
            design=spec.design,
            group=spec.group,
            population_mapping=spec.population_mapping,
            **fields,
        )

    def _spec(self, priors: PriorsLike) -> ModelSpec:
        if self.terms is not None:
            return ModelSpec(
                terms=self.terms,
                priors=priors,
                design=self.design,
                group=self.group,
                population_mapping=self.population_mapping,  # type: ignore[arg-type]
            )
        return ModelSpec(
            factors=self.factors,  # type: ignore[arg-type]  # names, made Factors by the spec
            priors=priors,
            design=self.design,
            group=self.group,
            population_mapping=self.population_mapping,  # type: ignore[arg-type]
        )

    @property
    def fit_spec(self) -> ModelSpec:
        """The fitted model: the study's factors, design and mapping with ``priors`` (or SBC's ``fit_priors``)."""
        return self._spec(self.fit_priors if self.mode == "sbc" else self.priors)

    @property
    def prior_spec(self) -> ModelSpec:
        """SBC: the model whose prior the truth is drawn from (``priors``)."""
        return self._spec(self.priors)

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as a result records them: the sampling's fields flattened, the names as a list.

        ``effects``, ``terms`` and the sites (``n_sites``, ``site_sd``, ``group``)
        appear only when the study has them, so that the record (and a store's
        fingerprint) of any other study is as before.
        """
        sampling = self.sampling
        loose: dict[str, Any] = {
            "draws": sampling.draws,
            "tune": sampling.tune,
            "chains": sampling.chains,
            "sampler": sampling.sampler,
        }
        if sampling.target_accept is not None:
            loose["target_accept"] = sampling.target_accept
        recorded = {
            "n_replicates": self.n_replicates,
            "mode": self.mode,
            "n": self.n,
            "prevalence": self.prevalence,
            "design": self.design,
            "priors": self.priors,
            "factors": list(self.factors),
            "odds_ratios": self.odds_ratios,
            "n_cases": self.n_cases,
            "correlation": self.correlation,
            "controls_per_case": self.controls_per_case,
            "population_mapping": self.population_mapping,
            **loose,
            "seed": self.seed,
            "fit_priors": self.fit_priors,
            "progress": self.progress,
        }
        if self.effects:
            recorded["effects"] = [effect.as_dict() for effect in self.effects]
        if self.terms is not None:
            recorded["terms"] = self.terms.to_dict()
        if self.n_sites > 1 or self.group is not None:
            recorded |= {"n_sites": self.n_sites, "site_sd": self.site_sd, "group": self.group}
        return recorded


_WORLD_SPEC = ModelSpec()
"""The spec fields a study's world fixes: the outcome ``ubpr``, no varying slopes, the prevalence from each cohort."""


def _check_study_spec(spec: ModelSpec, *, caller: str) -> None:
    """Refuse a spec that asks for what the simulated world does not have."""
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"{caller}: spec must be a bayes_ubpr.ModelSpec; got {type(spec).__name__}")
    for name in ("outcome", "population_prevalence", "varying_slopes"):
        if getattr(spec, name) != getattr(_WORLD_SPEC, name):
            raise ValueError(
                f"{caller}: a study fits the simulated paper world, whose outcome is {_WORLD_SPEC.outcome!r}, "
                "with each cohort's own prevalence and no varying slopes; leave spec."
                f"{name} at its default {getattr(_WORLD_SPEC, name)!r}; got {getattr(spec, name)!r}"
            )
    if spec.terms is not None:  # its variables are checked against the world by StudySettings
        return
    catalogue = ModelSpec(factors=spec.factor_names).factors  # type: ignore[arg-type]  # names, made Factors
    for factor, known in zip(spec.factors, catalogue, strict=True):
        if factor != known:
            raise ValueError(
                f"{caller}: spec.factors must name the simulated world's factors, whose kinds and scales are "
                f"the catalogue's; got {factor!r}"
            )


def _check_in_world(terms: Terms | None, world: TrueModel) -> None:
    """Refuse terms that read a variable the world does not draw, or whose truth it does not know.

    The world is additive, so an interaction has no stated truth; a spline
    needs a continuous variable (a normal law, or a curve).
    """
    if terms is None:
        return
    for term in terms.terms:
        if isinstance(term, Interaction):
            raise ValueError(
                f'the simulated world is additive and states no truth for the interaction "{term.name}"; '
                "leave interactions out of a study's model"
            )
        check_names(term.variables, world.variables, what="variable of the simulated world")
        if isinstance(term, Spline):
            effect = world.effect(term.column)
            if not isinstance(effect, NUMERIC_EFFECTS) and not isinstance(world.laws.get(term.column), NormalLaw):
                raise ValueError(
                    f"rcs({term.column}, {term.k}): a spline needs a continuous variable of the simulated world "
                    "(a normal law, a QuadraticEffect or a CurveEffect)"
                )
