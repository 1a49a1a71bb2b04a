"""Knowledge-base files: validation with clear errors, user files, overrides by id, DIAGNOSIS_RULES."""

from __future__ import annotations

import json
import os

import pytest

from diagnosis import KnowledgeBaseError, diagnose, load_knowledge_base
from diagnosis.literals import required_literals
from diagnosis.rules import BUILTIN_DIR, parse_rules

GOOD = {
    "id": "my-proxy",
    "category": "network-config",
    "title": "Corporate proxy refused the download",
    "message_patterns": [r"ProxyRefused \d+"],
    "log_patterns": [r"ProxyRefused \d+"],
    "phase": "customize",
    "cause": "The proxy blocks the build VM.",
    "remediation": ["Allow the build subnet through the proxy."],
    "doc": "troubleshoot-build-failures",
    "precedence": 99,
}


def write(tmp_path, name, data) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_builtin_files_load_and_are_sane():
    kb = load_knowledge_base(use_env=False)
    assert len(kb) >= 40
    assert len(list(BUILTIN_DIR.glob("*.json"))) >= 3
    ids = [r.id for r in kb]
    assert len(ids) == len(set(ids))
    for rule in kb:
        assert rule.benign or rule.error_record or rule.remediation
        for p in rule.log_patterns:
            assert p.keywords, f"{rule.id}: log pattern {p.source!r} has no literal keyword (slow scanning)"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"category": "flaky"}, "field 'category'"),
        ({"category": "none"}, "reserved"),
        ({"id": "Bad Id"}, "field 'id'"),
        ({"phase": "brewing"}, "field 'phase'"),
        ({"remediation": []}, "field 'remediation'"),
        ({"remediation": "do it"}, "field 'remediation'"),
        ({"precedence": "high"}, "field 'precedence'"),
        ({"confidence": 3}, "field 'confidence'"),
        ({"scope": "everywhere"}, "field 'scope'"),
        ({"doc": "Not An Anchor"}, "field 'doc'"),
        ({"message_patterns": ["(unclosed"]}, "field 'message_patterns[0]': invalid regex"),
        ({"log_patterns": ["x|"]}, "matches the empty string"),
        ({"message_patterns": [], "log_patterns": []}, "at least one message or log pattern"),
        ({"colour": "red"}, "field 'colour': unknown field"),
        ({"keywords": ["zzzz"]}, "field 'keywords'"),
        ({"progress": "yes"}, "field 'progress'"),
        ({"explains_lower": True}, "field 'explains_lower': only an ambiguous entry"),
        ({"whole_record": True}, "field 'whole_record': only a benign entry"),
    ],
)
def test_invalid_entries_name_file_entry_and_field(tmp_path, change, fragment):
    entry = {**GOOD, **change}
    path = write(tmp_path, "mine.json", {"rules": [GOOD | {"id": "first"}, entry]})
    with pytest.raises(KnowledgeBaseError) as err:
        load_knowledge_base([path], use_env=False)
    text = str(err.value)
    assert path in text
    assert "entry #1" in text
    assert fragment in text


def test_file_level_errors(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="not found"):
        load_knowledge_base([tmp_path / "missing.json"], use_env=False)
    with pytest.raises(KnowledgeBaseError, match=r"not valid JSON: .* line 1"):
        load_knowledge_base([write(tmp_path, "bad.json", "{nope")], use_env=False)
    with pytest.raises(KnowledgeBaseError, match="unknown top-level"):
        load_knowledge_base([write(tmp_path, "top.json", {"rulez": []})], use_env=False)
    with pytest.raises(KnowledgeBaseError, match="duplicate id"):
        load_knowledge_base([write(tmp_path, "dup.json", [GOOD, GOOD])], use_env=False)


def test_user_rules_add_and_override(tmp_path, monkeypatch):
    # which entries a knowledge base holds does not depend on the scan backend; the stdlib one compiles no automaton
    monkeypatch.setenv("DIAGNOSIS_SCAN_BACKEND", "stdlib")
    mine = write(tmp_path, "mine.json", {"rules": [GOOD]})
    kb = load_knowledge_base([mine], use_env=False)
    d = diagnose("Download failed: ProxyRefused 407 from proxy.corp", rules=kb)
    assert (d.category, d.rule_id) == ("network-config", "my-proxy")
    # a user entry with a built-in id replaces the built-in one
    override = dict(
        GOOD,
        id="authorization-failed",
        category="policy-violation",
        title="Ours",
        message_patterns=["AuthorizationFailed"],
        log_patterns=[],
    )
    kb = load_knowledge_base([write(tmp_path, "over.json", [override])], use_env=False)
    d = diagnose('Status=403 Code="AuthorizationFailed" Message="no"', rules=kb)
    assert (d.category, d.title) == ("policy-violation", "Ours")


def test_rules_from_environment(tmp_path, monkeypatch):
    a = write(tmp_path, "a.json", [GOOD])
    b = write(tmp_path, "b.json", [dict(GOOD, id="other", message_patterns=["OtherThing"])])
    monkeypatch.setenv("DIAGNOSIS_RULES", os.pathsep.join([a, b]))
    kb = load_knowledge_base()
    assert kb.get("my-proxy") and kb.get("other")
    monkeypatch.setenv("DIAGNOSIS_RULES", str(tmp_path / "absent.json"))
    with pytest.raises(KnowledgeBaseError, match=r"absent\.json"):
        load_knowledge_base()


def test_case_insensitive_and_keywordless_user_patterns_still_match(tmp_path):
    entries = [
        dict(GOOD, id="ci", message_patterns=[], log_patterns=[r"(?i)flux capacitor overload"]),
        dict(GOOD, id="nokw", message_patterns=[], log_patterns=[r"^\d+ \w+$"], precedence=1),
    ]
    kb = load_knowledge_base([write(tmp_path, "x.json", entries)], use_env=False)
    assert kb.get("ci").log_patterns[0].keywords == (b"flux capacitor overload",)
    assert kb.get("nokw").log_patterns[0].keywords == ()
    data = b"[x] PACKER OUT Build 'azure-arm' errored: FLUX Capacitor OVERLOAD\n12 words\n"
    d = diagnose(log=data, rules=kb)
    assert d.rule_id == "ci"


def test_required_literals():
    assert required_literals(r"abc\d+defgh") == ["defgh"]
    assert required_literals(r"(?:foo bar|baz qux) x") == ["baz qux", "foo bar"]
    assert required_literals(r"\d+") is None
    assert required_literals(r"x(?:ab)?y") is None
    assert required_literals(r"IMAGE_STATE_(?:UNDEPLOYABLE)+") == ["IMAGE_STATE_"]
    # a run of literals joined to each alternative that follows it, when that is longer than the run alone
    assert required_literals(r"[a-z]E(?:rror|xception): \S", min_length=2) == ["Error", "Exception"]
    assert required_literals(r"x(?:ab|cd)", min_length=2) == ["xab", "xcd"]
    assert required_literals(r"go(?:\d|ne)") is None


def test_parse_rules_accepts_a_bare_list():
    assert [r.id for r in parse_rules([GOOD])] == ["my-proxy"]


def test_ambiguous_must_be_a_boolean(tmp_path):
    from diagnosis.rules import load_rules_file

    path = tmp_path / "r.json"
    entry = {"id": "x", "category": "network-config", "title": "t", "message_patterns": ["abc"], "remediation": ["r"]}
    entry["ambiguous"] = "yes"
    path.write_text(json.dumps({"rules": [entry]}))
    with pytest.raises(KnowledgeBaseError, match="ambiguous"):
        load_rules_file(path)
    entry["ambiguous"] = True
    path.write_text(json.dumps({"rules": [entry]}))
    assert load_rules_file(path)[0].ambiguous is True


def test_failed_step_entries_are_data_a_user_file_can_override(tmp_path):
    """The causes the engine applies to the failed provisioner live in the knowledge base, without patterns."""
    from localazure import samplelogs

    override = {
        "id": "failed-customizer",
        "category": "customizer-failed",
        "title": "Customizer failed (see the runbook)",
        "remediation": ["Follow runbook IMG-12 before re-running the pipeline."],
    }
    kb = load_knowledge_base([write(tmp_path, "ours.json", {"rules": [override]})], use_env=False)
    # a failure line no entry knows: the failed step's entry decides
    log = bytes(
        samplelogs.failed_customizer_log(
            "install-agent", "Shell", 3, seed=4, message="setup of contoso-agent did not complete"
        )
    )
    d = diagnose(log=[log], rules=kb)
    assert d.category == "customizer-failed" and d.rule_id == "failed-customizer"
    assert d.remediation == ["Follow runbook IMG-12 before re-running the pipeline."]
    with pytest.raises(KnowledgeBaseError, match="at least one message or log pattern"):
        parse_rules([{**override, "id": "my-step"}])
