"""Rank-normalised split R-hat and bulk/tail ESS on plain arrays, every parameter at once.

The estimators of Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021),
doi:10.1214/20-BA1221, as ArviZ 0.23 computes them (``az.rhat``, ``az.ess``
with ``method="bulk"``/``"tail"``), vectorised over parameters: a calibration
study checks every replicate, and ArviZ's per-variable xarray machinery
costs more than the rest of a replicate's bookkeeping. The tests hold these
to ArviZ's values.

Arrays are ``(chain, draw, parameter)``.
"""

from __future__ import annotations

import numpy as np
from scipy import fft, special, stats

__all__ = ["ess_bulk", "ess_tail", "rhat"]


def _split(draws: np.ndarray) -> np.ndarray:
    """Each chain cut into its first and last half (the middle draw of an odd length is dropped)."""
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, draws.shape[1] - half :]], axis=0)


def _z_scale(draws: np.ndarray) -> np.ndarray:
    """Return the normal scores of the ranks of each parameter's pooled draws (Blom's offset 3/8)."""
    chains, n, k = draws.shape
    ranks = stats.rankdata(draws.reshape(chains * n, k), method="average", axis=0)
    return special.ndtri((ranks - 0.375) / (chains * n + 0.25)).reshape(draws.shape)


def _rhat_plain(draws: np.ndarray) -> np.ndarray:
    n = draws.shape[1]
    between = n * draws.mean(axis=1).var(axis=0, ddof=1)
    within = draws.var(axis=1, ddof=1).mean(axis=0)
    return np.sqrt((between / within + n - 1) / n)


def rhat(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat per parameter: the larger of the bulk and the folded (tail) one."""
    split = _split(draws)
    folded = np.abs(split - np.median(split.reshape(-1, split.shape[2]), axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.maximum(_rhat_plain(_z_scale(split)), _rhat_plain(_z_scale(folded)))


def _ess(draws: np.ndarray) -> np.ndarray:
    """ESS of each parameter from the chains' autocovariances, Geyer's initial monotone sequence."""
    chains, n, k = draws.shape
    centred = draws - draws.mean(axis=1, keepdims=True)
    size = fft.next_fast_len(2 * n)
    spectrum = fft.rfft(centred, n=size, axis=1)
    acov = fft.irfft(spectrum * np.conjugate(spectrum), n=size, axis=1)[:, :n] / n
    mean_var = acov[:, 0].mean(axis=0) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if chains > 1:
        var_plus = var_plus + draws.mean(axis=1).var(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus  # (lag, parameter)
    rho[0] = 1.0
    # Pairs (rho_2j, rho_2j+1) while the sum stays positive, for lags below n - 2 (as Geyer's sequence is cut).
    n_pairs = max(1, -(-(n - 2) // 2))
    pairs = rho[: 2 * n_pairs].reshape(n_pairs, 2, k).sum(axis=1)
    ended = pairs <= 0.0
    ended[0] = False
    last = np.where(ended.any(axis=0), ended.argmax(axis=0), n_pairs - 1)  # the pair that ends the sequence
    monotone = np.minimum.accumulate(pairs, axis=0)
    kept = np.arange(n_pairs)[:, None] < last[None, :]
    tail = np.maximum(rho[2 * last, np.arange(k)], 0.0)
    tau = -1.0 + 2.0 * np.where(kept, monotone, 0.0).sum(axis=0) + tail
    total = chains * n
    ess = total / np.maximum(tau, 1.0 / np.log10(total))
    constant = np.ptp(draws.reshape(-1, k), axis=0) < np.finfo(float).resolution
    ess = np.where(constant, float(total), ess)
    return np.where(np.isnan(rho).any(axis=0) & ~constant, np.nan, ess)


def ess_bulk(draws: np.ndarray) -> np.ndarray:
    """Bulk ESS per parameter: the ESS of the rank-normalised split chains."""
    return _ess(_z_scale(_split(draws)))


def ess_tail(draws: np.ndarray) -> np.ndarray:
    """Tail ESS per parameter: the smaller ESS of the indicators of the 5% and 95% quantiles."""
    pooled = draws.reshape(-1, draws.shape[2])
    low, high = np.quantile(pooled, [0.05, 0.95], axis=0)
    below_low = _ess(_split((draws <= low).astype(float)))
    below_high = _ess(_split((draws <= high).astype(float)))
    return np.minimum(below_low, below_high)
