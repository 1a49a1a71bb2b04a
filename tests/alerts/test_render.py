"""Cards rendered by the official Adaptive Cards JS renderer in headless Chromium (Teams-like host config,
with
markdown-it as Teams renders Markdown), and the email HTML in the same browser."""

from __future__ import annotations

import json
import re
import struct

import pytest

from devtools.render import MARKDOWN_IT_JS, dump_dom, render_card, renderer_missing, screenshot_card
from devtools.samples import hostile_alert, sample_alert
from monitor.alerts.cards import adaptive_card
from monitor.alerts.content import build_content
from monitor.alerts.email_webhook import email_html
from monitor.alerts.model import ALERT_KINDS
from monitor.alerts.retry import Retrier
from monitor.alerts.teams_workflows import TeamsWorkflowsChannel

from .test_payloads import huge_alert

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(renderer_missing() is not None, reason=f"cannot render cards: {renderer_missing()}"),
]


@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_each_card_renders_without_errors(kind):
    content = build_content(sample_alert(kind))
    report = render_card(adaptive_card(content))
    assert report.problems == [], report.problems
    assert report.version == "1.4"
    assert content.template_name in report.text and content.summary in report.text
    assert report.actions == [link.title for link in content.web_links]
    assert report.counts["script"] == 0


def test_render_check_catches_a_broken_card():
    """The harness must be able to fail: an unknown element and a bad property value are reported."""
    card = adaptive_card(build_content(sample_alert("build-failed")))
    card["body"].append({"type": "NoSuchElement", "text": "x"})
    card["body"].append({"type": "TextBlock", "text": "x", "size": "gigantic"})
    report = render_card(card)
    assert report.problems, "expected parse/validation problems"


def test_markdown_is_really_rendered_in_the_test_page():
    """Positive control: a TextBlock with Markdown does become <strong>/<a>, so the hostile test is
    meaningful."""
    if not MARKDOWN_IT_JS.exists():
        pytest.skip("markdown-it is not installed (npm ci)")
    card = {
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [{"type": "TextBlock", "text": "**bold** and [link](https://example.com/)", "wrap": True}],
    }
    report = render_card(card)
    assert report.problems == []
    assert report.counts["strong"] == 1 and report.counts["a"] == 1


def test_hostile_log_text_renders_as_text():
    alert = hostile_alert()
    content = build_content(alert)
    report = render_card(adaptive_card(content))
    assert report.problems == [], report.problems
    assert report.pwned is None and report.title == "card"
    for tag in (
        "script",
        "img",
        "strong",
        "b",
        "em",
        "i",
        "a",
        "h1",
        "h2",
        "h3",
        "ul",
        "ol",
        "li",
        "code",
        "blockquote",
        "iframe",
    ):
        assert report.counts[tag] == 0, (tag, report.counts)
    text = report.text
    assert "<script>window.__pwned = 1;" in text
    assert "**bold** _italic_ [click me](https://evil.example/) `code` # not a heading" in text
    assert "tmpl_**x**_[y](z)" in text  # the escaped name reads as typed
    assert 'customizer "install *everything*" (PowerShell) exited 1 <script>x</script>' in text
    assert "Ошибка: не удалось загрузить файл — 下载失败" in text and "🚀" in text
    assert "SuperSecretSig" not in text and "[REDACTED]" in text
    assert report.actions == ["Open in Azure portal", "Archived log", "Troubleshooting guide"]


def test_hostile_email_renders_as_text():
    page = email_html(build_content(hostile_alert()))
    probe = (
        '<pre id="probe"></pre><script>document.getElementById("probe").textContent = JSON.stringify('
        "{pwned: window.__pwned || null, title: document.title,"
        ' h1: document.getElementsByTagName("h1").length,'
        ' img: document.getElementsByTagName("img").length, scripts: document.scripts.length});</script>'
    )
    dom = dump_dom(page.replace("</body>", probe + "</body>"))
    result = re.search(r'<pre id="probe">(.*?)</pre>', dom).group(1).replace("&quot;", '"')
    assert '"pwned":null' in result and '"h1":0' in result and '"img":0' in result
    assert '"scripts":1' in result  # only the probe itself
    assert "[AIB FAILED] Image build failed: tmpl_**x**_[y](z)" in result


def test_screenshot_is_a_png_of_the_card(tmp_path):
    out = tmp_path / "card.png"
    report = screenshot_card(adaptive_card(build_content(sample_alert("build-failed"))), out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 600 and height >= report.height - 10 and height > 600


def test_trimmed_card_of_a_huge_alert_renders():
    body = TeamsWorkflowsChannel("https://h.invalid/x", Retrier()).render(huge_alert())
    card = json.loads(body)["attachments"][0]["content"]
    report = render_card(card)
    assert report.problems == [] and "win2022-golden" in report.text
