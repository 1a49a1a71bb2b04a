"""Cards rendered by the official Adaptive Cards JS renderer in headless Chromium (Teams-like host config,
with
markdown-it as Teams renders Markdown), and the email HTML in the same browser."""

from __future__ import annotations

import json
import re
import struct

import pytest

from devtools.render import (
    MARKDOWN_IT_JS,
    PHONE_WIDTH,
    CardRender,
    dump_dom,
    render_cards,
    renderer_missing,
    screenshot_card,
)
from devtools.samples import hostile_alert, sample_alert
from diagnosis.i18n import LANGUAGES
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
    pytest.mark.xdist_group("render"),
]


# Within this many px of the card's top, a phone shows the cause and the first fix step without scrolling.
ABOVE_THE_FOLD = 600


def _phone_probes(content) -> tuple[str, ...]:
    """The summary, the cause's label and the first fix step: what a phone must show without scrolling."""
    cause = f"{content.words['section.cause']}: " if content.cause else ""
    first_step = f"1. {content.remediation[0]}" if content.remediation else ""
    return tuple(p for p in (content.summary, cause, first_step) if p)


def _phone_checks_card() -> dict:
    """Positive controls: a long button title, and the cause pushed below a tall block."""
    card = adaptive_card(build_content(sample_alert("build-failed")))
    card["actions"][0]["title"] = "Open this image template in the Azure portal"
    card["body"].insert(1, {"type": "TextBlock", "text": "x", "height": "stretch", "spacing": "extraLarge"})
    card["body"][1:1] = [{"type": "TextBlock", "text": f"filler {n}", "size": "extraLarge"} for n in range(12)]
    return card


def _broken_card() -> dict:
    """An unknown element and a bad property value."""
    card = adaptive_card(build_content(sample_alert("build-failed")))
    card["body"].append({"type": "NoSuchElement", "text": "x"})
    card["body"].append({"type": "TextBlock", "text": "x", "size": "gigantic"})
    return card


MARKDOWN_CARD = {
    "type": "AdaptiveCard",
    "version": "1.4",
    "body": [{"type": "TextBlock", "text": "**bold** and [link](https://example.com/)", "wrap": True}],
}


@pytest.fixture(scope="module")
def rendered():
    """Every card this module checks, rendered in one Chromium run, each in a frame of its own."""
    renders = {}
    for kind in ALERT_KINDS:
        for language in LANGUAGES:
            content = build_content(sample_alert(kind), language)
            renders[f"phone/{kind}/{language}"] = CardRender(
                adaptive_card(content), width=PHONE_WIDTH, probes=_phone_probes(content)
            )
        theme = "dark" if kind == "still-stuck" else "light"
        renders[f"desktop/{kind}"] = CardRender(adaptive_card(build_content(sample_alert(kind))), theme=theme)
    renders["phone-checks"] = CardRender(_phone_checks_card(), width=PHONE_WIDTH, probes=("Cause: ",))
    renders["broken"] = CardRender(_broken_card())
    renders["markdown"] = CardRender(MARKDOWN_CARD)
    renders["hostile"] = CardRender(adaptive_card(build_content(hostile_alert())))
    body = TeamsWorkflowsChannel("https://h.invalid/x", Retrier()).render(huge_alert())
    renders["huge"] = CardRender(json.loads(body)["attachments"][0]["content"])
    return render_cards(renders)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_each_card_renders_on_a_phone_with_cause_and_fix_above_the_fold(rendered, kind, language):
    content = build_content(sample_alert(kind), language)
    probes = _phone_probes(content)
    report = rendered[f"phone/{kind}/{language}"]
    assert report.problems == [], report.problems
    assert report.version == "1.4"
    assert report.actions == [content.words["button.details"], *(link.button_title for link in content.web_links)]
    assert report.truncated == [], f"buttons cut at {PHONE_WIDTH} px: {report.truncated}"
    assert set(report.probes) == set(probes)
    for probe in probes:
        bottom = report.probes[probe]
        assert bottom is not None and bottom <= ABOVE_THE_FOLD, (probe[:40], bottom, report.card_height)
    assert report.counts["script"] == 0


@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_each_card_renders_on_a_desktop(rendered, kind):
    """Every kind at desktop width, still-stuck in the dark theme (the phone test renders every language at the
    narrower width, where text is cut first)."""
    content = build_content(sample_alert(kind))
    report = rendered[f"desktop/{kind}"]
    assert report.problems == [], report.problems
    assert content.headline in report.text and content.summary in report.text
    assert report.truncated == []


def test_the_phone_checks_can_fail(rendered):
    """Positive controls: a long button title is reported as cut, and a cause below a tall block as below the
    fold."""
    report = rendered["phone-checks"]
    assert report.truncated and report.truncated[0].startswith("Open this")
    assert report.probes["Cause: "] > ABOVE_THE_FOLD


def test_render_check_catches_a_broken_card(rendered):
    """The harness must be able to fail: an unknown element and a bad property value are reported."""
    assert rendered["broken"].problems, "expected parse/validation problems"


def test_one_broken_card_does_not_spill_into_the_others(rendered):
    """Each card renders in a frame of its own: the broken card's problems stay with it."""
    assert all(report.problems == [] for name, report in rendered.items() if name not in ("broken", "phone-checks"))


def test_markdown_is_really_rendered_in_the_test_page(rendered):
    """Positive control: a TextBlock with Markdown does become <strong>/<a>, so the hostile test is
    meaningful."""
    if not MARKDOWN_IT_JS.exists():
        pytest.skip("markdown-it is not installed (npm ci)")
    report = rendered["markdown"]
    assert report.problems == []
    assert report.counts["strong"] == 1 and report.counts["a"] == 1


def test_hostile_log_text_renders_as_text(rendered):
    report = rendered["hostile"]
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
    text = report.all_text  # the evidence lines behind "Show details" too
    assert "<script>window.__pwned = 1;" in text
    assert "**bold** _italic_ [click me](https://evil.example/) `code` # not a heading" in text
    assert "tmpl_**x**_[y](z)" in text  # the escaped name reads as typed
    assert 'Customizer "install *everything* <script>x</script>" (PowerShell) exited with code 1' in text
    assert "[click](https://evil.example/) <img src=x> **step**" in text
    assert "Ошибка: не удалось загрузить файл — 下载失败" in text and "🚀" in text
    assert "SuperSecretSig" not in text and "[REDACTED]" in text
    assert report.actions == ["Show details", "Portal", "Log", "Guide"]


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
    # the whole card as it first shows ("Show details" closed, which report.height includes opened)
    assert width >= 600 and report.card_height < height < report.height and height > 600


def test_trimmed_card_of_a_huge_alert_renders(rendered):
    report = rendered["huge"]
    assert report.problems == [] and "win2022-golden" in report.text
