"""How a model is sampled: one frozen value, beside :class:`~bayes_ubpr.ModelSpec`, for every function that fits.

The rule (``docs/contributing.md``): a function that fits takes
``(data, spec, *, sampling=..., seed=...)``; a function of a fit takes
``(fit, ...)``. The loose keywords ``draws``, ``tune``, ``chains``, ``cores``,
``sampler``, ``target_accept`` and ``progressbar`` stay on :func:`bayes_ubpr.fit`
as its convenience; elsewhere they are accepted for one release with a
``DeprecationWarning`` (:func:`sampling_from_keywords`).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping
from typing import Any

from bayes_ubpr._validate import check_choice, check_positive_int, check_probability

__all__ = ["SAMPLERS", "SAMPLING_KEYWORDS", "Sampling", "sampling_from_keywords"]

SAMPLERS = ("nutpie", "pymc", "numpyro")
"""NUTS implementations :func:`bayes_ubpr.fit` can run."""


@dataclasses.dataclass(frozen=True)
class Sampling:
    """How to sample a model: draws, tuning, chains, cores, sampler and step-size target.

    Validated once, when made; every function that fits takes one as
    ``sampling=`` and records it in the fit (:meth:`to_attrs`).

    Parameters
    ----------
    draws, tune, chains : int
        Posterior draws per chain (at least 1), tuning steps per chain (0 or
        more) and chains (at least 1).
    cores : int, optional
        Chains run side by side: in threads for nutpie, in processes for
        PyMC's sampler. ``None``: one per CPU core, at most ``chains``
        (:meth:`resolved_cores`). A caller that runs fits side by side passes 1.
    sampler : {"nutpie", "pymc", "numpyro"}, optional
        ``None``: nutpie where installed, else PyMC's.
    target_accept : float, optional
        NUTS target acceptance in (0, 1). ``None``: 0.8, or 0.95 for the
        shrinkage priors.
    progressbar : bool, default False
        Show the sampler's progress (as lines where stderr is not a terminal).

    Raises
    ------
    ValueError, TypeError
        Naming the field, for a value out of range or of the wrong type.

    Examples
    --------
    >>> from bayes_ubpr import Sampling
    >>> quick = Sampling(draws=500, tune=500, chains=2)
    >>> quick.replace(chains=4).chains, quick.total_draws
    (4, 1000)
    >>> Sampling(chains=0)
    Traceback (most recent call last):
    ...
    ValueError: chains must be >= 1; got 0
    """

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    cores: int | None = None
    sampler: str | None = None
    target_accept: float | None = None
    progressbar: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "draws", check_positive_int(self.draws, name="draws"))
        set_(self, "tune", check_positive_int(self.tune, name="tune", minimum=0))
        set_(self, "chains", check_positive_int(self.chains, name="chains"))
        if self.cores is not None:
            set_(self, "cores", check_positive_int(self.cores, name="cores"))
        if self.sampler is not None:
            check_choice(self.sampler, SAMPLERS, name="sampler")
        if self.target_accept is not None:
            set_(self, "target_accept", check_probability(self.target_accept, name="target_accept"))
        if not isinstance(self.progressbar, bool):
            raise TypeError(f"progressbar must be True or False; got {type(self.progressbar).__name__}")

    def replace(self, **changes: Any) -> Sampling:
        """Return a copy with ``changes`` (validated as when made)."""
        return dataclasses.replace(self, **changes)

    @property
    def total_draws(self) -> int:
        """Posterior draws over all chains."""
        return self.draws * self.chains

    def resolved_cores(self) -> int:
        """Cores the chains use: :attr:`cores`, or one per CPU core, at most :attr:`chains`."""
        return self.cores if self.cores is not None else min(self.chains, os.cpu_count() or 1)

    def to_attrs(self) -> dict[str, Any]:
        """Return the fields as a fit records them (``None`` fields left out)."""
        return {f"sampling_{k}": v for k, v in dataclasses.asdict(self).items() if v is not None and k != "progressbar"}


SAMPLING_KEYWORDS = tuple(field.name for field in dataclasses.fields(Sampling))
"""The loose keywords a :class:`Sampling` gathers."""


def sampling_from_keywords(
    sampling: Sampling | None,
    keywords: Mapping[str, Any],
    *,
    default: Sampling,
    caller: str,
    stacklevel: int = 3,
    deprecated: bool = True,
) -> Sampling:
    """Return the :class:`Sampling` of a function that takes ``sampling=``, honouring deprecated loose keywords.

    ``keywords`` holds the loose keywords the caller passed (``None`` counts
    as not given). Passing any of them warns that they go in a ``Sampling``
    (unless ``deprecated=False``, for :func:`bayes_ubpr.fit`); passing them
    together with ``sampling`` is an error.
    """
    given = {name: value for name, value in keywords.items() if value is not None}
    if sampling is not None and not isinstance(sampling, Sampling):
        raise TypeError(f"{caller}: sampling must be a bayes_ubpr.Sampling; got {type(sampling).__name__}")
    if not given:
        return default if sampling is None else sampling
    if sampling is not None:
        raise TypeError(f"{caller}: pass {', '.join(given)} inside sampling=Sampling(...), not beside it")
    if not deprecated:  # fit's own convenience: its loose keywords are not deprecated
        return default.replace(**given)
    warnings.warn(
        f"{caller}({', '.join(f'{k}=...' for k in given)}) is deprecated and will be removed in the next release: "
        f"pass sampling=bayes_ubpr.Sampling({', '.join(f'{k}=...' for k in given)}) instead",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return default.replace(**given)
