"""The monitor: sweep the subscription's image templates, or check one, and act on each run exactly once.

For every template it observes (``monitor.detect``): a failed run or submission → archive the logs (streamed,
diagnosed on the way) and alert once; a running build → snapshot the new part of its log, apply the stuck
rules and alert ``build-stuck`` once, then ``still-stuck`` every STUCK_REPEAT_HOURS; a success after an
alerted failure (or a stuck run) → ``recovered``. Per-run records with conditional writes (``monitor.state``)
make the work exactly-once across duplicate events and overlapping sweeps; the sweep index lets a second sweep
skip unchanged templates without reading storage.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from monitor import detect
from monitor.archive import (
    CopyResult,
    Tee,
    assemble_parts,
    copy_streamed,
    is_vanished,
    iter_object,
    json_bytes,
    redacted_status,
    snapshot_live,
    source_chunks,
)
from monitor.azure_clients import RESOURCES_API, AzureClients, RequestCounts
from monitor.detect import Observation, TemplateRef
from monitor.logs import LogLocation, StagingLogs
from monitor.settings import Settings, SettingsError
from monitor.state import SWEEP_LEASE_KEY, ClaimLost, IndexEntry, RunRecord, RunStore, SweepIndex, now_utc
from monitor.store import LeaseUnavailable, ObjectStore

log = logging.getLogger(__name__)

PORTAL = "https://portal.azure.com/#resource"
LEASE_SECONDS = 60


@dataclass
class TemplateOutcome:
    """What the monitor saw and did for one template (one row of a sweep report)."""

    template_id: str
    name: str
    resource_group: str
    state: str  # monitor.detect state, or "deleted" / "error"
    run_state: str | None = None
    run_key: str | None = None
    category: str | None = None
    archive_path: str | None = None
    archive_partial: bool = False
    alerts: list[str] = field(default_factory=list)  # kinds handed to the dispatcher in this call
    stuck_reason: str | None = None
    note: str | None = None  # e.g. "unchanged", "handled earlier", "being handled elsewhere"
    error: str | None = None

    @property
    def alert_sent(self) -> bool:
        return bool(self.alerts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["alert_sent"] = self.alert_sent
        return data


@dataclass
class SweepReport:
    rows: list[TemplateOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    listed: int = 0
    unchanged: int = 0
    arm_requests: int = 0
    storage_requests: int = 0
    seconds: float = 0.0
    skipped_lease: bool = False  # another sweep held the lease
    request_paths: dict[str, int] = field(default_factory=dict)  # "arm|storage METHOD /path" -> count
    outbox: Any = None  # monitor.alerts.OutboxReport

    @property
    def alerts_sent(self) -> int:
        return sum(len(r.alerts) for r in self.rows)


def _keep_renewing(lease: Any, stop: threading.Event) -> None:
    """Renew the sweep lease every third of its duration until the sweep ends (a long copy outlives it)."""
    while not stop.wait(LEASE_SECONDS / 3):
        try:
            lease.renew()
        except Exception:
            log.warning("could not renew the sweep lease", exc_info=True)


def _diagnosis_api() -> Any:
    import diagnosis  # lazily: the knowledge base loads on first use

    return diagnosis


class Monitor:
    def __init__(
        self,
        settings: Settings,
        clients: AzureClients,
        store: ObjectStore,
        dispatcher: Any = None,
        *,
        clock: Callable[[], datetime] = now_utc,
        copy_mode: str = "auto",
    ) -> None:
        self.settings = settings
        self.copy_mode = copy_mode  # "auto": server-side Copy Blob where allowed, else streamed; "stream"
        self._server_copy_ok = True
        self.clients = clients
        self.store = store
        self.clock = clock
        self.runs = RunStore(store, clock)
        self.staging = StagingLogs(clients, settings.staging_log_auth)
        self._dispatcher = dispatcher
        self._knowledge: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        credential: Any = None,
        *,
        dispatcher: Any = None,
        clock: Callable[[], datetime] | None = None,
        copy_mode: str = "auto",
    ) -> Monitor:
        from monitor.storefactory import open_store

        clients = AzureClients(settings, credential)
        store = open_store(settings, clients)
        monitor = cls(settings, clients, store, dispatcher, clock=clock or now_utc, copy_mode=copy_mode)
        if settings.diagnosis_rules:  # the user's rule files: a bad one fails at start-up, naming the setting
            from diagnosis.rules import KnowledgeBaseError

            try:
                _ = monitor.knowledge
            except KnowledgeBaseError as exc:
                raise SettingsError("DIAGNOSIS_RULES", str(exc)) from None
        return monitor

    @property
    def knowledge(self) -> Any:
        """The knowledge base (built-in entries + DIAGNOSIS_RULES), loaded and validated once per Monitor."""
        with self._lock:
            if self._knowledge is None:
                self._knowledge = _diagnosis_api().load_knowledge_base(self.settings.diagnosis_rules, use_env=False)
            return self._knowledge

    @property
    def dispatcher(self) -> Any:
        with self._lock:
            if self._dispatcher is None:
                from monitor.alerts import AlertDispatcher

                self._dispatcher = AlertDispatcher.from_settings(self.settings, self.store)
            return self._dispatcher

    @property
    def counts(self) -> RequestCounts:
        return self.clients.counts

    def close(self) -> None:
        self.clients.close()

    # -- entry points ----------------------------------------------------------------------------------------
    def sweep(self) -> SweepReport:
        """One pass over every (filtered) template, under the sweep lease."""
        started, before = time.monotonic(), self.counts.copy()
        report = SweepReport()
        try:
            with self.store.lease(SWEEP_LEASE_KEY, LEASE_SECONDS) as lease:
                self._sweep(report, lease)
        except LeaseUnavailable:
            log.info("another sweep holds the lease; skipping this one")
            report.skipped_lease = True
        spent = self.counts - before
        report.arm_requests, report.storage_requests = spent.arm, spent.storage
        report.request_paths = spent.by_path
        report.seconds = time.monotonic() - started
        return report

    def _sweep(self, report: SweepReport, lease: Any) -> None:
        try:
            report.outbox = self.dispatcher.flush_outbox()
        except Exception as exc:  # the outbox must not stop the sweep
            log.exception("alert outbox flush failed")
            report.errors.append(f"outbox: {exc}")
        index = SweepIndex(self.store).load()
        changes: dict[str, IndexEntry | None] = {}
        seen: set[str] = set()
        listed_all = False
        stop = threading.Event()
        renewer = threading.Thread(target=_keep_renewing, args=(lease, stop), name="sweep-lease", daemon=True)
        renewer.start()
        try:
            for template in self.clients.list_templates():
                report.listed += 1
                data = self._full(template.as_dict(), report, seen)
                if data is not None:
                    self._sweep_one(data, index, report, changes, seen)
            listed_all = True
        except Exception as exc:  # ARM list failed mid-way: keep what was done, forget nothing
            log.exception("listing image templates failed")
            report.errors.append(f"listing templates: {type(exc).__name__}: {exc}")
        finally:
            stop.set()
            renewer.join()
        # Templates that are gone: assemble the snapshots of a run that was still active, then forget them.
        for tid, entry in list(index.entries.items()) if listed_all else ():
            if tid in seen:
                continue
            if entry.active and entry.run_key:
                try:
                    report.rows.append(self._template_deleted(tid, entry))
                except Exception as exc:
                    log.exception("finalizing deleted template %s failed", tid)
                    report.errors.append(f"{tid}: {type(exc).__name__}: {exc}")
                    continue
            changes[tid] = None
        index.apply(changes)

    def _sweep_one(
        self,
        data: dict[str, Any],
        index: SweepIndex,
        report: SweepReport,
        changes: dict[str, IndexEntry | None],
        seen: set[str],
    ) -> None:
        try:
            ref = TemplateRef.parse(data.get("id") or "")
        except ValueError as exc:
            report.errors.append(str(exc))
            return
        if not self.settings.template_filter.matches(ref.resource_group, ref.name, data.get("tags")):
            return
        seen.add(ref.id.lower())
        try:
            outcome, entry = self._evaluate(data, ref, index.get(ref.id))
        except Exception as exc:  # isolate one template's failure; the next sweep retries it
            log.exception("template %s failed", ref.id)
            error = f"{type(exc).__name__}: {exc}"
            report.errors.append(f"{ref.id}: {error}")
            report.rows.append(TemplateOutcome(ref.id, ref.name, ref.resource_group, "error", error=error))
            return
        if outcome.note == "unchanged":
            report.unchanged += 1
        report.rows.append(outcome)
        if entry is not None and entry != index.get(ref.id):
            changes[ref.id.lower()] = entry

    def _full(self, data: dict[str, Any], report: SweepReport, seen: set[str]) -> dict[str, Any] | None:
        """A listed template as the list gave it; a stand-in whose list omits the properties costs one GET for
        that template. None when that GET fails: the template is kept as seen (not deleted) for the next sweep."""
        props = data.get("properties")
        # A full resource has its required source/distribute or a status; a summary has none of them.
        if isinstance(props, dict) and any(k in props for k in ("provisioningState", "lastRunStatus", "source")):
            return data
        try:
            ref = TemplateRef.parse(data.get("id") or "")
        except ValueError:
            return data  # _sweep_one reports the bad id
        try:
            got = self.clients.imagebuilder.virtual_machine_image_templates.get(ref.resource_group, ref.name)
        except Exception as exc:
            error = f"listed without status; GET failed: {type(exc).__name__}: {exc}"
            report.errors.append(f"{ref.id}: {error}")
            seen.add(ref.id.lower())
            report.rows.append(TemplateOutcome(ref.id, ref.name, ref.resource_group, "error", error=error))
            return None
        return got.as_dict()

    def check_template(self, template_id: str) -> TemplateOutcome | None:
        """Look at one template now (an Event Grid event said it changed). Transient Azure errors propagate."""
        from azure.core.exceptions import ResourceNotFoundError

        ref = TemplateRef.parse(template_id)
        if ref.subscription_id.lower() != self.clients.subscription_id.lower():
            log.info("template %s is in another subscription; ignored", ref.id)
            return None
        index = SweepIndex(self.store).load()
        try:
            template = self.clients.imagebuilder.virtual_machine_image_templates.get(ref.resource_group, ref.name)
        except ResourceNotFoundError:
            entry = index.get(ref.id)
            if entry is not None and entry.active and entry.run_key:
                outcome = self._template_deleted(ref.id.lower(), entry)
                index.apply({ref.id.lower(): None})
                return outcome
            return None
        data = template.as_dict()
        if not self.settings.template_filter.matches(ref.resource_group, ref.name, data.get("tags")):
            log.debug("template %s does not match TEMPLATE_FILTER", ref.id)
            return None
        old = index.get(ref.id)
        outcome, entry = self._evaluate(data, ref, old)
        if entry is not None and entry != old:
            index.apply({ref.id.lower(): entry})
        return outcome

    def check_staging_group(self, subscription_id: str, group_name: str) -> TemplateOutcome | None:
        """An ``IT_...`` staging group changed: find its template (group tags, else
        exactStagingResourceGroup)."""
        if subscription_id.lower() != self.clients.subscription_id.lower():
            return None
        path = f"/subscriptions/{subscription_id}/resourcegroups/{group_name}"
        # Gone, or a stand-in without the route: fall back to the exactStagingResourceGroup search below.
        group = self.staging.optional_arm("resourceGroups.get", lambda: self.clients.arm_get(path, RESOURCES_API), {})
        tags = {k.lower(): v for k, v in (group.get("tags") or {}).items()}
        name, rg = tags.get("imagetemplatename"), tags.get("imagetemplateresourcegroupname")
        if name and rg:
            return self.check_template(
                f"/subscriptions/{subscription_id}/resourceGroups/{rg}/providers/"
                f"Microsoft.VirtualMachineImages/imageTemplates/{name}"
            )
        for template in self.clients.list_templates():
            data = template.as_dict()
            staging = (data.get("properties") or {}).get("exactStagingResourceGroup") or ""
            if staging.rstrip("/").split("/")[-1].lower() == group_name.lower():
                return self.check_template(data["id"])
        return None

    # -- one template ----------------------------------------------------------------------------------------
    def _evaluate(
        self, data: dict[str, Any], ref: TemplateRef, entry: IndexEntry | None
    ) -> tuple[TemplateOutcome, IndexEntry | None]:
        obs = detect.observe(data)
        outcome = TemplateOutcome(ref.id, ref.name, ref.resource_group, obs.state, obs.run_state, obs.run_key)
        if entry is not None and entry.run_key == obs.run_key:
            outcome.archive_path, outcome.category = entry.archive_prefix, entry.category
            outcome.archive_partial = entry.partial
        if entry is not None and entry.fp == obs.fingerprint and not entry.active:
            outcome.note = "unchanged"
            return outcome, entry
        base = entry or IndexEntry()
        if obs.state == detect.IDLE:
            return outcome, IndexEntry(
                fp=obs.fingerprint, open_failure=base.open_failure, open_failure_stuck=base.open_failure_stuck
            )
        if obs.state == detect.RUNNING:
            return self._running(data, ref, obs, base, outcome)
        if obs.state == detect.SUCCEEDED:
            return self._succeeded(data, ref, obs, base, outcome)
        return self._failed(data, ref, obs, base, outcome)

    def _new_record(self, ref: TemplateRef, obs: Observation) -> RunRecord:
        return RunRecord(
            run_key=obs.run_key or "",
            template_id=ref.id,
            template_name=ref.name,
            resource_group=ref.resource_group,
            subscription_id=ref.subscription_id,
            state=obs.state,
            run_state=obs.run_state,
            start_time=detect.iso(obs.start_time),
            end_time=detect.iso(obs.end_time),
            archive_prefix=self._prefix(ref, obs),
        )

    @staticmethod
    def _prefix(ref: TemplateRef, obs: Observation) -> str:
        if obs.start_time is not None:
            folder = detect.folder_time(obs.start_time)
        elif obs.state == detect.SUBMISSION_FAILED:
            folder = "submission-" + (obs.run_key or "").rsplit("|", 1)[-1][:12]
        else:  # a run without startTime (a stand-in may omit it): one folder per run key
            folder = "no-start-" + hashlib.sha256((obs.run_key or "").encode()).hexdigest()[:12]
        return f"{ref.subscription_id}/{ref.resource_group}/{ref.name}/{folder}"

    def _claim(self, ref: TemplateRef, obs: Observation) -> tuple[RunRecord, str] | None:
        claimed = self.runs.claim(self._new_record(ref, obs))
        if claimed is not None:
            record = claimed[0]
            record.state, record.run_state, record.end_time = (
                obs.state,
                obs.run_state,
                detect.iso(obs.end_time),
            )
        return claimed

    def _release(self, record: RunRecord, etag: str) -> None:
        try:
            self.runs.update(record, etag, release=True)
        except ClaimLost:
            log.warning("run %s: claim lost before release", record.run_key)

    # -- failed run or failed submission ---------------------------------------------------------------------
    def _failed(self, data, ref, obs, base, outcome):
        claimed = self._claim(ref, obs)
        if claimed is None:
            outcome.note = "being handled elsewhere"
            return outcome, None
        record, etag = claimed
        outcome.archive_path = self.store.url(record.archive_prefix or self._prefix(ref, obs))
        done = False
        try:
            if record.finalized:
                outcome.note = "handled earlier"
                outcome.category, outcome.archive_partial = record.category, record.archive_partial
                done = True
                self._release(record, etag)
                return outcome, self._closed_entry(obs, record, base)
            diagnosis: dict[str, Any] | None = None
            if not record.archived:
                diagnosis = self._archive_failed(data, ref, obs, record)
                record.archived = True
                etag = self.runs.update(record, etag)
            if diagnosis is None:
                diagnosis = self._load_json(f"{record.archive_prefix}/diagnosis.json")
            kind = "submission-failed" if obs.state == detect.SUBMISSION_FAILED else "build-failed"
            if not record.sent(kind):
                alert = self._alert(
                    kind, data, ref, obs, record, diagnosis=diagnosis, previously_stuck=record.was_stuck
                )
                self.dispatcher.send(alert)
                # Marked sent (with the run finalized and the claim released) in one write, after send().
                record.alerts_sent[kind] = self.clock().isoformat(timespec="seconds")
                outcome.alerts.append(kind)
            record.finalized = True
            self._cleanup_live(record)
            done = True
            self._release(record, etag)
        finally:
            if not done:
                self._release(record, etag)
        outcome.category, outcome.archive_partial = record.category, record.archive_partial
        return outcome, self._closed_entry(obs, record, base)

    def _closed_entry(self, obs: Observation, record: RunRecord, base: IndexEntry) -> IndexEntry:
        alerted = any(k in record.alerts_sent for k in ("build-failed", "submission-failed"))
        open_failure = record.run_key if alerted else base.open_failure
        return IndexEntry(
            fp=obs.fingerprint,
            active=False,
            run_key=record.run_key,
            open_failure=open_failure,
            open_failure_stuck=record.was_stuck if alerted else base.open_failure_stuck,
            archive_prefix=self.store.url(record.archive_prefix) if record.archive_prefix else None,
            category=record.category,
            partial=record.archive_partial,
        )

    def _archive_failed(self, data, ref, obs, record: RunRecord) -> dict[str, Any]:
        """Copy validation.log and customization.log (diagnosing the latter as it streams), then write
        status.json and diagnosis.json. Returns the diagnosis as a dict."""
        dx = _diagnosis_api()
        prefix = record.archive_prefix
        # A failed submission never built anything: there is no log to look for.
        location = None if obs.state == detect.SUBMISSION_FAILED else self._location(record, obs)
        base_meta = {
            "template_id": ref.id,
            "run_start": record.start_time or "",
            "run_state": obs.run_state or "",
        }
        tags = {"template": ref.name, "state": obs.state}
        validation_key = f"{prefix}/validation.log"
        validation: CopyResult | None = None
        log_result: CopyResult | None = None
        reasons: list[str] = []
        diag_kwargs = {
            "provisioning_state": obs.provisioning_state,
            "provisioning_error": obs.provisioning_error,
            "template": data,
            "rules": self.knowledge,
        }
        copy_modes: dict[str, str] = {}
        if location is not None:
            vsrc = self.staging.blob(location, location.validation_blob, obs.staging_group)
            if vsrc is not None:
                validation = self._server_copy(
                    location,
                    location.validation_blob,
                    validation_key,
                    vsrc,
                    obs.staging_group,
                    base_meta,
                    None,  # tags come with the category below
                )
                copy_modes["validation.log"] = "server" if validation else "streamed"
                if validation is None:
                    validation = copy_streamed(
                        self.store,
                        validation_key,
                        source_chunks(vsrc.client),
                        source_size=vsrc.size,
                        metadata=base_meta,
                        tags=None,  # set with the category below
                    )
            csrc = self.staging.blob(location, location.customization_blob, obs.staging_group)
            if csrc is not None:
                log_key = f"{prefix}/customization.log"
                diag_kwargs["validation_log"] = iter_object(self.store, validation_key) if validation else None
                log_result = self._server_copy(
                    location, location.customization_blob, log_key, csrc, obs.staging_group, base_meta, None
                )
                if log_result is not None:
                    copy_modes["customization.log"] = "server"
                    # Diagnose the archived copy, streamed back (never whole in memory).
                    diagnosis = dx.diagnose(obs.message, log=iter_object(self.store, log_key), **diag_kwargs)
                else:
                    copy_modes["customization.log"] = "streamed"
                    tee = Tee(lambda chunks: dx.diagnose(obs.message, log=chunks, **diag_kwargs))
                    try:
                        log_result = copy_streamed(
                            self.store,
                            log_key,
                            source_chunks(csrc.client),
                            source_size=csrc.size,
                            metadata=base_meta,
                            tags=None,
                            on_chunk=tee.put,
                        )
                    finally:
                        diagnosis = tee.finish()
            else:
                reasons.append("customization.log not found in the staging account")
        else:
            reasons.append("no log location (no URL in the message and no staging storage found)")
        if log_result is None and record.live_parts:
            # The staging log is gone (template deleted) but we snapshotted it while it ran.
            tee = Tee(lambda chunks: dx.diagnose(obs.message, log=chunks, **diag_kwargs))
            try:
                log_result = copy_streamed(
                    self.store,
                    f"{prefix}/customization.log",
                    assemble_parts(self.store, record.live_parts),
                    source_size=None,
                    metadata=base_meta,
                    tags=None,
                    on_chunk=tee.put,
                )
            finally:
                diagnosis = tee.finish()
            log_result.partial, log_result.reason = (
                True,
                "assembled from live snapshots; the staging log was gone",
            )
        if log_result is None:
            diagnosis = dx.diagnose(obs.message, **diag_kwargs)
        for result in (log_result, validation):
            if result is not None and result.partial:
                reasons.append(f"{result.key.rsplit('/', 1)[-1]}: {result.reason}")
        partial = bool(log_result and log_result.partial) or bool(validation and validation.partial)
        diag = diagnosis.to_dict()
        if location is not None and not diag.get("log_url"):
            diag["log_url"] = location.url
        record.category = diag.get("category")
        record.archive_partial = partial
        record.partial_reason = "; ".join(reasons) or None
        record.log_bytes = log_result.written if log_result else None
        tags["category"] = record.category or "unknown"
        meta = {**base_meta, "partial": str(partial).lower(), "category": tags["category"]}
        for result in (log_result, validation):
            if result is not None:
                self.store.set_metadata(result.key, meta, tags)
        status = {
            "template": redacted_status(data, _diagnosis_api().redact),
            "run_key": record.run_key,
            "state": obs.state,
            "archived_at": self.clock().isoformat(timespec="seconds"),
            "partial": partial,
            "partial_reason": record.partial_reason,
            "customization_log": {
                "source": location.url if location else None,
                "bytes": log_result.written if log_result else None,
                "source_bytes": log_result.source_size if log_result else None,
                "verified": log_result.verified if log_result else False,
            },
            "copy": copy_modes,
            "validation_log": {"bytes": validation.written, "source_bytes": validation.source_size}
            if validation
            else None,
        }
        self.store.put(
            f"{prefix}/status.json",
            json_bytes(status),
            metadata=meta,
            tags=tags,
            content_type="application/json",
        )
        self.store.put(
            f"{prefix}/diagnosis.json",
            json_bytes(diag),
            metadata=meta,
            tags=tags,
            content_type="application/json",
        )
        return diag

    def _server_copy(
        self,
        location: LogLocation,
        blob_name: str,
        key: str,
        source: Any,
        staging_group: str | None,
        metadata: dict[str, str],
        tags: dict[str, str],
    ) -> CopyResult | None:
        """Copy Blob from a SAS URL when the archive and the service allow it; None → stream it instead."""
        if self.copy_mode != "auto" or not self._server_copy_ok or not hasattr(self.store, "copy_from_url"):
            return None
        from azure.core.exceptions import HttpResponseError

        try:
            url = self.staging.sas_url(location, blob_name, staging_group)
            size = self.store.copy_from_url(key, url, metadata=metadata, tags=tags)
        except (HttpResponseError, TimeoutError) as exc:
            code = getattr(exc, "error_code", None) or getattr(exc, "status_code", None) or type(exc).__name__
            if not is_vanished(exc):
                # The service (or our rights) do not allow it: stream from now on.
                self._server_copy_ok = False
            log.info("server-side copy of %s not possible (%s); streaming it", blob_name, code)
            return None
        result = CopyResult(key=key, written=size, source_size=source.size)
        if size != source.size:
            result.partial, result.reason = True, f"copied {size} bytes but the source had {source.size}"
        result.verified = not result.partial
        return result

    def _location(self, record: RunRecord, obs: Observation) -> LogLocation | None:
        if record.log_account_url and record.log_folder:
            known = LogLocation(record.log_account_url, record.log_folder, record.log_container or "packerlogs")
            from_message = self.staging.locate(obs.message, None)
            return from_message or known
        location = self.staging.locate(obs.message, obs.staging_group, template_id=record.template_id)
        if location is not None:
            record.log_account_url, record.log_folder, record.log_container = (
                location.account_url,
                location.folder,
                location.container,
            )
        return location

    def _load_json(self, key: str) -> dict[str, Any] | None:
        import json

        obj = self.store.get(key)
        return json.loads(obj.data) if obj is not None else None

    def _cleanup_live(self, record: RunRecord) -> None:
        for _offset, _length, key in record.live_parts:
            try:
                self.store.delete(key)
            except Exception:
                log.warning("could not delete live snapshot %s", key, exc_info=True)
        record.live_parts = []

    # -- running build ---------------------------------------------------------------------------------------
    def _running(self, data, ref, obs, base, outcome):
        claimed = self._claim(ref, obs)
        if claimed is None:
            outcome.note = "being handled elsewhere"
            return outcome, None
        record, etag = claimed
        now = self.clock()
        outcome.archive_path = self.store.url(record.archive_prefix)
        try:
            tail, grown_at = self._snapshot(record, obs, now)
            # The analysis runs even past the timeout: what the build waits on is the alert's category.
            analysis = None
            if grown_at is not None:
                analysis = self._analyze(tail, _minutes_between(grown_at, now), obs, now)
                quiet_since = detect.content_last_activity(analysis, now)
                if quiet_since is not None and quiet_since < grown_at:
                    grown_at = quiet_since  # the log's own clock knows it has been silent longer
                    analysis = self._analyze(tail, _minutes_between(grown_at, now), obs, now)
            verdict = detect.stuck_by_timeout(obs, now, self.settings.timeout_grace_minutes)
            if verdict is None and grown_at is not None:
                verdict = detect.stuck_by_analysis(analysis) or detect.stuck_by_growth(
                    grown_at, now, self.settings.stuck_after_minutes
                )
            if verdict is not None:
                record.stuck_rule, record.stuck_detail = verdict.rule, verdict.detail
                outcome.stuck_reason = f"{verdict.rule}: {verdict.detail}"
                first = detect.parse_time(record.stuck_first_alert_at)
                kind = detect.stuck_alert_due(
                    first,
                    detect.parse_time(record.stuck_last_alert_at),
                    now,
                    self.settings.stuck_repeat_hours,
                )
                if kind is not None:
                    sequence = record.stuck_alerts
                    diagnosis = self._stuck_diagnosis(verdict, analysis, ref)
                    self._write_stuck_status(data, record, verdict, diagnosis, now)
                    alert = self._alert(
                        kind,
                        data,
                        ref,
                        obs,
                        record,
                        diagnosis=diagnosis,
                        stuck_reason=outcome.stuck_reason,
                        run_key=record.run_key if sequence == 0 else f"{record.run_key}#{sequence}",
                    )
                    self.dispatcher.send(alert)
                    stamp = now.isoformat(timespec="seconds")
                    record.alerts_sent[kind if sequence == 0 else f"{kind}#{sequence}"] = stamp
                    record.stuck_alerts += 1
                    record.stuck_first_alert_at = record.stuck_first_alert_at or stamp
                    record.stuck_last_alert_at = stamp
                    record.category = diagnosis.get("category")
                    outcome.alerts.append(kind)
            outcome.category = record.category
        finally:
            self._release(record, etag)
        entry = IndexEntry(
            fp=obs.fingerprint,
            active=True,
            run_key=record.run_key,
            open_failure=base.open_failure,
            open_failure_stuck=base.open_failure_stuck,
            archive_prefix=self.store.url(record.archive_prefix),
            category=record.category,
        )
        return outcome, entry

    def _snapshot(self, record: RunRecord, obs: Observation, now: datetime) -> tuple[str, datetime | None]:
        """Save what is new in the live log; return its tail (text) and when it last grew."""
        tail = b""
        size: int | None = None
        location = self._location(record, obs)
        source = self.staging.blob(location, location.customization_blob, obs.staging_group) if location else None
        if source is not None:
            snap = snapshot_live(self.store, record.archive_prefix, source.client, source.size, record.live_offset)
            if snap.part_key:
                record.live_parts.append([record.live_offset, snap.offset - record.live_offset, snap.part_key])
            record.live_offset, tail, size = snap.offset, snap.tail, source.size
            modified = source.last_modified
        else:
            modified = None
        container_text = self.staging.container_log(obs.staging_group)
        if container_text:
            digest = hashlib.sha256(container_text.encode()).hexdigest()[:16]
            if digest != record.container_log_digest:  # write only what changed
                self.store.put(f"{record.archive_prefix}/container.log", container_text.encode())
                record.container_log_digest = digest
            if size is None:
                size, tail = len(container_text), container_text[-64 * 1024 :].encode()
        if size is None:
            return "", detect.parse_time(record.last_growth_at)
        if record.log_size_seen is None:
            first = min(now, modified) if modified is not None else now
            record.last_growth_at = first.isoformat(timespec="seconds")
        elif size != record.log_size_seen:
            record.last_growth_at = now.isoformat(timespec="seconds")
        record.log_size_seen = size
        return tail.decode("utf-8", "replace"), detect.parse_time(record.last_growth_at)

    def _analyze(self, tail: str, minutes_idle: float, obs: Observation, now: datetime) -> Any:
        if not tail:
            return None
        # Time left until the timeout rule fires (timeout + grace); after that, that rule speaks instead.
        remaining = detect.minutes_remaining(obs, now, self.settings.timeout_grace_minutes)
        if remaining is not None:
            remaining += self.settings.timeout_grace_minutes
            remaining = remaining if remaining > 0 else None
        try:
            # AIB log timestamps are UTC: our clock measures how long a step (e.g. a download whose progress
            # lines carry no time) has really run, which the log's own clock cannot tell.
            return _diagnosis_api().analyze_running(tail, minutes_idle, minutes_remaining=remaining, now=now)
        except Exception:
            log.exception("running-build analysis failed; the other stuck rules still apply")
            return None

    def _write_stuck_status(
        self,
        data: dict[str, Any],
        record: RunRecord,
        verdict: detect.StuckVerdict,
        diagnosis: dict[str, Any],
        now: datetime,
    ) -> None:
        """What a stuck run looks like when announced: status.json and diagnosis.json beside its live snapshots."""
        tags = {"template": record.template_name, "state": "stuck", "category": diagnosis.get("category") or ""}
        status = {
            "template": redacted_status(data, _diagnosis_api().redact),
            "run_key": record.run_key,
            "state": "running",
            "stuck": {"rule": verdict.rule, "detail": verdict.detail, "at": now.isoformat(timespec="seconds")},
            "live_log_bytes": record.live_offset,
            "live_parts": [key for _offset, _length, key in record.live_parts],
        }
        prefix = record.archive_prefix
        self.store.put(f"{prefix}/status.json", json_bytes(status), tags=tags, content_type="application/json")
        self.store.put(f"{prefix}/diagnosis.json", json_bytes(diagnosis), tags=tags, content_type="application/json")

    def _stuck_diagnosis(self, verdict: detect.StuckVerdict, analysis: Any, ref: TemplateRef) -> dict[str, Any]:
        """A stuck run's diagnosis: what the live log shows it waits on, with the knowledge base's cause and
        remediation for that category (``build-timeout`` past the timeout when the log says nothing more)."""
        from diagnosis.categories import CATEGORIES
        from diagnosis.model import PHASES, Diagnosis

        data = analysis.to_dict() if analysis is not None else {}
        category = data.get("category") or ("build-timeout" if verdict.rule == "timeout" else "unknown")
        # A build still waiting for SSH/WinRM is the plain connection case, not a private-link misconfiguration.
        prefer = ("communicator-timeout",) if data.get("waiting_on") == "connection" else ()
        rule = self.knowledge.for_category(category, prefer)
        summaries = {
            "timeout": "Image Builder has not ended a run that is past its timeout; cancel it "
            "(az image builder cancel) and look at the live log snapshot.",
            "no-growth": "The build log has stopped growing: the build waits on something that may never come.",
        }
        stop_first = (
            f"Cancel the run (az image builder cancel -n {ref.name} -g {ref.resource_group}) rather than waiting "
            "for buildTimeoutInMinutes; the live log is archived."
        )
        diag = Diagnosis(
            category=category,
            title=CATEGORIES[category].title if category in CATEGORIES else category,
            summary=data.get("detail") or summaries.get(verdict.rule) or verdict.detail,
            cause=f"Stuck ({verdict.rule}): {verdict.detail}." + (f" {rule.cause}" if rule else ""),
            remediation=[stop_first, *(rule.remediation if rule else ())],
            phase=rule.phase if rule and rule.phase in PHASES else "unknown",
            confidence=0.5 if analysis is not None else 0.3,
            evidence=list(getattr(analysis, "evidence", []) or []),
            doc=rule.doc_url if rule else None,
            rule_id=rule.id if rule else None,
        )
        return diag.to_dict()

    # -- succeeded -------------------------------------------------------------------------------------------
    def _succeeded(self, data, ref, obs, base, outcome):
        watched = base.active and base.run_key == obs.run_key
        recovering = base.open_failure is not None and base.open_failure != obs.run_key
        if not watched and not recovering:
            return outcome, IndexEntry(fp=obs.fingerprint, run_key=obs.run_key)
        claimed = self._claim(ref, obs)
        if claimed is None:
            outcome.note = "being handled elsewhere"
            return outcome, None
        record, etag = claimed
        try:
            previously_stuck = record.was_stuck or (recovering and base.open_failure_stuck)
            if (recovering or record.was_stuck) and not record.sent("recovered"):
                alert = self._alert(
                    "recovered", data, ref, obs, record, diagnosis=None, previously_stuck=previously_stuck
                )
                self.dispatcher.send(alert)
                record.alerts_sent["recovered"] = self.clock().isoformat(timespec="seconds")
                outcome.alerts.append("recovered")
            record.finalized = True
            self._cleanup_live(record)
        finally:
            self._release(record, etag)
        return outcome, IndexEntry(fp=obs.fingerprint, run_key=obs.run_key)

    # -- deleted while active --------------------------------------------------------------------------------
    def _template_deleted(self, template_id_lower: str, entry: IndexEntry) -> TemplateOutcome:
        record, etag = self.runs.load(entry.run_key or "")
        ref = TemplateRef.parse(record.template_id if record else template_id_lower)
        outcome = TemplateOutcome(ref.id, ref.name, ref.resource_group, "deleted", run_key=entry.run_key)
        if record is None or record.finalized:
            return outcome
        claimed = self.runs.claim(record)
        if claimed is None:
            outcome.note = "being handled elsewhere"
            return outcome
        record, etag = claimed
        try:
            if record.live_parts and not record.archived:
                key = f"{record.archive_prefix}/customization.log"
                result = copy_streamed(self.store, key, assemble_parts(self.store, record.live_parts), source_size=None)
                meta = {"template_id": ref.id, "partial": "true", "run_start": record.start_time or ""}
                self.store.set_metadata(key, meta, {"template": ref.name, "state": "deleted"})
                status = {
                    "run_key": record.run_key,
                    "state": "deleted",
                    "partial": True,
                    "partial_reason": "the template was deleted while the build ran; log assembled from live snapshots",
                    "bytes": result.written,
                }
                self.store.put(
                    f"{record.archive_prefix}/status.json",
                    json_bytes(status),
                    metadata=meta,
                    content_type="application/json",
                )
                record.archived, record.archive_partial = True, True
                self._cleanup_live(record)
            record.state, record.finalized = "deleted", True
            outcome.archive_path = self.store.url(record.archive_prefix)
            outcome.archive_partial = record.archive_partial
        finally:
            self._release(record, etag)
        return outcome

    # -- alerts ----------------------------------------------------------------------------------------------
    def _alert(
        self,
        kind: str,
        data: dict[str, Any],
        ref: TemplateRef,
        obs: Observation,
        record: RunRecord,
        *,
        diagnosis: dict[str, Any] | None,
        previously_stuck: bool = False,
        stuck_reason: str | None = None,
        run_key: str | None = None,
    ) -> Any:
        from monitor.alerts.model import Alert

        redact = _diagnosis_api().redact
        end = obs.end_time
        duration = None
        if obs.start_time is not None:
            duration = round(((end or self.clock()) - obs.start_time).total_seconds() / 60, 1)
        prefix = record.archive_prefix
        has_log = record.archived and record.log_bytes is not None
        return Alert(
            kind=kind,
            template_id=ref.id,
            template_name=ref.name,
            resource_group=ref.resource_group,
            subscription_id=ref.subscription_id,
            location=data.get("location"),
            run_key=run_key or record.run_key,
            run_state=obs.run_state,
            run_sub_state=obs.run_sub_state,
            start_time=detect.iso(obs.start_time),
            end_time=detect.iso(end),
            duration_minutes=duration,
            status_message=redact(obs.message) if obs.message else None,
            diagnosis=diagnosis,
            stuck_reason=stuck_reason,
            previously_stuck=previously_stuck,
            portal_url=PORTAL + ref.id,
            log_url=self.store.url(f"{prefix}/customization.log") if has_log else None,
            archive_url=self.store.url(prefix) if prefix else None,
            archive_partial=record.archive_partial,
            doc_url=(diagnosis or {}).get("doc"),
        )


def _minutes_between(earlier: datetime, later: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds() / 60)


def iter_rows(report: SweepReport) -> Iterator[TemplateOutcome]:
    yield from sorted(report.rows, key=lambda r: (r.resource_group.lower(), r.name.lower()))
