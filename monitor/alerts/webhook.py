"""The JSON webhook (``ALERT_WEBHOOK_URL``): the whole alert as data for ITSM, PagerDuty or Slack bridges.

The body is ``Alert.to_dict()`` (template, run, state, the diagnosis dict, archive links, ``category``) with
every
log-derived string redacted again, plus ``headline``/``summary``/``text`` for bridges that only forward text.
Evidence is trimmed first when the body would pass the size limit.
"""

from __future__ import annotations

import copy
from typing import Any

from .channel import PAYLOAD_LIMIT, WebhookChannel, encode, log
from .content import TRIM_LEVELS, build_content, clean, plain_text
from .model import Alert

SCHEMA = "aib-build-monitor/alert@1"


def alert_document(alert: Alert, level: int = 0) -> dict[str, Any]:
    data = alert.to_dict()
    content = build_content(alert).trimmed(level)
    data["status_message"] = clean(data.get("status_message")) or None
    data["stuck_reason"] = clean(data.get("stuck_reason")) or None
    diag = copy.deepcopy(data.get("diagnosis"))
    if isinstance(diag, dict):
        keep, line_chars, prose, _ = TRIM_LEVELS[min(level, len(TRIM_LEVELS) - 1)]
        evidence = [e for e in diag.get("evidence") or [] if isinstance(e, dict)]
        kept = []
        for e in evidence[:keep]:
            text = clean(e.get("text"))
            kept.append({**e, "text": text if len(text) <= line_chars else text[: line_chars - 1] + "…"})
        diag["evidence"] = kept
        if len(evidence) > len(kept):
            diag["evidence_omitted"] = len(evidence) - len(kept)
        for key in ("summary", "cause"):
            if isinstance(diag.get(key), str):
                diag[key] = clean(diag[key])[:prose]
        if level >= 3:
            diag["advisories"] = (diag.get("advisories") or [])[:5]
            diag["warnings"] = [clean(w)[:prose] for w in (diag.get("warnings") or [])[:5]]
        data["diagnosis"] = diag
    return {
        "schema": SCHEMA,
        **data,
        "headline": content.headline,
        "summary": content.summary,
        "text": plain_text(content),
    }


class JsonWebhookChannel(WebhookChannel):
    name = "webhook"

    def render(self, alert: Alert) -> bytes:
        body = b""
        for level in range(len(TRIM_LEVELS)):
            body = encode(alert_document(alert, level))
            if len(body) < self.limit:
                return body
        log.warning(
            "alert document is %d bytes even trimmed (limit %d); sending it anyway", len(body), self.limit
        )
        return body


__all__ = ["PAYLOAD_LIMIT", "SCHEMA", "JsonWebhookChannel", "alert_document"]
