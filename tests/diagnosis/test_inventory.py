"""Every line of the message inventory resolves, and its examples are diagnosed as the line says.

``diagnosis/knowledge/inventory/messages.json`` lists message shapes with the source that prints them and either
the knowledge-base entry that handles them or a decision (failure-signal, ambiguous, benign, recovered,
not-a-failure). Each example is diagnosed the way ``python -m diagnosis`` treats pasted text.
"""

from __future__ import annotations

import json

import pytest

from diagnosis import load_knowledge_base
from diagnosis.cli import diagnose_input
from diagnosis.model import Diagnosis
from diagnosis.packer_lines import remote_output
from diagnosis.pasted import unescape_pasted
from diagnosis.rules import BUILTIN_DIR
from diagnosis.scanner import _joined_lines, scan_text

INVENTORY = BUILTIN_DIR / "inventory" / "messages.json"
DATA = json.loads(INVENTORY.read_text(encoding="utf-8"))
KB = load_knowledge_base(use_env=False)
DECISIONS = {"failure-signal", "ambiguous", "benign", "recovered", "not-a-failure"}
CASES = [
    pytest.param(entry, example, id=f"{i}-{entry['resolves']}-{j}")
    for i, entry in enumerate(DATA["entries"])
    for j, example in enumerate(entry["examples"])
]


def _diagnose_pasted(text: str) -> Diagnosis:
    return diagnose_input(text.encode(), KB, name="inventory")


def test_inventory_lines_resolve():
    assert set(DATA["decisions"]) == DECISIONS
    assert len(DATA["entries"]) >= 60
    for entry in DATA["entries"]:
        assert entry["shape"].strip() and entry["source"].strip() and entry["examples"], entry
        target = entry["resolves"]
        assert target in DECISIONS or KB.get(target) is not None, f"{target!r} is neither an entry nor a decision"
    covered = {e["resolves"] for e in DATA["entries"]}
    failure_entries = {r.id for r in KB if not r.benign and r.id not in ("failed-customizer", "failed-deprovisioning")}
    assert len(covered & failure_entries) >= 30


def _unexplained_script_error(example: str) -> str:
    """An error line no entry explains: its customizer failed when Packer printed it as a remote command's output
    (``    azure-arm: ...``), else an error without a known cause."""
    return "customizer-failed" if remote_output(example.splitlines()[0]) else "unknown"


@pytest.mark.parametrize(("entry", "example"), CASES)
def test_inventory_example_is_diagnosed_as_listed(entry, example):
    target = entry["resolves"]
    d = _diagnose_pasted(example)
    if target in ("benign", "recovered", "not-a-failure"):
        assert d.category == "none", (d.category, d.rule_id, d.summary)
        return
    if target == "ambiguous":
        assert d.category == _unexplained_script_error(example), (d.rule_id, d.summary)
        return
    if target == "failure-signal":
        assert d.category != "none", d.summary
        return
    rule = KB.get(target)
    assert rule is not None
    if rule.benign:
        assert d.category == "none" and d.warnings, (d.category, d.summary)
        return
    # as the engine reads a pasted text: unescaped, its prefixes removed, a PowerShell 7 record's message joined
    assert target in scan_text(unescape_pasted(example), KB).hits, f"{target} does not match its own example"
    if rule.error_record:
        assert d.category == _unexplained_script_error(example), (d.category, d.rule_id)
        return
    expected = "unknown" if rule.ambiguous else rule.category
    assert (d.category, d.rule_id) == (expected, target), d.summary


def test_scan_text_keyword_prefilter_drops_no_message_match():
    """Every entry one of whose message patterns matches an inventory example (whole, or its lines joined) is
    among the hits: the keywords that let scan_text skip a pattern never skip one that matches."""
    missed = []
    for example in (x for entry in DATA["entries"] for x in entry["examples"]):
        whole = example.encode().replace(b"\r\n", b"\n").replace(b"\x00", b"")
        lines = whole.split(b"\n")
        joined = _joined_lines(lines)[0] if len(lines) > 1 else b""
        hits = scan_text(example, KB).hits
        for rule in KB:
            if rule.id in hits:
                continue
            for p in rule.message_patterns:
                if p.bregex is not None and (p.bregex.search(whole) or (joined and p.bregex.search(joined))):
                    missed.append(f"{rule.id}: {example[:80]!r}")
                    break
    assert not missed, missed
