"""Alert channels (Teams Workflows / MessageCard, email webhook, JSON webhook, files), the shared retrier and the
outbox. The monitor uses ``AlertDispatcher.from_settings(settings, store)``, ``.send(alert)`` and
``.flush_outbox()``; every channel writes in ``ALERT_LANGUAGE`` (``en`` or ``ru``)."""

from .content import AlertContent, build_content
from .dispatch import AlertDispatcher, DispatchResult
from .model import ALERT_KINDS, KIND_SEVERITY, Alert
from .outbox import Outbox, OutboxReport
from .retry import DeliveryOutcome, Retrier, RetryPolicy

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
]
