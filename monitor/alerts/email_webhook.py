"""Email through an HTTP webhook (e.g. a Logic App "When a HTTP request is received" -> "Send an email"):
POST ``{"to": [...], "subject": ..., "text": ..., "html": ...}`` to ``EMAIL_WEBHOOK_URL``.

The HTML is a single self-contained document with inline styles (mail clients drop <style> blocks and never
run
scripts); every piece of alert text is HTML-escaped, so log lines cannot add markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from diagnosis.times import format_utc

from .channel import PAYLOAD_LIMIT, WebhookChannel
from .content import AlertContent, plain_text, subject
from .retry import Retrier

SEVERITY_COLORS = {  # header background, header text
    "critical": ("#A4262C", "#FFFFFF"),
    "error": ("#C4314B", "#FFFFFF"),
    "warning": ("#F8D22A", "#201F1E"),
    "info": ("#237B4B", "#FFFFFF"),
}
FONT = "'Segoe UI',-apple-system,BlinkMacSystemFont,Roboto,'Helvetica Neue',Arial,sans-serif"
MONO = "Consolas,'SFMono-Regular',Menlo,'Liberation Mono',monospace"


def _e(text: str) -> str:
    return escape(text, quote=True)


def email_html(content: AlertContent) -> str:
    """Solid severity banner, what happened, cause, the numbered fix, evidence, then facts, details and links."""
    w = content.words
    bg, fg = SEVERITY_COLORS.get(content.severity, ("#0078D4", "#FFFFFF"))
    parts: list[str] = [
        "<!DOCTYPE html>",
        f'<html lang="{_e(content.language)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(subject(content))}</title></head>",
        f'<body style="margin:0;padding:24px;background:#F3F2F1;font-family:{FONT};color:#242424;">',
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="max-width:720px;margin:0 auto;background:#FFFFFF;border-radius:6px;border-collapse:separate;'
        'border:1px solid #E1DFDD;">',
        f'<tr><td style="background:{bg};color:{fg};padding:16px 24px;border-radius:6px 6px 0 0;">',
        f'<div style="font-size:13px;font-weight:700;letter-spacing:.06em;">{_e(content.severity_word)}</div>',
        f'<div style="font-size:20px;font-weight:700;margin-top:2px;">{_e(content.headline)}</div>',
        "</td></tr>",
        '<tr><td style="padding:20px 24px 8px 24px;">',
        f'<p style="margin:0 0 12px 0;font-size:15px;font-weight:600;">{_e(content.summary)}</p>',
    ]

    def section(title: str, body: str) -> None:
        parts.append(f'<h3 style="font-size:15px;margin:20px 0 6px 0;">{_e(title)}</h3>{body}')

    if content.cause:
        parts.append(
            '<p style="margin:0;font-size:14px;white-space:pre-wrap;">'
            f'<span style="font-weight:700;">{_e(w["section.cause"])}:</span> '
            f"{_e(content.cause)}</p>"
        )
    if content.remediation:
        items = "".join(f'<li style="margin:0 0 4px 0;">{_e(step)}</li>' for step in content.remediation)
        section(w["section.fix"], f'<ol style="margin:0;padding-left:22px;font-size:14px;">{items}</ol>')
    if content.evidence:
        rows = "".join(
            f'<tr><td style="padding:1px 12px 1px 8px;color:#8A8886;text-align:right;vertical-align:top;'
            f'white-space:nowrap;">{_e(e.label)}</td>'
            f'<td style="padding:1px 8px 1px 0;white-space:pre-wrap;word-break:break-all;">'
            f"{_e(e.text)}</td></tr>"
            for e in content.evidence
        )
        sources = ", ".join(sorted({e.location.split(":")[0] for e in content.evidence}))
        more = (
            f'<p style="margin:6px 0 0 0;font-size:12px;color:#616161;">'
            f"{_e(w['evidence.more'].format(count=content.evidence_omitted))}</p>"
            if content.evidence_omitted
            else ""
        )
        section(
            f"{w['section.evidence']} ({sources})",
            f'<table role="presentation" cellpadding="0" cellspacing="0" width="100%" '
            f'style="background:#F5F5F5;'
            f"border:1px solid #E1DFDD;border-radius:4px;font-family:{MONO};font-size:12px;"
            f'border-collapse:separate;padding:6px 0;">{rows}</table>{more}',
        )
    parts.append(
        '<table role="presentation" cellpadding="0" cellspacing="0" style="font-size:14px;'
        'border-collapse:collapse;margin-top:20px;">'
    )
    for key, value in content.facts + content.details:
        parts.append(
            f'<tr><td style="padding:3px 16px 3px 0;color:#616161;white-space:nowrap;vertical-align:top;">'
            f'{_e(key)}</td><td style="padding:3px 0;vertical-align:top;">{_e(value)}</td></tr>'
        )
    parts.append("</table>")
    if content.status_message:
        section(
            w["section.service_message"],
            f'<p style="margin:0;font-size:14px;color:#616161;white-space:pre-wrap;">{_e(content.status_message)}</p>',
        )
    for note in content.notes:
        parts.append(
            f'<p style="margin:14px 0 0 0;padding:8px 12px;background:#FFF4CE;border-radius:4px;'
            f'font-size:13px;">{_e(note)}</p>'
        )
    parts.append('</td></tr><tr><td style="padding:12px 24px 24px 24px;">')
    for link in content.links:
        if link.is_web:
            parts.append(
                f'<a href="{_e(link.url)}" style="display:inline-block;margin:4px 8px 4px 0;padding:8px 14px;'
                f"background:#5B5FC7;color:#FFFFFF;text-decoration:none;border-radius:4px;font-size:14px;"
                f'font-weight:600;">{_e(link.title)}</a>'
            )
        else:
            parts.append(
                f'<div style="font-size:12px;color:#616161;margin-top:6px;">{_e(link.title)}: '
                f"<code>{_e(link.url)}</code></div>"
            )
    parts.append(
        f'<div style="font-size:12px;color:#8A8886;margin-top:14px;">'
        f"{_e(w['footer'].format(time=format_utc(content.created_at)))}</div>"
    )
    parts.append("</td></tr></table></body></html>")
    return "".join(parts)


def email_payload(content: AlertContent, to: Sequence[str]) -> dict[str, Any]:
    return {
        "to": list(to),
        "subject": subject(content),
        "text": plain_text(content),
        "html": email_html(content),
    }


class EmailWebhookChannel(WebhookChannel):
    name = "email"

    def __init__(
        self,
        url: str,
        to: Sequence[str],
        retrier: Retrier,
        *,
        limit: int = PAYLOAD_LIMIT,
        language: str = "en",
        rules: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(url, retrier, limit=limit, language=language, rules=rules)
        if not to:
            raise ValueError("the email channel needs at least one recipient (EMAIL_TO)")
        self.to = tuple(to)

    def payload(self, content: AlertContent) -> dict[str, Any]:
        return email_payload(content, self.to)
