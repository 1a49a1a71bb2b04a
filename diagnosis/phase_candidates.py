"""Candidates the failing phase decides when no knowledge-base entry names a cause.

A run that failed while distributing (``lastRunStatus.runSubState``), or a failure Packer reported after its
capture steps began, failed storing the image: ``distribution-failed`` whatever the error's wording. Error lines
printed after the deprovisioning command started (``waagent -deprovision``, sysprep ``/generalize``) are the
deprovisioning failing: ``deprovision-failed``. A named cause still wins: the engine asks for these only when no
decisive entry matched.
"""

from __future__ import annotations

from collections.abc import Callable

from diagnosis.rules import KnowledgeBase, Rule
from diagnosis.scanner import EVIDENCE_CHARS, Hit, ScanResult
from diagnosis.verdict import DEPROVISIONING_RAN_RULE, FAILED_DEPROVISION_RULE, Candidate

# lastRunStatus.runSubState of a failed run that names the failing phase well enough for a category of its own
_SUB_STATE_RULES = {"distributing": "distribution-failed"}
# the entry a failure during Packer's capture steps decides
_CAPTURE_RULE = "distribution-failed"


def sub_state_candidate(sub_state: str | None, run: str, message: str | None, kb: KnowledgeBase) -> Candidate | None:
    """A run that failed while distributing: the distribution failed, whatever the message says."""
    rule_id = _SUB_STATE_RULES.get((sub_state or "").strip().lower())
    rule = kb.get(rule_id) if rule_id and run in ("failed", "partiallysucceeded") else None
    if rule is None:
        return None
    first = next((line.strip() for line in (message or "").splitlines() if line.strip()), "")
    text = first or f"lastRunStatus: runState {run}, runSubState {sub_state}"
    cand = Candidate(rule, sources={"message"})
    cand.hits.append(("message", Hit(rule.id, 1, text[:EVIDENCE_CHARS], None, rule.phase)))
    return cand


def capture_candidate(results: list[ScanResult], kb: KnowledgeBase) -> Candidate | None:
    """A failure reported after Packer's capture steps began (every provisioner had succeeded) and before its
    cleanup: storing the image failed, so the distribution did, whatever the error's wording."""
    return _errors_between(kb.get(_CAPTURE_RULE), results, lambda r: (r.capture_line, r.capture_end_line))


def deprovision_candidate(
    candidates: dict[str, Candidate], results: list[ScanResult], kb: KnowledgeBase
) -> Candidate | None:
    """The text shows the deprovisioning command running, then error lines: the deprovisioning failed."""
    ran = candidates.get(DEPROVISIONING_RAN_RULE)
    if ran is None:
        return None

    def started(r: ScanResult) -> tuple[int | None, None]:
        return min((h.line for source, h in ran.hits if source == r.source), default=None), None

    return _errors_between(kb.get(FAILED_DEPROVISION_RULE), results, started)


def _errors_between(
    rule: Rule | None, results: list[ScanResult], bounds: Callable[[ScanResult], tuple[int | None, int | None]]
) -> Candidate | None:
    """``rule``'s candidate from each text's error lines after its phase began (and before it ended, if known)."""
    if rule is None:
        return None
    cand = Candidate(rule)
    for r in results:
        begin, end = bounds(r)
        if begin is None:
            continue
        after = [h for h in r.tail_errors if h.line > begin and (end is None or h.line < end)]
        cand.hits.extend((r.source, h) for h in after)
        if after:
            cand.sources.add(r.source)
    return cand if cand.hits else None
