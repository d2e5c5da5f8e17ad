"""Seed handling: normalise a user's seed once, spawn independent children."""

from __future__ import annotations

import numpy as np

SeedLike = int | np.random.Generator | np.random.SeedSequence | None


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return a Generator for ``seed`` (None, int, SeedSequence or Generator)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed}")
    if seed is None or isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be None, an int or a numpy.random.Generator; got {type(seed).__name__}")


def as_int_seed(seed: SeedLike) -> int:
    """Draw a 32-bit integer seed for libraries that want one (PyMC, nutpie)."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {seed}")
        return int(seed)
    return int(as_generator(seed).integers(2**31 - 1))
