"""nutpie's model object around the hand-written log density of :mod:`bayes_ubpr.model._kernel`.

:func:`kernel_model` returns, for the model structures the kernel covers, an
object ``nutpie.sample`` accepts in place of ``nutpie.compile_pymc_model``'s,
holding this data set's numbers. It uses nutpie's own model type and C
signatures (``nutpie._lib``, pinned to 0.16 in ``pyproject.toml``), so the
sampler, its adaptation and its trace are nutpie's. Its variables carry the
PyMC model's names, shapes and dims (``group_sd`` a scalar for one grouping
of intercepts, over ``"grouping"`` for several), so a fit from either
sampler reads the same.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import sys
import threading
import warnings
from collections.abc import Callable, Hashable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from scipy import special

from bayes_ubpr._validate import one_line
from bayes_ubpr.exceptions import PerformanceWarning
from bayes_ubpr.model._build import GROUP_SD_PRIOR_SCALE, INITIAL_PROBABILITY, ModelInputs
from bayes_ubpr.model.spec import ModelSpec
from bayes_ubpr.priors import DomainShrinkage, Horseshoe, PriorSpec

__all__ = [
    "KERNEL_FAMILIES",
    "KERNEL_FIELDS",
    "KERNEL_KINDS",
    "KERNEL_SWITCH",
    "KERNEL_VARIABLES",
    "covers",
    "kernel_applies",
    "kernel_evaluation",
    "kernel_failed",
    "kernel_model",
    "kernel_module",
    "pack",
]

KERNEL_FAMILIES = ("normal", "student_t", "laplace")
"""Prior families the kernel evaluates (the keys of :data:`bayes_ubpr.model._kernel.FAMILY_CODES`). Named here,
not imported, so that deciding whether the kernel applies never loads numba's cache: a model it does not cover
must fit even where no cache folder is writable."""

KERNEL_VARIABLES = ("alpha", "beta_std", "beta", "prevalence", "intercept", "alpha_population", "intercept_population")
"""Variables a kernel fit stores, in the order :func:`~bayes_ubpr.model._kernel.expand` writes them
(``prevalence`` only with a Beta prevalence), followed by :data:`GROUP_VARIABLES` in a grouped model."""

GROUP_VARIABLES = ("group_sd", "group_z", "group_offset")
"""Variables a grouped kernel fit stores after :data:`KERNEL_VARIABLES`, as the PyMC model names them: ``group_sd``
(a scalar for one grouping, dims ``"grouping"`` for several), then ``group_z`` and ``group_offset`` over every
level of every grouping (dims ``"group"``)."""

HORSESHOE_VARIABLES = (
    "local_scale_normal",
    "local_scale_inverse_gamma",
    "global_scale_normal",
    "global_scale_inverse_gamma",
    "slab_variance",
    "z",
    "local_scale",
    "global_scale",
)
"""Variables a horseshoe kernel fit stores last, as :class:`~bayes_ubpr.Horseshoe` names them."""

DOMAIN_VARIABLES = ("global_scale", "domain_spread", "domain_z", "z", "domain_scale")
"""Variables a domain-shrinkage kernel fit stores last, as :class:`~bayes_ubpr.DomainShrinkage` names them
(``z`` only where the coefficients are non-centred)."""


KERNEL_KINDS = ("binary", "count", "continuous")
"""Factor kinds the kernel reads: one numeric column each, entering the linear predictor as it is."""

KERNEL_FIELDS: dict[str, Callable[[ModelSpec, PriorSpec], bool]] = {
    "factors": lambda spec, priors: all(f.kind in KERNEL_KINDS for f in spec.factors),
    "outcome": lambda spec, priors: True,
    "priors": lambda spec, priors: (
        (isinstance(priors.structure, Horseshoe | DomainShrinkage) or priors.single_family() in KERNEL_FAMILIES)
        and priors.intercept.family in KERNEL_FAMILIES
    ),
    "design": lambda spec, priors: spec.design in ("cohort", "case_control"),
    "population_prevalence": lambda spec, priors: True,  # fixed or Beta: both written out in the kernel
    "group": lambda spec, priors: True,  # non-centred intercepts of any groupings, nested or crossed, HalfNormal SDs
    "terms": lambda spec, priors: True,  # terms only make the design columns, which the kernel reads as any
    "varying_slopes": lambda spec, priors: not spec.varying_slopes,
    "population_mapping": lambda spec, priors: spec.population_mapping in ("offset", "anchored"),  # after sampling
}
"""The allow-list: for every field of :class:`~bayes_ubpr.ModelSpec`, which of its values the hand-written
density is written for. A field missing here (one added to ModelSpec since) makes :func:`covers` refuse every
model, so that a new model feature is never sampled with a density that does not know it;
``tests/test_kernel.py`` fails until the field is reviewed and listed."""


def covers(spec: ModelSpec, priors: PriorSpec) -> bool:
    """Whether the hand-written density is this model's: every field of ``spec`` holds a value it is written for.

    Today: numeric factors (or the design columns of formula terms), one
    prior family (normal, Student-t, Laplace) on every coefficient and on
    the intercept, the regularised horseshoe or domain shrinkage (centred or
    not), non-centred intercepts of any number of groupings (one,
    nested or crossed) but no varying slopes, cohort or case-control
    design.
    """
    return all(
        field.name in KERNEL_FIELDS and KERNEL_FIELDS[field.name](spec, priors) for field in dataclasses.fields(spec)
    )


KERNEL_SWITCH = "BAYES_UBPR_KERNEL"
"""Environment variable that turns the hand-written density off (``0``, ``false``, ``no`` or ``off``): every
model is then compiled from PyMC, as the structures the kernel does not cover always are."""

_FAILED: list[str] = []
"""Why the kernel could not be used in this process (empty while it can): set once, warned once."""
_LOCK = threading.Lock()


def kernel_applies(spec: ModelSpec, priors: PriorSpec) -> bool:
    """Whether fits of this model use the hand-written density.

    It does where it :func:`covers` the model, is switched on
    (:data:`KERNEL_SWITCH`) and has not failed to load in this process.
    """
    switch = os.environ.get(KERNEL_SWITCH, "1").strip().lower()
    return switch not in ("0", "false", "no", "off") and not _FAILED and covers(spec, priors)


def kernel_failed(error: BaseException) -> None:
    """Record that the kernel cannot be used here; warn once, naming why, that models compile from PyMC."""
    with _LOCK:
        first = not _FAILED
        _FAILED.append(f"{type(error).__name__}: {one_line(error)}")
    if first:
        warnings.warn(
            f"bayes_ubpr's hand-written log density could not be used ({_FAILED[0]}); models are compiled from "
            f"PyMC instead (same results, 6-20 s more per process). Set {KERNEL_SWITCH}=0 to skip trying.",
            PerformanceWarning,
            stacklevel=3,
        )


def _cache_files() -> tuple[Path | None, list[Path]]:
    """Return numba's cache folder for this package's model code and the kernel's files in it."""
    from numba.core.caching import FunctionCache

    try:  # the folder depends on the source file's folder only, which the kernel shares with this module
        folder = Path(FunctionCache(_cache_files)._cache_path)
    except RuntimeError:  # no cache folder at all: the kernel compiles in the process
        return None, []
    return folder, sorted(folder.glob("_kernel.*.nb[ic]"))


def kernel_module() -> ModuleType:
    """Import the kernel; if numba's cache of it is damaged, remove that cache and compile the kernel anew.

    A cache file overwritten or emptied (a full disk, a copy gone wrong)
    makes numba fail to load it (``UnpicklingError``, ``EOFError``,
    ``ValueError``...), in every process, until it is deleted. It is deleted
    here, with one :class:`~bayes_ubpr.PerformanceWarning`; if the kernel still
    cannot be loaded, the error is raised for the caller to fall back on PyMC.
    """
    name = "bayes_ubpr.model._kernel"
    try:
        return importlib.import_module(name)
    except Exception as error:  # numba raises whatever unpickling a damaged file raises
        sys.modules.pop(name, None)
        with _LOCK:
            folder, files = _cache_files()
            for file in files:
                file.unlink(missing_ok=True)
        warnings.warn(
            f"numba's cache of bayes_ubpr's log density could not be read ({type(error).__name__}: "
            f"{one_line(error)}); removed its {len(files)} file(s) in {folder} and compiled it anew (about 1.5 s).",
            PerformanceWarning,
            stacklevel=2,
        )
        return importlib.import_module(name)


def _beta_prevalence(inputs: ModelInputs) -> bool:
    """Whether the prevalence is a Beta-distributed parameter (the last coordinate of a position)."""
    return "prevalence_a" in inputs.data


def _n_groups(inputs: ModelInputs) -> int:
    """Return the number of groups of the model's group intercepts (0 without a group)."""
    return len(inputs.coords.get("group", ())) if inputs.spec.group is not None else 0


def _n_groupings(inputs: ModelInputs) -> int:
    """Return the number of groupings of intercepts, each with its own SD (0 without a group)."""
    return len(inputs.spec.groups)


def _n_dim(inputs: ModelInputs) -> int:
    """Return the length of a position.

    Alpha, the coefficients per SD, the group SDs' logs (one per grouping) and the levels' z (if grouped),
    and the prevalence's log odds (if it is sampled).
    """
    groups, k = _n_groups(inputs), len(inputs.factors)
    block = k
    if isinstance(inputs.priors.structure, Horseshoe):
        block = 3 * k + 3
    elif isinstance(inputs.priors.structure, DomainShrinkage):
        block = 2 + _n_domains(inputs) + k
    return 1 + block + _n_groupings(inputs) + groups + int(_beta_prevalence(inputs))


def _n_domains(inputs: ModelInputs) -> int:
    """Return the number of domains of domain shrinkage (0 under another prior)."""
    return len(inputs.coords.get("domain", ())) if isinstance(inputs.priors.structure, DomainShrinkage) else 0


def pack(inputs: ModelInputs) -> np.ndarray:
    """Return the model's numbers as the kernel reads them.

    One float64 array: its own length, the header (:data:`~bayes_ubpr.model._kernel.HEADER` scalars),
    prior locations, scales and degrees of freedom, the factors' centres and scales, the outcome, the
    standardised design column by column, for a grouped model each row's level in every grouping (grouping
    by grouping, indices into all groupings' levels concatenated) and each level's grouping, and under domain
    shrinkage each factor's domain.
    """
    _kernel = kernel_module()

    data, priors = inputs.data, inputs.priors
    k = len(inputs.factors)
    header = np.zeros(_kernel.HEADER)
    header[_kernel.N_ROWS], header[_kernel.N_FACTORS] = len(data["outcome_values"]), k
    if isinstance(priors.structure, Horseshoe):
        header[_kernel.STRUCTURE] = _kernel.HORSESHOE
        header[_kernel.HORSESHOE_TAU0] = data["tau0"]
        slab_df, slab_scale = priors.structure.slab_df, priors.structure.slab_scale
        header[_kernel.SLAB_A], header[_kernel.SLAB_B] = slab_df / 2, slab_df * slab_scale**2 / 2
    elif isinstance(priors.structure, DomainShrinkage):
        header[_kernel.STRUCTURE] = _kernel.DOMAINS
        header[_kernel.N_DOMAINS], header[_kernel.CENTRED] = _n_domains(inputs), float(inputs.centred)
        header[_kernel.DOMAIN_GLOBAL_SCALE] = priors.structure.global_scale
        header[_kernel.DOMAIN_SPREAD] = priors.structure.domain_spread
    else:
        header[_kernel.COEF_FAMILY] = _kernel.FAMILY_CODES[priors.single_family()]  # type: ignore[index]
    intercept = priors.intercept
    header[_kernel.INTERCEPT_FAMILY] = _kernel.FAMILY_CODES[intercept.family]
    header[_kernel.INTERCEPT_MU], header[_kernel.INTERCEPT_SIGMA] = intercept.mu, intercept.sigma
    header[_kernel.INTERCEPT_NU] = intercept.nu or 0.0
    if _beta_prevalence(inputs):
        header[_kernel.PREVALENCE_MODE] = _kernel.BETA_PREVALENCE
        header[_kernel.PREVALENCE_A], header[_kernel.PREVALENCE_B] = data["prevalence_a"], data["prevalence_b"]
    elif "prevalence_logit" in data:
        header[_kernel.PREVALENCE_MODE] = _kernel.FIXED_PREVALENCE
        header[_kernel.PREVALENCE_LOGIT] = data["prevalence_logit"]
    if "log_sampling_ratio" in data:
        header[_kernel.LOG_SAMPLING_RATIO] = data["log_sampling_ratio"]
    groups, groupings = _n_groups(inputs), _n_groupings(inputs)
    header[_kernel.N_GROUPS], header[_kernel.N_GROUPINGS] = groups, groupings
    header[_kernel.GROUP_SD_SCALE] = GROUP_SD_PRIOR_SCALE
    nu = data.get("prior_nu", np.zeros(k))
    parts = [
        [0.0],  # the buffer's length, set below
        header,
        data.get("prior_mu", np.zeros(k)),  # per-factor priors: none under the horseshoe
        data.get("prior_sigma", np.ones(k)),
        nu,
        data["x_center"],
        data["x_scale"],
        data["outcome_values"],
        data["X"].ravel(order="F"),  # column by column, as the kernel's loops over patients read it
        # one column (one grouping) or (n, G) codes, grouping by grouping; each level's grouping, all 0 for one
        np.asarray(data["group_idx"]).ravel(order="F") if groups else [],
        data.get("group_grouping", np.zeros(groups)) if groups else [],
        data["domain_idx"] if _n_domains(inputs) else [],  # each factor's domain, last (_kernel._domain_of)
    ]
    buffer = np.concatenate([np.asarray(part, dtype=np.float64).ravel() for part in parts])
    buffer[0] = buffer.size
    return buffer


def kernel_evaluation(inputs: ModelInputs) -> Callable[[], float]:
    """Return a function that evaluates the kernel's log density and gradient once, at 0: what a timing needs."""
    _kernel = kernel_module()

    buffer = pack(inputs)[1:]
    position = np.zeros(_n_dim(inputs))
    gradient = np.empty_like(position)
    return lambda: _kernel.log_density(position, gradient, buffer)


def _variables(inputs: ModelInputs) -> tuple[list[str], list[tuple[int, ...]], dict[str, tuple[str, ...]]]:
    k = len(inputs.factors)
    groups, groupings = _n_groups(inputs), _n_groupings(inputs)
    names = [name for name in KERNEL_VARIABLES if name != "prevalence" or _beta_prevalence(inputs)]
    shapes = {"beta_std": (k,), "beta": (k,)}
    dims: dict[str, tuple[str, ...]] = {"beta_std": ("factor",), "beta": ("factor",)}
    if groups:
        names += list(GROUP_VARIABLES)
        shapes |= {"group_z": (groups,), "group_offset": (groups,)}
        dims |= {"group_z": ("group",), "group_offset": ("group",)}
        if groupings > 1:  # one SD per grouping, as _build._grouping_effects; a scalar for one grouping
            shapes["group_sd"], dims["group_sd"] = (groupings,), ("grouping",)
    if isinstance(inputs.priors.structure, Horseshoe):
        names += list(HORSESHOE_VARIABLES)
        per_factor = ("local_scale_normal", "local_scale_inverse_gamma", "z", "local_scale")
        shapes |= {name: (k,) for name in per_factor}
        dims |= {name: ("factor",) for name in per_factor}
    if n_domains := _n_domains(inputs):
        names += [name for name in DOMAIN_VARIABLES if name != "z" or not inputs.centred]
        shapes |= {"domain_z": (n_domains,), "domain_scale": (n_domains,)}
        dims |= {"domain_z": ("domain",), "domain_scale": ("domain",)}
        if not inputs.centred:
            shapes["z"], dims["z"] = (k,), ("factor",)
    return names, [shapes.get(name, ()) for name in names], dims


def _initial_points(inputs: ModelInputs) -> Callable[[int], np.ndarray]:
    """Return the start as the PyMC path sets it (0, the prevalence at 0.05) with nutpie's seeded U(-1, 1) jitter."""
    n_dim = _n_dim(inputs)
    centre = np.zeros(n_dim)
    if _beta_prevalence(inputs):
        centre[-1] = special.logit(INITIAL_PROBABILITY)

    def initial_point(seed: int) -> np.ndarray:
        return centre + np.random.default_rng(seed).uniform(-1.0, 1.0, n_dim)

    return initial_point


@functools.cache
def _model_class() -> type:
    """Return nutpie's compiled-model type for the kernel, defined on first use (nutpie is imported to sample)."""
    from nutpie import _lib
    from nutpie.sample import CompiledModel

    _kernel = kernel_module()

    @dataclasses.dataclass(frozen=True)
    class KernelModel(CompiledModel):
        """The kernel's numbers for one data set, in the form ``nutpie.sample`` samples."""

        buffer: np.ndarray
        names: list[str]
        var_shapes: list[tuple[int, ...]]
        var_coords: dict[str, list[Hashable]]
        initial_point_func: Callable[[int], np.ndarray]
        _n_dim: int
        _transform_adapt_args: dict | None = None

        @property
        def n_dim(self) -> int:
            return self._n_dim

        @property
        def shapes(self) -> dict[str, tuple[int, ...]]:
            return dict(zip(self.names, self.var_shapes, strict=True))

        @property
        def coords(self) -> dict[str, list[Hashable]]:
            return self.var_coords

        def _make_sampler(self, settings: Any, init_mean: Any, cores: int, progress_type: Any, store: Any) -> Any:
            return _lib.PySampler.from_pymc(settings, cores, self._make_model(init_mean), progress_type, store)

        def _make_model(self, init_mean: Any) -> Any:
            # As nutpie's own CompiledPyMCModel: C function addresses, the user data's address, and an
            # object that keeps the data alive while the sampler runs. No transform adapter (nutpie's
            # normalising-flow adaptation, transform_adapt=True): nothing here uses it.
            n_expanded = sum(int(np.prod(shape)) for shape in self.var_shapes)
            address = self.buffer.ctypes.data
            expand = _lib.ExpandFunc(self.n_dim, n_expanded, _kernel.expand_cfunc.address, address, self)
            logp = _lib.LogpFunc(_kernel.logp_cfunc.address, address, self)
            dim_sizes = {name: len(values) for name, values in self.var_coords.items()}
            variables = _lib.PyVariable.new_variables(
                self.names, ["float64"] * len(self.names), self.var_shapes, dim_sizes, self.dims
            )
            return _lib.PyMcModel(
                logp, expand, variables, self.n_dim, dim_sizes, self.var_coords, self.initial_point_func, None
            )

    return KernelModel


def kernel_model(inputs: ModelInputs) -> Any:
    """Return nutpie's model object for ``inputs``, backed by the cached kernel (where :func:`covers` holds)."""
    names, shapes, dims = _variables(inputs)
    buffer = pack(inputs)
    buffer.flags.writeable = False
    return _model_class()(
        dims=dims,
        buffer=buffer,
        names=names,
        var_shapes=shapes,
        # nutpie takes text labels; fit puts the levels' own labels back (model._fit._relabel)
        var_coords={
            "factor": list(inputs.factors),
            **({"group": [str(level) for level in inputs.coords["group"]]} if _n_groups(inputs) else {}),
            **({"grouping": [str(name) for name in inputs.coords["grouping"]]} if _n_groupings(inputs) > 1 else {}),
            **({"domain": [str(name) for name in inputs.coords["domain"]]} if _n_domains(inputs) else {}),
        },
        initial_point_func=_initial_points(inputs),
        _n_dim=_n_dim(inputs),
    )
