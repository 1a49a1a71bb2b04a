"""Alert channels (Teams Workflows / MessageCard, email webhook, JSON webhook, files), the shared retrier and the
outbox. The monitor uses ``AlertDispatcher.from_settings(settings, store)``, ``.send(alert)`` and
``.flush_outbox()``; every channel writes in ``ALERT_LANGUAGE`` (``en`` or ``ru``)."""

from .content import AlertContent, build_content, plain_text
from .dispatch import AlertDispatcher, DispatchResult
from .model import ALERT_KINDS, KIND_SEVERITY, Alert
from .outbox import Outbox, OutboxReport
from .retry import DeliveryOutcome, Retrier, RetryPolicy


def format_alert_text(alert: Alert, language: str = "en") -> str:
    """The alert as plain text in ``language`` (what the CLI prints and the files channel writes)."""
    return plain_text(build_content(alert, language))


__all__ = [
    "ALERT_KINDS",
    "KIND_SEVERITY",
    "Alert",
    "AlertContent",
    "AlertDispatcher",
    "DeliveryOutcome",
    "DispatchResult",
    "Outbox",
    "OutboxReport",
    "Retrier",
    "RetryPolicy",
    "build_content",
    "format_alert_text",
]
