"""The answer of a diagnosis from the deciding knowledge-base entry: summary, phase, evidence, or ``unknown``.

``engine.diagnose`` picks the candidates (entries matched in the inputs) and the failed customizer; this module
turns the winner into a ``Diagnosis``: the summary is built from the entry's whole matched line, the evidence
leads with the root cause (``diagnosis.evidence``), and a failure no entry explains is ``unknown`` with the most
telling lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from diagnosis.admissible import failing_step
from diagnosis.categories import CATEGORIES
from diagnosis.evidence import EvidenceBuilder, core, split_texts, step_records, whole_line
from diagnosis.failure_text import FAILURE_SIGNAL
from diagnosis.logline import message, parse_line
from diagnosis.model import Diagnosis, FailedCustomizer
from diagnosis.pasted import readable_clixml
from diagnosis.redact import redact
from diagnosis.rules import DOC_BASE, STEP_SCOPES, KnowledgeBase, Rule
from diagnosis.scanner import Hit, ScanResult, Step
from diagnosis.times import format_duration

FAILED_STEP_RULE = "failed-customizer"
FAILED_DEPROVISION_RULE = "failed-deprovisioning"

_ACTION_SCOPE = re.compile(r"perform action '([^']+)' over scope '([^']+)'")
_ACTION = re.compile(r"perform action '([^']+)'")  # a log line cut before its scope still names the action


_DEPROVISION_CONNECTION_RULE = "deprovision-connection-lost"
DEPROVISIONING_RAN_RULE = "deprovisioning-ran"  # lines that show the deprovisioning command running


# entries whose summary names the failed customizer and its exit code


_STEP_RULES = (FAILED_STEP_RULE, FAILED_DEPROVISION_RULE, "script-non-zero-exit", "packer-build-command-failed")


# categories whose summary says which customizer was running


_WHILE_RUNNING = (
    "build-timeout",
    "large-file-download",
    "interactive-prompt",
    "pending-restart",
    "connection-lost",
    "vm-resources-exhausted",
    "windows-restart-failed",
    "sysprep-timing",
    "network-config",
)


@dataclass
class Candidate:
    rule: Rule
    hits: list[tuple[str, Hit]] = field(default_factory=list)  # (source, hit)
    sources: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[int, int, int]:
        last = max((h.line for _s, h in self.hits), default=0)
        return (self.rule.precedence, len(self.sources), last)


def customizer_phrase(fc: FailedCustomizer) -> str:
    label = fc.customizer_name or fc.name
    parts = ", ".join(p for p in (fc.type, f"#{fc.position}" if fc.position else None) if p)
    return f'Customizer "{label}"' + (f" ({parts})" if parts else "")


# what a reporter puts before a pasted line: Markdown quote and list marks
_QUOTE_MARKS = re.compile(r"^(?:\s*(?:>|[-*+](?=\s)))+\s*")


def _unmarked(text: str) -> str:
    """The line without a reporter's quote and list marks, and without the code marks around it when it is code as
    a whole (a code span inside the line keeps its marks)."""
    out = _QUOTE_MARKS.sub("", text)
    if out.startswith("`") and "`" not in out.strip("`"):
        out = out.strip("`").strip()
    return message(out) if out != text else text


def _clean(text: str, limit: int = 200) -> str:
    text = _unmarked(message(readable_clixml(text).strip()))
    text = re.sub(r"^(?:==>|-->|ERROR:|##\[error\])\s*", "", text)
    text = re.sub(r"^azure-arm:\s*", "", text).strip()
    text = redact(text).rstrip(",;: ")  # before the cut: a cut secret is no longer recognisable
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _phase_for(
    rule: Rule, cand: Candidate, texts: list[tuple[str, str]], log_result: ScanResult | None
) -> str:
    if cand.sources == {"validation-log"}:
        return "validate"
    if rule.phase != "unknown":
        return rule.phase
    joined = " ".join(t for _s, t in texts).lower()
    if "distribut" in joined or "shared image gallery" in joined:
        return "distribute"
    log_hits = [h for s, h in cand.hits if s == "log"]
    if log_hits and log_hits[-1].phase != "unknown":
        return log_hits[-1].phase
    if any(s == "provisioningError" for s, _h in cand.hits):
        return "submission"
    if "build (" in joined and "step failed" in joined:
        return "submission"
    return "unknown"


def _evidence(
    best: Candidate | None,
    candidates: dict[str, Candidate],
    results: list[ScanResult],
    texts: list[tuple[str, str]],
    kb: KnowledgeBase,
) -> EvidenceBuilder:
    """The evidence in order: why, then the exit/summary line, then Packer's failure lines and the rest."""
    ev = EvidenceBuilder(split_texts(texts))
    failed_step_rule = best is not None and best.rule.id in _STEP_RULES
    if best is None or best.rule.category in ("customizer-failed", "deprovision-failed") or failed_step_rule:
        for r in results:  # inside the failed customizer: the first error record the script printed
            step = failing_step(r)
            if step is None and r.steps:
                continue
            records = step_records(r, kb, step)
            if records:
                ev.add(r.source, records[0])
                break
    if failed_step_rule and best is not None and not ev.items:
        specific = _specific_before_exit(best, candidates)
        if specific is not None:
            ev.add(*specific)
    if best is not None:  # the deciding entry's matches; Packer's [INFO]/[DEBUG] bookkeeping after the rest
        for source, hit in sorted(best.hits, key=lambda sh: (_bookkeeping(sh[1].text), sh[1].line)):
            ev.add(source, hit, marker_ok=True)
    for r in results:
        ev.add_all(r.source, r.failure_lines)
    for cand in sorted(candidates.values(), key=lambda c: c.key, reverse=True):
        if cand is best or (cand.rule.ambiguous and best is not None and not best.rule.ambiguous):
            continue
        for source, hit in sorted(cand.hits, key=lambda sh: sh[1].line)[:3]:
            if best is None or not _bookkeeping(hit.text):  # Packer's [INFO] lines only when nothing decided
                ev.add(source, hit)
    for r in results:
        ev.add_all(r.source, r.tail_errors[-5:])
    return ev


def _specific_before_exit(best: Candidate, candidates: dict[str, Candidate]) -> tuple[str, Hit] | None:
    """A step decided by its exit line: the first match, before that exit and in the same step, of another entry of
    the same category (a DSC resource's or a package manager's own message), ambiguous ones included: what the line
    says is evidence even where it cannot decide the category; never a progress marker (the deprovisioning command)
    nor one of Packer's exit and summary lines."""
    exits: dict[str, Hit] = {}
    for source, hit in best.hits:
        if source not in exits or hit.line < exits[source].line:
            exits[source] = hit
    found: list[tuple[int, str, Hit]] = []
    for cand in candidates.values():
        rule = cand.rule
        if cand is best or rule.benign or rule.progress or rule.category != best.rule.category:
            continue
        for source, hit in cand.hits:
            end = exits.get(source)
            if end is None or hit.line >= end.line or (end.step is not None and hit.step not in (None, end.step)):
                continue
            if not FAILURE_SIGNAL.search(hit.text):  # Packer's own exit and summary lines say no cause
                found.append((hit.line, source, hit))
    if not found:
        return None
    _line, source, hit = min(found, key=lambda f: f[0])
    return source, hit


def in_deprovisioning(
    best: Candidate, candidates: dict[str, Candidate], step: Step | None, kb: KnowledgeBase
) -> Candidate:
    """A lost connection while the VM was being deprovisioned (the deprovisioning step, or a deprovisioning
    command earlier in the same text) is a deprovisioning failure."""
    rule = kb.get(_DEPROVISION_CONNECTION_RULE)
    if rule is None or best.rule.category != "connection-lost":
        return best
    during = (step is not None and step.deprovision) or any(h.phase == "deprovision" for _s, h in best.hits)
    ran = candidates.get(DEPROVISIONING_RAN_RULE)
    if not during and ran is not None:
        lost = {(s, h.line) for s, h in best.hits}
        during = any(s == src and h.line < line for s, h in ran.hits for src, line in lost)
    if during:
        return Candidate(rule, list(best.hits), set(best.sources))
    return best


def _why(ev: EvidenceBuilder, decisive: str) -> str:
    """The first evidence line when it says something the deciding line does not (a script's error record)."""
    why = ev.first_text()
    if why and core(why) != core(decisive) and not FAILURE_SIGNAL.search(why):
        return why
    return ""


def _bookkeeping(text: str) -> bool:
    return parse_line(text).level in ("INFO", "DEBUG", "TRACE")


def from_candidate(
    best: Candidate,
    candidates: dict[str, Candidate],
    results: list[ScanResult],
    fc: FailedCustomizer | None,
    log_result: ScanResult | None,
    texts: list[tuple[str, str]],
    kb: KnowledgeBase,
) -> Diagnosis:
    rule = best.rule
    ev = _evidence(best, candidates, results, texts, kb)
    lines = split_texts(texts)
    # summaries come from the deciding entry's own matches, whole lines (never the cut evidence text)
    ordered = sorted(best.hits, key=lambda sh: (_bookkeeping(sh[1].text), sh[1].line))
    own = [whole_line(source, hit, lines) for source, hit in ordered]
    decisive = own[0] if own else ev.first_text()
    confidence = rule.confidence
    if len(best.sources) > 1:
        confidence = min(0.95, confidence + 0.05)
    if log_result is not None and best.sources <= {"message", "provisioningError"} and rule.precedence < 35:
        # a generic message the log could not back up: say so through the confidence
        confidence = min(confidence, 0.45)
    phase = _phase_for(rule, best, texts, log_result)
    # a cause found inside the failed customizer (a failed-step entry) is told with the customizer that failed
    step_failed = fc is not None and fc.exit_code not in (None, 0)
    in_step = rule.id in _STEP_RULES or (rule.scope in STEP_SCOPES and step_failed)
    if fc and rule.category in ("customizer-failed", "deprovision-failed") and in_step:
        if fc.exit_code not in (None, 0):
            summary = f"{customizer_phrase(fc)} exited with code {fc.exit_code}"
        else:
            summary = f"{customizer_phrase(fc)} failed"
        if fc.duration_seconds is not None:
            summary += f" after {format_duration(fc.duration_seconds)}"
        why = _why(ev, decisive) if rule.id in _STEP_RULES else decisive
        if why:
            summary += f": {_clean(why, 160).rstrip('.')}"
        summary += "."
        if rule.id == FAILED_DEPROVISION_RULE or fc.type == "Deprovisioning":
            phase = "deprovision"
    elif fc and rule.category in _WHILE_RUNNING:
        running = f"while {customizer_phrase(fc)[0].lower()}{customizer_phrase(fc)[1:]} was running"
        if fc.duration_seconds is not None:
            running += f" ({format_duration(fc.duration_seconds)})"
        summary = (
            f"{rule.title} {running}: {_clean(decisive, 160)}" if decisive else f"{rule.title} {running}."
        )
    elif rule.category == "permissions" and (m := _ACTION_SCOPE.search(" ".join(own))):
        summary = f"{rule.title}: it may not perform '{m.group(1)}' on '{m.group(2)}'."
        if phase == "unknown" and "/galleries/" in m.group(2) and "/versions/" in m.group(2):
            phase = "distribute"
    elif rule.category == "permissions" and (m := _ACTION.search(" ".join(own))):
        summary = f"{rule.title}: it may not perform '{m.group(1)}'."
    elif rule.id in _STEP_RULES and (why := _why(ev, decisive)):
        summary = f"{rule.title}: {_clean(why, 160).rstrip('.')} ({_clean(decisive, 100).rstrip('.')})."
    else:
        summary = f"{rule.title}: {_clean(decisive, 200)}" if decisive else f"{rule.title}."
    if not summary.endswith((".", "…")):
        summary += "."
    return Diagnosis(
        category=rule.category,
        title=rule.title,
        summary=summary,
        cause=rule.cause,
        remediation=list(rule.remediation),
        phase=phase,
        failed_customizer=fc if fc else None,
        evidence=ev.evidence(),
        confidence=round(confidence, 2),
        doc=rule.doc_url,
        rule_id=rule.id,
    )


# lastRunStatus.runSubState of a run that stopped, and the phase it names
_SUB_STATE_PHASES = {"building": "customize", "customizing": "customize", "validating": "validate",
                     "distributing": "distribute"}


def unknown_diagnosis(
    results: list[ScanResult],
    fc: FailedCustomizer | None,
    texts: list[tuple[str, str]],
    kb: KnowledgeBase,
    run: str = "",
    sub_state: str | None = None,
) -> Diagnosis:
    """No entry names the cause: the most telling error lines, and what the run's state says (canceled, its phase)."""
    ev = _evidence(None, {}, results, texts, kb)
    for r in results:
        ev.add_all(r.source, r.tail_errors)
    first = _clean(ev.first_text(), 200)
    if fc is not None:
        summary = f"{customizer_phrase(fc)} was running when the build failed; no known cause matched"
        summary += f": {first}" if first else "."
    elif first:
        summary = f"The build failed with an error the knowledge base does not know: {first}"
    else:
        said = next((r.stated_failure.text for r in results if r.stated_failure), None)
        during = f" while {sub_state.strip()}" if sub_state and sub_state.strip() else ""
        if said:
            summary = f'The report describes a failure ("{_clean(said, 160)}"), but no error line explains why.'
        elif run in ("canceled", "cancelled"):
            summary = f"The run was canceled{during}; nothing in the text says by whom or why."
        else:
            summary = "The build failed, but no error line explains why."
    if not summary.endswith((".", "…")):
        summary += "."
    return Diagnosis(
        category="unknown",
        title=CATEGORIES["unknown"].title,
        summary=summary,
        cause="No knowledge-base entry matches this failure; the evidence lists the most telling error "
        "lines.",
        remediation=[
            "Read the evidence lines and the end of customization.log (search '(telemetry)' from the end).",
            "If this failure repeats, add a rule for it (python -m diagnosis --rules my-rules.json).",
        ],
        phase="customize" if fc is not None else _SUB_STATE_PHASES.get((sub_state or "").strip().lower(), "unknown"),
        failed_customizer=fc,
        evidence=ev.evidence(),
        confidence=0.2,
        doc=f"{DOC_BASE}#troubleshoot-build-failures",
    )


def ambiguous_diagnosis(
    hint: Candidate,
    candidates: dict[str, Candidate],
    results: list[ScanResult],
    fc: FailedCustomizer | None,
    texts: list[tuple[str, str]],
    kb: KnowledgeBase,
) -> Diagnosis:
    """``unknown`` for a match with several known causes: its likely causes and steps, never one picked."""
    rule = hint.rule
    ev = _evidence(hint, candidates, results, texts, kb)
    decisive = _clean(ev.first_text(), 160)
    summary = f"{rule.title}; the text does not say which of its causes applies"
    summary += f": {decisive}" if decisive else "."
    if not summary.endswith((".", "…")):
        summary += "."
    return Diagnosis(
        category="unknown",
        title=CATEGORIES["unknown"].title,
        summary=summary,
        cause=f"Several causes fit; the evidence does not say which. Likely: {rule.cause}",
        remediation=[
            *rule.remediation,
            "Read the end of customization.log (search '(telemetry)' from the end) to narrow it down.",
        ],
        phase=rule.phase,
        failed_customizer=fc,
        evidence=ev.evidence(),
        confidence=0.3,
        doc=rule.doc_url,
        rule_id=rule.id,
    )
