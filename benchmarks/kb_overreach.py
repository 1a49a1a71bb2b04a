"""Over-reach audit of the knowledge base: where each entry's patterns fire on texts whose cause is something else.

Every labelled text the project has is run through the scanner with all patterns (message and log patterns,
as for pasted text) and through ``diagnose`` the way the CLI treats it:

* the tuning split of the real reports (``tests/diagnosis/cases/real``, never the held-out third),
* the seed guide's error blocks and the per-category variants (``tests/diagnosis/cases``),
* the realistic log generators (``localazure/samplelogs/``: successful, failed and running builds;
  ``benchmarks/_loggen.py``: the benchmark line mixes with and without their failing tail),
* the examples of the message inventory (``diagnosis/knowledge/inventory/messages.json``).

For each entry it prints on how many texts of another expected category its patterns fire anywhere ("fires"), on
how many a match survives the verdict's evidence rules ("failing": in the failed part of the text, not a quoted
command or a warning, see ``diagnosis.admissible``; for a ``failed-step`` entry only inside the failed step; not
answered later by a ``resolved_by`` line),
and on how many it decided a wrong specific category ("decides"). An entry answers its own category; an
``ambiguous`` entry answers ``unknown``, so it over-reaches only on texts that expect ``none``; ``benign`` and
``error_record`` entries never decide a category and are not counted. The totals at the end are the numbers to
compare before and after a change.

    python benchmarks/kb_overreach.py [--verbose] [--entry ID]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _loggen  # noqa: E402
import real_reports_accuracy as real  # noqa: E402

from diagnosis.admissible import admissible, noise_records  # noqa: E402
from diagnosis.cli import diagnose_input  # noqa: E402
from diagnosis.engine import recovered_entries  # noqa: E402
from diagnosis.packer_lines import remote_output  # noqa: E402
from diagnosis.rules import BUILTIN_DIR, KnowledgeBase, Rule, load_knowledge_base  # noqa: E402
from diagnosis.scanner import ScanResult, scan, scan_text, sniff_is_log  # noqa: E402
from localazure import samplelogs  # noqa: E402

CASES = ROOT / "tests" / "diagnosis" / "cases"
INVENTORY = BUILTIN_DIR / "inventory" / "messages.json"
_DECISION_CATEGORY = {
    "failure-signal": "unknown",
    "ambiguous": "unknown",
    "benign": "none",
    "recovered": "none",
    "not-a-failure": "none",
}
_LOGGEN_BYTES = 1 << 16  # one block of each mix
_LOGGEN_BLOCK_LINES = 400  # distinct lines in that block (the benchmark's block of 40 000 is about 5 MB)


@dataclass(frozen=True)
class Labelled:
    """A text and the category it should get; ``failure_signal``: any answer but ``none`` is acceptable."""

    name: str
    data: bytes
    expected: str
    failure_signal: bool = False


def real_reports() -> Iterator[Labelled]:
    for path in sorted(real.CASES.glob("*.txt")):
        if real.held_out(path.name):
            continue  # the held-out third is never looked at while tuning
        yield Labelled(f"real/{path.name}", real.report_text(path), path.name.split("__")[0])


def guide_and_variants() -> Iterator[Labelled]:
    expected = json.loads((CASES / "guide" / "expected.json").read_text(encoding="utf-8"))
    for name, category in sorted(expected.items()):
        yield Labelled(f"guide/{name}", (CASES / "guide" / name).read_bytes(), category)
    for path in sorted((CASES / "variants").glob("*.txt")):
        yield Labelled(f"variants/{path.name}", path.read_bytes(), path.name.split("__")[0])


def generated_logs() -> Iterator[Labelled]:
    for os_name in ("linux", "windows"):
        for style in ("classic", "modern"):
            log = samplelogs.success_log(os_name, style=style)
            yield Labelled(f"samplelogs/success-{os_name}-{style}", bytes(log), log.expected_category)
    for failure in samplelogs.FAILURES:
        for style in ("classic", "modern"):
            log = samplelogs.failure_log(failure, style=style)
            yield Labelled(f"samplelogs/failure-{failure}-{style}", bytes(log), log.expected_category)
    log = samplelogs.failed_customizer_log()
    yield Labelled("samplelogs/failed-customizer", bytes(log), log.expected_category)
    for stage in samplelogs.RUNNING_STAGES:
        log = samplelogs.running_log(stage)
        yield Labelled(f"samplelogs/running-{stage}", bytes(log), log.expected_category or "none")
    for mix, (_line, failed_category) in _loggen.MIXES.items():
        if failed_category is None:
            continue  # a log of nothing but matches: a scanning-speed case, not a build
        ok = b"".join(_loggen.generate(_LOGGEN_BYTES, mix=mix, fail=False, block_lines=_LOGGEN_BLOCK_LINES))
        yield Labelled(f"loggen/{mix}-success", ok, "none")
        failed = b"".join(_loggen.generate(_LOGGEN_BYTES, mix=mix, fail=True, block_lines=_LOGGEN_BLOCK_LINES))
        yield Labelled(f"loggen/{mix}-failed", failed, failed_category)


def inventory_examples(kb: KnowledgeBase) -> Iterator[Labelled]:
    data = json.loads(INVENTORY.read_text(encoding="utf-8"))
    for i, entry in enumerate(data["entries"]):
        target = entry["resolves"]
        rule = kb.get(target)
        for j, example in enumerate(entry["examples"]):
            if rule is None:
                expected = _DECISION_CATEGORY.get(target, "unknown")
            elif rule.benign:
                expected = "none"
            elif rule.ambiguous:
                expected = "unknown"
            else:
                expected = rule.category
            unexplained = rule.error_record if rule is not None else target == "ambiguous"
            if unexplained and remote_output(example):
                expected = "customizer-failed"  # a script's error line no entry explains, printed inside the build
            yield Labelled(
                f"inventory/{i}-{target}-{j}", example.encode(), expected, failure_signal=target == "failure-signal"
            )


def corpus(kb: KnowledgeBase) -> list[Labelled]:
    return [*real_reports(), *guide_and_variants(), *generated_logs(), *inventory_examples(kb)]


def answers(rule: Rule) -> str:
    """The category an entry gives when it decides alone."""
    if rule.benign:
        return "none"
    if rule.ambiguous or rule.error_record:
        return "unknown"
    return rule.category


def over_reaches(rule: Rule, text: Labelled) -> bool:
    """The entry fired on a text whose expected answer it does not give."""
    own = answers(rule)
    if rule.benign or rule.error_record:
        return False  # never a category
    if text.expected == rule.category:
        return False
    if own == "unknown":  # it answers "unknown": harmful only where nothing failed
        return text.expected == "none"
    return True


@dataclass
class Finding:
    fired: dict[str, list[str]]  # entry id -> names of texts of another category it fired on
    failing: dict[str, list[str]]  # the same, counting only matches the verdict may use
    decided: dict[str, list[str]]  # entry id -> names of texts it gave a wrong specific category
    wrong_answers: list[str]  # texts answered with a wrong specific category, or none on a failure
    texts: int


def usable(rule: Rule, result: ScanResult, kb: KnowledgeBase) -> bool:
    """A match of ``rule`` in ``result`` that the verdict may use (``diagnosis.admissible``, the failed step)."""
    rh = result.hits.get(rule.id)
    if rh is None:
        return False
    if rule.id in recovered_entries(result, kb):
        return False  # it recovered later in the same text
    step = result.failed_step if result.source == "log" else None
    hits = admissible(rh.samples(), result, step, rule.category)
    if rule.scope == "failed-step" and result.source == "log" and result.steps:
        hits = [h for h in hits if step is not None and h.step == step.position]
    return bool(hits)


def audit(kb: KnowledgeBase, texts: list[Labelled], only: str | None = None) -> Finding:
    fired: dict[str, list[str]] = defaultdict(list)
    failing: dict[str, list[str]] = defaultdict(list)
    decided: dict[str, list[str]] = defaultdict(list)
    wrong: list[str] = []
    for text in texts:
        hits = scan_text(text.data.decode("utf-8", "replace"), kb, source="audit").hits
        as_input = (
            scan(text.data, kb, source="log")
            if sniff_is_log(text.data)
            else scan_text(text.data.decode("utf-8", "replace"), kb, source="message")
        )
        as_input.noise_records = noise_records(as_input, kb)
        for rule_id in hits:
            rule = kb.get(rule_id.split("#", 1)[0])
            if rule is None or (only and rule.id != only) or "#" in rule_id:
                continue
            if over_reaches(rule, text):
                fired[rule.id].append(f"{text.name} (expected {text.expected})")
                if usable(rule, as_input, kb):
                    failing[rule.id].append(f"{text.name} (expected {text.expected})")
        d = diagnose_input(text.data, kb, name="audit")
        bad = d.category not in (text.expected, "unknown", "none") and not (
            text.failure_signal and d.category != "none"
        )
        none_on_failure = d.category == "none" and text.expected != "none"
        if bad or none_on_failure:
            wrong.append(f"{text.name}: expected {text.expected}, got {d.category} ({d.rule_id})")
        if bad and d.rule_id and (not only or d.rule_id == only):
            decided[d.rule_id].append(f"{text.name} (expected {text.expected}, got {d.category})")
    return Finding(dict(fired), dict(failing), dict(decided), wrong, len(texts))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--verbose", action="store_true", help="name the texts each entry over-reaches on")
    ap.add_argument("--entry", help="audit one entry id only")
    args = ap.parse_args(argv)
    kb = load_knowledge_base(use_env=False)
    texts = corpus(kb)
    found = audit(kb, texts, args.entry)
    print(f"texts: {found.texts}; entries: {len(kb)}")
    print(f"{'entry':44s} {'category':28s} fires failing decides")
    for rule in sorted(kb, key=lambda r: (-len(found.fired.get(r.id, ())), r.id)):
        if args.entry and rule.id != args.entry:
            continue
        fires, decides = found.fired.get(rule.id, []), found.decided.get(rule.id, [])
        failing = found.failing.get(rule.id, [])
        if not fires and not decides and not args.entry:
            continue
        kind = " (ambiguous)" if rule.ambiguous else ""
        print(f"{rule.id:44s} {rule.category + kind:28s} {len(fires):5d} {len(failing):7d} {len(decides):7d}")
        if args.verbose:
            for name in fires:
                print(f"    fires on {name}{'' if name in failing else ' (not in the failing part)'}")
            for name in decides:
                print(f"    decides {name}")
    total_fires = sum(len(v) for v in found.fired.values())
    total_failing = sum(len(v) for v in found.failing.values())
    total_decides = sum(len(v) for v in found.decided.values())
    print(
        f"total: fires on another category {total_fires} (in the failing part {total_failing}),"
        f" decides a wrong specific category {total_decides}"
    )
    print(f"texts answered wrong (a wrong specific category, or none on a failure): {len(found.wrong_answers)}")
    for line in found.wrong_answers:
        print(f"    {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
