"""Ctrl-C while sampling: stop the chains and raise :class:`~bayes_ubpr.FitInterrupted`.

Both samplers swallow a keyboard interrupt: ``nutpie.sample`` returns the
draws so far, padded with NaN, and ``pymc.sample`` returns a truncated trace
(or, while tuning, fails later with an ``IndexError``). Either would reach
the caller as a fit. Here an interrupt always ends in ``FitInterrupted``,
which carries the draws that were finished so that :func:`bayes_ubpr.fit`
can offer them, marked as partial, to a caller who asks for them.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from bayes_ubpr.exceptions import FitInterrupted

PROGRESS_POLL_SECONDS = 0.5
"""How often a nutpie fit that reports progress looks at its trace."""


class SigintWatch:
    """Whether SIGINT arrived while the watch was on (see :func:`sigint_watch`)."""

    def __init__(self) -> None:
        self.interrupted = False


@contextlib.contextmanager
def sigint_watch() -> Iterator[SigintWatch]:
    """Record a SIGINT and pass it on to the handler that was there (Python's: ``KeyboardInterrupt``).

    Only the main thread receives signals; elsewhere, and where SIGINT is
    ignored or left to the operating system, nothing is installed.
    """
    watch = SigintWatch()
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield watch
        return

    def handler(signum: int, frame: Any) -> None:
        watch.interrupted = True
        previous(signum, frame)

    # A KeyboardInterrupt raised while Python runs a weakref callback or __del__ cannot propagate: Python prints
    # "Exception ignored in ..." with a traceback and goes on. The watch has recorded it (callers stop on
    # ``watch.interrupted``), so that one is not printed; any other unraisable exception still is.
    previous_hook = sys.unraisablehook

    def unraisable(event: Any) -> None:
        if isinstance(event.exc_value, KeyboardInterrupt):
            watch.interrupted = True
            return
        previous_hook(event)

    signal.signal(signal.SIGINT, handler)
    sys.unraisablehook = unraisable
    try:
        yield watch
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook


def sample_nutpie(
    compiled: Any, *, draws: int, chains: int, progress: Callable[[int], None] | None = None, **options: Any
) -> Any:
    """Run ``nutpie.sample`` (``draws`` per chain, the other ``options`` as nutpie's) and return its trace.

    ``progress``, if given, is called with the number of iterations finished
    so far (warm-up included) every :data:`PROGRESS_POLL_SECONDS`.

    Raises
    ------
    FitInterrupted
        On Ctrl-C: the chains are stopped, and the exception's ``trace``
        attribute holds what nutpie returned of the draws so far.
    """
    import nutpie

    sampler = nutpie.sample(compiled, draws=draws, chains=chains, blocking=False, **options)
    try:
        if progress is not None:
            # nutpie's private handle (nutpie is pinned): its wait raises TimeoutError while the chains run,
            # and its raw trace holds every iteration so far, warm-up included.
            while True:
                try:
                    sampler._sampler.wait(PROGRESS_POLL_SECONDS)
                    break
                except TimeoutError:
                    draw_batches, _ = sampler._sampler.inspect().get_arrow_trace()
                    progress(sum(batch.num_rows for batch in draw_batches))
        return sampler.wait()
    except KeyboardInterrupt:
        try:
            with warnings.catch_warnings():  # ArviZ warns of a trace with no draws yet
                warnings.simplefilter("ignore")
                trace = sampler.abort()
        except Exception:  # nothing to convert (interrupted before the first draw was stored)
            trace = None
        raise interrupted(trace, draws, chains) from None
    except BaseException:
        sampler.cancel()
        raise


def interrupted(trace: Any, draws: int, chains: int) -> FitInterrupted:
    """Return the :class:`FitInterrupted` for a sampler's partial ``trace`` (``chains`` x ``draws`` asked for).

    Its ``trace`` attribute is ``trace`` cut to the chains that finished at
    least two draws and to the draws all of those finished, or ``None``.
    """
    posterior = getattr(trace, "posterior", None)
    finished = finished_draws(posterior) if posterior is not None else np.zeros(0, dtype=int)
    error = FitInterrupted(int(finished.sum()), draws * chains)
    kept = np.flatnonzero(finished >= 2)
    error.trace = None  # type: ignore[attr-defined]
    if kept.size:
        cut = {"chain": kept, "draw": slice(int(finished[kept].min()))}
        error.trace = type(trace)(  # type: ignore[attr-defined]
            posterior=trace.posterior.isel(cut), sample_stats=trace.sample_stats.isel(cut)
        )
    return error


def finished_draws(posterior: Any) -> np.ndarray:
    """Leading draws each chain finished (every variable finite), as an array over chains."""
    if "draw" not in posterior.dims or posterior.sizes["draw"] == 0:
        return np.zeros(posterior.sizes.get("chain", 0), dtype=int)
    shape = (posterior.sizes["chain"], posterior.sizes["draw"])
    done = np.ones(shape, dtype=bool)
    for variable in posterior.data_vars.values():
        values = variable.transpose("chain", "draw", ...).to_numpy().reshape(*shape, -1)
        if np.issubdtype(values.dtype, np.floating):
            done &= np.isfinite(values).all(axis=2)
    # the first unfinished draw of each chain (all finished: the number of draws)
    return np.where(done.all(axis=1), shape[1], np.argmin(done, axis=1))
