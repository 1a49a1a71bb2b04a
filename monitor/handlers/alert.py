"""The alert a handler hands to the dispatcher: what the template, its run and the archive say, redacted."""

from __future__ import annotations

from typing import Any

from diagnosis.times import iso
from monitor.archive.layout import CUSTOMIZATION_LOG
from monitor.handlers.context import Look, Toolkit
from monitor.runs import RunRecord

PORTAL = "https://portal.azure.com/#resource"


def build_alert(
    tk: Toolkit,
    kind: str,
    look: Look,
    record: RunRecord,
    *,
    diagnosis: dict[str, Any] | None,
    previously_stuck: bool = False,
    stuck_reason: str | None = None,
    run_key: str | None = None,
) -> Any:
    """A monitor.alerts.model.Alert of ``kind`` for the observed run."""
    from diagnosis.redact import redact
    from monitor.alerts.model import Alert

    obs, ref = look.obs, look.ref
    end = obs.end_time
    duration = None
    if obs.start_time is not None:
        duration = round(((end or tk.clock()) - obs.start_time).total_seconds() / 60, 1)
    prefix = record.archive_prefix
    has_log = record.archived and record.log_bytes is not None
    return Alert(
        kind=kind,
        template_id=ref.id,
        template_name=ref.name,
        resource_group=ref.resource_group,
        subscription_id=ref.subscription_id,
        location=look.template.get("location"),
        run_key=run_key or record.run_key,
        run_state=obs.run_state,
        run_sub_state=obs.run_sub_state,
        start_time=iso(obs.start_time),
        end_time=iso(end),
        duration_minutes=duration,
        status_message=redact(obs.message) if obs.message else None,
        diagnosis=diagnosis,
        stuck_reason=stuck_reason,
        previously_stuck=previously_stuck,
        portal_url=PORTAL + ref.id,
        log_url=tk.url(f"{prefix}/{CUSTOMIZATION_LOG}") if has_log else None,
        archive_url=tk.url(prefix),
        archive_partial=record.archive_partial,
        doc_url=(diagnosis or {}).get("doc"),
    )


def send(tk: Toolkit, alert: Any, record: RunRecord, sent_key: str, *, at: str | None = None) -> None:
    """Hand ``alert`` to the dispatcher, then mark it sent in the run record (written when the claim is released):
    a crash before the record is written sends it again rather than never."""
    tk.dispatcher.send(alert)
    record.alerts_sent[sent_key] = at or tk.now_text()
