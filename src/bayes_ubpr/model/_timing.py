"""How long a fit will take: this machine's time per gradient, times the iterations a fit runs."""

from __future__ import annotations

import time

import pandas as pd

from bayes_ubpr._validate import check_positive_int
from bayes_ubpr.model._build import build_from_inputs, prepare_inputs
from bayes_ubpr.model._fit import default_sampler
from bayes_ubpr.model.sampling import Sampling, sampling_from_keywords
from bayes_ubpr.model.spec import ModelSpec

__all__ = ["LEAPFROG_STEPS_PER_DRAW", "estimate_fit_seconds"]


LEAPFROG_STEPS_PER_DRAW = 7
"""Gradient evaluations per NUTS iteration assumed by :func:`estimate_fit_seconds`: a tree depth of 3, what
this model's well-conditioned, standardised posterior typically needs."""


def estimate_fit_seconds(
    data: pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    sampling: Sampling | None = None,
    repeats: int = 5,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    sampler: str | None = None,
) -> float:
    """Rough wall time of a one-core fit, from this machine's measured time per gradient.

    Times ``repeats`` evaluations of the log-density gradient that the fit
    would run (the hand-written density where nutpie samples a model it
    covers, else PyTensor's C backend, as PyMC's sampler runs it; the
    sampler of ``sampling``) and multiplies by ``chains * (tune + draws) * 7``
    (see :data:`LEAPFROG_STEPS_PER_DRAW`). It leaves out compilation and the
    sampler's own overhead, so it is a lower bound for small cohorts and close
    for large ones, where gradients dominate.

    Parameters
    ----------
    data : pandas.DataFrame
        The data the fit will use.
    spec : ModelSpec, optional
        The model; default ``ModelSpec()``.
    sampling : Sampling, optional
        The fit's sampling; default ``Sampling()``.
    repeats : int, default 5
        Gradient evaluations timed.
    draws, tune, chains, sampler
        Deprecated: the fields of ``sampling`` as loose keywords.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort
    >>> from bayes_ubpr.model import estimate_fit_seconds
    >>> estimate_fit_seconds(simulate_cohort(n=2000, seed=1), repeats=2) > 0
    True
    """
    from bayes_ubpr.model._kernel_model import kernel_applies, kernel_evaluation

    loose = {"draws": draws, "tune": tune, "chains": chains, "sampler": sampler}
    sampling = sampling_from_keywords(sampling, loose, default=Sampling(), caller="estimate_fit_seconds")
    spec = ModelSpec() if spec is None else spec
    inputs = prepare_inputs(data, spec)
    sampler = default_sampler() if sampling.sampler is None else sampling.sampler
    if sampler == "nutpie" and kernel_applies(inputs.spec, inputs.priors):
        gradient = kernel_evaluation(inputs)
    else:
        model = build_from_inputs(inputs)
        point = model.initial_point()
        compiled = model.compile_dlogp()
        gradient = lambda: compiled(point)  # noqa: E731
    gradient()  # the first call may still set up buffers
    start = time.perf_counter()
    for _ in range(check_positive_int(repeats, name="repeats")):
        gradient()
    per_gradient = (time.perf_counter() - start) / repeats
    return per_gradient * sampling.chains * (sampling.tune + sampling.draws) * LEAPFROG_STEPS_PER_DRAW
