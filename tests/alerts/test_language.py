"""ALERT_LANGUAGE: every alert text and every knowledge-base entry exist in English and Russian; user rules carry
their own translations; Russian keeps one term per concept; secrets and size limits hold in both languages."""

from __future__ import annotations

import io
import json
import re
import string
from pathlib import Path

import pytest

from devtools.samples import hostile_alert, sample_alert
from diagnosis.categories import CATEGORY_IDS
from diagnosis.i18n import I18N_DIR, catalog, durations, entry_text, missing_texts, normalize_language
from diagnosis.rules import KnowledgeBaseError, load_knowledge_base, parse_rules
from monitor.alerts import AlertDispatcher
from monitor.alerts.cards import adaptive_card, workflows_message
from monitor.alerts.channel import PAYLOAD_LIMIT, encode
from monitor.alerts.content import build_content, plain_text
from monitor.alerts.email_webhook import EmailWebhookChannel
from monitor.alerts.files import FileChannel
from monitor.alerts.model import ALERT_KINDS, BUILD_FAILED, Alert
from monitor.alerts.outbox import Outbox
from monitor.alerts.retry import Retrier
from monitor.alerts.teams_messagecard import TeamsMessageCardChannel
from monitor.alerts.teams_workflows import TeamsWorkflowsChannel
from monitor.alerts.webhook import JsonWebhookChannel
from monitor.alerts.words import WORDS
from monitor.settings import Settings, SettingsError
from monitor.storage import LocalDirStore

from .test_payloads import SECRETS, huge_alert

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
# One term per concept (the troubleshooting guide's terms): these synonyms must not appear in Russian texts.
NOT_OUR_TERMS = re.compile(
    r"\b(?:лог\w*|билд\w*|кастомизатор\w*|настройщик\w*|темплейт\w*|сценари\w*|таймаут\w*|бэкап\w*)\b",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def builtin():
    return load_knowledge_base(use_env=False)


def test_every_builtin_entry_has_complete_russian_texts(builtin):
    missing = missing_texts(list(builtin.rules.values()), "ru")
    assert not missing, "entries without complete ru texts in diagnosis/knowledge/i18n/ru.json:\n" + "\n".join(
        f"  {rid}: {', '.join(fields)}" for rid, fields in sorted(missing.items())
    )
    untranslated = parse_rules([RULE])  # the check names what is missing
    assert missing_texts(untranslated, "ru") == {"corp-proxy-blocked": ["title", "cause", "remediation"]}
    stale = sorted(set(catalog("ru").entries) - set(builtin.rules))
    assert not stale, f"ru.json translates entries the knowledge base does not have: {stale}"


def test_every_category_has_a_russian_title():
    missing = [c for c in CATEGORY_IDS if not catalog("ru").categories.get(c)]
    assert not missing, f"categories without a ru title in ru.json: {missing}"


def test_russian_texts_are_russian_and_keep_one_term_per_concept(builtin):
    texts: list[tuple[str, str]] = [(f"category {k}", v) for k, v in catalog("ru").categories.items()]
    for rid, entry in catalog("ru").entries.items():
        texts += [(f"{rid}.{name}", getattr(entry, name)) for name in ("title", "cause", "warning")]
        texts += [(f"{rid}.remediation", step) for step in entry.remediation]
    texts += [(f"words {k}", v) for k, v in WORDS["ru"].items()]
    for where, text in texts:
        if not text or where.startswith("words subject") or not re.sub(r"\{\w+\}|[\s–().]", "", text):
            continue  # only placeholders
        assert CYRILLIC.search(text), f"{where} is not Russian: {text!r}"
        assert not NOT_OUR_TERMS.search(text), f"{where} uses {NOT_OUR_TERMS.search(text).group(0)!r}: {text!r}"
    data = json.loads((I18N_DIR / "ru.json").read_text(encoding="utf-8"))
    assert data["language"] == "ru"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_have_every_alert_word_with_the_same_placeholders():
    assert set(WORDS["en"]) == set(WORDS["ru"])
    for key, english in WORDS["en"].items():
        assert _fields(english) == _fields(WORDS["ru"][key]), key


@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_russian_alert_has_no_english_words_of_its_own(kind):
    """Everything the alert says itself is Russian (Azure names such as customizer stay as they are)."""
    content = build_content(sample_alert(kind), "ru")
    own = [content.headline, content.severity_word, content.summary, content.cause, *content.remediation]
    own += [k for k, _ in content.facts + content.details] + [link.title for link in content.links]
    english = re.compile(r"(?<![.\w])(?:the|and|failed|stuck|exited|after|since|running|now|succeeded|run|log)\b", re.I)
    for text in filter(None, own):
        assert CYRILLIC.search(text), text
        assert not english.search(text), text


def test_durations_in_russian_units():
    assert durations("4 h 20 min", "ru") == "4 ч 20 мин"
    assert durations("2 d 3 h", "ru") == "2 дн 3 ч"
    assert durations("45 s", "ru") == "45 с"
    assert durations("4 h 20 min", "en") == "4 h 20 min"
    assert normalize_language("ru-RU") == "ru" and normalize_language("de") == "en"


RULE = {
    "id": "corp-proxy-blocked",
    "category": "network-config",
    "title": "Corporate proxy blocked a download",
    "log_patterns": ["407 Proxy Authentication Required"],
    "cause": "The corporate proxy requires authentication.",
    "remediation": ["Add the build subnet to the proxy bypass list."],
}


def test_user_rules_carry_their_own_translations(tmp_path: Path):
    rule = {**RULE, "translations": {"ru": {"title": "Прокси заблокировал скачивание", "remediation": ["Шаг."]}}}
    (tmp_path / "rules.json").write_text(json.dumps({"rules": [rule]}), encoding="utf-8")
    kb = load_knowledge_base([tmp_path / "rules.json"], use_env=False)
    texts = entry_text(kb.rules["corp-proxy-blocked"], "ru")
    assert texts.title == "Прокси заблокировал скачивание" and texts.remediation == ("Шаг.",)
    assert texts.cause == "The corporate proxy requires authentication."  # English is the fallback
    alert = sample_alert(BUILD_FAILED)
    diag = {**(alert.diagnosis or {}), "rule_id": "corp-proxy-blocked", "category": "network-config"}
    content = build_content(Alert.from_dict({**alert.to_dict(), "diagnosis": diag}), "ru", knowledge=kb)
    assert content.category_title == "Прокси заблокировал скачивание" and content.remediation == ("Шаг.",)


def test_a_user_entry_replacing_a_builtin_id_is_not_given_the_builtin_translation(tmp_path: Path):
    rule = {**RULE, "id": "script-non-zero-exit", "category": "customizer-failed"}
    (tmp_path / "rules.json").write_text(json.dumps([rule]), encoding="utf-8")
    kb = load_knowledge_base([tmp_path / "rules.json"], use_env=False)
    assert entry_text(kb.rules["script-non-zero-exit"], "ru").title == "Corporate proxy blocked a download"
    builtin = load_knowledge_base(use_env=False)
    assert entry_text(builtin.rules["script-non-zero-exit"], "ru").title.startswith("Скрипт customizer")


@pytest.mark.parametrize(
    ("translations", "field"),
    [
        ("ru", "translations"),
        ({"russian": {"title": "x"}}, "translations"),
        ({"ru": {"titel": "x"}}, "translations.ru.titel"),
        ({"ru": {"title": ""}}, "translations.ru.title"),
        ({"ru": {"remediation": "one step"}}, "translations.ru.remediation"),
    ],
)
def test_invalid_translations_are_reported(translations, field):
    with pytest.raises(KnowledgeBaseError, match=re.escape(f"field '{field}'")):
        parse_rules([{**RULE, "translations": translations}])


def test_alert_language_setting():
    assert Settings.from_env({}).alert_language == "en"
    assert Settings.from_env({"ALERT_LANGUAGE": "RU"}).alert_language == "ru"
    with pytest.raises(SettingsError, match="ALERT_LANGUAGE"):
        Settings.from_env({"ALERT_LANGUAGE": "de"})


def _channels():
    url, retrier = "https://example.invalid/hook", Retrier()
    return [
        TeamsWorkflowsChannel(url, retrier, language="ru"),
        TeamsMessageCardChannel(url, retrier, language="ru"),
        EmailWebhookChannel(url, ["ops@example.com"], retrier, language="ru"),
        JsonWebhookChannel(url, retrier, language="ru"),
    ]


@pytest.mark.parametrize("channel", _channels(), ids=lambda c: type(c).__name__)
def test_russian_payloads_stay_small_and_redacted(channel):
    for alert in (*(sample_alert(k) for k in ALERT_KINDS), hostile_alert(), huge_alert()):
        body = channel.render(alert)
        assert len(body) < PAYLOAD_LIMIT, (alert.kind, len(body))
        text = body.decode("utf-8")
        assert CYRILLIC.search(json.loads(text) and text)
        for secret in (*SECRETS, "example.invalid"):
            assert secret not in text


def test_russian_plain_text_and_card_of_the_hostile_alert_are_redacted():
    content = build_content(hostile_alert(), "ru")
    for rendered in (plain_text(content), json.dumps(workflows_message(adaptive_card(content)), ensure_ascii=False)):
        for secret in SECRETS:
            assert secret not in rendered
        assert "[REDACTED]" in rendered
    assert len(encode(workflows_message(adaptive_card(content)))) < PAYLOAD_LIMIT


def test_diagnosis_cli_lang(tmp_path: Path):
    from diagnosis.cli import run

    status = tmp_path / "status.txt"
    status.write_text(
        "Failed while waiting for packerizer: Packer build command has failed: exit status 1.\n"
        "==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    assert run(["--lang", "ru", "--json", str(status)], stdout=out, stderr=io.StringIO()) == 1
    diag = json.loads(out.getvalue())
    assert diag["category"] == "customizer-failed" and diag["title"] == "Скрипт customizer завершился с ненулевым кодом"
    assert CYRILLIC.search(diag["cause"]) and all(CYRILLIC.search(step) for step in diag["remediation"])
    english = io.StringIO()
    assert run([str(status)], stdout=english, stderr=io.StringIO()) == 1
    assert not CYRILLIC.search(english.getvalue())
    assert run(["--lang", "de", str(status)], stdout=io.StringIO(), stderr=io.StringIO()) == 2


def test_user_rule_translations_reach_the_alert_files_through_the_settings(tmp_path: Path):
    rule = {**RULE, "translations": {"ru": {"title": "Прокси заблокировал скачивание"}}}
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps([rule]), encoding="utf-8")
    env = {"DIAGNOSIS_RULES": str(rules_file), "ALERT_LANGUAGE": "ru", "ALERT_DIR": str(tmp_path / "alerts")}
    dispatcher = AlertDispatcher.from_settings(Settings.from_env(env), LocalDirStore(tmp_path / "store"))
    channel = dispatcher.channels["files"]
    assert isinstance(channel, FileChannel) and isinstance(dispatcher.outbox, Outbox)
    alert = sample_alert(BUILD_FAILED)
    diag = {**(alert.diagnosis or {}), "rule_id": "corp-proxy-blocked", "category": "network-config"}
    assert dispatcher.send(Alert.from_dict({**alert.to_dict(), "diagnosis": diag})).sent
    text = next((tmp_path / "alerts").glob("*.txt")).read_text(encoding="utf-8")
    assert "Категория:       Прокси заблокировал скачивание" in text
    document = json.loads(next((tmp_path / "alerts").glob("*.json")).read_text(encoding="utf-8"))
    assert document["language"] == "ru" and document["text"] == text
