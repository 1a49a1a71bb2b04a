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

from .content import AlertContent, EvidenceLine

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


# Evidence lines shown on the card itself; the rest are behind "Show details".
VISIBLE_EVIDENCE = 3


def _evidence_container(lines: tuple[EvidenceLine, ...], spacing: str = "small") -> dict[str, Any]:
    width = max((len(e.label) for e in lines), default=0)
    rows: list[dict[str, Any]] = []
    for e in lines:
        gutter = (
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
        )
        rows.append(
            {
                "type": "RichTextBlock",
                "spacing": "none",
                "inlines": [*gutter, {"type": "TextRun", "text": e.text, "fontType": "monospace", "size": "small"}],
            }
        )
    return {"type": "Container", "style": "emphasis", "spacing": spacing, "items": rows}


def _facts(rows: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return {
        "type": "FactSet",
        "spacing": "medium",
        "facts": [{"title": md_escape(k), "value": md_escape(v)} for k, v in rows],
    }


def _details_card(content: AlertContent) -> list[dict[str, Any]]:
    """What "Show details" opens: the rest of the evidence, details, the service message, notes, local paths."""
    w = content.words
    items: list[dict[str, Any]] = []
    rest = content.evidence[VISIBLE_EVIDENCE:]
    if rest:
        items.append(_evidence_container(rest, spacing="none"))
    if content.evidence_omitted:
        items.append(
            {
                **_rich(w["evidence.more"].format(count=content.evidence_omitted), isSubtle=True, size="small"),
                "spacing": "small",
            }
        )
    if content.details:
        items.append(_facts(content.details))
    if content.status_message:
        items += [_heading(w["section.service_message"]), _rich(content.status_message, isSubtle=True)]
    if content.notes:
        items.append(_heading(w["section.notes"]))
        items += [{**_rich(f"• {note}"), "spacing": "small"} for note in content.notes]
    for link in content.links:
        if not link.is_web:  # a local archive path (CLI/demo): show it, a button could not open it
            items.append(_rich(f"{link.title}: {link.url}", isSubtle=True, size="small"))
    return items


def adaptive_card(content: AlertContent) -> dict[str, Any]:
    """Ordered for acting from a phone: severity and headline, what happened, cause, the numbered fix, the first
    evidence lines, compact facts, "Show details" (everything else), then short buttons."""
    w = content.words
    style = SEVERITY_STYLE.get(content.severity, "emphasis")
    header = {
        "type": "Container",
        "style": style,
        "bleed": True,
        "items": [
            {"type": "TextBlock", "text": content.severity_word, "weight": "bolder", "spacing": "none", "wrap": True},
            {
                "type": "TextBlock",
                "text": md_escape(content.headline),
                "size": "medium",
                "weight": "bolder",
                "spacing": "none",
                "wrap": True,
            },
        ],
    }
    body: list[dict[str, Any]] = [header, {**_rich(content.summary, weight="bolder"), "spacing": "medium"}]
    if content.cause:
        body.append(
            {
                "type": "RichTextBlock",
                "spacing": "small",
                "inlines": [
                    {"type": "TextRun", "text": f"{w['section.cause']}: ", "weight": "bolder"},
                    {"type": "TextRun", "text": content.cause},
                ],
            }
        )
    if content.remediation:
        body.append(_heading(w["section.fix"]))
        body += [{**_rich(f"{i}. {step}"), "spacing": "small"} for i, step in enumerate(content.remediation, 1)]
    if content.evidence:
        sources = sorted({e.location.split(":")[0] for e in content.evidence[:VISIBLE_EVIDENCE]})
        body += [
            _heading(f"{w['section.evidence']} ({', '.join(sources)})"),
            _evidence_container(content.evidence[:VISIBLE_EVIDENCE]),
        ]
    body.append(_facts(content.facts))
    details = _details_card(content)
    if details:
        body.append(
            {
                "type": "ActionSet",
                "spacing": "small",
                "actions": [
                    {
                        "type": "Action.ShowCard",
                        "title": w["button.details"],
                        "card": {"type": "AdaptiveCard", "body": details},
                    }
                ],
            }
        )
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "fallbackText": f"{content.severity_word}: {content.headline}",
        "body": body,
    }
    actions = [{"type": "Action.OpenUrl", "title": link.button_title, "url": link.url} for link in content.web_links]
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
    """Legacy Office 365 connector card (``TEAMS_WEBHOOK_FORMAT=messagecard``), in the card's order."""
    w = content.words
    title = f"{content.severity_word}: {content.headline}"
    sections: list[dict[str, Any]] = [
        {
            "activityTitle": _mc_text(title),
            "activitySubtitle": _mc_text(content.category_title or ""),
            "text": _mc_text(content.summary),
            "markdown": True,
        }
    ]
    if content.cause:
        sections.append({"title": w["section.cause"], "text": _mc_text(content.cause), "markdown": True})
    if content.remediation:
        steps = "<br>".join(f"{i}. {_mc_text(s)}" for i, s in enumerate(content.remediation, 1))
        sections.append({"title": w["section.fix"], "text": steps, "markdown": True})
    if content.evidence:
        # Markdown off for this section: the lines are shown as preformatted, HTML-escaped text.
        rows = "\n".join(f"{e.label:>6}  {html.escape(e.text, quote=False)}" for e in content.evidence)
        more = (
            "<br>" + html.escape(w["evidence.more"].format(count=content.evidence_omitted), quote=False)
            if content.evidence_omitted
            else ""
        )
        sections.append({"title": w["section.evidence"], "text": f"<pre>{rows}</pre>{more}", "markdown": False})
    sections.append(
        {
            "facts": [{"name": _mc_text(k), "value": _mc_text(v)} for k, v in content.facts + content.details],
            "markdown": True,
        }
    )
    if content.status_message:
        sections.append(
            {"title": w["section.service_message"], "text": _mc_text(content.status_message), "markdown": True}
        )
    if content.notes:
        sections.append(
            {"title": w["section.notes"], "text": "<br>".join(_mc_text(n) for n in content.notes), "markdown": True}
        )
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "themeColor": SEVERITY_HEX.get(content.severity, "0078D4"),
        "summary": _mc_text(title)[:150],
        "title": _mc_text(title),
        "sections": sections,
    }
    actions = [
        {"@type": "OpenUri", "name": link.button_title, "targets": [{"os": "default", "uri": link.url}]}
        for link in content.web_links
    ]
    if actions:
        card["potentialAction"] = actions
    return card
