"""How far a long computation is, told to whoever listens: the command line prints it in its log.

A function that runs for minutes in steps (a selection's reference fit and
folds, a sensitivity analysis's refits, the fits of multiply imputed data)
calls :func:`report_step` as each step starts or ends; with no listener, that
does nothing, so a library user's output stays as quiet as before. The
command line listens (:func:`listening`) and prints every step on stderr
with the time since the command started, so that a log file or a batch job's
output says how far a long command is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

__all__ = ["listening", "report_step"]

_LISTENER: ContextVar[Callable[[str], None] | None] = ContextVar("bayes_ubpr_steps", default=None)


def report_step(message: str) -> None:
    """Tell the listener, if any, that a step of a long computation starts or ends (``message``, lower case)."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(message)


@contextlib.contextmanager
def listening(listener: Callable[[str], None]) -> Iterator[None]:
    """Within the block, pass every :func:`report_step` message of this thread to ``listener``.

    Examples
    --------
    >>> heard = []
    >>> with listening(heard.append):
    ...     report_step("fold 1 of 5: fitting 96 patients")
    >>> report_step("nobody listens")
    >>> heard
    ['fold 1 of 5: fitting 96 patients']
    """
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)
