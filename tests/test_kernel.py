"""The hand-written log density is the PyMC model's, term for term, and nutpie samples it to the same posterior."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import arviz as az
import numpy as np
import pandas as pd
import pytest

import bayes_ubpr as bu
from bayes_ubpr.model import ModelSpec
from bayes_ubpr.model._build import build_from_inputs, prepare_inputs
from bayes_ubpr.model._kernel import expand, log_density
from bayes_ubpr.model._kernel_model import covers, kernel_model, pack
from bayes_ubpr.priors import DomainShrinkage, Prior

SIX = list(bu.SIX_FACTORS)

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
}


@pytest.fixture(scope="module")
def samples() -> dict[str, object]:
    cohort = bu.simulate_cohort(n=400, prevalence=0.2, seed=8)
    return {"cohort": cohort, "case_control": bu.case_control_sample(cohort, seed=9)}


def _inputs(samples, name):
    priors, keywords = STRUCTURES[name]
    data = samples["case_control" if keywords.get("design") == "case_control" else "cohort"]
    if priors:
        keywords = {**keywords, "priors": priors}
    return prepare_inputs(data, ModelSpec(**keywords))


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
    # The log densities differ only by a constant of order 1e-8: PyMC rounds some normalising constants.
    np.testing.assert_allclose(ours - ours[0], theirs - theirs[0], rtol=0, atol=1e-9)
    assert abs(ours[0] - theirs[0]) < 1e-6


def test_structures_outside_the_kernel_go_to_pymc(samples):
    cohort = samples["cohort"].assign(hospital=np.arange(len(samples["cohort"])) % 4)
    mixed = {"fascia_injury": Prior("student_t", nu=3)}
    for spec in (
        ModelSpec(priors="horseshoe"),
        ModelSpec(priors=DomainShrinkage()),
        ModelSpec(group="hospital"),
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
@pytest.mark.parametrize("design", ["cohort", "case_control"])
def test_kernel_and_pymc_sampler_agree_within_monte_carlo_error(samples, design):
    settings = {"draws": 1000, "tune": 1000, "chains": 4, "design": design, "check": False, "log_likelihood": False}
    fits = [bu.fit(samples[design], sampler=sampler, seed=5, **settings) for sampler in ("nutpie", "pymc")]
    names = ["beta", "intercept_population"]
    kernel, pymc = (az.summary(fit, var_names=names, round_to="none") for fit in fits)
    assert (kernel["r_hat"] <= 1.01).all() and (pymc["r_hat"] <= 1.01).all()
    # Means and SDs agree within four Monte Carlo standard errors of their difference.
    for stat in ("mean", "sd"):
        difference = (kernel[stat] - pymc[stat]).abs()
        bound = 4 * np.hypot(kernel[f"mcse_{stat}"], pymc[f"mcse_{stat}"])
        assert (difference < bound).all(), pd.DataFrame({"difference": difference, "bound": bound})
