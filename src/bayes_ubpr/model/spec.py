"""One object for what a model is: factors, outcome, priors, design, prevalence, groups.

A :class:`ModelSpec` is checked once, when it is made. :func:`bayes_ubpr.fit`
resolves it on the data (each factor's kind and reference scale, the
case-control prevalence), stores the resolved spec in the fit, and every
function that rebuilds a model reads it back with :meth:`ModelSpec.from_idata`.
"""

from __future__ import annotations

import json
import os
import tomllib
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from bayes_ubpr._validate import check_choice, check_keys, check_names, describe_value, one_line
from bayes_ubpr.data import FactorLike, as_factors
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.factors import Factor
from bayes_ubpr.model.mapping import MAPPINGS
from bayes_ubpr.paper import OUTCOME, RISK_FACTORS, SIX_FACTORS
from bayes_ubpr.priors import (
    PAPER_PREVALENCE,
    PopulationPrevalence,
    Prior,
    PriorsLike,
    PriorSpec,
    check_priors_argument,
    priors_from_dict,
    priors_to_dict,
    resolve_priors,
)
from bayes_ubpr.terms import Terms, parse_formula
from bayes_ubpr.terms.kinds import ROLE_PRIOR_SCALE

__all__ = ["DESIGNS", "RESERVED_NAMES", "ModelSpec", "read_factor_file"]

DESIGNS = ("cohort", "case_control")

RESERVED_NAMES = frozenset(
    {
        # data containers
        "X", "x_center", "x_scale", "outcome_values", "prior_mu", "prior_sigma", "prior_nu", "tau0",
        "domain_idx", "log_sampling_ratio", "prevalence_a", "prevalence_b", "prevalence_logit",
        "group_idx", "slope_idx", "group_grouping", "latent_row", "covariate_row", "covariate_slot",
        "covariate_value", "binary_observed_row", "binary_observed_value", "binary_missing_row",
        # parameters and deterministics
        "alpha", "beta", "beta_std", "intercept", "alpha_population", "intercept_population", "prevalence",
        "group_sd", "group_z", "group_offset", "slope_sd", "slope_z", "slope_offset_std", "z",
        "local_scale", "local_scale_normal", "local_scale_inverse_gamma", "global_scale",
        "global_scale_normal", "global_scale_inverse_gamma", "slab_variance", "domain_spread", "domain_z",
        "domain_scale", "impute_intercept", "impute_coef", "impute_sigma", "x_latent_z", "x_latent_std",
        "x_missing", "covariates_observed", "binary_observed", "outcome_marginalised",
        # dimensions
        "factor", "group", "grouping", "slope", "domain", "obs", "chain", "draw", "modelled", "modelled_continuous",
        "impute_term", "cell",
    }
)  # fmt: skip
"""Names of the model's own variables and dimensions, which an outcome column may not take."""

PrevalenceLike = float | PopulationPrevalence | None

_SPEC_ATTR = "model_spec"


@dataclass(frozen=True)
class ModelSpec:
    """What a Bayesian logistic model of a risk-factor study is, checked once.

    Parameters
    ----------
    factors : sequence of str or Factor, default the six of Table 5
        Risk factors: the paper's catalogue names
        (:data:`~bayes_ubpr.paper.RISK_FACTORS`), any other column name (kind
        and scale then read off the data), or :class:`~bayes_ubpr.factors.Factor`
        objects. Stored as a tuple of Factors.
    outcome : str, default "ubpr"
        Outcome column, coded 0/1.
    priors : str, mapping, Horseshoe, DomainShrinkage or None, default "default"
        See :func:`bayes_ubpr.priors.resolve_priors`. ``None`` means "default".
    design : {"cohort", "case_control"}, default "cohort"
        ``"case_control"`` keeps the odds ratios and maps the intercept to
        the population (Prentice & Pyke 1979).
    population_prevalence : float or PopulationPrevalence, optional
        Case-control design only: the population prevalence, fixed or with a
        Beta prior. When ``None``, :meth:`resolve` takes the cohort counts
        that :func:`~bayes_ubpr.case_control_sample` records, else (outcome
        ``ubpr`` only) the paper's 60/1316.
    group : str or sequence of str, optional
        Groupings of intercepts: a column (hospital, surgeon), ``"a/b"`` for
        b nested in a (intercepts of a and of a:b), ``"a:b"`` for the
        combinations of two columns, or a sequence of these (crossed
        groupings). Stored as one string for a single grouping, else a tuple.
    varying_slopes : sequence of str, default ()
        Factors whose log odds ratio also varies by group.
    population_mapping : {"offset", "anchored"}, default "offset"
        Case-control design only (ignored for a cohort): how the intercept is
        mapped to the population. ``"offset"``: the Prentice-Pyke shift
        ``logit(prevalence) - log(n1 / n0)``; ``"anchored"``: per posterior
        draw, the intercept that makes the population-weighted mean risk of
        the sample equal that draw's prevalence (see
        :mod:`bayes_ubpr.model.mapping`).
    terms : Terms, optional
        Model terms (categorical factors, splines, interactions) built from
        raw columns; usually made by :meth:`from_formula`. When given, the
        factors are the terms' design columns, set when the spec is
        resolved on data (``factors`` is ignored).

    Raises
    ------
    ValueError
        For a factor listed twice, an outcome that is also a factor or a
        group, an unknown design or prior preset, a prevalence outside (0, 1)
        or given for a cohort design, varying slopes without a group or of a
        factor not in the model, or an outcome named like one of the model's
        own variables.
    TypeError
        For arguments of the wrong type.

    Examples
    --------
    >>> from bayes_ubpr import ModelSpec, Factor
    >>> spec = ModelSpec(factors=["depression", Factor("cleft", kind="binary")], outcome="residual_pain")
    >>> spec.factor_names, spec.design
    (('depression', 'cleft'), 'cohort')
    >>> ModelSpec(factors=["depression"], outcome="depression")
    Traceback (most recent call last):
    ...
    ValueError: "depression" is both the outcome and a factor; a factor cannot predict itself.
    """

    factors: tuple[Factor, ...] = field(default_factory=lambda: as_factors(SIX_FACTORS))
    outcome: str = OUTCOME
    priors: PriorsLike = "default"
    design: str = "cohort"
    population_prevalence: PrevalenceLike = None
    group: str | tuple[str, ...] | None = None
    varying_slopes: tuple[str, ...] = ()
    population_mapping: str = "offset"
    terms: Terms | None = None

    def __post_init__(self) -> None:
        factors = self._terms_factors() if self.terms is not None else as_factors(self.factors)
        if self.outcome != OUTCOME:
            factors = _without_paper_scales(factors, self.factors if self.terms is None else ())
        names = [f.name for f in factors]
        object.__setattr__(self, "factors", factors)
        if not isinstance(self.outcome, str) or not self.outcome:
            raise TypeError(f"outcome must be a column name (a non-empty string); got {self.outcome!r}")
        if self.outcome in names:
            raise ValueError(f'"{self.outcome}" is both the outcome and a factor; a factor cannot predict itself.')
        if self.outcome in RESERVED_NAMES:
            raise ValueError(
                f'outcome column "{self.outcome}" has the name of one of the model\'s own variables; '
                "rename the column (e.g. df.rename(columns={...}))"
            )
        priors = "default" if self.priors is None else self.priors
        if self.terms is None or self.terms.resolved:
            check_priors_argument(priors, names)
        else:  # prior keys are design columns, known once the terms are resolved on data
            check_priors_argument(priors if not isinstance(priors, Mapping) else {}, names)
        if isinstance(priors, Mapping):
            priors = dict(priors)
        object.__setattr__(self, "priors", priors)
        check_choice(self.design, DESIGNS, name="design")
        check_choice(self.population_mapping, MAPPINGS, name="population_mapping")
        self._check_prevalence()
        self._check_groups(names)
        if isinstance(self.varying_slopes, str):
            raise TypeError("varying_slopes must be a sequence of factor names, not a single string")
        slopes = tuple(self.varying_slopes)
        if self.terms is None or self.terms.resolved:
            check_names(slopes, names, what="varying slope (a factor in the model)")
        if slopes and self.group is None:
            raise ValueError("varying_slopes needs a group column (group=...)")
        if slopes and len(self.groups) > 1:
            raise ValueError(f"varying_slopes need a single grouping; got {', '.join(self.groups)}")
        object.__setattr__(self, "varying_slopes", slopes)

    def _terms_factors(self) -> tuple[Factor, ...]:
        """Return the factors of a spec with terms: the resolved ones it holds if they match the terms' columns."""
        if not isinstance(self.terms, Terms):
            raise TypeError(f"terms must be bayes_ubpr.terms.Terms; got {type(self.terms).__name__}")
        if not self.terms.resolved:
            return ()
        held = as_factors(self.factors) if len(self.factors) else ()
        if tuple(f.name for f in held) == self.terms.columns:
            return held
        return self.terms.factors()

    def _check_groups(self, names: Sequence[str]) -> None:
        group = self.group
        if group is None:
            return
        given = (group,) if isinstance(group, str) else group
        if not isinstance(given, Sequence) or not given or not all(isinstance(g, str) and g for g in given):
            raise TypeError(f"group must be a column name or a sequence of them; got {group!r}")
        groupings: list[str] = []
        for text in given:
            parts = [part.strip() for part in text.split("/")]
            if not all(parts) or any(not p for part in parts for p in part.split(":")):
                raise ValueError(f'group "{text}" must be a column, "a/b" (b nested in a) or "a:b"')
            groupings.extend(":".join(parts[: i + 1]) for i in range(len(parts)))
        groupings = list(dict.fromkeys(groupings))
        columns = {c for g in groupings for c in g.split(":")}
        clash = sorted(columns & {self.outcome, *names, *(self.terms.variables if self.terms else ())})
        if clash:
            raise ValueError(f'group column "{clash[0]}" is also the outcome or a factor')
        object.__setattr__(self, "group", groupings[0] if len(groupings) == 1 else tuple(groupings))

    @classmethod
    def from_formula(cls, formula: str, **settings: Any) -> ModelSpec:
        """Return the spec of a formula: outcome, terms, group intercepts and varying slopes.

        Parameters
        ----------
        formula : str
            ``"outcome ~ age + C(level) * injury + rcs(volume, 4) + (1 | hospital/surgeon)"``;
            :mod:`bayes_ubpr.terms.formula` lists what is accepted.
        **settings
            The other fields: ``priors``, ``design``, ``population_prevalence``,
            ``population_mapping``.

        Raises
        ------
        FormulaError
            For a formula that cannot be read or a term that is not supported.
        TypeError
            If ``settings`` repeat what the formula says (outcome, factors,
            group, varying slopes, terms).

        Examples
        --------
        >>> from bayes_ubpr import ModelSpec
        >>> spec = ModelSpec.from_formula("pain ~ C(sex) + rcs(volume, 3) + (1 | hospital)", design="case_control",
        ...                               population_prevalence=0.05)
        >>> spec.outcome, spec.terms.names, spec.group
        ('pain', ('sex', 'volume'), 'hospital')
        """
        said = sorted(set(settings) & {"factors", "outcome", "group", "varying_slopes", "terms"})
        if said:
            raise TypeError(f"the formula gives the model's {', '.join(said)}; do not pass them as well")
        parsed = parse_formula(formula)
        return cls(
            outcome=parsed.outcome,
            terms=parsed.terms,
            group=parsed.groups or None,
            varying_slopes=parsed.varying_slopes,
            **settings,
        )

    @property
    def groups(self) -> tuple[str, ...]:
        """Groupings of intercepts, each a column or ``"a:b"``; () without groups."""
        if self.group is None:
            return ()
        return (self.group,) if isinstance(self.group, str) else tuple(self.group)

    @property
    def variables(self) -> tuple[str, ...]:
        """Raw columns the model reads besides the outcome: the terms' variables (else the factors), then groups.

        What a cohort file must hold to be fitted (see the ``columns`` of
        :func:`~bayes_ubpr.validate_cohort`).

        Examples
        --------
        >>> from bayes_ubpr import ModelSpec
        >>> ModelSpec.from_formula("pain ~ C(level) * injury + (1 | hospital/surgeon)").variables
        ('level', 'injury', 'hospital', 'surgeon')
        """
        own = self.terms.variables if self.terms is not None else self.factor_names
        return tuple(dict.fromkeys((*own, *self.group_columns)))

    @property
    def group_columns(self) -> tuple[str, ...]:
        """Columns of the groupings, each once (``hospital/surgeon``: hospital, surgeon).

        Examples
        --------
        >>> from bayes_ubpr import ModelSpec
        >>> ModelSpec.from_formula("pain ~ injury + (1 | hospital/surgeon)").group_columns
        ('hospital', 'surgeon')
        """
        return tuple(dict.fromkeys(c for g in self.groups for c in g.split(":")))

    @property
    def formula(self) -> str | None:
        """The formula the spec was read from, if any."""
        return self.terms.formula if self.terms is not None else None

    def with_terms_of(self, data: pd.DataFrame) -> ModelSpec:
        """Return the spec with its terms' levels, knots and summary read off ``data`` (unchanged if known or no terms).

        Terms of numeric columns alone need no levels or knots, but their
        summary (typical values, quantiles) is read off the data all the same.
        """
        if self.terms is None or (self.terms.resolved and self.terms.summary is not None):
            return self
        return replace(self, terms=self.terms.resolve(data), factors=())

    def model_frame(self, data: pd.DataFrame) -> pd.DataFrame:
        """Return the columns the model reads: the terms' design columns, the outcome and groups if present.

        Without terms, ``data`` itself. The terms must be resolved (a fitted
        spec, or :meth:`with_terms_of`).

        Raises
        ------
        CohortValidationError
            Naming the column and rows, for a missing column, missing values,
            text in a numeric term, or a level the model was not fitted on.
        """
        if self.terms is None:
            return data
        if not self.terms.resolved:
            raise ValueError("the spec's terms are not resolved: call spec.with_terms_of(data) first")
        frame = self.terms.design(data)
        carried = [self.outcome, *self.group_columns]
        for column in carried:
            if column in data.columns:
                frame[column] = data[column]
        frame.attrs = dict(data.attrs)
        return frame

    def _check_prevalence(self) -> None:
        prevalence = self.population_prevalence
        if prevalence is None or isinstance(prevalence, PopulationPrevalence):
            pass
        elif isinstance(prevalence, bool) or not isinstance(prevalence, (int, float)) or not 0 < prevalence < 1:
            raise ValueError(
                "population_prevalence must be a number strictly between 0 and 1 or a PopulationPrevalence; "
                f"got {prevalence!r}"
            )
        else:
            object.__setattr__(self, "population_prevalence", float(prevalence))
        if prevalence is not None and self.design != "case_control":
            raise ValueError('population_prevalence applies only to design="case_control"')

    @property
    def factor_names(self) -> tuple[str, ...]:
        """Column names of the factors, in model order."""
        return tuple(f.name for f in self.factors)

    @property
    def resolved(self) -> bool:
        """Whether every factor's kind and scale, and a case-control prevalence, are known."""
        prevalence_known = self.design == "cohort" or self.population_prevalence is not None
        return prevalence_known and all(f.resolved for f in self.factors)

    def replace(self, **changes: Any) -> ModelSpec:
        """Return a copy with some settings changed (checked again).

        Examples
        --------
        >>> from bayes_ubpr import ModelSpec
        >>> ModelSpec().replace(priors="sceptical").priors
        'sceptical'
        """
        return replace(self, **changes)

    def resolve(self, data: pd.DataFrame) -> ModelSpec:
        """Fill in what the data decide: factor kinds and scales, and the case-control prevalence.

        Parameters
        ----------
        data : pandas.DataFrame
            The validated data (see :func:`bayes_ubpr.validate_cohort`); its
            ``attrs`` may carry the cohort counts of a case-control sample.

        Raises
        ------
        CohortValidationError
            If a factor's declared kind contradicts its column, or a factor
            without a reference scale is constant.
        ValueError
            For a case-control design of an outcome other than ``ubpr`` with
            no population prevalence and no recorded cohort counts.
        """
        if self.terms is not None and not self.terms.resolved:
            raise ValueError("resolve a spec with terms on the raw data first: spec.with_terms_of(data)")
        factors = []
        for factor in self.factors:
            try:
                factors.append(factor.resolve(data[factor.name].to_numpy(dtype=float)))
            except ValueError as error:
                raise CohortValidationError(str(error), column=factor.name) from None
        prevalence = self.population_prevalence
        if self.design == "case_control" and prevalence is None:
            prevalence = _default_prevalence(data.attrs, self.outcome)
        return replace(self, factors=tuple(factors), population_prevalence=prevalence)

    def prior_spec(self) -> PriorSpec:
        """Return the fully resolved priors (needs resolved factors, see :meth:`resolve`).

        With terms, a preset's prior on each spline's nonlinear column and
        each interaction column is narrowed by
        :data:`~bayes_ubpr.terms.design.ROLE_PRIOR_SCALE`; priors given by
        name in a mapping are kept as given.
        """
        resolved = resolve_priors(self.factors, self.priors)
        if self.terms is None or resolved.structure is not None:
            return resolved
        roles = self.terms.column_roles()
        given = set(self.priors) if isinstance(self.priors, Mapping) else set()
        coefficients = {
            name: prior if name in given else replace(prior, sigma=prior.sigma * ROLE_PRIOR_SCALE[roles[name]])
            for name, prior in resolved.coefficients.items()
        }
        return replace(resolved, coefficients=coefficients)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (JSON); :meth:`from_dict` inverts it exactly."""
        prevalence: object = self.population_prevalence
        if isinstance(prevalence, PopulationPrevalence):
            prevalence = {"beta_alpha": prevalence.alpha, "beta_beta": prevalence.beta}
        return {
            "factors": [f.to_dict() for f in self.factors],
            "outcome": self.outcome,
            "priors": priors_to_dict(self.priors),
            "design": self.design,
            "population_prevalence": prevalence,
            "group": self.group,
            "varying_slopes": list(self.varying_slopes),
            "population_mapping": self.population_mapping,
            "terms": self.terms.to_dict() if self.terms is not None else None,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelSpec:
        """Inverse of :meth:`to_dict`.

        Every field is checked, as the dict may come from a saved fit that
        was edited by hand.

        Raises
        ------
        ValueError, TypeError
            Naming the field, for a missing or unknown field, or a field of
            the wrong type or value (as the constructor, :class:`Factor`,
            :class:`Prior` and the prior structures check them).
        """
        stored = check_keys(values, _SPEC_FIELDS, what="model specification", required=_SPEC_FIELDS[:-2])
        return cls(
            factors=_read_field("factors", stored["factors"], _stored_factors),
            outcome=stored["outcome"],  # type: ignore[arg-type]
            priors=_read_field("priors", stored["priors"], priors_from_dict),
            design=stored["design"],  # type: ignore[arg-type]
            population_prevalence=_read_field(
                "population_prevalence", stored["population_prevalence"], _stored_prevalence
            ),
            group=_read_field("group", stored["group"], _stored_group),
            varying_slopes=_read_field("varying_slopes", stored["varying_slopes"], _stored_names),
            # fits saved before population_mapping existed used the Prentice-Pyke offset
            population_mapping=stored.get("population_mapping", "offset"),  # type: ignore[arg-type]
            terms=_read_field("terms", stored.get("terms"), _stored_terms),
        )

    def to_attrs(self) -> dict[str, str]:
        """Return the spec as ``InferenceData.attrs`` entries (JSON text, which NetCDF keeps)."""
        return {_SPEC_ATTR: json.dumps(self.to_dict())}

    @classmethod
    def from_idata(cls, idata: Any) -> ModelSpec:
        """Return the resolved spec a fit was made with (also after ``save_fit``/``load_fit``).

        Raises
        ------
        ValueError
            If ``idata`` is not a bayes_ubpr fit, or its stored specification
            is not one a fit writes (not JSON, a field missing, unknown, of
            the wrong type or value, a factor without its kind or scale, a
            case-control design without its prevalence): the message names
            the field.

        Examples
        --------
        >>> from bayes_ubpr import ModelSpec, fit, simulate_cohort
        >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
        >>> spec = ModelSpec.from_idata(idata)
        >>> spec.factors[0].name, spec.factors[0].scale
        ('bmd_tscore_abs', 0.25)
        """
        attrs = getattr(idata, "attrs", None) or {}
        if _SPEC_ATTR in attrs:
            values = _json_attr(attrs, _SPEC_ATTR)
            try:
                spec = cls.from_dict(values)
                _check_fitted(spec)
            except (TypeError, ValueError) as error:
                raise ValueError(f"{_SPEC_ATTR}: {one_line(error)}") from None
            return spec
        if "factors" in attrs and "priors" in attrs:
            return _from_version_0_1_attrs(attrs)
        raise ValueError("not a bayes_ubpr fit: its attrs hold no model specification")

    @classmethod
    def from_arguments(
        cls,
        spec: ModelSpec | None = None,
        *,
        factors: Sequence[FactorLike] | None = None,
        outcome: str | None = None,
        priors: PriorsLike = None,
        design: str | None = None,
        population_prevalence: PrevalenceLike = None,
        group: str | None = None,
        varying_slopes: Sequence[str] | None = None,
        population_mapping: str | None = None,
    ) -> ModelSpec:
        """Return a spec from either a ModelSpec or loose keywords (as :func:`~bayes_ubpr.fit` takes them), not both.

        Raises
        ------
        TypeError
            If ``spec`` is not a ModelSpec, or is given together with keywords.
        """
        given: dict[str, Any] = {
            "factors": factors,
            "outcome": outcome,
            "priors": priors,
            "design": design,
            "population_prevalence": population_prevalence,
            "group": group,
            "varying_slopes": varying_slopes,
            "population_mapping": population_mapping,
        }
        given = {key: value for key, value in given.items() if value is not None}
        if spec is None:
            return cls(**given)
        if not isinstance(spec, ModelSpec):
            raise TypeError(f"spec must be a bayes_ubpr.ModelSpec; got {type(spec).__name__}")
        if given:
            raise TypeError(
                f"give the model either as spec or as keywords, not both (got spec and {', '.join(given)}); "
                "use spec.replace(...) to change a spec"
            )
        return spec


def spec_from_keywords(spec: ModelSpec | None, keywords: Mapping[str, Any], *, caller: str) -> ModelSpec:
    """Return the :class:`ModelSpec` of a function that takes ``spec``, honouring deprecated model keywords.

    ``keywords`` are the model keywords (the spec's fields) the caller was
    given; ``None`` values count as not given. Any given warns, once per call
    site, that the model goes in a ``ModelSpec``: loose keywords are
    :func:`bayes_ubpr.fit`'s convenience alone (``docs/contributing.md``).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     spec = spec_from_keywords(None, {"design": "case_control"}, caller="build_model")
    >>> spec.design, caught[0].category.__name__
    ('case_control', 'DeprecationWarning')
    """
    given = {name: value for name, value in keywords.items() if value is not None}
    if given:
        names = ", ".join(f"{name}=..." for name in given)
        warnings.warn(
            f"{caller}({names}) is deprecated and will be removed in the next release: pass "
            f"spec=bayes_ubpr.ModelSpec({names}) instead",
            DeprecationWarning,
            stacklevel=3,
        )
    return ModelSpec.from_arguments(spec, **given)


def _default_prevalence(attrs: Mapping[str, Any], outcome: str) -> PopulationPrevalence:
    """Cohort counts recorded by case_control_sample if present, else the paper's 60/1316 for its outcome."""
    if "cohort_size" in attrs and "n_cases" in attrs:
        return PopulationPrevalence.from_counts(int(attrs["n_cases"]), int(attrs["cohort_size"]))
    if outcome == OUTCOME:
        return PAPER_PREVALENCE
    raise ValueError(
        f'A case-control design of "{outcome}" needs the population prevalence: pass population_prevalence= '
        "(a number, or PopulationPrevalence.from_counts(cases, cohort_size))"
    )


_SPEC_FIELDS = (
    "factors",
    "outcome",
    "priors",
    "design",
    "population_prevalence",
    "group",
    "varying_slopes",
    "population_mapping",  # last two: optional (fits saved before they existed)
    "terms",
)


def _read_field(key: str, value: object, read: Callable[[Any], Any]) -> Any:
    """Return ``read(value)``; an error says which field, ``key``, it is about."""
    try:
        return read(value)
    except (TypeError, ValueError) as error:
        raise type(error)(f'field "{key}": {one_line(error)}') from None


def _stored_factors(value: object) -> tuple[Factor, ...]:
    if not isinstance(value, list):
        raise TypeError(f"must be a list of factors; got {describe_value(value)}")
    return tuple(Factor.from_dict(item) for item in value)


def _stored_names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise TypeError(f"must be a list of factor names; got {describe_value(value)}")
    return tuple(value)


def _stored_group(value: object) -> str | tuple[str, ...] | None:
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise TypeError(f"must be a column name or a list of groupings; got {describe_value(value)}")
    return tuple(value)


def _stored_terms(value: object) -> Terms | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"must be a table of terms; got {describe_value(value)}")
    return Terms.from_dict(value)


def _stored_prevalence(value: object) -> Any:
    """Return a stored prevalence, a Beta prior's parameters as a PopulationPrevalence (the spec checks the rest)."""
    if not isinstance(value, Mapping):
        return value
    keys = ("beta_alpha", "beta_beta")
    check_keys(value, keys, what="population_prevalence", required=keys)
    return PopulationPrevalence(value["beta_alpha"], value["beta_beta"])


def _json_attr(attrs: Mapping[str, Any], key: str, default: str | None = None) -> Any:
    """Decode a JSON attribute of a fit (``default`` if it has none), naming it if it is not JSON text."""
    text = attrs[key] if default is None else attrs.get(key, default)
    if not isinstance(text, str):
        raise ValueError(f"{key} must be JSON text; got {describe_value(text)}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"{key} is not valid JSON ({one_line(error)})") from None


def _check_fitted(spec: ModelSpec) -> None:
    """Raise ValueError naming the field if ``spec`` lacks what a fit records (kinds, scales, prevalence, priors)."""
    if spec.terms is not None and not spec.terms.resolved:
        raise ValueError('field "terms": a fit records every level and knot; some are missing')
    for factor in spec.factors:
        if factor.kind is None or factor.scale is None:
            missing = "kind" if factor.kind is None else "scale"
            raise ValueError(f'field "factors": factor "{factor.name}" has no {missing}; a fit records both')
    if spec.design == "case_control" and spec.population_prevalence is None:
        raise ValueError('field "population_prevalence": a case-control fit records its prevalence; got null')
    try:
        spec.prior_spec()
    except (TypeError, ValueError) as error:
        raise ValueError(f'field "priors": {one_line(error)}') from None


_PRIORS_0_1_KEYS = ("name", "kind", "intercept", "coefficients", "structure")


def _from_version_0_1_attrs(attrs: Mapping[str, Any]) -> ModelSpec:
    """Read a fit saved by bayes_ubpr 0.1, which stored its settings as separate attrs."""
    try:
        stored = check_keys(_json_attr(attrs, "priors"), _PRIORS_0_1_KEYS, what="priors", required=("name", "kind"))
        priors: PriorsLike
        if stored["name"] in ("default", "paper", "sceptical") or stored["kind"] != "independent":
            priors = stored["name"]  # type: ignore[assignment]
        else:
            coefficients = stored.get("coefficients")
            if not isinstance(coefficients, Mapping):
                raise TypeError(f"priors coefficients must be a table of priors; got {describe_value(coefficients)}")
            priors = {f: Prior.from_dict(p, what=f'prior of "{f}"') for f, p in coefficients.items()} | {
                "intercept": Prior.from_dict(stored.get("intercept"), what='prior of "intercept"')  # type: ignore[arg-type]
            }
        return ModelSpec(
            factors=_read_field("factors", _json_attr(attrs, "factors"), _stored_names),
            priors=priors,
            design=attrs.get("design", "cohort"),
            population_prevalence=_stored_prevalence(_json_attr(attrs, "population_prevalence", "null")),
            group=attrs.get("group") or None,
            varying_slopes=_read_field("varying_slopes", _json_attr(attrs, "varying_slopes", "[]"), _stored_names),
        )
    except (TypeError, ValueError) as error:
        raise ValueError(f"its settings (saved by bayes_ubpr 0.1): {one_line(error)}") from None


_FACTOR_FILE_KEYS = ("kind", "label", "unit", "scale", "range", "domain", "coding", "prior")
_PRIOR_KEYS = ("family", "mu", "sigma", "nu", "per")


def _without_paper_scales(factors: tuple[Factor, ...], given: Sequence[object]) -> tuple[Factor, ...]:
    """Drop the paper's Table 4 scale from catalogue factors named for another outcome (data scale instead).

    A column that happens to carry a name of the paper's catalogue (``age``,
    ``bmd_tscore_abs``) in a study of another outcome keeps its label, unit
    and plausible range, but its prior's reference scale is read off the
    user's data: the paper's SD describes the paper's patients. A Factor
    passed as an object (``bu.paper.RISK_FACTORS["age"]``) keeps its scale:
    that is asking for it.
    """
    explicit = {item.name for item in given if isinstance(item, Factor)}
    out = []
    for factor in factors:
        base = RISK_FACTORS.get(factor.name)
        if base is not None and factor.name not in explicit and factor.scale is not None and factor.scale == base.scale:
            factor = replace(factor, scale=None)
        out.append(factor)
    return tuple(out)


def read_factor_file(path: str | os.PathLike[str]) -> tuple[tuple[Factor, ...], dict[str, Prior]]:
    r"""Read user factors (labels, kinds, scales, ranges, priors) from a TOML file.

    One table per factor under ``[factors]``, in model order; every key is
    optional::

        [factors.intravertebral_cleft]
        kind = "binary"                 # binary | count | continuous
        label = "Intravertebral cleft"
        unit = "present vs absent"
        domain = "bone_quality"         # for priors="domains"
        prior = { family = "normal", mu = 0.0, sigma = 1.0 }

        [factors.crp_mg_l]
        kind = "continuous"
        scale = 12.0                    # reference SD for per-SD priors
        range = [0, 500]                # plausible values
        prior = { sigma = 2.5, per = "sd" }

    A factor named like one of the paper's catalogue starts from the
    catalogue's entry; the file's keys override it.

    Parameters
    ----------
    path : str or path-like
        The TOML file.

    Returns
    -------
    factors : tuple of Factor
        In file order.
    priors : dict of str to Prior
        The factors' own ``prior`` entries.

    Raises
    ------
    ValueError
        Naming the file, the ``[factors.<column>]`` table and the key, for
        invalid TOML, no ``[factors]`` table, an unknown key (with "did you
        mean"), or a value of the wrong type or out of range: every key is
        checked as :class:`~bayes_ubpr.factors.Factor` and
        :class:`~bayes_ubpr.priors.Prior` check their fields (a label that is
        not a string, a scale that is not a positive number, a range that is
        not two numbers low < high, an unknown kind or prior family...).
    FileNotFoundError
        If there is no such file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from bayes_ubpr.model import read_factor_file
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "factors.toml"
    >>> _ = path.write_text('[factors.cleft]\nkind = "binary"\nprior = { sigma = 1.0 }\n', encoding="utf-8")
    >>> factors, priors = read_factor_file(path)
    >>> factors[0].kind, priors["cleft"].sigma
    ('binary', 1.0)
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"No factor file at {file}")
    try:
        content = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{file}: not a valid UTF-8 TOML file ({error})") from None
    unknown = [key for key in content if key != "factors"]
    if unknown or not isinstance(content.get("factors"), dict) or not content["factors"]:
        raise ValueError(
            f"{file}: expected one [factors.<column>] table per factor; unknown top-level key(s) {unknown}"
        )
    factors, priors = [], {}
    for name, entry in content["factors"].items():
        where = f"{file}: [factors.{name}]"
        try:
            check_keys(entry, _FACTOR_FILE_KEYS, what=where)
        except (TypeError, ValueError) as error:
            raise ValueError(str(error)) from None
        settings = {key: value for key, value in entry.items() if key != "prior"}
        try:
            base = RISK_FACTORS.get(name)
            factors.append(replace(base, **settings) if base is not None else Factor(name, **settings))
            if "prior" in entry:
                priors[name] = _file_prior(entry["prior"])
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: {error}") from None
    return tuple(factors), priors


def _file_prior(entry: object) -> Prior:
    if not isinstance(entry, dict):
        raise ValueError(
            f"prior must be a table such as {{ family = 'normal', mu = 0, sigma = 1 }}; got {describe_value(entry)}"
        )
    return Prior(**check_keys(entry, _PRIOR_KEYS, what="prior"))  # type: ignore[arg-type]
