"""Every error block of the troubleshooting guide and a realistic variant per category gets its category."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from diagnosis import diagnose, load_knowledge_base
from diagnosis.categories import CATEGORY_IDS
from diagnosis.scanner import sniff_is_log

CASES = Path(__file__).with_name("cases")
GUIDE = CASES / "guide"
VARIANTS = CASES / "variants"
EXPECTED_GUIDE: dict[str, str] = json.loads((GUIDE / "expected.json").read_text())


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(use_env=False)


def _diagnose_file(path: Path, kb):
    data = path.read_bytes()
    if sniff_is_log(data):  # the same decision the CLI makes
        return diagnose(log=data, rules=kb)
    return diagnose(data.decode("utf-8"), rules=kb)


def test_every_guide_block_has_an_expectation():
    blocks = sorted(p.name for p in GUIDE.glob("*.txt"))
    assert len(blocks) == 16  # each "#### Error" code block of the seed guide
    assert sorted(EXPECTED_GUIDE) == blocks


@pytest.mark.parametrize("name", sorted(EXPECTED_GUIDE))
def test_guide_block_category(name, kb):
    d = _diagnose_file(GUIDE / name, kb)
    assert d.category == EXPECTED_GUIDE[name], (d.rule_id, d.summary)
    assert d.evidence, "a diagnosis names its evidence"
    assert d.remediation
    assert d.doc and d.doc.startswith("https://learn.microsoft.com/")
    assert d.confidence >= 0.5


@pytest.mark.parametrize("path", sorted(VARIANTS.glob("*.txt")), ids=lambda p: p.stem)
def test_variant_category(path, kb):
    expected = path.name.split("__")[0]
    assert expected in CATEGORY_IDS
    d = _diagnose_file(path, kb)
    assert d.category == expected, (d.rule_id, d.summary)
    if expected == "unknown":
        assert d.confidence <= 0.3
        assert d.evidence
    elif expected != "none":
        assert d.rule_id is not None


def test_every_failure_category_has_a_rule_and_a_case(kb):
    failure_categories = set(CATEGORY_IDS) - {"none", "unknown"}
    assert kb.categories() == failure_categories
    covered = {p.name.split("__")[0] for p in VARIANTS.glob("*.txt")} | set(EXPECTED_GUIDE.values())
    assert failure_categories <= covered


def test_guide_anchors_exist_in_the_seed(kb):
    seed = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_cd0f701471e89f19.txt"  # ../shared
    if not seed.exists():
        pytest.skip("seed guide not available on this machine")
    anchors = set(__import__("re").findall(r'<a name="([^"]+)"', seed.read_text()))
    for rule in kb:
        if rule.doc and not rule.doc.startswith("https://"):
            assert rule.doc in anchors, (rule.id, rule.doc)
