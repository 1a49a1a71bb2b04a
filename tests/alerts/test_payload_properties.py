"""Property tests: whatever text a log or template carries, every format keeps its structure and its size."""

from __future__ import annotations

import json
from dataclasses import replace
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.samples import sample_alert
from diagnosis.model import Diagnosis, Evidence
from monitor.alerts.cards import adaptive_card, message_card
from monitor.alerts.channel import PAYLOAD_LIMIT
from monitor.alerts.content import build_content
from monitor.alerts.email_webhook import EmailWebhookChannel, email_html
from monitor.alerts.model import BUILD_FAILED
from monitor.alerts.retry import Retrier
from monitor.alerts.teams_workflows import TeamsWorkflowsChannel
from monitor.alerts.webhook import JsonWebhookChannel

# Text biased towards what breaks formats: markup, Markdown, JSON, quotes, control and non-ASCII characters.
CHARS = st.one_of(
    st.sampled_from(list("<>&\"'`*_[]()#-+!|~\\/{}:;=\n\r\t\x00\x1b\u202e\u2028 ")),
    st.characters(codec="utf-8"),
)
TOKENS = st.sampled_from(
    ["<script>", "</pre>", "**", "](", "&amp;", "sig=abc", "-->", "]]>", "\\u0022", "1. "]
)
NASTY = st.lists(st.one_of(st.text(alphabet=CHARS, max_size=20), TOKENS), max_size=15).map("".join)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def _alert(texts: list[str], name: str, cause: str):
    alert = sample_alert(BUILD_FAILED)
    diag = Diagnosis.from_dict(alert.diagnosis or {})
    diag.evidence = [Evidence(text=t or "x", line=i + 1) for i, t in enumerate(texts)]
    diag.cause = cause
    return replace(alert, diagnosis=diag.to_dict(), template_name=name or "t")


def _element_types(card: dict) -> list[str]:
    out = []

    def walk(node):
        if isinstance(node, dict):
            if "type" in node:
                out.append(node["type"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(NASTY, min_size=3, max_size=3), name=NASTY, cause=NASTY)
def test_any_text_keeps_every_format_intact(texts, name, cause):
    alert = _alert(texts, name, cause)
    baseline = _alert(["a", "b", "c"], "t", "c")
    content, base_content = build_content(alert), build_content(baseline)

    card, base_card = adaptive_card(content), adaptive_card(base_content)
    types = _element_types(card)
    # Same containers, fact set and actions: text elements may only come and go with their own (empty) text.
    text_types = {"TextBlock", "RichTextBlock", "TextRun"}
    assert [t for t in types if t not in text_types] == [
        t for t in _element_types(base_card) if t not in text_types
    ]
    evidence_box = next(e for e in card["body"] if e["type"] == "Container" and e.get("style") == "emphasis")
    assert len(evidence_box["items"]) == 3
    assert [a["url"] for a in card["actions"]] == [a["url"] for a in base_card["actions"]]

    parsed = Tags()
    parsed.feed(email_html(content))
    base = Tags()
    base.feed(email_html(base_content))
    assert set(parsed.tags) <= set(base.tags)
    assert parsed.tags.count("tr") == base.tags.count("tr")  # facts + evidence rows
    assert "script" not in parsed.tags

    dumped = json.dumps(message_card(content), ensure_ascii=False)
    assert "<script" not in dumped.lower()

    for channel in (
        TeamsWorkflowsChannel("https://h.invalid/x", Retrier()),
        EmailWebhookChannel("https://h.invalid/x", ["a@b.c"], Retrier()),
        JsonWebhookChannel("https://h.invalid/x", Retrier()),
    ):
        body = channel.render(alert)
        assert len(body) < PAYLOAD_LIMIT
        json.loads(body)
