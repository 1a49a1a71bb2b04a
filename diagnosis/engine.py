"""``diagnose()``: one answer to "why did this image build fail and what do I do now".

Inputs are scanned against the knowledge base (``diagnosis.rules``) with the streaming scanner
(``diagnosis.scanner``); the entry with the highest precedence wins (root cause beats symptom). A failed
provisioner found through ``(telemetry)`` markers counts as a customizer failure of its own. Without a
matching entry a failure becomes ``unknown`` (with the most telling error lines as evidence) and a run
without a failure becomes ``none``. Every string leaving this module is redacted.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from diagnosis.advisories import check_template
from diagnosis.categories import CATEGORIES
from diagnosis.evidence import EvidenceBuilder, core, is_marker, split_texts, step_records, whole_line
from diagnosis.logline import parse_line
from diagnosis.model import Diagnosis, FailedCustomizer
from diagnosis.redact import redact
from diagnosis.rules import DOC_BASE, RESOLVED_SUFFIX, KnowledgeBase, Rule, load_knowledge_base
from diagnosis.scanner import Hit, ScanResult, Step, scan, scan_text

LogInput = str | os.PathLike[str] | BinaryIO | bytes | Iterable[bytes]

# What shows a failure in any text: a non-zero exit, Packer's failure lines, an ARM error object, a Failed state
_FAILURE_SIGNAL = re.compile(
    r"non-zero exit status:? ?[1-9]|exited with code:? ?[1-9]|Erroneous exit code [1-9]|exit status [1-9]"
    r"|Remote command exited with '[1-9]|Communicator ended with: [1-9]"
    r"|Build '[^'\n]{1,80}' errored|Provisioning step had errors|Some builds didn't complete successfully"
    r"|\"error\"\s*:\s*\{|\"code\"\s*:\s*\"[A-Z][A-Za-z]{2,80}\"|\bCode=\\?\"?[A-Z][A-Za-z]{2,80}"
    r"|(?m:^(?:ERROR: )?\([A-Z][A-Za-z]{2,80}\) )|(?m:^Code: [A-Z][A-Za-z]{2,80}\s*$)"
    r"|\b(?:StatusCode|Status)=[45]\d\d\b"
    r"|(?i:\"?(?:provisioningState|runState|provisioning_state|run_state)\"?\s*[:=]\s*\"?Failed\b)"
)
_LOG_URL = re.compile(r"https?://[^\s\"'<>]+?/packerlogs/[^\s\"'<>]+?\.log")
_OPERATION_ID = re.compile(r"OperationId:\s*([0-9A-Za-z-]{8,})", re.IGNORECASE)
_PACKER_PREFIX = re.compile(
    r"^\[[0-9a-fA-F-]{36}\] PACKER(?: (?:OUT|ERR))?\s*(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\s*)?"
    r"(?:packer(?:-[\w-]+)?(?: plugin)?: (?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )?)?(?:ui: )?"
)
_PACKER_TYPES = {
    "shell": "Shell",
    "powershell": "PowerShell",
    "file": "File",
    "windows-restart": "WindowsRestart",
    "windows-update": "WindowsUpdate",
}
_ACTION_SCOPE = re.compile(r"perform action '([^']+)' over scope '([^']+)'")
_SUCCESS_STATES = {"succeeded", "partiallysucceeded"}
_FAILED_STEP_RULE = "failed-customizer"
_FAILED_DEPROVISION_RULE = "failed-deprovisioning"
_DEPROVISION_CONNECTION_RULE = "deprovision-connection-lost"
# entries whose summary names the failed customizer and its exit code
_STEP_RULES = (_FAILED_STEP_RULE, _FAILED_DEPROVISION_RULE, "script-non-zero-exit", "packer-build-command-failed")
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
class _Candidate:
    rule: Rule
    hits: list[tuple[str, Hit]] = field(default_factory=list)  # (source, hit)
    sources: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[int, int, int]:
        last = max((h.line for _s, h in self.hits), default=0)
        return (self.rule.precedence, len(self.sources), last)


def diagnose(
    message: str | None = None,
    *,
    provisioning_state: str | None = None,
    provisioning_error: dict[str, Any] | str | None = None,
    log: LogInput | None = None,
    validation_log: LogInput | None = None,
    template: dict[str, Any] | None = None,
    rules: KnowledgeBase | None = None,
) -> Diagnosis:
    """Diagnose an Image Builder build from any of: status message, provisioning state/error, logs, template.

    ``template`` may be the ARM resource (``properties``) or ``az image builder show`` output; its
    ``lastRunStatus``/``provisioningState``/``provisioningError`` are used when not given explicitly, and its
    ``customize[]`` names the failed customizer.
    """
    kb = rules if rules is not None else load_knowledge_base()
    props = _template_properties(template)
    run_state = None
    if props:
        last = props.get("lastRunStatus") or props.get("last_run_status") or {}
        if isinstance(last, dict):
            run_state = str(last.get("runState") or last.get("run_state") or "") or None
            if message is None and last.get("message"):
                message = str(last["message"])
        provisioning_state = (
            provisioning_state or props.get("provisioningState") or props.get("provisioning_state")
        )
        if provisioning_error is None:
            provisioning_error = props.get("provisioningError") or props.get("provisioning_error")

    texts: list[tuple[str, str]] = []
    if message and message.strip():
        texts.append(("message", message))
    perr = _provisioning_error_text(provisioning_error)
    if perr:
        texts.append(("provisioningError", perr))

    results: list[ScanResult] = [scan_text(text, kb, source=source) for source, text in texts]
    log_result = scan(log, kb, source="log") if log is not None else None
    validation_result = (
        scan(validation_log, kb, source="validation-log") if validation_log is not None else None
    )
    for r in (log_result, validation_result):
        if r is not None:
            results.append(r)
    for r in results:  # harmless lines (cleanup retries, recovered retries) are never evidence of the failure
        r.tail_errors = _error_lines(r, kb)

    all_text = "\n".join(t for _s, t in texts)
    log_url = _find(_LOG_URL, all_text, 0)
    operation_id = _find(_OPERATION_ID, all_text, 1) or (log_result.operation_id if log_result else None)

    # ------------------------------------------------------------------ failure context
    state = (provisioning_state or "").strip().lower()
    run = (run_state or "").strip().lower()
    text_results = results[: len(texts)]
    text_failed = False
    for r, (_source, text) in zip(text_results, texts, strict=True):
        looks_ok = r.success and not r.failure_seen
        has_errors = r.failure_seen or bool(r.tail_errors) or bool(_live_hits(r, kb))
        if (has_errors and not looks_ok) or _FAILURE_SIGNAL.search(text):
            text_failed = True
    message_failed = text_failed or state == "failed" or run in ("failed", "canceled")
    if run in _SUCCESS_STATES and not perr and state != "failed":
        message_failed = False
    log_failed = False
    log_succeeded = False
    for r in (log_result, validation_result):
        if r is None:
            continue
        step = r.failed_step
        if r.failure_seen or (step is not None and step.exit_code not in (None, 0)):
            log_failed = True
        elif r.success and not r.failure_seen:
            log_succeeded = True
        elif not (r.exported or r.finalized) and (r.tail_errors or _live_hits(r, kb)):
            log_failed = True  # an excerpt (no end, no success line) whose lines report errors: never "none"
        elif not r.success and any(_FAILURE_SIGNAL.search(h.text) for h in r.tail_errors):
            log_failed = True
    failure = message_failed or log_failed

    # ------------------------------------------------------------------ candidates
    warnings: list[str] = []
    candidates: dict[str, _Candidate] = {}
    for r in results:
        step = r.failed_step if r.source in ("log", "validation-log") else None
        recovered = _recovered(r, kb)
        for rule_id, rh in r.hits.items():
            rule = kb.get(rule_id)
            if rule is None or rule.error_record:
                continue
            if rule.benign:
                text = f"{rule.warning} ({rh.count}x)" if rh.count > 1 else rule.warning
                if text not in warnings:
                    warnings.append(text)
                continue
            if rule.id in recovered:
                continue  # it recovered later in the same text (e.g. a connection retry that connected)
            hits = rh.samples()
            if rule.scope == "failed-step" and r.source in ("log", "validation-log") and r.steps:
                if step is None:
                    continue
                hits = [h for h in hits if h.step == step.position]
                if not hits:
                    continue
            cand = candidates.setdefault(rule.id, _Candidate(rule))
            cand.hits.extend((r.source, h) for h in hits)
            cand.sources.add(r.source)
    failed_step = log_result.failed_step if log_result else None
    if log_result is not None and failed_step is not None:
        synthetic = _step_candidate(log_result, failed_step, kb)
        if synthetic is not None:
            candidates.setdefault(synthetic.rule.id, synthetic)

    if not failure:
        # nothing shows a failure (a successful build, recovered retries): what the KB noticed is a warning
        for cand in candidates.values():
            warnings.append(f"Seen in a successful build: {cand.rule.title}")
        candidates = {}

    customizers = _template_customizers(props)
    failed_customizer = _failed_customizer(log_result, failed_step, customizers) if failed_step else None

    decisive = [c for c in candidates.values() if not c.rule.ambiguous]
    if decisive:
        best = _in_deprovisioning(max(decisive, key=lambda c: c.key), failed_step, kb)
        return _finish(
            _from_candidate(best, candidates, results, failed_customizer, log_result, texts, kb),
            log_url,
            operation_id,
            warnings,
            template,
        )
    if candidates:  # only matches that several causes fit: say so instead of guessing one of them
        hint = max(candidates.values(), key=lambda c: c.key)
        return _finish(
            _ambiguous(hint, candidates, results, failed_customizer, texts, kb),
            log_url,
            operation_id,
            warnings,
            template,
        )
    if failure:
        return _finish(
            _unknown(results, failed_customizer, texts, kb), log_url, operation_id, warnings, template
        )
    what = "the log" if log_result is not None else "the input"
    diag = Diagnosis(
        category="none",
        title=CATEGORIES["none"].title,
        summary=f"No failure found in {what}." if texts or log_result is not None else "Nothing to diagnose.",
        confidence=0.9 if log_succeeded else (0.6 if (texts or results) else 0.3),
        phase=log_result.phase if log_result and log_result.phase != "unknown" else "unknown",
    )
    return _finish(diag, log_url, operation_id, warnings, template)


# ---------------------------------------------------------------------------------------------- helpers


def _template_properties(template: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(template, dict):
        return {}
    props = template.get("properties")
    if isinstance(props, dict):
        merged = dict(template)
        merged.update(props)
        return merged
    return template


def _template_customizers(props: dict[str, Any]) -> list[dict[str, Any]]:
    customize = props.get("customize") if props else None
    return [c for c in customize if isinstance(c, dict)] if isinstance(customize, list) else []


def _provisioning_error_text(error: dict[str, Any] | str | None) -> str:
    if not error:
        return ""
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        code = (
            error.get("provisioningErrorCode")
            or error.get("provisioning_error_code")
            or error.get("code")
            or ""
        )
        msg = error.get("message") or ""
        text = f"{code}: {msg}" if code and msg else str(code or msg)
        return text or json.dumps(error)
    return str(error)


def _recovered(result: ScanResult, kb: KnowledgeBase) -> set[str]:
    """Entries whose problem recovered later in the same text (a ``resolved_by`` line after their last match)."""
    out: set[str] = set()
    for rule_id, rh in result.hits.items():
        resolved = result.hits.get(rule_id + RESOLVED_SUFFIX)
        if resolved is not None and rh.last and resolved.last[-1].line > rh.last[-1].line:
            out.add(rule_id)
    return out


def _live_hits(result: ScanResult, kb: KnowledgeBase) -> list[str]:
    """Failure entries and script error records matched in ``result`` that did not recover later."""
    recovered = _recovered(result, kb)
    return [
        rid for rid in result.hits if (rule := kb.get(rid)) is not None and not rule.benign and rid not in recovered
    ]


def _error_lines(result: ScanResult, kb: KnowledgeBase) -> list[Hit]:
    """Error-looking lines near the end that no benign entry or recovered retry explains and no marker is."""
    recovered = _recovered(result, kb)
    harmless = {
        h.line
        for rid, rh in result.hits.items()
        if (rule := kb.get(rid)) is not None and (rule.benign or rid in recovered)
        for h in rh.samples()
    }
    return [h for h in result.tail_errors if h.line not in harmless and not is_marker(h.text)]


def _find(pattern: re.Pattern[str], text: str, group: int) -> str | None:
    m = pattern.search(text)
    if not m:
        return None
    return m.group(group).rstrip(".,;)")


def _step_candidate(result: ScanResult, step: Step, kb: KnowledgeBase) -> _Candidate | None:
    """A failed provisioner (started, never ended, exited non-zero) as a candidate."""
    if step.exit_code in (None, 0):  # running when the build died, but no evidence the step itself failed
        return None
    rule = kb.get(_FAILED_DEPROVISION_RULE if step.deprovision else _FAILED_STEP_RULE)
    if rule is None:  # a knowledge base built without the built-in entries
        return None
    cand = _Candidate(rule, sources={"log"})
    if step.exit_line is not None and step.exit_text:
        cand.hits.append(("log", Hit(rule.id, step.exit_line, step.exit_text, step.position, "customize")))
    for h in result.failure_lines:
        if h.step == step.position:
            cand.hits.append(("log", h))
    return cand


def _failed_customizer(
    result: ScanResult | None, step: Step, customizers: list[dict[str, Any]]
) -> FailedCustomizer:
    aib_type = "Deprovisioning" if step.deprovision else _PACKER_TYPES.get(step.name.lower())
    customizer_name = None
    position = step.position
    if customizers and result is not None and not step.deprovision:
        j = 0
        for s in result.steps:
            t = _PACKER_TYPES.get(s.name.lower())
            match = None
            for k in range(j, len(customizers)):
                if str(customizers[k].get("type", "")).lower() == (t or "").lower():
                    match = k
                    break
            if match is None:
                continue
            j = match + 1
            if s is step:
                customizer_name = customizers[match].get("name") or None
                aib_type = customizers[match].get("type") or aib_type
                position = match + 1
                break
    duration = None
    end = step.end_time or (result.last_time if result else None)
    if step.start_time and end and end >= step.start_time:
        duration = (end - step.start_time).total_seconds()
    return FailedCustomizer(
        name=step.name,
        type=aib_type,
        position=position,
        exit_code=step.exit_code if step.exit_code not in (None,) else None,
        duration_seconds=duration,
        customizer_name=str(customizer_name) if customizer_name else None,
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 90:
        return f"{int(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def _customizer_phrase(fc: FailedCustomizer) -> str:
    label = fc.customizer_name or fc.name
    parts = ", ".join(p for p in (fc.type, f"#{fc.position}" if fc.position else None) if p)
    return f'Customizer "{label}"' + (f" ({parts})" if parts else "")


def _clean(text: str, limit: int = 200) -> str:
    text = _PACKER_PREFIX.sub("", text.strip()).strip()
    text = re.sub(r"^(?:==>|-->|ERROR:|##\[error\])\s*", "", text)
    text = re.sub(r"^azure-arm:\s*", "", text).strip()
    text = text.rstrip(",;: ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _phase_for(
    rule: Rule, cand: _Candidate, texts: list[tuple[str, str]], log_result: ScanResult | None
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
    best: _Candidate | None,
    candidates: dict[str, _Candidate],
    results: list[ScanResult],
    texts: list[tuple[str, str]],
    kb: KnowledgeBase,
) -> EvidenceBuilder:
    """The evidence in order: why, then the exit/summary line, then Packer's failure lines and the rest."""
    ev = EvidenceBuilder(split_texts(texts))
    failed_step_rule = best is not None and best.rule.id in _STEP_RULES
    if best is None or best.rule.category in ("customizer-failed", "deprovision-failed") or failed_step_rule:
        for r in results:  # inside the failed customizer: the first error record the script printed
            step = r.failed_step if r.source in ("log", "validation-log") else None
            if step is None and r.steps:
                continue
            records = step_records(r, kb, step)
            if records:
                ev.add(r.source, records[0])
                break
    if best is not None:  # the deciding entry's matches; Packer's [INFO]/[DEBUG] bookkeeping after the rest
        for source, hit in sorted(best.hits, key=lambda sh: (_bookkeeping(sh[1].text), sh[1].line)):
            ev.add(source, hit, marker_ok=True)
    for r in results:
        ev.add_all(r.source, r.failure_lines)
    for cand in sorted(candidates.values(), key=lambda c: c.key, reverse=True):
        if cand is best:
            continue
        for source, hit in sorted(cand.hits, key=lambda sh: sh[1].line)[:3]:
            if best is None or not _bookkeeping(hit.text):  # Packer's [INFO] lines only when nothing decided
                ev.add(source, hit)
    for r in results:
        ev.add_all(r.source, r.tail_errors[-5:])
    return ev


def _in_deprovisioning(best: _Candidate, step: Step | None, kb: KnowledgeBase) -> _Candidate:
    """A lost connection while the VM was being deprovisioned is a deprovisioning failure."""
    rule = kb.get(_DEPROVISION_CONNECTION_RULE)
    if rule is None or best.rule.category != "connection-lost":
        return best
    if (step is not None and step.deprovision) or any(h.phase == "deprovision" for _s, h in best.hits):
        return _Candidate(rule, list(best.hits), set(best.sources))
    return best


def _bookkeeping(text: str) -> bool:
    return parse_line(text).level in ("INFO", "DEBUG", "TRACE")


def _from_candidate(
    best: _Candidate,
    candidates: dict[str, _Candidate],
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
    if fc and rule.category in ("customizer-failed", "deprovision-failed") and rule.id in _STEP_RULES:
        if fc.exit_code not in (None, 0):
            summary = f"{_customizer_phrase(fc)} exited with code {fc.exit_code}"
        else:
            summary = f"{_customizer_phrase(fc)} failed"
        if fc.duration_seconds is not None:
            summary += f" after {_duration(fc.duration_seconds)}"
        why = ev.first_text()
        if why and core(why) != core(decisive) and not _FAILURE_SIGNAL.search(why):
            summary += f": {_clean(why, 160).rstrip('.')}"
        summary += "."
        if rule.id == _FAILED_DEPROVISION_RULE or fc.type == "Deprovisioning":
            phase = "deprovision"
    elif fc and rule.category in _WHILE_RUNNING:
        running = f"while {_customizer_phrase(fc)[0].lower()}{_customizer_phrase(fc)[1:]} was running"
        if fc.duration_seconds is not None:
            running += f" ({_duration(fc.duration_seconds)})"
        summary = (
            f"{rule.title} {running}: {_clean(decisive, 160)}" if decisive else f"{rule.title} {running}."
        )
    elif rule.category == "permissions" and (m := _ACTION_SCOPE.search(" ".join(own))):
        summary = f"{rule.title}: it may not perform '{m.group(1)}' on '{m.group(2)}'."
        if phase == "unknown" and "/galleries/" in m.group(2) and "/versions/" in m.group(2):
            phase = "distribute"
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


def _unknown(
    results: list[ScanResult], fc: FailedCustomizer | None, texts: list[tuple[str, str]], kb: KnowledgeBase
) -> Diagnosis:
    ev = _evidence(None, {}, results, texts, kb)
    for r in results:
        ev.add_all(r.source, r.tail_errors)
    first = _clean(ev.first_text(), 200)
    if fc is not None:
        summary = f"{_customizer_phrase(fc)} was running when the build failed; no known cause matched"
        summary += f": {first}" if first else "."
    else:
        summary = (
            f"The build failed with an error the knowledge base does not know: {first}"
            if first
            else ("The build failed, but no error line explains why.")
        )
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
        phase="customize" if fc is not None else "unknown",
        failed_customizer=fc,
        evidence=ev.evidence(),
        confidence=0.2,
        doc=f"{DOC_BASE}#troubleshoot-build-failures",
    )


def _ambiguous(
    hint: _Candidate,
    candidates: dict[str, _Candidate],
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


def _finish(
    diag: Diagnosis,
    log_url: str | None,
    operation_id: str | None,
    warnings: list[str],
    template: dict[str, Any] | None,
) -> Diagnosis:
    diag.log_url = redact(log_url) if log_url else None
    diag.operation_id = operation_id
    diag.warnings = [redact(w) for w in warnings]
    diag.title = redact(diag.title)
    diag.summary = redact(diag.summary)
    diag.cause = redact(diag.cause)
    diag.remediation = [redact(s) for s in diag.remediation]
    if template:
        diag.advisories = list(check_template(template))
    return diag
