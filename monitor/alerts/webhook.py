"""The JSON webhook (``ALERT_WEBHOOK_URL``): the whole alert as data for ITSM, PagerDuty or Slack bridges.

The body is ``Alert.to_dict()`` (template, run, state, the diagnosis dict, archive links, ``category``) with
every
log-derived string redacted again, plus ``headline``/``summary``/``text`` for bridges that only forward text.
Evidence is trimmed first when the body would pass the size limit.
"""

from __future__ import annotations

import copy
from typing import Any

from diagnosis.redact import redact

from .channel import PAYLOAD_LIMIT, WebhookChannel, encode, log
from .content import TRIM_LEVELS, AlertContent, build_content, clean, plain_text
from .model import Alert

SCHEMA = "aib-build-monitor/alert@1"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def alert_document(
    alert: Alert, level: int = 0, content: AlertContent | None = None, *, language: str = "en"
) -> dict[str, Any]:
    """``Alert.to_dict()`` with log-derived strings redacted and bounded; ``level`` trims like the cards
    do. ``headline``/``summary``/``text`` are in ``language``; pass ``content`` (``build_content(alert)``) to
    reuse it across levels."""
    data = alert.to_dict()
    content = (content or build_content(alert, language)).trimmed(level)
    t = TRIM_LEVELS[min(level, len(TRIM_LEVELS) - 1)]
    data["status_message"] = _cut(clean(data.get("status_message")), t.prose_chars) or None
    data["stuck_reason"] = _cut(clean(data.get("stuck_reason")), 1000) or None
    for key in ("portal_url", "log_url", "archive_url", "doc_url"):  # never a SAS signature in a message
        if isinstance(data.get(key), str):
            data[key] = redact(data[key])
    diag = copy.deepcopy(data.get("diagnosis"))
    if isinstance(diag, dict):
        evidence = [e for e in diag.get("evidence") or [] if isinstance(e, dict)]
        kept = [
            {**e, "text": _cut(clean(str(e.get("text") or "")[: t.evidence_chars * 4]), t.evidence_chars)}
            for e in evidence[: t.evidence_lines]
        ]
        diag["evidence"] = kept
        if len(evidence) > len(kept):
            diag["evidence_omitted"] = len(evidence) - len(kept)
        for key in ("title", "summary", "cause"):
            if isinstance(diag.get(key), str):
                diag[key] = _cut(clean(diag[key]), t.prose_chars)
        diag["remediation"] = [
            _cut(clean(str(s)), t.prose_chars) for s in (diag.get("remediation") or [])[: t.steps]
        ]
        diag["warnings"] = [
            _cut(clean(str(w)), t.prose_chars) for w in (diag.get("warnings") or [])[: t.notes]
        ]
        diag["advisories"] = [
            {k: _cut(clean(v), 500) if isinstance(v, str) else v for k, v in a.items()}
            for a in (diag.get("advisories") or [])[: t.notes * 2]
            if isinstance(a, dict)
        ]
        if isinstance(diag.get("log_url"), str):
            diag["log_url"] = redact(diag["log_url"])
        data["diagnosis"] = diag
    return {
        "schema": SCHEMA,
        **data,
        "language": content.language,
        "headline": content.headline,
        "summary": content.summary,
        "text": plain_text(content),
    }


class JsonWebhookChannel(WebhookChannel):
    name = "webhook"

    def render(self, alert: Alert) -> bytes:
        body = b""
        content = self.content(alert)
        for level in range(len(TRIM_LEVELS)):
            body = encode(alert_document(alert, level, content))
            if len(body) < self.limit:
                return body
        log.warning(
            "alert document is %d bytes even trimmed (limit %d); sending it anyway", len(body), self.limit
        )
        return body


__all__ = ["PAYLOAD_LIMIT", "SCHEMA", "JsonWebhookChannel", "alert_document"]
