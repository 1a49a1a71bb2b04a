"""Which Azure failures are worth retrying later: the one answer used by the Event Grid trigger (re-raise so
Event Grid redelivers), the sweep (report the template as an error; the next sweep looks again) and the
optional-route fallbacks of monitor/azure/staging.py.

Transient: a connection failure (``ServiceRequestError``: DNS, refused, timeout; ``ServiceResponseError``: the
connection dropped mid-response) or an HTTP answer 408, 429 or 5xx other than 501 (Not Implemented) and 505
(HTTP Version Not Supported), which say "never" and would make Event Grid redeliver for a day in vain. An error
raised *from* a transient one (``__cause__`` / ``__context__``) is transient too. ``describe`` puts a failure
on one line for a sweep report row, saying when it is transient.

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


NEXT_SWEEP = "transient: the next sweep looks again"


def _bare_url(url: str) -> str:
    """``scheme://host[:port]/path`` of a request URL: no user info, query (a SAS) or fragment."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def describe(exc: BaseException, limit: int = 500) -> str:
    """One line saying what failed, for a sweep row and its log line: for an HTTP answer the status, the service's
    error code and reason and the request that got it (method and URL without user info or query); else the
    exception's text on one line. Secrets in it (a SAS in a connection error's URL) are redacted. A transient
    failure says that the next sweep looks again."""
    from azure.core.exceptions import HttpResponseError

    from diagnosis.redact import redact

    text = ""
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        code = getattr(exc, "error_code", None) or getattr(getattr(exc, "error", None), "code", None) or ""
        code = getattr(code, "value", code)  # the storage SDK's StorageErrorCode enum: its wire value
        text = f"{type(exc).__name__}: {exc.status_code} {code} ({exc.reason or 'no reason'})".replace("  ", " ")
        request = getattr(getattr(exc, "response", None), "request", None)
        url = _bare_url(str(getattr(request, "url", "") or ""))
        if url:
            text += f" from {getattr(request, 'method', '')} {url}"
    else:
        text = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = redact(text)
    return f"{text}; {NEXT_SWEEP}" if is_transient(exc) else text
