"""Real failure reports from public issue trackers (cases/real): accuracy, and no confident wrong answers.

Each report file is ``<expected-category>__<slug>.txt`` with ``#: source`` / ``#: why`` header lines; the
expected category is what the thread established as the cause (``unknown`` where the pasted text holds no
evidence of it). The scoring is shared with ``benchmarks/real_reports_accuracy.py``, which prints the details.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from diagnosis import load_knowledge_base
from diagnosis.categories import CATEGORY_IDS

ROOT = Path(__file__).resolve().parents[2]
REAL = Path(__file__).with_name("cases") / "real"


def _scoring():
    path = ROOT / "benchmarks" / "real_reports_accuracy.py"
    spec = importlib.util.spec_from_file_location("real_reports_accuracy", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


scoring = _scoring()


@pytest.fixture(scope="module")
def results():
    return scoring.evaluate(load_knowledge_base(use_env=False), REAL)


def _misses(results) -> str:
    return "\n".join(f"  {r.name}: expected {r.expected}, got {r.got} ({r.rule_id})" for r in results if not r.right)


def test_every_report_is_well_formed():
    paths = sorted(REAL.glob("*.txt"))
    assert len(paths) >= 30
    for path in paths:
        expected = path.name.split("__")[0]
        assert expected in CATEGORY_IDS, path.name
        head = path.read_text(encoding="utf-8").splitlines()[:2]
        assert head[0].startswith("#: source https://"), path.name
        assert head[1].startswith("#: why ") and len(head[1]) > 15, path.name
        assert scoring.report_text(path).strip(), f"{path.name}: no report text"


def test_accuracy_at_least_90_percent(results):
    right = sum(r.right for r in results)
    assert right / len(results) >= 0.9, f"{right}/{len(results)} right; misses:\n{_misses(results)}"


def test_no_confident_wrong_answer_where_the_text_holds_no_evidence(results):
    wrong = [r for r in results if r.expected == "unknown" and r.confident_wrong]
    assert not wrong, "a category was guessed where the text gives no cause:\n" + _misses(wrong)


def test_held_out_split_is_fixed_by_name():
    names = [p.name for p in REAL.glob("*.txt")]
    held = [n for n in names if scoring.held_out(n)]
    assert 0 < len(held) < len(names)
    assert all(scoring.held_out(n) == scoring.held_out(n) for n in names)


def test_never_none_on_a_failure_report_and_no_category_on_a_non_failure(results):
    none_on_failure = [r for r in results if r.expected != "none" and r.got == "none"]
    assert not none_on_failure, "'no failure found' on a failure report:\n" + _misses(none_on_failure)
    guessed = [r for r in results if r.expected == "none" and r.got not in ("none", "unknown")]
    assert not guessed, "a category on a text that shows no failure:\n" + _misses(guessed)
