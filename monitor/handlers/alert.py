"""The alert a handler hands to the dispatcher: what the template, its run and the archive say, redacted."""

from __future__ import annotations

from typing import Any

from diagnosis.times import iso, parse_time
from monitor import telemetry
from monitor.archive.layout import ALERT_FILE, CUSTOMIZATION_LOG, json_bytes, portal_blob_url, portal_browser_url
from monitor.handlers.context import Look, Toolkit
from monitor.runs import RunRecord
from monitor.stuck import effective_timeout_minutes

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
    stuck_rule: str | None = None,
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
    account, container = tk.settings.archive_storage_account_id, tk.settings.archive_container
    log_key = f"{prefix}/{CUSTOMIZATION_LOG}"
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
        log_url=tk.url(log_key) if has_log else None,
        archive_url=tk.url(prefix),
        log_portal_url=portal_blob_url(account, container, log_key) if account and has_log else None,
        archive_portal_url=portal_browser_url(account) if account else None,
        archive_partial=record.archive_partial,
        doc_url=(diagnosis or {}).get("doc"),
        template_tags={str(k): str(v) for k, v in (look.template.get("tags") or {}).items()},
        stuck_rule=stuck_rule,
        waiting_since=record.last_growth_at if stuck_rule else None,
        build_timeout_minutes=effective_timeout_minutes(obs.build_timeout_minutes) if stuck_rule else None,
    )


def send(tk: Toolkit, alert: Any, record: RunRecord, sent_key: str, *, at: str | None = None) -> None:
    """Hand ``alert`` to the dispatcher, then mark it sent in the run record (written when the claim is released):
    a crash before the record is written sends it again rather than never. The alert is kept in the run's
    archive folder (``alert-<kind>.json``, for ``resend``), a filter or silence that held it back is noted in the
    record (``history`` shows it), and one ``aib.run_outcome`` record goes to the log (the workbook's data)."""
    result = tk.dispatcher.send(alert)
    record.alerts_sent[sent_key] = at or tk.now_text()
    held_back = getattr(result, "filtered", None)
    if held_back == "dry run":  # nothing leaves a dry run, not even the outcome record
        return
    if held_back:
        record.alerts_held[sent_key] = held_back
    if record.archive_prefix:
        tk.store.put(
            f"{record.archive_prefix}/{ALERT_FILE.format(kind=alert.kind)}",
            json_bytes(alert.to_dict()),
            content_type="application/json",
        )
    telemetry.emit(
        telemetry.run_outcome(
            template=alert.template_name,
            resource_group=alert.resource_group,
            subscription=alert.subscription_id,
            state=_OUTCOME_STATE.get(alert.kind, alert.kind),
            run_state=alert.run_state,
            diagnosis=alert.diagnosis,
            run_start=parse_time(alert.start_time),
            run_end=parse_time(alert.end_time),
            alert_kind=None if held_back else alert.kind,
            alerted_at=parse_time(record.alerts_sent[sent_key]),
            archive_partial=alert.archive_partial,
        )
    )


_OUTCOME_STATE = {
    "build-failed": "failed",
    "submission-failed": "submission-failed",
    "build-stuck": "stuck",
    "still-stuck": "stuck",
    "recovered": "recovered",
}
