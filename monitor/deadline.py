"""Per-thread deadlines for Azure requests: inside ``requests_until(deadline)`` the shared transport
(monitor/azure/clients.py) sends no request after ``deadline`` and raises ``DeadlinePassed`` instead, so work a
sweep abandoned at its budget stops at its next call. ``unbounded()`` lifts the deadline for bookkeeping that must
happen anyway (releasing a run's claim). Standard library only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("azure_request_deadline", default=None)


class DeadlinePassed(RuntimeError):
    """A request asked for after its thread's deadline. Not an AzureError, so no SDK retry policy waits and
    retries it: the work ends at once."""


@contextmanager
def requests_until(deadline: float | None) -> Iterator[None]:
    """``deadline`` is a ``time.monotonic()`` value; None: no deadline inside the block."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def unbounded() -> AbstractContextManager[None]:
    return requests_until(None)


def check() -> None:
    """Raise DeadlinePassed when this thread's deadline has passed."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlinePassed("the sweep budget (SWEEP_BUDGET_MINUTES) is spent; request not sent")
