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


def spawn_seeds(seed: SeedLike, n: int) -> list[np.random.SeedSequence]:
    """Return ``n`` independent child seeds, spawned once, up front, from ``seed``.

    Child k is the same whatever ``n`` is, so replicate k of a study (or fold
    k of a cross-validation) does not depend on how many there are, nor on
    the batch or executor that runs it. An int, ``None`` or a SeedSequence is
    the root itself; a Generator's own seed sequence is spawned from, as
    :meth:`numpy.random.Generator.spawn` does. Every child carries the root's
    ``entropy``: record it to repeat a run started with ``seed=None``.

    Examples
    --------
    >>> a = spawn_seeds(1, 5)[3].generate_state(1)
    >>> b = spawn_seeds(1, 10)[3].generate_state(1)
    >>> bool((a == b).all()), spawn_seeds(7, 2)[0].entropy
    (True, 7)
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed}")
    if isinstance(seed, np.random.Generator):
        return seed.bit_generator.seed_seq.spawn(n)  # type: ignore[attr-defined]
    if seed is None or isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        return root.spawn(n)
    raise TypeError(f"seed must be None, an int or a numpy.random.Generator; got {type(seed).__name__}")
