"""The hand-written log density is the PyMC model's, term for term, and nutpie samples it to the same posterior."""

from __future__ import annotations

import ctypes
import dataclasses
import os
import subprocess
import sys
import textwrap
import warnings

import arviz as az
import numba
import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import bayes_ubpr as bu
from bayes_ubpr.model import ModelSpec, one_off_sampler
from bayes_ubpr.model._build import GROUP_SD_PRIOR_SCALE, build_from_inputs, prepare_inputs
from bayes_ubpr.model._kernel import _exp_negative, _log1p_unit, expand, expand_cfunc, log_density, logp_cfunc
from bayes_ubpr.model._kernel_model import covers, kernel_model, pack
from bayes_ubpr.priors import DomainShrinkage, Horseshoe, Prior

SIX = list(bu.SIX_FACTORS)

CENTRED = "centred"
"""A structure's key that forces domain shrinkage's other parametrisation than the rule's."""

STRUCTURES = {
    "default, cohort": ({}, {}),
    "default, case-control with Beta prevalence": ({}, {"design": "case_control"}),
    "wide, case-control with fixed prevalence": (
        {},
        {"design": "case_control", "population_prevalence": 0.046, "priors": "wide"},
    ),
    "student-t coefficients, Laplace intercept": (
        {f: Prior("student_t", mu=0.3, sigma=1.5, nu=3) for f in SIX} | {"intercept": Prior("laplace", -1, 2)},
        {},
    ),
    "Laplace coefficients, student-t intercept": (
        {f: Prior("laplace", mu=0.1, sigma=0.7) for f in SIX} | {"intercept": Prior("student_t", 0, 2, nu=4)},
        {"design": "case_control"},
    ),
    "default, cohort, five sites": ({}, {"group": "site"}),
    "default, case-control with Beta prevalence, five sites": ({}, {"design": "case_control", "group": "site"}),
    "student-t coefficients, case-control with fixed prevalence, five sites": (
        {f: Prior("student_t", mu=0.3, sigma=1.5, nu=3) for f in SIX},
        {"design": "case_control", "population_prevalence": 0.046, "group": "site"},
    ),
    "default, cohort, surgeons nested in sites": ({}, {"group": "site/surgeon"}),
    "default, case-control with Beta prevalence, surgeons nested in sites": (
        {},
        {"design": "case_control", "group": "site/surgeon"},
    ),
    "default, cohort, sites crossed with wards": ({}, {"group": ("site", "ward")}),
    "Laplace coefficients, case-control with fixed prevalence, sites crossed with wards": (
        {f: Prior("laplace", mu=0.1, sigma=0.7) for f in SIX},
        {"design": "case_control", "population_prevalence": 0.046, "group": ("site", "ward")},
    ),
    "horseshoe, cohort": ({}, {"priors": "horseshoe"}),
    "horseshoe, case-control with Beta prevalence, five sites": (
        {},
        {"priors": Horseshoe(expected_nonzero=3, slab_scale=1.5, slab_df=5), "design": "case_control", "group": "site"},
    ),
    "horseshoe, case-control with Beta prevalence, surgeons nested in sites, crossed with wards": (
        {},
        {"priors": "horseshoe", "design": "case_control", "group": ("site/surgeon", "ward")},
    ),
    # 400 patients at 20%: 10.7 units of information per factor, centred; its 80:80 sample, 6.7, centred too;
    # CENTRED below forces the other form (see CENTRED_INFORMATION_PER_FACTOR)
    "domains, cohort (centred)": ({}, {"priors": "domains"}),
    "domains, cohort (non-centred)": ({}, {"priors": "domains", CENTRED: False}),
    "domains, case-control with Beta prevalence, five sites (centred)": (
        {},
        {"priors": DomainShrinkage(global_scale=0.7, domain_spread=0.8), "design": "case_control", "group": "site"},
    ),
    "domains of my own, case-control with fixed prevalence, surgeons nested in sites (non-centred)": (
        {},
        {
            "priors": DomainShrinkage(domains={"bone": ("bmd_tscore_abs",), "rest": tuple(SIX[1:])}),
            "design": "case_control",
            "population_prevalence": 0.046,
            "group": "site/surgeon",
            CENTRED: False,
        },
    ),
}


@pytest.fixture(scope="module")
def samples() -> dict[str, object]:
    cohort = bu.simulate_cohort(n=400, prevalence=0.2, seed=8)
    # Five sites of unequal size, with site effects on the log odds (for the grouped structures).
    site = np.random.default_rng(10).choice(5, size=len(cohort), p=[0.35, 0.25, 0.2, 0.12, 0.08])
    # Three surgeons per site (nested: surgeon 1 of site 0 is not surgeon 1 of site 2) and four wards crossed
    # with the sites, for the structures with several groupings.
    other = np.random.default_rng(12)
    cohort = cohort.assign(
        site=site, surgeon=other.integers(1, 4, len(cohort)), ward=other.choice(list("ABCD"), len(cohort))
    )
    return {"cohort": cohort, "case_control": bu.case_control_sample(cohort, seed=9)}


def _inputs(samples, name):
    priors, keywords = STRUCTURES[name]
    keywords = dict(keywords)
    centred = keywords.pop(CENTRED, None)
    data = samples["case_control" if keywords.get("design") == "case_control" else "cohort"]
    if priors:
        keywords = {**keywords, "priors": priors}
    inputs = prepare_inputs(data, ModelSpec(**keywords))
    if isinstance(inputs.priors.structure, DomainShrinkage):
        assert inputs.centred  # the rule's choice on these samples; a structure may ask for the other form
        if centred is not None:
            inputs = dataclasses.replace(inputs, centred=centred)
    return inputs


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_log_density_and_gradient_are_pymcs(samples, name, rng):
    inputs = _inputs(samples, name)
    assert covers(inputs.spec, inputs.priors)
    model = build_from_inputs(inputs)
    pymc_logp, pymc_gradient = model.compile_logp(), model.compile_dlogp()
    buffer = pack(inputs)[1:]
    start = model.initial_point()
    names = [value.name for value in model.value_vars]
    values = []
    for _ in range(5):
        point = {name: start[name] + rng.normal(0.0, 0.7, np.shape(start[name])) for name in names}
        position = np.concatenate([np.atleast_1d(point[name]) for name in names])
        gradient = np.empty_like(position)
        value = log_density(position, gradient, buffer)
        np.testing.assert_allclose(gradient, pymc_gradient(point), rtol=1e-10, atol=1e-10)
        values.append((value, float(pymc_logp(point))))
    ours, theirs = np.array(values).T
    # Up to a constant: PyTensor stores a Python float that float32 holds exactly (the intercept's scale 2.5)
    # as float32, which shifts its log sigma term by 3e-8. The absolute value is pinned to scipy below.
    np.testing.assert_allclose(ours - ours[0], theirs - theirs[0], rtol=0, atol=1e-9)


def _scipy_log_density(position: np.ndarray, inputs) -> float:
    """The model's log density from scipy's distributions, on the sampler's (unconstrained) scale."""
    data, priors, k = inputs.data, inputs.priors, len(inputs.factors)
    alpha, beta_std = position[0], position[1 : 1 + k]

    def prior(family, x, mu, sigma, nu):
        if family == "normal":
            return stats.norm.logpdf(x, mu, sigma)
        if family == "student_t":
            return stats.t.logpdf(x, nu, mu, sigma)
        return stats.laplace.logpdf(x, mu, sigma)

    intercept, scale = priors.intercept, data["x_scale"]
    total = prior(intercept.family, alpha, intercept.mu, intercept.sigma, intercept.nu)
    cursor = 1 + k
    if isinstance(priors.structure, Horseshoe):  # every positive parameter sampled as its log, with its Jacobian
        u = position[1 : 1 + 3 * k + 3]
        normal_l, gamma_l, normal_g, gamma_g, slab = u[:k], u[k : 2 * k], u[2 * k], u[2 * k + 1], u[2 * k + 2]
        z = u[2 * k + 3 :]
        hs = priors.structure
        total += (stats.halfnorm.logpdf(np.exp(normal_l)) + normal_l).sum()
        total += (stats.invgamma.logpdf(np.exp(gamma_l), 0.5, scale=0.5) + gamma_l).sum()
        total += stats.halfnorm.logpdf(np.exp(normal_g)) + normal_g
        total += stats.invgamma.logpdf(np.exp(gamma_g), 0.5, scale=0.5) + gamma_g
        total += stats.invgamma.logpdf(np.exp(slab), hs.slab_df / 2, scale=hs.slab_df * hs.slab_scale**2 / 2) + slab
        total += stats.norm.logpdf(z).sum()
        local = np.exp(normal_l) * np.sqrt(np.exp(gamma_l))
        tau = data["tau0"] * np.exp(normal_g) * np.sqrt(np.exp(gamma_g))
        beta_std = z * tau * np.sqrt(np.exp(slab) * local**2 / (np.exp(slab) + tau**2 * local**2))
        cursor = 1 + 3 * k + 3
    elif isinstance(priors.structure, DomainShrinkage):  # tau and omega sampled as logs, with their Jacobians
        shrinkage, n_domains = priors.structure, len(inputs.coords["domain"])
        log_tau, log_omega = position[1], position[2]
        eta, values = position[3 : 3 + n_domains], position[3 + n_domains : 3 + n_domains + k]
        total += stats.halfnorm.logpdf(np.exp(log_tau), scale=shrinkage.global_scale) + log_tau
        total += stats.halfnorm.logpdf(np.exp(log_omega), scale=shrinkage.domain_spread) + log_omega
        total += stats.norm.logpdf(eta).sum()
        domain_scale = (np.exp(log_tau) * np.exp(np.exp(log_omega) * eta))[data["domain_idx"]]
        if inputs.centred:
            beta_std = values
            total += stats.norm.logpdf(values, 0.0, domain_scale).sum()
        else:
            beta_std = values * domain_scale
            total += stats.norm.logpdf(values).sum()
        cursor = 3 + n_domains + k
    else:
        mu, sigma = data["prior_mu"] * scale, data["prior_sigma"] * scale
        total += prior(priors.single_family(), beta_std, mu, sigma, data.get("prior_nu")).sum()
    eta = alpha + data["X"] @ beta_std
    if inputs.spec.group is not None:  # HalfNormal SD per grouping on the log scale (Jacobian sd), N(0, 1) z
        groupings, groups = len(inputs.spec.groups), len(inputs.coords["group"])
        log_sd, z = position[cursor : cursor + groupings], position[cursor + groupings : cursor + groupings + groups]
        total += (stats.halfnorm.logpdf(np.exp(log_sd), scale=GROUP_SD_PRIOR_SCALE) + log_sd).sum()
        total += stats.norm.logpdf(z).sum()
        owner = data.get("group_grouping", np.zeros(groups, dtype=int))  # each level's grouping
        offset = np.exp(log_sd)[owner] * z
        eta = eta + offset[data["group_idx"].reshape(len(eta), groupings)].sum(axis=1)
        cursor += groupings + groups
    if "prevalence_a" in data:  # Beta density of p = expit(z) times the Jacobian p (1 - p), in logs
        z, a, b = position[cursor], data["prevalence_a"], data["prevalence_b"]
        total += a * special.log_expit(z) + b * special.log_expit(-z) - special.betaln(a, b)
    return total + np.where(data["outcome_values"] == 1, special.log_expit(eta), special.log_expit(-eta)).sum()


def _positions(inputs, rng, spread: float) -> list[np.ndarray]:
    from bayes_ubpr.model._kernel_model import _n_dim

    k = len(inputs.factors)
    horseshoe = isinstance(inputs.priors.structure, Horseshoe)
    domains = isinstance(inputs.priors.structure, DomainShrinkage)
    n_domains = len(inputs.coords.get("domain", ())) if domains else 0
    positions = [rng.normal(0.0, spread, _n_dim(inputs)) for _ in range(3)]
    for position in positions:  # logs of positive parameters: keep their exponentials finite at a large spread
        if horseshoe:
            position[1 : 1 + 2 * k + 3] = rng.normal(0.0, 1.5, 2 * k + 3)
        if domains:  # and the domains' z: domain scales within about 0.2-5, so that a centred coefficient of
            # 100 keeps its prior term below 1e6 (the finite differences' rounding, eps |f| / h, stays small)
            position[1], position[2] = rng.normal(0.0, 0.5), rng.normal(-1.0, 0.3)
            position[3 : 3 + n_domains] = rng.normal(0.0, 0.5, n_domains)
        if inputs.spec.group is not None:
            block = 3 * k + 3 if horseshoe else 2 + n_domains + k if domains else k
            sd_at, groupings = 1 + block, len(inputs.spec.groups)
            position[sd_at : sd_at + groupings] = rng.normal(0.0, 1.5, groupings)
    return positions


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_log_density_equals_scipys_and_the_c_entry_point_returns_it(samples, name, rng):
    inputs = _inputs(samples, name)
    packed = pack(inputs)
    for position in _positions(inputs, rng, spread=0.7):
        gradient = np.empty_like(position)
        value = log_density(position, gradient, packed[1:])
        assert value == pytest.approx(_scipy_log_density(position, inputs), rel=1e-12)
        # nutpie's view: the C callback on the packed buffer, with its status code.
        c_gradient, c_value = np.empty_like(position), np.empty(1)
        pointers = [*map(_doubles, (position, c_gradient, c_value)), ctypes.c_void_p(packed.ctypes.data)]
        assert logp_cfunc.ctypes(len(position), *pointers) == 0
        assert c_value[0] == value and np.array_equal(c_gradient, gradient)
        assert logp_cfunc.ctypes(len(position) + 1, *pointers) == -1  # a position of the wrong size


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_gradient_is_exact_where_the_risks_saturate(samples, name, rng):
    # Coefficients of about 100 per SD put linear predictors in the hundreds, where expit(eta) underflows and a
    # naive log(1 + exp(eta)) overflows. Central differences with step h = 1e-6 max(1, |x|) err by O(h^2)
    # times the third derivative (below 1e-7 here) plus rounding, eps |f| / h < 2e-16 * 2e5 / 1e-6 = 4e-5.
    inputs = _inputs(samples, name)
    buffer = pack(inputs)[1:]
    for position in _positions(inputs, rng, spread=100.0):
        gradient = np.empty_like(position)
        value = log_density(position, gradient, buffer)
        assert np.isfinite(value) and value == pytest.approx(_scipy_log_density(position, inputs), rel=1e-12)
        scratch = np.empty_like(position)
        for j in range(len(position)):
            h = 1e-6 * max(1.0, abs(position[j]))
            up, down = position.copy(), position.copy()
            up[j] += h
            down[j] -= h
            difference = (log_density(up, scratch, buffer) - log_density(down, scratch, buffer)) / (2 * h)
            assert difference == pytest.approx(gradient[j], rel=1e-6, abs=1e-4)


@numba.njit
def _written_out(a: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    exp_values, log_values = np.empty(a.size), np.empty(s.size)
    for i in range(a.size):
        exp_values[i] = _exp_negative(a[i])
    for i in range(s.size):
        log_values[i] = _log1p_unit(s[i])
    return exp_values, log_values


def test_written_out_exp_and_log1p_are_within_two_units_in_the_last_place_of_libms():
    # The kernel's own exp(-a) and log1p(s), which let its loops over patients vectorise, against numpy's
    # (glibc's) on a fine grid of their whole domains and on tiny arguments, where cancellation would show.
    eps = np.finfo(float).eps
    a = np.concatenate([np.linspace(0.0, 700.0, 700_001), np.geomspace(1e-300, 1.0, 10_001)])
    s = np.concatenate([np.linspace(0.0, 1.0, 1_000_001), np.geomspace(1e-300, 1.0, 10_001)])
    exp_values, log_values = _written_out(a, s)
    assert np.max(np.abs(exp_values / np.exp(-a) - 1.0)) <= 2 * eps
    assert np.max(np.abs(log_values[1:] / np.log1p(s[1:]) - 1.0)) <= 2 * eps and log_values[0] == 0.0
    # Beyond 700 the exponential stays at exp(-700) (added to 1 it is nothing); a NaN stays a NaN.
    beyond, nothing = _written_out(np.array([700.0, 800.0, np.inf, np.nan]), np.array([np.nan]))
    assert beyond[0] == beyond[1] == beyond[2] == pytest.approx(np.exp(-700.0), rel=2 * eps)
    assert np.isnan(beyond[3]) and np.isnan(nothing[0])


def test_initial_points_are_jittered_around_the_pymc_start(samples):
    inputs = _inputs(samples, "default, case-control with Beta prevalence")
    start = kernel_model(inputs).initial_point_func
    first, again, other = start(7), start(7), start(8)
    assert first.dtype == np.float64 and first.shape == (1 + len(SIX) + 1,)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    centre = np.r_[np.zeros(1 + len(SIX)), special.logit(0.05)]  # PyMC's start as the PyMC path sets it
    assert np.all(np.abs(first - centre) <= 1.0)


def test_structures_outside_the_kernel_go_to_pymc(samples):
    cohort = samples["cohort"].assign(hospital=np.arange(len(samples["cohort"])) % 4)
    mixed = {"fascia_injury": Prior("student_t", nu=3)}
    for spec in (
        ModelSpec(priors=DomainShrinkage(), group="hospital", varying_slopes=["fascia_injury"]),
        ModelSpec(group="hospital", varying_slopes=["fascia_injury"]),
        ModelSpec(priors=mixed),
    ):
        inputs = prepare_inputs(cohort, spec)
        assert not covers(inputs.spec, inputs.priors), spec


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_stored_variables_are_the_pymc_models(samples, name, rng):
    inputs = _inputs(samples, name)
    model = build_from_inputs(inputs)
    stored = [rv.name for rv in (*model.free_RVs, *model.deterministics)]
    compiled = kernel_model(inputs)
    assert set(compiled.shapes) == set(stored)
    # The same dims and labels as the PyMC model's, so that a fit from either sampler reads the same
    # (group_sd: a scalar for one grouping, one per grouping over "grouping" for several).
    assert compiled.dims == {
        name: model.named_vars_to_dims[name] for name in stored if model.named_vars_to_dims.get(name)
    }
    assert compiled.coords == {
        dim: [str(label) for label in model.coords[dim]] for dim in set(sum(compiled.dims.values(), ()))
    }
    outputs = model.replace_rvs_by_values([model[name] for name in stored])
    pymc_values = model.compile_fn(outputs, inputs=model.value_vars)
    names = [value.name for value in model.value_vars]
    buffer = pack(inputs)[1:]
    sizes = [int(np.prod(shape)) for shape in compiled.shapes.values()]
    for _ in range(3):
        point = {name: rng.normal(0.0, 0.7, np.shape(model.initial_point()[name])) for name in names}
        position = np.concatenate([np.atleast_1d(point[name]) for name in names])
        out = np.empty(sum(sizes))
        expand(position, out, buffer)
        ours = dict(zip(compiled.shapes, np.split(out, np.cumsum(sizes)[:-1]), strict=True))
        for variable, value in zip(stored, pymc_values(point), strict=True):
            np.testing.assert_allclose(ours[variable], np.ravel(value), rtol=1e-12, err_msg=variable)
        # nutpie's view: the C callback on the packed buffer writes the same, and refuses wrong sizes.
        c_out, packed = np.empty_like(out), pack(inputs)
        pointers = [_doubles(position), _doubles(c_out), ctypes.c_void_p(packed.ctypes.data)]
        assert expand_cfunc.ctypes(len(position), len(out), *pointers) == 0
        assert np.array_equal(c_out, out)
        assert expand_cfunc.ctypes(len(position), len(out) - 1, *pointers) == -1
        assert expand_cfunc.ctypes(len(position) + 1, len(out), *pointers) == -1


def _doubles(array: np.ndarray):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


@pytest.mark.slow
def test_a_new_process_loads_the_kernel_from_the_disk_cache():
    # The test run has compiled the kernel already; a fresh interpreter must not compile it again.
    script = textwrap.dedent(
        """
        from bayes_ubpr.model import _kernel
        print(_kernel.logp_cfunc.cache_hits, _kernel.expand_cfunc.cache_hits)
        """
    )
    output = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    assert output.split() == ["1", "1"]


@pytest.mark.slow
def test_without_a_writable_cache_folder_the_kernel_is_compiled_in_the_process(tmp_path):
    # numba raises on cache=True where no locator finds a writable folder; simulate that place by allowing
    # only the IPython locator, which never applies to a file on disk.
    script = textwrap.dedent(
        """
        import warnings
        import bayes_ubpr as bu
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from bayes_ubpr.model import _kernel
        print(_kernel.CACHE, any("NUMBA_CACHE_DIR" in str(w.message) for w in caught))
        idata = bu.fit(bu.simulate_cohort(n=200, prevalence=0.3, seed=1), chains=2, draws=200, tune=200,
                       check=False, log_likelihood=False)
        print(idata.attrs["sampler"], idata.posterior["beta"].shape)
        """
    )
    environment = {**os.environ, "NUMBA_CACHE_LOCATOR_CLASSES": "IPythonCacheLocator"}
    result = subprocess.run(
        [sys.executable, "-W", "ignore::bayes_ubpr.exceptions.StatisticalWarning", "-c", script],
        capture_output=True, text=True, env=environment, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["False True", "nutpie (2, 200, 6)"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("design", "group", "priors"),
    [
        ("cohort", None, None),
        ("case_control", None, None),
        ("cohort", "site", None),
        ("case_control", None, "horseshoe"),
        ("cohort", "site/surgeon", None),
        ("case_control", ("site", "ward"), None),
        ("cohort", None, "domains"),
        ("case_control", "site", "domains"),
    ],
    ids=[
        "cohort",
        "case-control",
        "sites",
        "horseshoe",
        "surgeons nested in sites",
        "sites crossed with wards",
        "domains",
        "domains, case-control, sites",
    ],
)
def test_kernel_and_pymc_sampler_agree_within_monte_carlo_error(samples, design, group, priors, monkeypatch):
    settings = {"draws": 1000, "tune": 1000, "chains": 4, "design": design, "check": False, "log_likelihood": False}
    data = samples[design]
    kernel_fit = bu.fit(data, sampler="nutpie", seed=5, group=group, priors=priors, **settings)
    # The reference is the PyMC model's density as PyTensor compiles it, sampled by nutpie (the kernel switched
    # off). PyMC's own Python NUTS was the reference of the flat models, but in a long test session PyTensor ran
    # its ops through their Python implementations (Op.make_py_thunk) and its chains crawled for many minutes
    # (py-spy, 2026-12-06); the density is what is being checked, and nutpie samples PyTensor's.
    monkeypatch.setenv("BAYES_UBPR_KERNEL", "0")
    reference = bu.fit(data, sampler="nutpie", seed=5, group=group, priors=priors, **settings)
    fits = [kernel_fit, reference]
    assert fits[0].attrs["sampler"] == "nutpie" and covers(*_resolved(data, design, group, priors))
    names = ["beta", "intercept_population"] + (["group_sd", "group_offset"] if group else [])
    names += ["global_scale", "slab_variance"] if priors == "horseshoe" else []
    names += ["global_scale", "domain_spread", "domain_scale"] if priors == "domains" else []
    kernel, pymc = (az.summary(fit, var_names=names, round_to="none") for fit in fits)
    assert (kernel["r_hat"] <= 1.01).all() and (pymc["r_hat"] <= 1.01).all()
    # Means and SDs agree within four Monte Carlo standard errors of their difference.
    for stat in ("mean", "sd"):
        difference = (kernel[stat] - pymc[stat]).abs()
        bound = 4 * np.hypot(kernel[f"mcse_{stat}"], pymc[f"mcse_{stat}"])
        assert (difference < bound).all(), pd.DataFrame({"difference": difference, "bound": bound})


def _resolved(data, design, group, priors=None):
    inputs = prepare_inputs(data, ModelSpec(design=design, group=group, priors=priors or "default"))
    return inputs.spec, inputs.priors


def _python(script: str, env: dict, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-W", "ignore::bayes_ubpr.exceptions.StatisticalWarning", "-c", textwrap.dedent(script)],
        capture_output=True, text=True, env={**os.environ, **env}, cwd=cwd, timeout=600,
    )  # fmt: skip


@pytest.mark.slow
def test_a_damaged_kernel_cache_is_removed_and_rebuilt_with_one_warning(tmp_path):
    # Before: an overwritten .nbc file (UnpicklingError, ValueError) or an emptied .nbi index (EOFError)
    # broke every fit, in every process, until the user found and deleted numba's cache.
    script = """
        import warnings
        import bayes_ubpr as bu
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            idata = bu.fit(bu.simulate_cohort(n=200, prevalence=0.3, seed=1), chains=2, draws=100, tune=100,
                           check=False, log_likelihood=False)
        from bayes_ubpr.model import _kernel
        messages = [str(w.message) for w in caught if issubclass(w.category, bu.PerformanceWarning)]
        print(idata.posterior["beta"].shape, _kernel.logp_cfunc.cache_hits, messages)
        """
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    first = _python(script, env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "(2, 100, 6) 0 []"  # compiled into the new cache folder
    files = sorted((tmp_path / "cache").rglob("_kernel.*.nb[ic]"))
    assert files
    for damage in ("nbc", "nbi"):
        for file in files:
            if file.suffix == f".{damage}":
                file.write_bytes(b"" if damage == "nbi" else b"garbage\n")
        damaged = _python(script, env, tmp_path)
        assert damaged.returncode == 0, damaged.stderr
        assert damaged.stdout.startswith("(2, 100, 6) 0 ["), damaged.stdout  # compiled anew
        message = damaged.stdout
        assert "numba's cache of bayes_ubpr's log density could not be read" in message
        assert f"removed its {len(files)} file(s)" in message and message.count("could not be read") == 1
        again = _python(script, env, tmp_path)  # the rebuilt cache loads, silently
        assert again.stdout.strip() == "(2, 100, 6) 1 []", again.stderr


@pytest.mark.slow
def test_the_command_line_says_why_a_fit_is_slower_without_a_cache_folder(tmp_path):
    # Before: the kernel's warning was swallowed by the CLI, which printed only statistical warnings.
    bu.simulate_cohort(n=200, prevalence=0.3, seed=1).to_csv(tmp_path / "cohort.csv", index=False)
    result = subprocess.run(
        [sys.executable, "-m", "bayes_ubpr.cli", "fit", "cohort.csv", "--draws", "200", "--tune", "200"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env={**os.environ, "NUMBA_CACHE_LOCATOR_CLASSES": "IPythonCacheLocator"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "bayes-ubpr fit: warning: numba finds no writable folder" in result.stderr
    assert "NUMBA_CACHE_DIR" in result.stderr


def test_the_kernel_switch_turns_it_off(monkeypatch):
    from bayes_ubpr.model._kernel_model import KERNEL_SWITCH, kernel_applies

    spec = bu.ModelSpec().resolve(bu.simulate_cohort(n=200, seed=1))
    assert kernel_applies(spec, spec.prior_spec())
    for off in ("0", "off", "False"):
        monkeypatch.setenv(KERNEL_SWITCH, off)
        assert not kernel_applies(spec, spec.prior_spec())
        assert one_off_sampler(bu.simulate_cohort(n=200, seed=1), bu.ModelSpec()) == "pymc"


@pytest.mark.slow
def test_a_kernel_that_fails_to_build_falls_back_on_pymc_with_one_warning(monkeypatch):
    # nutpie's private model type may change: any failure building the kernel's model must leave the fit
    # working, through the public path, and say so once.
    import bayes_ubpr.model._kernel_model as kernel_model

    def broken(inputs):
        raise AttributeError("module 'nutpie._lib' has no attribute 'PyMcModel'")

    monkeypatch.setattr(kernel_model, "kernel_model", broken)
    monkeypatch.setattr(kernel_model, "_FAILED", [])
    cohort = bu.simulate_cohort(n=200, prevalence=0.3, seed=1)
    settings = {"chains": 2, "draws": 1000, "tune": 1000, "check": False, "log_likelihood": False, "sampler": "nutpie"}
    with pytest.warns(bu.PerformanceWarning, match=r"could not be used \(AttributeError: module 'nutpie._lib'"):
        first = bu.fit(cohort, seed=1, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("error", bu.PerformanceWarning)
        second = bu.fit(cohort, seed=2, **settings)
    assert first.posterior["beta"].shape == second.posterior["beta"].shape == (2, 1000, 6)
    assert not kernel_model.kernel_applies(*(lambda s: (s, s.prior_spec()))(bu.ModelSpec().resolve(cohort)))


@pytest.mark.slow
def test_a_read_only_home_neither_breaks_nor_clutters_the_import(tmp_path):
    # Before: with no writable home, `import bayes_ubpr` (and so every command) failed in ArviZ's import
    # with "OSError: Read-only file system", and matplotlib printed two lines about its cache folder.
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = {"HOME": str(blocker / "home")}  # nothing can be created under a file, whoever runs the test
    env_without_xdg = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "MPLCONFIGDIR"))}
    result = subprocess.run(
        [sys.executable, "-c", "import bayes_ubpr, arviz, matplotlib.pyplot; print('ok')"],
        capture_output=True, text=True, env={**env_without_xdg, **env}, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok" and result.stderr == "", result.stderr


def test_every_model_spec_field_is_reviewed_for_the_kernel():
    # A field added to ModelSpec (a term, an imputation) must be looked at before the hand-written density
    # may sample models that use it: until it is listed, covers() refuses every model.
    import dataclasses

    from bayes_ubpr.model._kernel_model import KERNEL_FIELDS

    assert set(KERNEL_FIELDS) == {field.name for field in dataclasses.fields(ModelSpec)}


def test_an_unreviewed_field_makes_the_kernel_refuse_every_model(monkeypatch):
    import bayes_ubpr.model._kernel_model as kernel_model

    spec = bu.ModelSpec().resolve(bu.simulate_cohort(n=200, seed=1))
    assert covers(spec, spec.prior_spec())
    monkeypatch.delitem(kernel_model.KERNEL_FIELDS, "population_mapping")
    assert not covers(spec, spec.prior_spec())
