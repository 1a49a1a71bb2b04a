"""A succeeded run: announce ``recovered`` once when it follows an alerted failure of an earlier run, or when this
run itself was announced stuck; drop its live snapshots."""

from __future__ import annotations

from monitor.handlers.alert import build_alert, send
from monitor.handlers.context import Look, Toolkit, run_claim
from monitor.report import TemplateOutcome
from monitor.runs import IndexEntry


def handle_succeeded(tk: Toolkit, look: Look) -> tuple[TemplateOutcome, IndexEntry | None]:
    obs, base, outcome = look.obs, look.base, look.outcome
    watched = base.active and base.run_key == obs.run_key
    recovering = base.open_failure is not None and base.open_failure != obs.run_key
    if not watched and not recovering:
        return outcome, IndexEntry(fp=obs.fingerprint, run_key=obs.run_key)
    with run_claim(tk, look) as claim:
        if claim is None:
            return outcome, None
        record = claim.record
        previously_stuck = record.was_stuck or (recovering and base.open_failure_stuck)
        if (recovering or record.was_stuck) and not record.sent("recovered"):
            alert = build_alert(tk, "recovered", look, record, diagnosis=None, previously_stuck=previously_stuck)
            send(tk, alert, record, "recovered")
            outcome.alerts.append("recovered")
        record.finalized = True
        tk.cleanup_live(record)
    return outcome, IndexEntry(fp=obs.fingerprint, run_key=obs.run_key)
