"""Which Azure failures are worth retrying later: the one answer used by the Event Grid trigger (re-raise so
Event Grid redelivers), the sweep (report the template as an error; the next sweep looks again) and the
optional-route fallbacks of monitor/azure/staging.py.

Transient: a connection failure (``ServiceRequestError``: DNS, refused, timeout; ``ServiceResponseError``: the
connection dropped mid-response) or an HTTP answer 408, 429 or 5xx other than 501 (Not Implemented) and 505
(HTTP Version Not Supported), which say "never" and would make Event Grid redeliver for a day in vain. An error
raised *from* a transient one (``__cause__`` / ``__context__``) is transient too.

azure.core is imported when the function runs, not at module import (the Functions app imports this module on
every cold start).
"""

from __future__ import annotations

NEVER_STATUS = frozenset({501, 505})
RETRY_STATUS = frozenset({408, 429})


def transient_status(status: int | None) -> bool:
    """An HTTP status worth retrying later."""
    if status is None:
        return False
    return status in RETRY_STATUS or (status >= 500 and status not in NEVER_STATUS)


def is_transient(exc: BaseException) -> bool:
    """True for a failure (or one it was raised from) that may pass by itself; see the module docstring."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ServiceRequestError | ServiceResponseError):
            return True
        if isinstance(current, HttpResponseError) and transient_status(current.status_code):
            return True
        current = current.__cause__ or current.__context__
    return False
