"""What each channel sends: Adaptive Card 1.4 schema, content per kind, escaping, redaction, size limits."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from devtools.samples import hostile_alert, sample_alert
from diagnosis.model import Diagnosis, Evidence
from monitor.alerts.cards import adaptive_card, md_escape, message_card, workflows_message
from monitor.alerts.channel import PAYLOAD_LIMIT, encode
from monitor.alerts.content import build_content, plain_text, subject
from monitor.alerts.email_webhook import EmailWebhookChannel, email_html, email_payload
from monitor.alerts.model import ALERT_KINDS, BUILD_FAILED, BUILD_STUCK, RECOVERED, STILL_STUCK, Alert
from monitor.alerts.retry import Retrier
from monitor.alerts.teams_messagecard import TeamsMessageCardChannel
from monitor.alerts.teams_workflows import TeamsWorkflowsChannel
from monitor.alerts.webhook import JsonWebhookChannel, alert_document

# The official Adaptive Card 1.4 schema (adaptivecards.io/schemas/1.4.0/adaptive-card.json), vendored so a
# fresh
# clone can run the test without network access.
SCHEMA_PATH = Path(__file__).parent / "data" / "adaptive-card-1.4.0.schema.json"

SECRETS = ("SuperSecretSig", "P@ssw0rd-leak", "abcdEFGH1234")


@pytest.fixture(scope="module")
def card_schema() -> dict[str, Any]:
    if not SCHEMA_PATH.exists():
        pytest.skip(f"Adaptive Card schema not found at {SCHEMA_PATH}")
    return json.loads(SCHEMA_PATH.read_text())


def validate_card(card: dict[str, Any], schema: dict[str, Any]) -> None:
    # The official schema is draft-06 with local "#/definitions/..." refs and an "id" base: Draft6Validator
    # resolves those in-document; format checks on (uri, uri-reference) so a malformed URL fails too.
    validator = jsonschema.Draft6Validator(schema, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(card), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def versions_used(node: Any, schema: dict[str, Any], found: set[str]) -> set[str]:
    """Schema versions of every element type and property the card uses."""
    defs = schema["definitions"]
    if isinstance(node, dict):
        definition = defs.get(node.get("type", ""), {})
        if "version" in definition:
            found.add(definition["version"])
        for key, value in node.items():
            prop = definition.get("properties", {}).get(key, {})
            if isinstance(prop, dict) and "version" in prop:
                found.add(prop["version"])
            versions_used(value, schema, found)
    elif isinstance(node, list):
        for item in node:
            versions_used(item, schema, found)
    return found


def channels() -> list[Any]:
    retrier = Retrier()
    url = "https://example.invalid/hook"
    return [
        TeamsWorkflowsChannel(url, retrier),
        TeamsMessageCardChannel(url, retrier),
        EmailWebhookChannel(url, ["ops@example.com"], retrier),
        JsonWebhookChannel(url, retrier),
    ]


# -- Adaptive Card 1.4 --
@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_every_card_validates_against_the_1_4_schema(kind, language, card_schema):
    content = build_content(sample_alert(kind), language)
    card = adaptive_card(content)
    assert card["version"] == "1.4" and card["type"] == "AdaptiveCard"
    validate_card(card, card_schema)
    used = versions_used(card, card_schema, set())
    assert used and all(tuple(map(int, v.split("."))) <= (1, 4) for v in used), used
    for level in range(content.max_trim_level + 1):
        validate_card(adaptive_card(content.trimmed(level)), card_schema)


def test_schema_check_is_not_vacuous(card_schema):
    card = adaptive_card(build_content(sample_alert(BUILD_FAILED)))
    broken = json.loads(json.dumps(card))
    broken["body"][0]["items"][0]["colour"] = "red"  # not a TextBlock property
    with pytest.raises(AssertionError):
        validate_card(broken, card_schema)
    with_15 = json.loads(json.dumps(card))
    with_15["body"].append({"type": "Table", "columns": [], "rows": []})  # Table is Adaptive Cards 1.5
    with pytest.raises(AssertionError):
        validate_card(with_15, card_schema)


def _texts(node: Any) -> list[str]:
    """Every text of a card element in document order (TextBlock text, TextRun text, Fact title/value)."""
    if isinstance(node, dict):
        found = [node[k] for k in ("text", "title", "value") if isinstance(node.get(k), str)]
        return found + [t for v in node.values() if isinstance(v, dict | list) for t in _texts(v)]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


def test_card_layout(card_schema):
    """Headline, what happened, cause, the numbered fix, the first evidence lines, compact facts, details,
    buttons — in that order."""
    content = build_content(sample_alert(BUILD_FAILED))
    card = adaptive_card(content)
    header = card["body"][0]
    assert header["type"] == "Container" and header["style"] == "attention" and header["bleed"] is True
    assert [i["text"] for i in header["items"]] == ["FAILED", "Image build failed: win2022-golden"]
    assert all("color" not in i for i in header["items"])  # the theme's own text color: readable in every theme
    kinds = [e["type"] for e in card["body"]]
    assert kinds.index("FactSet") > kinds.index("Container", 1) > 1  # evidence before the facts
    texts = _texts(card["body"])
    order = [
        'Customizer "install-dotnet" (PowerShell) exited with code 1 after 12 min.',
        "Cause: ",
        "What to do",
        "1. Look at the failed customizer's output just above the error line in customization.log.",
        "Evidence (customization.log)",
        "Template",
        "Show details",
    ]
    positions = [texts.index(t) for t in order]
    assert positions == sorted(positions), positions
    factset = next(e for e in card["body"] if e["type"] == "FactSet")
    facts = {f["title"]: f["value"] for f in factset["facts"]}
    assert facts == {
        "Template": "win2022-golden",
        "Resource group": "rg-images-prod",
        "Run": "2026-11-27 09:12 UTC – 09:53 UTC (41 min)",
        "Category": "A customizer script exited with a non-zero code",
    }
    evidence = next(e for e in card["body"] if e["type"] == "Container" and e.get("style") == "emphasis")
    assert len(evidence["items"]) == 3  # the rest is behind "Show details"
    runs = evidence["items"][0]["inlines"]
    assert all(r["fontType"] == "monospace" for r in runs)
    assert runs[0]["text"].strip("\u00a0 ") == "1184"
    details = next(e for e in card["body"] if e["type"] == "ActionSet")["actions"][0]
    assert details["type"] == "Action.ShowCard" and details["title"] == "Show details"
    hidden = _texts(details["card"]["body"])
    assert any("(403) Forbidden" in t for t in hidden)  # evidence line 4 of 12
    assert {"Subscription", "Location", "Run state", "Service message"} <= set(hidden)
    assert [a["type"] for a in card["actions"]] == ["Action.OpenUrl"] * 3
    assert [a["title"] for a in card["actions"]] == ["Portal", "Log", "Guide"]
    assert card["actions"][0]["url"].startswith("https://portal.azure.com/#@/resource/subscriptions/")
    assert card["actions"][1]["url"].endswith("/customization.log")
    assert card["actions"][2]["url"].endswith("#customizer-failures")
    colors = {k: adaptive_card(build_content(sample_alert(k)))["body"][0]["style"] for k in ALERT_KINDS}
    assert colors == {
        "build-failed": "attention",
        "submission-failed": "attention",
        "build-stuck": "warning",
        "still-stuck": "warning",
        "recovered": "good",
    }
    words = {k: adaptive_card(build_content(sample_alert(k)))["body"][0]["items"][0]["text"] for k in ALERT_KINDS}
    assert words == {
        "build-failed": "FAILED",
        "submission-failed": "FAILED",
        "build-stuck": "STUCK",
        "still-stuck": "STILL STUCK",
        "recovered": "RECOVERED",
    }


def test_workflows_envelope():
    message = workflows_message({"type": "AdaptiveCard", "version": "1.4", "body": []})
    assert message == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {"type": "AdaptiveCard", "version": "1.4", "body": []},
            }
        ],
    }


# -- content per kind --
@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_content_of_every_kind(kind):
    alert = sample_alert(kind)
    content = build_content(alert)
    facts = dict(content.facts)
    for name in ("Template", "Resource group"):
        assert facts.get(name), (kind, name)
    details = dict(content.details)
    for name in ("Subscription", "Location", "Run state"):
        assert details.get(name), (kind, name)
    if alert.start_time:
        assert facts["Run"].startswith("2026-11-27 ") and facts["Run"].endswith(")")
    assert content.summary and "\n" not in content.summary
    assert {link.title for link in content.links} >= {"Azure portal"}
    if kind != RECOVERED:
        assert content.category_title and content.cause and content.remediation
        assert facts["Category"] == content.category_title
        assert 0 < len(content.evidence) <= 10 and all(e.text for e in content.evidence)
    text = plain_text(content)
    assert content.headline in text and alert.template_name in subject(content)


def test_summary_lines():
    assert build_content(sample_alert(BUILD_FAILED)).summary == (
        'Customizer "install-dotnet" (PowerShell) exited with code 1 after 12 min.'
    )
    stuck = build_content(sample_alert(BUILD_STUCK))
    assert stuck.summary == (
        "A script waits for input that never comes. The log has not changed for 47 min (since 2026-11-27 "
        "06:27 UTC); the build has been running for 1 h 12 min."
    )
    assert dict(stuck.details)["Running step"] == 'Customizer "harden-os" (Shell) is running.'
    assert stuck.remediation[0].startswith("Cancel the run instead of waiting: az image builder cancel")
    still = build_content(sample_alert(STILL_STUCK))
    assert still.headline == "Image build still stuck: ubuntu2404-cis"
    assert still.summary.startswith("A script waits for input that never comes. The log has not changed for 4 h 47")
    assert "(since 2026-11-27 06:27 UTC)" in still.summary  # the same moment as the first alert
    recovered = build_content(sample_alert(RECOVERED))
    assert recovered.summary == (
        "The latest run succeeded (56 min). The previous run had failed: A customizer script exited with a "
        "non-zero code."
    )
    assert not recovered.evidence and not recovered.remediation


def test_stuck_past_the_timeout_in_plain_words():
    """The monitor's verdict ("timeout: running for 260 min, past buildTimeoutInMinutes 240 + 15 min grace") is
    read, not quoted: no internal terms, one duration spelling."""
    alert = replace(
        sample_alert(BUILD_STUCK),
        start_time="2026-12-01T14:17:11Z",
        created_at="2026-12-01T18:37:12+00:00",
        stuck_reason="timeout: running for 260 min, past buildTimeoutInMinutes 240 + 15 min grace",
        stuck_rule=None,
        waiting_since=None,
        build_timeout_minutes=None,
    )
    content = build_content(alert)
    assert content.summary == (
        "A script waits for input that never comes. The build has been running for 4 h 20 min (since "
        "2026-12-01 14:17 UTC), past its own limit of 4 h (buildTimeoutInMinutes 240), and Image Builder has "
        "not ended it."
    )
    for text in (content.headline, content.summary, content.cause):
        assert "grace" not in text and "260" not in text and "timeout:" not in text


def test_summary_from_the_diagnosis_without_a_failed_customizer():
    alert = sample_alert(BUILD_FAILED)
    diag = dict(alert.diagnosis or {})
    diag["failed_customizer"] = None
    content = build_content(replace(alert, diagnosis=diag))
    assert content.summary == 'customizer "install-dotnet" (PowerShell) exited 1 after 12 min'


def test_evidence_is_capped_at_ten_lines_with_a_count_of_the_rest():
    alert = sample_alert(BUILD_FAILED)
    diag = Diagnosis.from_dict(alert.diagnosis or {})
    diag.evidence = [Evidence(text=f"line {n}", line=n) for n in range(1, 31)]
    content = build_content(replace(alert, diagnosis=diag.to_dict()))
    assert [e.line for e in content.evidence] == list(range(1, 11)) and content.evidence_omitted == 20
    assert "20 more evidence line(s)" in plain_text(content)


def test_partial_archive_and_previous_stuck_are_said():
    alert = replace(sample_alert(BUILD_FAILED), archive_partial=True, previously_stuck=True)
    notes = " ".join(build_content(alert).notes)
    assert "incomplete" in notes and "stuck" in notes


def test_local_archive_paths_are_shown_not_linked(card_schema):
    alert = replace(sample_alert(BUILD_FAILED), log_url="file:///var/aib-archive/x/customization.log")
    card = adaptive_card(build_content(alert))
    assert all(a["url"].startswith("https://") for a in card["actions"])
    assert "file:///var/aib-archive/x/customization.log" in json.dumps(card)
    validate_card(card, card_schema)


# -- hostile text --
def _shape(node: Any) -> Any:
    """The structure of a card without its text: element types and keys."""
    if isinstance(node, dict):
        return {
            k: _shape(v)
            for k, v in node.items()
            if k not in ("text", "value", "title", "url", "fallbackText")
        }
    if isinstance(node, list):
        return [_shape(v) for v in node]
    return type(node).__name__


def test_hostile_text_does_not_change_the_card_structure(card_schema):
    normal, hostile = sample_alert(BUILD_FAILED), hostile_alert()
    diag = Diagnosis.from_dict(normal.diagnosis or {})
    diag.evidence = diag.evidence[:8]  # the hostile alert has 8 evidence lines
    diag.rule_id = None  # like the hostile one: the diagnosis' own cause and steps
    normal = replace(normal, diagnosis=diag.to_dict())
    card = adaptive_card(build_content(hostile))
    validate_card(card, card_schema)
    assert _shape(card) == _shape(adaptive_card(build_content(normal)))
    assert [a["url"] for a in card["actions"]] == [
        a["url"] for a in adaptive_card(build_content(normal))["actions"]
    ]
    dumped = json.dumps(card, ensure_ascii=False)
    assert "evil.example" in dumped  # still there, as text
    for secret in SECRETS:
        assert secret not in dumped
    assert "Ошибка" in dumped and "下载失败" in dumped and "🚀" in dumped
    assert "\u202e" not in dumped  # bidi override stripped
    # Names shown in Markdown-rendered TextBlocks/Facts are escaped.
    assert card["body"][0]["items"][1]["text"] == r"Image build failed: tmpl\_\*\*x\*\*\_\[y\](z)"


def test_markdown_escape():
    assert md_escape("**b** _i_ my_var [x](y) `c` <s>") == r"\*\*b\*\* \_i\_ my_var \[x\](y) \`c\` \<s\>"
    assert md_escape("# h\n- item\n1. one\n  2) two") == "\\# h\n\\- item\n1\\. one\n  2\\) two"
    assert md_escape("a\\b") == "a\\\\b"
    assert md_escape("win2022-golden_v2.1") == "win2022-golden_v2.1"


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.hrefs += [v for k, v in attrs if k == "href"]

    def handle_data(self, data):
        self.text.append(data)


def test_hostile_text_does_not_change_the_email_structure():
    normal = TagCollector()
    normal.feed(email_html(build_content(sample_alert(BUILD_FAILED))))
    page = email_html(build_content(hostile_alert()))
    hostile = TagCollector()
    hostile.feed(page)
    assert set(hostile.tags) <= set(normal.tags)
    assert not {"script", "img", "h1", "b", "i"} & set(hostile.tags)
    assert hostile.hrefs == normal.hrefs  # no link from the log
    text = "".join(hostile.text)
    assert "<script>window.__pwned" in text and "</td></tr></table><h1>injected</h1>&amp; &lt;" in text
    for secret in SECRETS:
        assert secret not in page
    payload = email_payload(build_content(hostile_alert()), ["a@example.com"])
    assert "<script>window.__pwned" in payload["text"]  # plain text keeps it literally
    assert "\n" not in payload["subject"]


def test_hostile_text_in_the_messagecard():
    card = message_card(build_content(hostile_alert()))
    dumped = json.dumps(card, ensure_ascii=False)
    assert "<script" not in dumped and "<h1>" not in dumped and "<img" not in dumped
    evidence = next(s for s in card["sections"] if s.get("title") == "Evidence")
    assert evidence["markdown"] is False and evidence["text"].startswith("<pre>")
    assert evidence["text"].count("<pre>") == 1 and evidence["text"].count("</pre>") == 1
    assert [a["targets"][0]["uri"] for a in card["potentialAction"]] == [
        link.url for link in build_content(hostile_alert()).web_links
    ]
    for secret in SECRETS:
        assert secret not in dumped


def test_hostile_text_in_the_json_document():
    document = json.loads(encode(alert_document(hostile_alert())))
    texts = [e["text"] for e in document["diagnosis"]["evidence"]]
    assert texts[0].startswith("<script>")  # data stays data: receivers escape for their own format
    for secret in SECRETS:
        assert secret not in json.dumps(document)
    restored = Alert.from_dict(document)
    assert restored.category == "customizer-failed" and restored.kind == BUILD_FAILED


# -- size limits --
def huge_alert() -> Alert:
    alert = sample_alert(BUILD_FAILED)
    diag = Diagnosis.from_dict(alert.diagnosis or {})
    diag.evidence = [Evidence(text=f"{n:04d} " + "Ж<x>*" * 1200, line=n) for n in range(1, 400)]
    diag.cause = "cause " * 3000
    diag.remediation = [f"step {n} " + "do this " * 200 for n in range(20)]
    diag.warnings = ["warning " * 300 for _ in range(10)]
    return replace(alert, diagnosis=diag.to_dict(), status_message="message " * 4000)


@pytest.mark.parametrize("channel", channels(), ids=lambda c: type(c).__name__)
def test_payloads_stay_under_the_limit_and_keep_the_header(channel):
    normal = channel.render(sample_alert(BUILD_FAILED))
    assert len(normal) < PAYLOAD_LIMIT
    body = channel.render(huge_alert())
    assert len(body) < PAYLOAD_LIMIT, len(body)
    text = body.decode("utf-8")
    json.loads(text)
    for must in ("win2022-golden", "rg-images-prod", "3f2b8c1e-7d4a-4e59-9b21-6c0d5e8f1a23", "westeurope"):
        assert must in text, must
    if isinstance(channel, TeamsWorkflowsChannel):
        card = json.loads(text)["attachments"][0]["content"]
        assert card["body"][0]["items"][1]["text"] == "Image build failed: win2022-golden"
        assert any(e["type"] == "FactSet" and len(e["facts"]) == 4 for e in card["body"])


def test_evidence_is_trimmed_before_anything_else():
    content = build_content(huge_alert())
    for level in (1, 2, 3):  # evidence shrinks; nothing else changes
        smaller = content.trimmed(level)
        assert smaller.headline == content.headline and smaller.facts == content.facts
        assert (smaller.cause, smaller.remediation, smaller.notes, smaller.summary) == (
            content.cause,
            content.remediation,
            content.notes,
            content.summary,
        )
        assert sum(len(e.text) for e in smaller.evidence) < sum(len(e.text) for e in content.evidence)
    assert not content.trimmed(4).evidence
    deepest = content.trimmed(content.max_trim_level)
    assert not deepest.evidence and deepest.facts == content.facts and deepest.headline == content.headline
    assert deepest.evidence_omitted >= len(content.evidence)


def test_measured_sizes_of_the_samples(capsys):
    """Not a benchmark: records the real payload sizes of the samples (printed with -s)."""
    for kind in ALERT_KINDS:
        sizes = {type(c).__name__: len(c.render(sample_alert(kind))) for c in channels()}
        assert all(0 < s < PAYLOAD_LIMIT for s in sizes.values())
        print(kind, sizes)
    assert (
        len(encode(workflows_message(adaptive_card(build_content(huge_alert()))))) > PAYLOAD_LIMIT
    )  # untrimmed


def test_no_webhook_url_in_payloads():
    for channel in channels():
        assert "example.invalid" not in channel.render(sample_alert(BUILD_FAILED)).decode()
    assert re.search(r"sig=[^\[]", json.dumps(alert_document(hostile_alert()))) is None


@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_minimal_alert_without_diagnosis(kind, card_schema):
    """The monitor may have no diagnosis (log gone, running build): every channel still renders."""
    alert = Alert(
        kind=kind,
        template_id="/subscriptions/s/resourceGroups/rg/providers/"
        "Microsoft.VirtualMachineImages/imageTemplates/t1",
        template_name="t1",
        resource_group="rg",
        subscription_id="s",
        run_key="r",
    )
    content = build_content(alert)
    assert content.headline.endswith(": t1") and content.summary
    validate_card(adaptive_card(content), card_schema)
    for channel in channels():
        body = json.loads(channel.render(alert))
        assert body
    assert "Run state" not in dict(content.details) and content.links[0].title == "Azure portal"


def test_evidence_gutter_and_packer_prefix():
    alert = sample_alert(BUILD_FAILED)
    diag = Diagnosis.from_dict(alert.diagnosis or {})
    diag.evidence = [
        Evidence(
            text="[db5b5fab-8f4d-4e27-9da1-494c73cf256d] PACKER OUT ==> azure-arm: exit status 1", line=94
        ),
        Evidence(text="Failed while waiting for packerizer", line=1, source="message"),
        Evidence(text="ERROR: 2 tests failed", line=12, source="validation-log"),
    ]
    content = build_content(replace(alert, diagnosis=diag.to_dict()))
    assert [(e.label, e.text) for e in content.evidence] == [
        ("94", "==> azure-arm: exit status 1"),
        ("msg", "Failed while waiting for packerizer"),
        ("v12", "ERROR: 2 tests failed"),
    ]
    assert "validation.log:12: ERROR: 2 tests failed" in plain_text(content)
    card = adaptive_card(content)
    block = next(e for e in card["body"] if e["type"] == "Container" and e.get("style") == "emphasis")
    assert [item["inlines"][0]["text"] for item in block["items"]] == [
        "\u00a094\u00a0\u00a0",
        "msg\u00a0\u00a0",
        "v12\u00a0\u00a0",
    ]


def test_links_never_carry_a_sas_signature():
    alert = replace(
        sample_alert(BUILD_FAILED),
        log_url="https://acct.blob.core.windows.net/c/customization.log?sv=2022-11-02&sig=AbC%2Bsecret",
    )
    for channel in channels():
        assert "AbC%2Bsecret" not in channel.render(alert).decode()
