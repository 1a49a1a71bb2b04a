"""No knowledge-base entry over-reaches on the labelled texts of the project (``benchmarks/kb_overreach.py``).

Over the seed guide's blocks, the per-category variants and the generated logs (successful, failed and running
builds; the benchmark line mixes), and for the second rule also the message inventory's examples:

- no entry gives a wrong specific category;
- on a text that shows no failure, no entry other than a benign or progress one matches in the part of the text the
  verdict uses (a new pattern that fires on a successful build's lines fails here, naming the entry and the text).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import kb_overreach

from diagnosis import load_knowledge_base
from diagnosis.admissible import noise_records
from diagnosis.scanner import scan, scan_text, sniff_is_log

KB = load_knowledge_base(use_env=False)


@pytest.fixture(scope="module")
def texts() -> list[kb_overreach.Labelled]:
    return [
        *kb_overreach.guide_and_variants(),
        *kb_overreach.generated_logs(),
        *kb_overreach.inventory_examples(KB),
    ]


def test_no_entry_decides_a_wrong_specific_category(texts):
    # the inventory's examples are each held to their exact answer by test_inventory.py
    audited = [t for t in texts if not t.name.startswith("inventory/")]
    found = kb_overreach.audit(KB, audited)
    assert found.texts == len(audited) > 100
    assert not found.decided, found.decided
    assert not found.wrong_answers, found.wrong_answers


def test_no_entry_matches_usably_on_a_text_without_failure(texts):
    offenders = []
    for text in texts:
        if text.expected != "none":
            continue
        data = text.data
        result = (
            scan(data, KB, source="log")
            if sniff_is_log(data)
            else scan_text(data.decode("utf-8", "replace"), KB, source="message")
        )
        result.noise_records = noise_records(result, KB)
        for rule_id in result.hits:
            rule = KB.get(rule_id)
            if rule is None or rule.benign or rule.error_record or rule.progress:
                continue  # progress lines (healthy builds print them too) never show a failure alone
            if kb_overreach.over_reaches(rule, text) and kb_overreach.usable(rule, result, KB):
                offenders.append(f"{rule.id} on {text.name}")
    assert not offenders, offenders


def test_the_audit_counts_an_entry_that_fires_on_another_category():
    rule = KB.get("script-non-zero-exit")
    assert rule is not None
    line = b"==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]\n"
    text = kb_overreach.Labelled("made-up", line, "policy-violation")
    found = kb_overreach.audit(KB, [text])
    assert found.fired == {"script-non-zero-exit": ["made-up (expected policy-violation)"]}
    assert found.decided == {"script-non-zero-exit": ["made-up (expected policy-violation, got customizer-failed)"]}
