"""What an operator asks of the archive: the history of failed and stuck runs, one run in full, an alert again.

Reads the run records (``_state/runs/``) and the archive folders (``status.json``, ``diagnosis.json``) through the
same ObjectStore the monitor writes, so the CLI sees exactly what the deployed app archived.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from diagnosis.times import parse_time
from monitor.archive.layout import ALERT_FILE
from monitor.runs import STATE_PREFIX, RunRecord, run_record_key
from monitor.storage import ObjectStore

RUNS_PREFIX = f"{STATE_PREFIX}/runs/"
_SPAN = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
NOTEWORTHY = ("failed", "submission-failed")


class OperationError(ValueError):
    """An operator's request that cannot be answered (bad argument, unknown run); the message says why."""


def parse_since(value: str, now: datetime) -> datetime:
    """``7d``, ``12h``, ``30m``, ``2w`` before ``now``, or an ISO 8601 / ``yyyy-mm-dd`` moment."""
    m = _SPAN.match(value)
    if m:
        return now - timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})
    moment = parse_time(value) or parse_time(f"{value.strip()}T00:00:00Z")
    if moment is None:
        raise OperationError(f"--since {value!r}: use a span such as 7d, 12h, 30m or a date such as 2026-11-01")
    return moment


@dataclass
class HistoryRow:
    when: str
    template: str  # resource group/name
    state: str  # "failed", "stuck", "submission-failed", ...
    category: str
    summary: str
    archive_path: str
    run_key: str
    alerts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def iter_records(store: ObjectStore) -> Iterator[RunRecord]:
    for key in store.list(RUNS_PREFIX):
        obj = store.get(key)
        if obj is None:
            continue
        try:
            yield RunRecord.from_json(obj.data)
        except (ValueError, TypeError):
            continue


def _state(record: RunRecord) -> str:
    if record.state in NOTEWORTHY:
        return record.state
    if record.stuck_first_alert_at:
        return "stuck"
    return record.state or "?"


def _when(record: RunRecord) -> datetime | None:
    return parse_time(record.end_time) or parse_time(record.start_time) or parse_time(record.updated_at)


def read_json(store: ObjectStore, key: str) -> dict[str, Any] | None:
    obj = store.get(key)
    if obj is None:
        return None
    try:
        data = json.loads(obj.data)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def history(
    store: ObjectStore,
    *,
    since: datetime | None = None,
    category: str | None = None,
    template: str | None = None,
) -> list[HistoryRow]:
    """Failed, stuck and rejected runs, newest first; ``template`` is a glob on the name or ``group/name``."""
    rows: list[HistoryRow] = []
    for record in iter_records(store):
        state = _state(record)
        if state not in (*NOTEWORTHY, "stuck"):
            continue
        when = _when(record)
        if since is not None and (when is None or when < since):
            continue
        if category and (record.category or "") != category:
            continue
        full = f"{record.resource_group}/{record.template_name}"
        if template and not (
            fnmatch.fnmatchcase(record.template_name.lower(), template.lower())
            or fnmatch.fnmatchcase(full.lower(), template.lower())
        ):
            continue
        diagnosis = read_json(store, f"{record.archive_prefix}/diagnosis.json") if record.archive_prefix else None
        rows.append(
            HistoryRow(
                when=when.strftime("%Y-%m-%d %H:%M UTC") if when else "?",
                template=full,
                state=state,
                category=record.category or (diagnosis or {}).get("category") or "-",
                summary=str((diagnosis or {}).get("summary") or ""),
                archive_path=record.archive_prefix or "-",
                run_key=record.run_key,
                alerts=sorted(
                    k + (f" (held back: {record.alerts_held[k]})" if k in record.alerts_held else "")
                    for k in record.alerts_sent
                ),
            )
        )
    rows.sort(key=lambda r: r.when, reverse=True)
    return rows


def category_counts(rows: list[HistoryRow]) -> list[tuple[str, int]]:
    return Counter(r.category for r in rows).most_common()


@dataclass
class RunDetails:
    record: RunRecord | None
    archive_path: str
    status: dict[str, Any] | None
    diagnosis: dict[str, Any] | None
    files: list[str]

    @property
    def log_key(self) -> str | None:
        return next((f for f in self.files if f.endswith("/customization.log")), None)


def find_run(store: ObjectStore, ref: str) -> RunDetails:
    """A run by its run key (``<template id>|<start>``), a prefix of it, or its archive folder."""
    ref = ref.strip().rstrip("/")
    if not ref:
        raise OperationError("name a run: its run key or its archive folder (see `history`)")
    record = None
    obj = store.get(run_record_key(ref))
    if obj is not None:
        record = RunRecord.from_json(obj.data)
    else:
        matches = [r for r in iter_records(store) if r.archive_prefix == ref or r.run_key.startswith(ref)]
        if len(matches) > 1:
            raise OperationError(f"{ref!r} names {len(matches)} runs; give the whole run key or archive folder")
        record = matches[0] if matches else None
    prefix = record.archive_prefix if record and record.archive_prefix else ref
    files = sorted(store.list(prefix + "/"))
    if record is None and not files:
        raise OperationError(f"no run {ref!r} in the archive (see `history` for run keys and folders)")
    return RunDetails(
        record=record,
        archive_path=prefix,
        status=read_json(store, f"{prefix}/status.json"),
        diagnosis=read_json(store, f"{prefix}/diagnosis.json"),
        files=files,
    )




def stored_alerts(details: RunDetails) -> list[str]:
    """Keys of the alerts the monitor kept for this run (``alert-<kind>.json``), oldest kind first."""
    return [f for f in details.files if f.rsplit("/", 1)[-1].startswith("alert-") and f.endswith(".json")]


def alert_for_resend(store: ObjectStore, details: RunDetails, kind: str | None = None) -> Any:
    """The run's alert to deliver again, marked as a resend: the one the monitor kept (of ``kind``, else the
    latest sent), or one rebuilt from the run record and the archived diagnosis."""
    from monitor.alerts.model import BUILD_FAILED, BUILD_STUCK, SUBMISSION_FAILED, Alert

    kept = stored_alerts(details)
    if kind:
        kept = [k for k in kept if k.endswith(ALERT_FILE.format(kind=kind))]
    data = None
    if kept:
        candidates = [read_json(store, k) for k in kept]
        candidates = [c for c in candidates if c]
        if candidates:
            data = max(candidates, key=lambda c: str(c.get("created_at", "")))
    if data is not None:
        alert = Alert.from_dict(data)
    else:
        record = details.record
        if record is None:
            raise OperationError(f"{details.archive_path}: no run record and no kept alert to send again")
        if kind is None:
            kind = {"submission-failed": SUBMISSION_FAILED, "failed": BUILD_FAILED}.get(record.state, BUILD_STUCK)
        status = (details.status or {}).get("template") or {}
        props = status.get("properties", status) if isinstance(status, dict) else {}
        last = props.get("lastRunStatus") or {} if isinstance(props, dict) else {}
        alert = Alert(
            kind=kind,
            template_id=record.template_id,
            template_name=record.template_name,
            resource_group=record.resource_group,
            subscription_id=record.subscription_id,
            run_key=record.run_key,
            run_state=record.run_state,
            start_time=record.start_time,
            end_time=record.end_time,
            status_message=last.get("message") if isinstance(last, dict) else None,
            diagnosis=details.diagnosis,
            stuck_reason=((details.status or {}).get("stuck") or {}).get("detail"),
            log_url=store.url(details.log_key) if details.log_key else None,
            archive_url=store.url(details.archive_path),
            archive_partial=record.archive_partial,
            doc_url=(details.diagnosis or {}).get("doc"),
        )
    alert.resend = True
    return alert
