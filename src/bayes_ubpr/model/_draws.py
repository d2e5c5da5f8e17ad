"""A fit as plain arrays: the lean path of simulation studies, which refit one compiled model thousands of times.

:func:`bayes_ubpr.fit` returns an ``InferenceData`` with the data, labels and
settings a user needs; a calibration replicate needs a few parameters' draws
and a convergence verdict. Here nutpie's Arrow trace goes straight to numpy
(no xarray), and R-hat and ESS are computed on the arrays (see
:mod:`bayes_ubpr.model._diagnostics`). The draws are the same as ``fit``'s
for the same inputs, seed and settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bayes_ubpr.model._build import ModelInputs
from bayes_ubpr.model._convergence import ESS_PER_CHAIN_MIN, RHAT_MAX
from bayes_ubpr.model._diagnostics import ess_bulk, ess_tail, rhat
from bayes_ubpr.model._fit import compiled_nutpie
from bayes_ubpr.model._interrupt import sample_nutpie

__all__ = ["FitArrays", "sample_arrays"]

ESS_MIN = 400
"""Bulk and tail ESS every checked parameter needs, however few the chains."""

CHECKED = ("alpha", "beta", "group_sd", "slope_sd", "global_scale")
"""Parameters whose convergence is checked, where the model has them (as :func:`~bayes_ubpr.check_convergence`)."""


@dataclass(frozen=True)
class FitArrays:
    """Posterior draws as arrays ``(chain, draw, ...)`` with the sampler's verdict."""

    draws: dict[str, np.ndarray] = field(repr=False)
    n_divergent: int
    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float

    @property
    def ess_target(self) -> int:
        """Bulk and tail ESS each parameter must reach: 400, or 100 per chain if more (Vehtari et al. 2021)."""
        return max(ESS_MIN, ESS_PER_CHAIN_MIN * next(iter(self.draws.values())).shape[0])

    @property
    def converged(self) -> bool:
        """R-hat at most 1.01, bulk and tail ESS at least :attr:`ess_target` for every parameter, no divergence."""
        return (
            self.rhat_max <= RHAT_MAX
            and self.ess_bulk_min >= self.ess_target
            and self.ess_tail_min >= self.ess_target
            and self.n_divergent == 0
        )

    @classmethod
    def from_draws(cls, draws: dict[str, np.ndarray], n_divergent: int, var_names: Sequence[str]) -> FitArrays:
        """Keep ``var_names`` of ``draws`` (``(chain, draw, ...)`` arrays) with the verdict on the checked ones."""
        chains = next(iter(draws.values())).shape[0]
        checked = np.concatenate(
            [draws[name].reshape(chains, draws[name].shape[1], -1) for name in CHECKED if name in draws], axis=2
        )
        return cls(
            draws={name: draws[name] for name in var_names if name in draws},
            n_divergent=n_divergent,
            rhat_max=float(np.max(rhat(checked))),
            ess_bulk_min=float(np.min(ess_bulk(checked))),
            ess_tail_min=float(np.min(ess_tail(checked))),
        )

    def flat(self, name: str) -> np.ndarray:
        """Draws of ``name`` with chains pooled: ``(chain * draw, ...)``."""
        values = self.draws[name]
        return values.reshape(-1, *values.shape[2:])


def _columns(batches: Sequence[object], names: Sequence[str]) -> dict[str, np.ndarray]:
    """Named columns of nutpie's per-chain Arrow record batches as ``(chain, draw, ...)`` arrays."""
    import pyarrow as pa

    tables = [pa.record_batch(batch) for batch in batches]
    out = {}
    for name in names:
        if name not in tables[0].schema.names:
            continue
        chains = []
        for table in tables:
            column = table.column(name)
            if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
                chains.append(column.flatten().to_numpy().reshape(table.num_rows, -1))
            else:
                chains.append(column.to_numpy(zero_copy_only=False))
        out[name] = np.stack(chains)
    return out


def sample_arrays(
    inputs: ModelInputs,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    target_accept: float = 0.8,
    cores: int = 1,
    var_names: Sequence[str] = ("alpha", "beta", "intercept", "intercept_population"),
) -> FitArrays:
    """Sample ``inputs``' model with nutpie and return the draws of ``var_names`` as arrays.

    Parameters
    ----------
    inputs : ModelInputs
        From :func:`~bayes_ubpr.model._build.prepare_inputs`.
    draws, tune, chains, seed, target_accept
        As for :func:`bayes_ubpr.fit`.
    cores : int, default 1
        Threads for the chains. A study runs replicates side by side instead.
    var_names : sequence of str
        Variables to return (the checked parameters are added).
    """
    trace = sample_nutpie(
        compiled_nutpie(inputs),
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=seed,
        target_accept=target_accept,
        progress_bar=False,
        save_warmup=False,
        return_raw_trace=True,
    )
    draw_batches, stat_batches = trace.get_arrow_trace()
    stats = _columns(stat_batches, ("tuning", "diverging"))
    keep = ~stats["tuning"].astype(bool)  # the raw trace holds the warm-up too
    names = list(dict.fromkeys([*var_names, *CHECKED]))
    columns = _columns(draw_batches, names)
    arrays = {name: values[keep].reshape(chains, -1, *values.shape[2:]) for name, values in columns.items()}
    return FitArrays.from_draws(arrays, int(stats["diverging"][keep].sum()), var_names)
