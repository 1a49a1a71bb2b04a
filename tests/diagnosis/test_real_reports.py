"""Real failure reports from public issue trackers (cases/real): accuracy, and no confident wrong answers.

Each report file is ``<expected-category>__<slug>.txt`` with ``#: source`` / ``#: why`` header lines; the
expected category is what the thread established as the cause (``unknown`` where the pasted text holds no
evidence of it). The scoring is shared with ``benchmarks/real_reports_accuracy.py``, which prints the details.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnosis import load_knowledge_base
from tests.diagnosis.realscoring import REAL, scoring

ROOT = Path(__file__).resolve().parents[2]
# one test process reads the whole corpus once (``results``) for all of this module's tests
pytestmark = pytest.mark.xdist_group("real-reports")


@pytest.fixture(scope="module")
def results():
    return scoring.evaluate(load_knowledge_base(use_env=False), REAL)


def _misses(results) -> str:
    return "\n".join(f"  {r.name}: expected {r.expected}, got {r.got} ({r.rule_id})" for r in results if not r.right)


def test_every_report_is_well_formed():
    paths = sorted(REAL.glob("*.txt"))
    assert len(paths) >= 30
    for path in paths:
        problems = scoring.report_problems(path)
        assert not problems, f"{path.name}: {'; '.join(problems)}"


def test_every_batch_names_reports_of_the_corpus():
    """benchmarks/batches/ lists each collected batch's reports: every name is a report file, and none is in two."""
    seen: dict[str, str] = {}
    for batch in sorted((ROOT / "benchmarks" / "batches").glob("*.txt")):
        for name in filter(None, (line.strip() for line in batch.read_text().splitlines())):
            assert (REAL / name).is_file(), f"{batch.name}: {name}"
            assert name not in seen, f"{name} in {seen.get(name)} and {batch.name}"
            seen[name] = batch.name
    assert seen
    only = next(iter(seen))
    assert [r.name for r in scoring.evaluate(load_knowledge_base(use_env=False), REAL, only={only})] == [only]


# Floors measured with the frozen split (``benchmarks/real_reports_accuracy.py --split tuned|held-out``): the
# held-out third was never tuned on, and a failure here names only tuning-split reports, so running the tests
# does not show anyone the held-out texts. Raise a floor when the number it guards rises.
TUNED_FLOOR = 0.717  # measured 5318/7415
HELD_OUT_FLOOR = 0.615  # measured 2318/3764
MAX_NONE_ON_FAILURE = 341  # 'no failure found' on a failure report (the aim is 0; measured 341)
MAX_CATEGORY_ON_NON_FAILURE = 48  # a category on a text that shows no failure (the aim is 0; measured 48)
MAX_GUESS_WITHOUT_EVIDENCE = 971  # a category where the text holds no evidence of the cause (aim 0; measured 971)


def _share(results) -> float:
    return sum(r.right for r in results) / len(results)


def test_accuracy_does_not_fall_on_either_split(results):
    tuned = [r for r in results if not r.held_out]
    held = [r for r in results if r.held_out]
    assert _share(tuned) >= TUNED_FLOOR, f"tuning split {_share(tuned):.1%}; misses:\n{_misses(tuned)}"
    assert _share(held) >= HELD_OUT_FLOOR, f"held-out split {_share(held):.1%} (names not shown)"


def test_no_more_confident_guesses_where_the_text_holds_no_evidence(results):
    wrong = [r for r in results if r.expected == "unknown" and r.confident_wrong]
    shown = [r for r in wrong if not r.held_out]
    count = len(wrong)  # a number, so that a failure's report shows no held-out report
    assert count <= MAX_GUESS_WITHOUT_EVIDENCE, "a category was guessed where the text gives no cause:\n" + (
        _misses(shown) + f"\n  (+{count - len(shown)} held-out)"
    )


def test_held_out_split_is_fixed_by_name():
    names = [p.name for p in REAL.glob("*.txt")]
    held = [n for n in names if scoring.held_out(n)]
    assert 0 < len(held) < len(names)
    assert all(scoring.held_out(n) == scoring.held_out(n) for n in names)


def test_azure_image_builds_are_told_by_the_report_text():
    assert scoring.azure_build(b"==> azure-arm: ERROR: -> ResourceNotFound")
    assert scoring.azure_build(b"[0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0] PACKER OUT Build finished")
    assert scoring.azure_build(b"az image builder run -n tpl -g rg")
    assert not scoring.azure_build(b"==> amazon-ebs: Error launching source instance")
    assert not scoring.azure_build(b"EC2 Image Builder pipeline failed")


def test_none_on_failure_and_category_on_non_failure_stay_bounded(results):
    none_on_failure = [r for r in results if r.expected != "none" and r.got == "none"]
    count = len(none_on_failure)  # numbers, so that a failure's report shows no held-out report
    assert count <= MAX_NONE_ON_FAILURE, "'no failure found' on failure reports:\n" + _misses(
        [r for r in none_on_failure if not r.held_out]
    )
    guessed = [r for r in results if r.expected == "none" and r.got not in ("none", "unknown")]
    count = len(guessed)
    assert count <= MAX_CATEGORY_ON_NON_FAILURE, "a category on a text that shows no failure:\n" + _misses(
        [r for r in guessed if not r.held_out]
    )
