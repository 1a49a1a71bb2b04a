"""Candidates a failed customizer step decides when no knowledge-base entry names a cause.

A provisioner that exited non-zero in a customization.log is ``customizer-failed`` (``deprovision-failed`` for the
deprovisioning step), with its exit line and Packer's failure lines as evidence. A failure whose only known lines are
a script's own error records, printed from inside the build VM, is its customizer failing too, though no exit line
is in the text.
"""

from __future__ import annotations

from diagnosis.admissible import admissible, failing_step
from diagnosis.packer_lines import (
    inside_build,
    remote_error_output,
    remote_output,
    step_last_output,
    unprefixed_build_output,
)
from diagnosis.rules import KnowledgeBase
from diagnosis.scanner import Hit, ScanResult, Step
from diagnosis.verdict import FAILED_DEPROVISION_RULE, FAILED_STEP_RULE, Candidate


def step_candidate(result: ScanResult, step: Step, kb: KnowledgeBase) -> Candidate | None:
    """A failed provisioner (started, never ended, exited non-zero) as a candidate."""
    if step.exit_code in (None, 0):  # running when the build died, but no evidence the step itself failed
        return None
    rule = kb.get(FAILED_DEPROVISION_RULE if step.deprovision else FAILED_STEP_RULE)
    if rule is None:  # a knowledge base built without the built-in entries
        return None
    cand = Candidate(rule, sources={"log"})
    if step.exit_line is not None and step.exit_text:
        cand.hits.append(("log", Hit(rule.id, step.exit_line, step.exit_text, step.position, "customize")))
    for h in result.failure_lines:
        if h.step == step.position:
            cand.hits.append(("log", h))
    return cand


def script_error_candidate(results: list[ScanResult], kb: KnowledgeBase) -> Candidate | None:
    """``customizer-failed`` for a failure whose only known lines are a script's own error records (a PowerShell
    error record, apt's ``E:``, a .NET exception, ``command not found``, a chocolatey failure): the tool inside the
    build VM failed, so its customizer did, though no exit line is in the text. Without records, the error-looking
    lines Packer printed as a remote command's output (standard output or error) of a failed build say the
    same, and so does the error line right above Packer's ``Provisioning step had errors``. None when nothing is
    left once quoted commands, warnings, parts the build got past and harmless lines are set aside."""
    rule = kb.get(FAILED_STEP_RULE)
    if rule is None:
        return None
    cand = Candidate(rule)
    for r in results:
        step = failing_step(r)
        for rid, rh in r.hits.items():
            record = kb.get(rid)
            if record is None or not record.error_record or rid in r.recovered:
                continue
            hits = [
                h
                for h in admissible(rh.samples(), r, step, record.category)
                if h.line not in r.harmless_lines and (inside_build(h, r) or unprefixed_build_output(h, r))
            ]
            cand.hits.extend((r.source, h) for h in hits)
            if hits:
                cand.sources.add(r.source)
        if not cand.hits:  # a remote command's own output reporting an error (tail_errors is filtered)
            output = [
                h
                for h in r.tail_errors
                if remote_output(h.text, r.build_names) or remote_error_output(h, r) or step_last_output(h, r)
            ]
            cand.hits.extend((r.source, h) for h in output)
            if output:
                cand.sources.add(r.source)
    return cand if cand.hits else None
