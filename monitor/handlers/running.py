"""A running build: snapshot what is new in its live log (and the build container's output), apply the stuck
rules (monitor/stuck.py), and announce a stuck run: ``build-stuck`` once, ``still-stuck`` every
STUCK_REPEAT_HOURS, each time with ``status.json`` and ``diagnosis.json`` written beside the snapshots."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from diagnosis.times import parse_time
from monitor.archive.layout import CONTAINER_LOG, DIAGNOSIS_JSON, STATUS_JSON, RunStatus, StuckMark, json_bytes
from monitor.archive.layout import redacted_status as redacted_template
from monitor.archive.live import TAIL_BYTES, snapshot_live
from monitor.handlers.alert import build_alert, send
from monitor.handlers.context import Look, Toolkit, run_claim
from monitor.report import TemplateOutcome
from monitor.runs import IndexEntry, RunRecord
from monitor.stuck import StuckVerdict, assess, stuck_alert_due, stuck_diagnosis


def handle_running(tk: Toolkit, look: Look) -> tuple[TemplateOutcome, IndexEntry | None]:
    outcome = look.outcome
    with run_claim(tk, look) as claim:
        if claim is None:
            return outcome, None
        record = claim.record
        now = tk.clock()
        outcome.archive_path = tk.url(record.archive_prefix)
        tail, grown_at = snapshot(tk, look, record, now)
        assessment = assess(look.obs, tail, grown_at, now, tk.stuck_policy)
        if assessment.verdict is not None:
            verdict = assessment.verdict
            outcome.stuck_reason = f"{verdict.rule}: {verdict.detail}"
            _announce(tk, look, record, verdict, assessment.analysis, now)
        outcome.category = record.category
    return outcome, IndexEntry(
        fp=look.obs.fingerprint,
        active=True,
        run_key=record.run_key,
        open_failure=look.base.open_failure,
        open_failure_stuck=look.base.open_failure_stuck,
        archive_prefix=tk.url(record.archive_prefix),
        category=record.category,
    )


def _announce(tk: Toolkit, look: Look, record: RunRecord, verdict: StuckVerdict, analysis: Any, now: datetime) -> None:
    """Send the stuck alert that is due (if one is), with the status and diagnosis written first."""
    kind = stuck_alert_due(
        parse_time(record.stuck_first_alert_at),
        parse_time(record.stuck_last_alert_at),
        now,
        tk.settings.stuck_repeat_hours,
    )
    if kind is None:
        return
    sequence = record.stuck_alerts
    diagnosis = stuck_diagnosis(verdict, analysis, look.ref, tk.knowledge)
    write_stuck_status(tk, look, record, verdict, diagnosis, now)
    alert = build_alert(
        tk,
        kind,
        look,
        record,
        diagnosis=diagnosis,
        stuck_reason=look.outcome.stuck_reason,
        stuck_rule=verdict.rule,
        run_key=record.run_key if sequence == 0 else f"{record.run_key}#{sequence}",
    )
    stamp = now.isoformat(timespec="seconds")
    send(tk, alert, record, kind if sequence == 0 else f"{kind}#{sequence}", at=stamp)
    record.stuck_alerts += 1
    record.stuck_first_alert_at = record.stuck_first_alert_at or stamp
    record.stuck_last_alert_at = stamp
    record.category = diagnosis.get("category")
    look.outcome.alerts.append(kind)


def snapshot(tk: Toolkit, look: Look, record: RunRecord, now: datetime) -> tuple[str, datetime | None]:
    """Save what is new in the live log; return its tail (text) and when it last grew."""
    obs = look.obs
    tail = b""
    size: int | None = None
    modified = None
    location = tk.locate(record, obs)
    source = tk.staging.blob(location, location.customization_blob, obs.staging_group) if location else None
    if source is not None:
        snap = snapshot_live(tk.store, record.archive_prefix, source.client, source.size, record.live_offset)
        if snap.part_key:
            record.live_parts.append([record.live_offset, snap.offset - record.live_offset, snap.part_key])
        record.live_offset, tail, size = snap.offset, snap.tail, source.size
        modified = source.last_modified
    container_text = tk.staging.container_log(obs.staging_group)
    if container_text:
        digest = hashlib.sha256(container_text.encode()).hexdigest()[:16]
        if digest != record.container_log_digest:  # write only what changed
            tk.store.put(f"{record.archive_prefix}/{CONTAINER_LOG}", container_text.encode())
            record.container_log_digest = digest
        if size is None:
            size, tail = len(container_text), container_text[-TAIL_BYTES:].encode()
    if size is None:
        return "", parse_time(record.last_growth_at)
    if record.log_size_seen is None:
        first = min(now, modified) if modified is not None else now
        record.last_growth_at = first.isoformat(timespec="seconds")
    elif size != record.log_size_seen:
        record.last_growth_at = now.isoformat(timespec="seconds")
    record.log_size_seen = size
    return tail.decode("utf-8", "replace"), parse_time(record.last_growth_at)


def write_stuck_status(
    tk: Toolkit, look: Look, record: RunRecord, verdict: StuckVerdict, diagnosis: dict[str, Any], now: datetime
) -> None:
    """What a stuck run looks like when announced: status.json and diagnosis.json beside its live snapshots."""
    import diagnosis as dx

    tags = {"template": record.template_name, "state": "stuck", "category": diagnosis.get("category") or ""}
    status = RunStatus(
        run_key=record.run_key,
        state="running",
        written_at=now.isoformat(timespec="seconds"),
        template=redacted_template(look.template, dx.redact),
        stuck=StuckMark(verdict.rule, verdict.detail, now.isoformat(timespec="seconds")),
        live_log_bytes=record.live_offset,
        live_parts=[key for _offset, _length, key in record.live_parts],
    )
    prefix = record.archive_prefix
    json_type = "application/json"
    tk.store.put(f"{prefix}/{STATUS_JSON}", status.to_json(), tags=tags, content_type=json_type)
    tk.store.put(f"{prefix}/{DIAGNOSIS_JSON}", json_bytes(diagnosis), tags=tags, content_type=json_type)
