"""Teams cards from an ``AlertContent``: an Adaptive Card 1.4 (Workflows) and a legacy connector MessageCard.

Adaptive Card TextBlocks and Fact values are rendered as Markdown by Teams, so text that comes from logs or
templates must not be able to change the card's structure:
- log-derived prose (summary, cause, service message, evidence) goes into ``RichTextBlock``/``TextRun``
  elements,
  which the Adaptive Card spec defines as *not* Markdown-processed;
- the few TextBlocks/Facts that carry names (template, resource group, customizer) are Markdown-escaped.
Only Adaptive Card 1.4 elements and properties are used (Workflows' "Post card" rejects 1.5).
"""

from __future__ import annotations

import html
import re
from typing import Any

from .content import AlertContent

CARD_VERSION = "1.4"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

# Header container style / text color per severity.
SEVERITY_STYLE = {"critical": "attention", "error": "attention", "warning": "warning", "info": "good"}
SEVERITY_HEX = {"critical": "A4262C", "error": "D13438", "warning": "C19C00", "info": "13A10E"}

_MD_ALWAYS = re.compile(r"([\\`*\[\]<>~|{}])")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)


def md_escape(text: str) -> str:
    """Escape CommonMark syntax so the text renders literally (backslash escapes; intra-word ``_`` left
    alone)."""
    text = _MD_ALWAYS.sub(r"\\\1", text)
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    text = _MD_ORDERED.sub(r"\1\\\2", text)  # "1." -> "1\." (a backslash may only precede punctuation)
    text = re.sub(r"^(\s*)([#+\-=])", r"\1\\\2", text, flags=re.MULTILINE)
    return text


def _heading(text: str, spacing: str = "medium") -> dict[str, Any]:
    # Static label (our own text): a TextBlock is fine here.
    return {"type": "TextBlock", "text": text, "weight": "bolder", "spacing": spacing, "wrap": True}


def _rich(text: str, **run: Any) -> dict[str, Any]:
    """Literal text (never Markdown-processed): a RichTextBlock with one TextRun."""
    block: dict[str, Any] = {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **run}]}
    return block


def _line_number(label: str, width: int) -> str:
    # No-break spaces: renderers collapse ordinary ones, and the numbers should line up in the monospace
    # block.
    return f"{label:>{width}}  ".replace(" ", "\u00a0")


def adaptive_card(content: AlertContent) -> dict[str, Any]:
    style = SEVERITY_STYLE.get(content.severity, "emphasis")
    kind_label = content.headline.split(":", 1)[0]
    header_items: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": kind_label.upper(),
            "size": "small",
            "weight": "bolder",
            "color": style,
            "spacing": "none",
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": md_escape(content.template_name),
            "size": "large",
            "weight": "bolder",
            "spacing": "none",
            "wrap": True,
        },
    ]
    if content.category_title and content.kind != "recovered":
        header_items.append(
            {
                "type": "TextBlock",
                "text": md_escape(content.category_title),
                "spacing": "none",
                "isSubtle": True,
                "wrap": True,
            }
        )
    body: list[dict[str, Any]] = [
        {"type": "Container", "style": style, "bleed": True, "items": header_items},
        {**_rich(content.summary, weight="bolder"), "spacing": "medium"},
        {
            "type": "FactSet",
            "spacing": "medium",
            "facts": [{"title": md_escape(k), "value": md_escape(v)} for k, v in content.facts],
        },
    ]
    if content.status_message and content.status_message not in content.summary:
        body += [_heading("Service message"), _rich(content.status_message, isSubtle=True)]
    if content.cause:
        body += [_heading("Cause"), _rich(content.cause)]
    if content.remediation:
        body.append(_heading("What to do"))
        body += [
            {**_rich(f"{i}. {step}"), "spacing": "small"} for i, step in enumerate(content.remediation, 1)
        ]
    if content.evidence:
        lines: list[dict[str, Any]] = []
        width = max((len(e.label) for e in content.evidence), default=0)
        for e in content.evidence:
            lines.append(
                {
                    "type": "RichTextBlock",
                    "spacing": "none",
                    "inlines": [
                        *(
                            [
                                {
                                    "type": "TextRun",
                                    "text": _line_number(e.label, width),
                                    "fontType": "monospace",
                                    "isSubtle": True,
                                    "size": "small",
                                }
                            ]
                            if width
                            else []
                        ),
                        {"type": "TextRun", "text": e.text, "fontType": "monospace", "size": "small"},
                    ],
                }
            )
        sources = sorted({e.location.split(":")[0] for e in content.evidence})
        body += [
            _heading(f"Evidence ({', '.join(sources)})"),
            {"type": "Container", "style": "emphasis", "spacing": "small", "items": lines},
        ]
    if content.evidence_omitted:
        body.append(
            {
                **_rich(
                    f"{content.evidence_omitted} more evidence line(s) in the archived log.",
                    isSubtle=True,
                    size="small",
                ),
                "spacing": "small",
            }
        )
    for note in content.notes:
        body.append(_rich(note, color="warning"))
    for link in content.links:
        if not link.is_web:  # a local archive path (CLI/demo): show it, a button could not open it
            body.append(_rich(f"{link.title}: {link.url}", isSubtle=True, size="small"))
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "fallbackText": content.headline,
        "body": body,
    }
    actions = [{"type": "Action.OpenUrl", "title": link.title, "url": link.url} for link in content.web_links]
    if actions:
        card["actions"] = actions
    return card


def workflows_message(card: dict[str, Any]) -> dict[str, Any]:
    """The envelope a Teams Workflows webhook ("When a Teams webhook request is received") expects."""
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def _mc_text(text: str) -> str:
    """MessageCard text fields accept Markdown and a little HTML: escape both."""
    return md_escape(html.escape(text, quote=False))


def message_card(content: AlertContent) -> dict[str, Any]:
    """Legacy Office 365 connector card (``TEAMS_WEBHOOK_FORMAT=messagecard``)."""
    sections: list[dict[str, Any]] = [
        {
            "activityTitle": _mc_text(content.headline),
            "activitySubtitle": _mc_text(content.category_title or ""),
            "text": _mc_text(content.summary),
            "facts": [{"name": _mc_text(k), "value": _mc_text(v)} for k, v in content.facts],
            "markdown": True,
        }
    ]
    if content.status_message and content.status_message not in content.summary:
        sections.append(
            {"title": "Service message", "text": _mc_text(content.status_message), "markdown": True}
        )
    if content.cause:
        sections.append({"title": "Cause", "text": _mc_text(content.cause), "markdown": True})
    if content.remediation:
        steps = "<br>".join(f"{i}. {_mc_text(s)}" for i, s in enumerate(content.remediation, 1))
        sections.append({"title": "What to do", "text": steps, "markdown": True})
    if content.evidence:
        # Markdown off for this section: the lines are shown as preformatted, HTML-escaped text.
        rows = "\n".join(f"{e.label:>6}  {html.escape(e.text, quote=False)}" for e in content.evidence)
        more = (
            f"<br>{content.evidence_omitted} more line(s) in the archived log."
            if content.evidence_omitted
            else ""
        )
        sections.append({"title": "Evidence", "text": f"<pre>{rows}</pre>{more}", "markdown": False})
    if content.notes:
        sections.append({"text": "<br>".join(_mc_text(n) for n in content.notes), "markdown": True})
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "themeColor": SEVERITY_HEX.get(content.severity, "0078D4"),
        "summary": _mc_text(content.headline)[:150],
        "title": _mc_text(content.headline),
        "sections": sections,
    }
    actions = [
        {"@type": "OpenUri", "name": link.title, "targets": [{"os": "default", "uri": link.url}]}
        for link in content.web_links
    ]
    if actions:
        card["potentialAction"] = actions
    return card
