"""Progress of a long fit as plain lines, for a log file or a batch job where no progress bar draws."""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["TextProgress"]


class TextProgress:
    """Sampler callback that prints the share of iterations done and the time left, every tenth, to stderr.

    Examples
    --------
    >>> import io
    >>> stream = io.StringIO()
    >>> progress = TextProgress(20, stream=stream)
    >>> for _ in range(20):
    ...     progress()
    >>> stream.getvalue().splitlines()[-1].startswith("sampling: 100% (20 of 20 iterations")
    True
    """

    def __init__(self, total: int, *, stream: Any = None, steps: int = 10) -> None:
        self.total, self.done, self.steps = total, 0, steps
        self.stream = sys.stderr if stream is None else stream
        self.start = time.perf_counter()
        self.reported = 0

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        """Count one iteration of one chain (PyMC calls it with the trace and the draw)."""
        self.advance_to(self.done + 1)

    def advance_to(self, done: int) -> None:
        """Record that ``done`` iterations are finished; print a line if that completes another tenth."""
        self.done = done
        step = self.done * self.steps // self.total
        if step <= self.reported:
            return
        self.reported = step
        elapsed = time.perf_counter() - self.start
        left = elapsed * (self.total - self.done) / self.done
        print(
            f"sampling: {100 * self.done // self.total}% ({self.done:,} of {self.total:,} iterations), "
            f"{elapsed:.0f} s elapsed, about {left:.0f} s left",
            file=self.stream,
            flush=True,
        )
