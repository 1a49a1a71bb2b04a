"""A template deleted while its run was active: the run's live snapshots become its (partial) archived log."""

from __future__ import annotations

from monitor.archive.copy import assemble_parts, copy_streamed
from monitor.archive.layout import CUSTOMIZATION_LOG, STATUS_JSON, LogCopy, RunStatus
from monitor.azure.ids import TemplateRef
from monitor.handlers.context import Toolkit
from monitor.report import TemplateOutcome
from monitor.runs import IndexEntry

DELETED_REASON = "the template was deleted while the build ran; log assembled from live snapshots"


def handle_deleted(tk: Toolkit, template_id: str, entry: IndexEntry) -> TemplateOutcome:
    """``template_id``/``entry``: the deleted template as the sweep index remembered it."""
    record, _etag = tk.runs.load(entry.run_key or "")
    ref = TemplateRef.parse(record.template_id if record else template_id)
    outcome = TemplateOutcome(ref.id, ref.name, ref.resource_group, "deleted", run_key=entry.run_key)
    if record is None or record.finalized:
        return outcome
    with tk.runs.claimed(record) as claim:
        if claim is None:
            outcome.note = "being handled elsewhere"
            return outcome
        record = claim.record
        if record.live_parts and not record.archived:
            key = f"{record.archive_prefix}/{CUSTOMIZATION_LOG}"
            result = copy_streamed(tk.store, key, assemble_parts(tk.store, record.live_parts), source_size=None)
            meta = {"template_id": ref.id, "partial": "true", "run_start": record.start_time or ""}
            tk.store.set_metadata(key, meta, {"template": ref.name, "state": "deleted"})
            status = RunStatus(
                run_key=record.run_key,
                state="deleted",
                written_at=tk.now_text(),
                partial=True,
                partial_reason=DELETED_REASON,
                customization_log=LogCopy(bytes=result.written, mode="live-snapshots"),
                live_log_bytes=record.live_offset,
            )
            tk.store.put(
                f"{record.archive_prefix}/{STATUS_JSON}",
                status.to_json(),
                metadata=meta,
                content_type="application/json",
            )
            record.archived, record.archive_partial = True, True
            tk.cleanup_live(record)
        record.state, record.finalized = "deleted", True
        outcome.archive_path = tk.url(record.archive_prefix)
        outcome.archive_partial = record.archive_partial
    return outcome
