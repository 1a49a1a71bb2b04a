"""A failed run (Failed, PartiallySucceeded, Canceled) or a failed submission: archive the logs once (diagnosing
``customization.log`` while it is copied), write ``status.json`` and ``diagnosis.json``, and alert once.

The copy is server-side (Copy Blob from a SAS URL) where the archive and the service allow it, else streamed;
without a staging log, the run's live snapshots are assembled instead (the template was deleted after the run).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from monitor.archive.copy import CopyResult, Tee, assemble_parts, copy_streamed, is_vanished, iter_object, source_chunks
from monitor.archive.layout import (
    CUSTOMIZATION_LOG,
    DIAGNOSIS_JSON,
    STATUS_JSON,
    VALIDATION_LOG,
    LogCopy,
    RunStatus,
    json_bytes,
    redacted_status,
)
from monitor.azure.staging import LogLocation, SourceBlob
from monitor.handlers.alert import build_alert, send
from monitor.handlers.context import Look, Toolkit, run_claim
from monitor.observe import SUBMISSION_FAILED
from monitor.report import TemplateOutcome
from monitor.runs import IndexEntry, RunRecord

log = logging.getLogger(__name__)

FAILURE_ALERTS = ("build-failed", "submission-failed")


def handle_failed(tk: Toolkit, look: Look) -> tuple[TemplateOutcome, IndexEntry | None]:
    outcome = look.outcome
    with run_claim(tk, look) as claim:
        if claim is None:
            return outcome, None
        record = claim.record
        outcome.archive_path = tk.url(record.archive_prefix)
        if record.finalized:
            outcome.note = "handled earlier"
        else:
            diagnosis: dict[str, Any] | None = None
            if not record.archived:
                diagnosis = archive_failed(tk, look, record)
                record.archived = True
                claim.save()
            if diagnosis is None:
                diagnosis = tk.load_json(f"{record.archive_prefix}/{DIAGNOSIS_JSON}")
            kind = "submission-failed" if look.obs.state == SUBMISSION_FAILED else "build-failed"
            if not record.sent(kind):
                alert = build_alert(tk, kind, look, record, diagnosis=diagnosis, previously_stuck=record.was_stuck)
                # Marked sent (with the run finalized and the claim released) in one write, after send().
                send(tk, alert, record, kind)
                outcome.alerts.append(kind)
            record.finalized = True
            tk.cleanup_live(record)
    outcome.category, outcome.archive_partial = record.category, record.archive_partial
    return outcome, closed_entry(tk, look, record)


def closed_entry(tk: Toolkit, look: Look, record: RunRecord) -> IndexEntry:
    """The sweep index entry of a run whose handling is finished (an alerted failure stays open until a
    success announces the recovery)."""
    alerted = any(k in record.alerts_sent for k in FAILURE_ALERTS)
    return IndexEntry(
        fp=look.obs.fingerprint,
        active=False,
        run_key=record.run_key,
        open_failure=record.run_key if alerted else look.base.open_failure,
        open_failure_stuck=record.was_stuck if alerted else look.base.open_failure_stuck,
        archive_prefix=tk.url(record.archive_prefix),
        category=record.category,
        partial=record.archive_partial,
    )


@dataclass
class _Archiving:
    """What archiving one failed run gathers on the way."""

    location: LogLocation | None
    validation: CopyResult | None = None
    log: CopyResult | None = None
    modes: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


def archive_failed(tk: Toolkit, look: Look, record: RunRecord) -> dict[str, Any]:
    """Copy validation.log and customization.log (diagnosing the latter as it streams), then write status.json
    and diagnosis.json. Returns the diagnosis as a dict."""
    import diagnosis as dx

    obs, prefix = look.obs, record.archive_prefix
    # A failed submission never built anything: there is no log to look for.
    work = _Archiving(None if obs.state == SUBMISSION_FAILED else tk.locate(record, obs))
    base_meta = {"template_id": look.ref.id, "run_start": record.start_time or "", "run_state": obs.run_state or ""}
    diag_kwargs: dict[str, Any] = {
        "provisioning_state": obs.provisioning_state,
        "provisioning_error": obs.provisioning_error,
        "template": look.template,
        "rules": tk.knowledge,
    }

    def diagnose_stream(chunks: Iterator[bytes]) -> Any:
        return dx.diagnose(obs.message, log=chunks, **diag_kwargs)

    diagnosis = None
    location = work.location
    if location is not None:
        work.validation = _copy_validation(tk, look, location, f"{prefix}/{VALIDATION_LOG}", base_meta, work)
        source = tk.staging.blob(location, location.customization_blob, obs.staging_group)
        if source is not None:
            if work.validation is not None:
                diag_kwargs["validation_log"] = iter_object(tk.store, work.validation.key)
            log_key = f"{prefix}/{CUSTOMIZATION_LOG}"
            work.log = server_copy(tk, look, location, location.customization_blob, log_key, source, base_meta)
            if work.log is not None:
                work.modes[CUSTOMIZATION_LOG] = "server"
                # Diagnose the archived copy, streamed back (never whole in memory).
                diagnosis = diagnose_stream(iter_object(tk.store, log_key))
            else:
                work.modes[CUSTOMIZATION_LOG] = "streamed"
                work.log, diagnosis = _copy_diagnosing(
                    tk, log_key, source_chunks(source.client), source.size, base_meta, diagnose_stream
                )
        else:
            work.reasons.append("customization.log not found in the staging account")
    else:
        work.reasons.append("no log location (no URL in the message and no staging storage found)")
    if work.log is None and record.live_parts:
        # The staging log is gone (template deleted) but we snapshotted it while it ran.
        work.modes[CUSTOMIZATION_LOG] = "live-snapshots"
        work.log, diagnosis = _copy_diagnosing(
            tk,
            f"{prefix}/{CUSTOMIZATION_LOG}",
            assemble_parts(tk.store, record.live_parts),
            None,
            base_meta,
            diagnose_stream,
        )
        work.log.partial, work.log.reason = True, "assembled from live snapshots; the staging log was gone"
    if work.log is None:
        diagnosis = dx.diagnose(obs.message, **diag_kwargs)
    diag = diagnosis.to_dict()
    if location is not None and not diag.get("log_url"):
        diag["log_url"] = location.url
    _write_results(tk, look, record, work, diag, base_meta)
    return diag


def _copy_validation(
    tk: Toolkit, look: Look, location: LogLocation, key: str, meta: dict[str, str], work: _Archiving
) -> CopyResult | None:
    source = tk.staging.blob(location, location.validation_blob, look.obs.staging_group)
    if source is None:
        return None
    # Tags come with the category, once the diagnosis is known.
    result = server_copy(tk, look, location, location.validation_blob, key, source, meta)
    work.modes[VALIDATION_LOG] = "server" if result else "streamed"
    if result is None:
        result = copy_streamed(tk.store, key, source_chunks(source.client), source_size=source.size, metadata=meta)
    return result


def _copy_diagnosing(
    tk: Toolkit, key: str, chunks: Any, size: int | None, meta: dict[str, str], consumer: Any
) -> tuple[CopyResult, Any]:
    """A streamed copy whose chunks the diagnosis reads on the way (a bounded queue between the two)."""
    tee = Tee(consumer)
    try:
        result = copy_streamed(tk.store, key, chunks, source_size=size, metadata=meta, on_chunk=tee.put)
    finally:
        diagnosis = tee.finish()
    return result, diagnosis


def _write_results(
    tk: Toolkit, look: Look, record: RunRecord, work: _Archiving, diag: dict[str, Any], base_meta: dict[str, str]
) -> None:
    """Record the outcome, tag the copies with the category, write status.json and diagnosis.json."""
    import diagnosis as dx

    for result in (work.log, work.validation):
        if result is not None and result.partial:
            work.reasons.append(f"{result.key.rsplit('/', 1)[-1]}: {result.reason}")
    partial = any(result is not None and result.partial for result in (work.log, work.validation))
    record.category = diag.get("category")
    record.archive_partial = partial
    record.partial_reason = "; ".join(work.reasons) or None
    record.log_bytes = work.log.written if work.log else None
    tags = {"template": look.ref.name, "state": look.obs.state, "category": record.category or "unknown"}
    meta = {**base_meta, "partial": str(partial).lower(), "category": tags["category"]}
    for result in (work.log, work.validation):
        if result is not None:
            tk.store.set_metadata(result.key, meta, tags)
    status = RunStatus(
        run_key=record.run_key,
        state=look.obs.state,
        written_at=tk.now_text(),
        template=redacted_status(look.template, dx.redact),
        partial=partial,
        partial_reason=record.partial_reason,
        customization_log=LogCopy(
            source=work.location.url if work.location else None,
            bytes=work.log.written if work.log else None,
            source_bytes=work.log.source_size if work.log else None,
            verified=work.log.verified if work.log else False,
            mode=work.modes.get(CUSTOMIZATION_LOG),
        ),
        validation_log=LogCopy(
            source=work.location.validation_url if work.location else None,
            bytes=work.validation.written,
            source_bytes=work.validation.source_size,
            verified=work.validation.verified,
            mode=work.modes.get(VALIDATION_LOG),
        )
        if work.validation
        else None,
    )
    prefix = record.archive_prefix
    json_type = "application/json"
    tk.store.put(f"{prefix}/{STATUS_JSON}", status.to_json(), metadata=meta, tags=tags, content_type=json_type)
    tk.store.put(f"{prefix}/{DIAGNOSIS_JSON}", json_bytes(diag), metadata=meta, tags=tags, content_type=json_type)


def server_copy(
    tk: Toolkit,
    look: Look,
    location: LogLocation,
    blob_name: str,
    key: str,
    source: SourceBlob,
    metadata: dict[str, str],
) -> CopyResult | None:
    """Copy Blob from a SAS URL when the archive and the service allow it; None → stream it instead."""
    if tk.copy_mode != "auto" or not tk.server_copy_ok or not tk.store.server_copy:
        return None
    from azure.core.exceptions import HttpResponseError

    try:
        url = tk.staging.sas_url(location, blob_name, look.obs.staging_group)
        size = tk.store.copy_from_url(key, url, metadata=metadata)
    except (HttpResponseError, TimeoutError) as exc:
        code = getattr(exc, "error_code", None) or getattr(exc, "status_code", None) or type(exc).__name__
        if not is_vanished(exc):
            tk.server_copy_ok = False  # the service (or our rights) do not allow it: stream from now on
        log.info("server-side copy of %s not possible (%s); streaming it", blob_name, code)
        return None
    result = CopyResult(key=key, written=size, source_size=source.size)
    if size != source.size:
        result.partial, result.reason = True, f"copied {size} bytes but the source had {source.size}"
    result.verified = not result.partial
    return result
