"""``diagnose()``: one answer to "why did this image build fail and what do I do now".

Inputs are scanned against the knowledge base (``diagnosis.rules``) with the streaming scanner
(``diagnosis.scanner``); the entry with the highest precedence wins (root cause beats symptom). A failed
provisioner found through ``(telemetry)`` markers counts as a customizer failure of its own. A match that a
later ``resolved_by`` line answers in the same text (a retry that recovered) is no failure, and only matches in
the failing part of the text decide (``diagnosis.admissible``: not a quoted command or a warning, not a step the
build got past). Without a matching
entry a failure (a failed step, a non-zero exit, Packer's failure lines, an ARM error object, a ``Failed``
state) becomes ``unknown`` with the most telling lines as evidence, never ``none``; a text that shows no failure
becomes ``none`` (what the knowledge base noticed becomes warnings). ``diagnosis.verdict`` builds the answer;
every string leaving this module is redacted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any, BinaryIO

from diagnosis.admissible import (
    admissible,
    before_a_later_provisioner,
    failing_step,
    in_scope,
    lines_of,
    noise_records,
    quoted_or_warning,
    template_script_lines,
)
from diagnosis.advisories import check_template
from diagnosis.categories import CATEGORIES
from diagnosis.customizer import (
    failed_customizer_of,
    provisioning_error_text,
    template_customizers,
    template_properties,
)
from diagnosis.evidence import is_marker
from diagnosis.failure_text import FAILURE_SIGNAL, states_failure
from diagnosis.logline import message as line_message
from diagnosis.model import Diagnosis
from diagnosis.packer_lines import (
    build_names,
    builder_error,
    builder_error_in_log,
    packer_output,
)
from diagnosis.pasted import unescape_pasted
from diagnosis.phase_candidates import capture_candidate, deprovision_candidate, sub_state_candidate
from diagnosis.redact import redact
from diagnosis.rules import KnowledgeBase, load_knowledge_base
from diagnosis.scanner import Hit, ScanResult, scan, scan_text
from diagnosis.status import read_provisioning_error, read_status
from diagnosis.step_candidates import script_error_candidate, step_candidate
from diagnosis.verdict import (
    Candidate,
    ambiguous_diagnosis,
    from_candidate,
    in_deprovisioning,
    unknown_diagnosis,
)

LogInput = str | os.PathLike[str] | BinaryIO | bytes | Iterable[bytes]

_LOG_URL = re.compile(r"https?://[^\s\"'<>]+?/packerlogs/[^\s\"'<>]+?\.log")
_OPERATION_ID = re.compile(r"OperationId:\s*([0-9A-Za-z-]{8,})", re.IGNORECASE)
_SUCCESS_STATES = {"succeeded"}
# runState values of a run that did not deliver everything: PartiallySucceeded means a distribution target failed
_FAILED_RUN_STATES = ("failed", "canceled", "partiallysucceeded")


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
    status = read_status(template)  # typed: a field of the wrong type is ignored with a warning
    if not isinstance(template, dict):
        template = None
    props = template_properties(template)
    run_state = status.run_state
    if not isinstance(message, str):
        if message is not None:
            status.warnings.append("the status message should be a string; ignored")
        message = None
    if message is None:
        message = status.message
    if not isinstance(provisioning_state, str):
        if provisioning_state is not None:
            status.warnings.append("provisioning_state should be a string; ignored")
        provisioning_state = status.provisioning_state
    perror = read_provisioning_error(provisioning_error) if provisioning_error is not None else None
    perror = perror or status.provisioning_error
    provisioning_error = perror.text() if perror else None

    texts: list[tuple[str, str]] = []
    if message and message.strip():
        texts.append(("message", unescape_pasted(message)))
    perr = provisioning_error_text(provisioning_error)
    if perr:
        texts.append(("provisioningError", unescape_pasted(perr)))

    results: list[ScanResult] = [scan_text(text, kb, source=source) for source, text in texts]
    log_result = scan(log, kb, source="log") if log is not None else None
    validation_result = scan(validation_log, kb, source="validation-log") if validation_log is not None else None
    for r in (log_result, validation_result):
        if r is not None:
            results.append(r)
    for r, (_source, text) in zip(results, texts, strict=False):  # a pasted template's inline script text
        r.template_script_lines = template_script_lines(text)
        r.packer_output_line, r.packer_summary_only = packer_output(text)
        r.build_names = build_names(text)
        r.builder_error = builder_error(text)
    for r in results[len(texts) :]:  # the logs: their builder's own error, from the lines the scan kept
        r.builder_error = builder_error_in_log(r)
    for r in results:  # harmless lines (cleanup retries, recovered retries) are never evidence of the failure
        r.recovered = recovered_entries(r, kb)
        r.noise_records = noise_records(r, kb)
        r.harmless_lines = _harmless_lines(r, kb)
        r.tail_errors = _error_lines(r)

    all_text = "\n".join(t for _s, t in texts)
    log_url = _find(_LOG_URL, all_text, 0)
    operation_id = _find(_OPERATION_ID, all_text, 1) or (log_result.operation_id if log_result else None)

    # ------------------------------------------------------------------ failure context
    state = (provisioning_state or "").strip().lower()
    run = (run_state or "").strip().lower()
    text_results = results[: len(texts)]
    text_failed = False
    for r, (_source, text) in zip(text_results, texts, strict=True):
        live = _live_hits(r, kb)
        if _finished(r, kb, live):
            continue
        if r.failure_seen or r.tail_errors or live or r.stated_failure is not None:
            text_failed = True
            break
        shown = _without_lines(text, r.harmless_lines)  # harmless lines state nothing
        if FAILURE_SIGNAL.search(shown) or states_failure(shown):
            text_failed = True
            break
    message_failed = text_failed or state == "failed" or run in _FAILED_RUN_STATES
    if run in _SUCCESS_STATES and not perr and state != "failed":
        message_failed = False
    log_failed = False
    log_succeeded = False
    for r in (log_result, validation_result):
        if r is None:
            continue
        step = r.failed_step
        live = _live_hits(r, kb)
        if _finished(r, kb, live):  # Packer finished: a non-zero code it allowed is no failure
            log_succeeded = True
        elif r.failure_seen or (step is not None and step.exit_code not in (None, 0)):
            log_failed = True
        elif not (r.exported or r.finalized) and (r.tail_errors or live or r.stated_failure is not None):
            log_failed = True  # an excerpt (no end, no success line) whose lines report errors: never "none"
        elif not r.success and any(
            FAILURE_SIGNAL.search(h.text) or states_failure(line_message(h.text)) for h in r.tail_errors
        ):
            log_failed = True
    failure = message_failed or log_failed

    # ------------------------------------------------------------------ candidates
    warnings: list[str] = list(status.warnings)
    candidates: dict[str, Candidate] = {}
    for r in results:
        step = failing_step(r)
        for rule_id, rh in r.hits.items():
            rule = kb.get(rule_id)
            if rule is None or rule.error_record:
                continue
            if rule.benign:
                text = f"{rule.warning} ({rh.count}x)" if rh.count > 1 else rule.warning
                if text not in warnings:
                    warnings.append(text)
                continue
            if rule.id in r.recovered:
                continue  # it recovered later in the same text (e.g. a connection retry that connected)
            hits = admissible(rh.samples(), r, step, rule.category, warnings_count=rule.warning_cause)
            hits = in_scope(hits, rule.scope, r, step)
            if not hits:
                continue  # only quoted commands, warnings, lines of a part the build got past or outside its scope
            cand = candidates.setdefault(rule.id, Candidate(rule))
            cand.hits.extend((r.source, h) for h in hits)
            cand.sources.add(r.source)
    failed_step = log_result.failed_step if log_result else None
    if log_result is not None and failed_step is not None:
        synthetic = step_candidate(log_result, failed_step, kb)
        if synthetic is not None:
            candidates.setdefault(synthetic.rule.id, synthetic)

    if not failure:
        # nothing shows a failure (a successful build, recovered retries): what the KB noticed is a warning
        seen = "Seen in a successful build" if log_succeeded else "Seen, but nothing shows a failure"
        for cand in candidates.values():
            warnings.append(f"{seen}: {cand.rule.title}")
        candidates = {}

    customizers = template_customizers(props)
    failed_customizer = failed_customizer_of(log_result, failed_step, customizers) if failed_step else None

    # an entry that explains the errors below it (a name that does not resolve) leaves them nothing to decide
    explained_below = max((c.rule.precedence for c in candidates.values() if c.rule.explains_lower), default=-1)
    decisive = [c for c in candidates.values() if not c.rule.ambiguous and c.rule.precedence > explained_below]
    if not decisive and failure:  # nothing names the cause, but the run's sub-state may name the phase that failed
        phase_cand = sub_state_candidate(status.run_sub_state, run, message, kb) or capture_candidate(results, kb)
        if phase_cand is not None:
            candidates[phase_cand.rule.id] = phase_cand
            decisive = [phase_cand]
    deprovision = deprovision_candidate(candidates, results, kb) if failure and not decisive else None
    explained = explained_below >= 0  # the script's own error lines follow from the entry that explains them
    script = (
        script_error_candidate(results, kb)
        if failure and not decisive and deprovision is None and not explained
        else None
    )
    if decisive:
        best = in_deprovisioning(max(decisive, key=lambda c: c.key), candidates, failed_step, kb)
        diag = from_candidate(best, candidates, results, failed_customizer, log_result, texts, kb)
    elif deprovision is not None:  # error lines after the deprovisioning command started
        candidates[deprovision.rule.id] = deprovision
        diag = from_candidate(deprovision, candidates, results, failed_customizer, log_result, texts, kb)
    elif script is not None and all(c.rule.category == script.rule.category for c in candidates.values()):
        # nothing names another cause (at most "a customizer failed"): the script's own error lines say it did
        candidates[script.rule.id] = script
        diag = from_candidate(script, candidates, results, failed_customizer, log_result, texts, kb)
    elif candidates:  # only matches that several causes fit: say so instead of guessing one of them
        hint = max(candidates.values(), key=lambda c: c.key)
        diag = ambiguous_diagnosis(hint, candidates, results, failed_customizer, texts, kb)
    elif failure:
        diag = unknown_diagnosis(results, failed_customizer, texts, kb, run, status.run_sub_state)
    else:
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


def recovered_entries(result: ScanResult, kb: KnowledgeBase) -> frozenset[str]:
    """Entries whose problem recovered later in the same text (a ``resolved_by`` line after their last match)."""
    out: set[str] = set()
    for rule_id, rh in result.hits.items():
        rule = kb.get(rule_id)
        if rule is None or not rule.resolved_by or not rh.last:
            continue
        shown = (result.hits.get(p.rule_id) for p in rule.resolved_by)
        if max((h.last[-1].line for h in shown if h is not None and h.last), default=0) > rh.last[-1].line:
            out.add(rule_id)
    return frozenset(out)


def _finished(result: ScanResult, kb: KnowledgeBase, live: list[str]) -> bool:
    """Packer said its builds finished, printed no failure line, and none of the ``live`` failure entries
    (``_live_hits``) matched after its last 'finished' line (a pasted text that goes on with the next command's
    failure, such as ``vagrant up``; a prompt there is the wrapper script waiting for its user)."""
    if not result.success or result.failure_seen:
        return False
    last = result.success_line or 0
    return not any(
        h.line > last
        for rid in live
        if kb.rules[rid].category != "interactive-prompt"
        for h in result.hits[rid].samples()
    )


def _live_hits(result: ScanResult, kb: KnowledgeBase) -> list[str]:
    """Failure entries and script error records matched in ``result`` that did not recover later.

    An error record whose every line is a match of a recovered entry (Ansible's ``fatal: ...`` line of a task
    that ``...ignoring`` answered) recovered with it; one whose every line is a benign entry's line (a harmless
    message that contains an error-looking phrase, dpkg-preconfigure's "No such file or directory") is harmless
    with it. An entry matched only on quoted commands, warnings or parts the build got past
    (``diagnosis.admissible``) reports no failure.
    """
    harmless = result.harmless_lines
    step = failing_step(result)
    live = []
    for rid, rh in result.hits.items():
        rule = kb.get(rid)
        if rule is None or rule.benign or rule.progress or rid in result.recovered:
            continue
        if rule.error_record and harmless and all(h.line in harmless for h in rh.samples()):
            continue
        if not admissible(rh.samples(), result, step, rule.category, warnings_count=rule.warning_cause):
            continue  # a quoted command, a warning, or a part the build got past reports no failure
        live.append(rid)
    return live


def _harmless_lines(result: ScanResult, kb: KnowledgeBase) -> frozenset[int]:
    """Lines a benign entry explains or an entry matched before it recovered (``result.recovered``), and the lines
    of error records that report nothing wrong (``result.noise_records``).

    An entry keeps only its first and last matches as samples; the error-looking lines and record matches that
    one of these entries matches between them are just as harmless."""
    harmless_rules = [
        rule for rid in result.hits if (rule := kb.get(rid)) is not None and (rid in result.recovered or rule.benign)
    ]
    return frozenset(result.noise_records | lines_of(result, harmless_rules))


def _error_lines(result: ScanResult) -> list[Hit]:
    """Error-looking lines near the end that no benign entry or recovered retry explains, that are no marker,
    quoted command or warning, and that no later provisioner's start shows the build got past."""
    return [
        h
        for h in result.tail_errors
        if h.line not in result.harmless_lines
        and not is_marker(h.text)
        and not quoted_or_warning(h.text)
        and h.line not in result.template_script_lines
        and not before_a_later_provisioner(h, result)
    ]


def _without_lines(text: str, numbers: frozenset[int]) -> str:
    """``text`` without the lines whose (1-based) numbers are given."""
    if not numbers:
        return text
    return "\n".join(line for i, line in enumerate(text.split("\n"), 1) if i not in numbers)


def _find(pattern: re.Pattern[str], text: str, group: int) -> str | None:
    m = pattern.search(text)
    if not m:
        return None
    return m.group(group).rstrip(".,;)")


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
