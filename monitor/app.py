"""The monitor's entry points: ``Monitor.sweep()`` (every watched template of the subscription, under the sweep
lease) and ``Monitor.check_template()`` / ``check_staging_group()`` (one template, because an Event Grid event
said it changed). Each lists or reads templates and hands every one to ``monitor.handlers.handle``, which acts on
its state. ``Monitor`` is a context manager: leaving the ``with`` block closes its Azure clients.

A sweep hands templates to SWEEP_WORKERS threads (a slow staging account holds one of them, not the sweep) and
stops starting or waiting for templates when SWEEP_BUDGET_MINUTES is spent; those are reported as errors and the
next sweep looks at them again (run claims keep the work exactly-once meanwhile).

A run's path: app.py (list) → observe.py (what state) → handlers/<state>.py (claim the run in runs.py, copy and
diagnose in archive/, stuck rules in stuck.py, alert) → runs.py (record and sweep index written).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.azure.clients import RESOURCES_API, AzureClients, RequestCounts
from monitor.azure.errors import describe, is_transient
from monitor.azure.ids import TemplateRef, template_id
from monitor.azure.staging import StagingLogs
from monitor.deadline import requests_until
from monitor.events.routing import is_staging_group
from monitor.handlers import handle
from monitor.handlers.context import Toolkit
from monitor.handlers.deleted import handle_deleted
from monitor.observe import staging_group_name
from monitor.report import SweepReport, TemplateOutcome
from monitor.runs import SWEEP_LEASE_KEY, IndexEntry, RunStore, SweepIndex, now_utc
from monitor.settings import Settings, SettingsError
from monitor.storage.base import LeaseUnavailable, ObjectStore

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
SWEEP_WORKERS = 4  # templates handled at once
BUDGET_SPENT = "not finished within the sweep budget (SWEEP_BUDGET_MINUTES); the next sweep looks again"


@dataclass
class _Slot:
    """One listed template on its way through a sweep: handled by a worker (``future``), or an error row, or
    skipped by TEMPLATE_FILTER; ``ref`` is None for an unreadable id."""

    ref: TemplateRef | None
    future: Future[tuple[TemplateOutcome, IndexEntry | None]] | None = None
    error: str | None = None
    skipped: bool = False


def _keep_renewing(lease: Any, stop: threading.Event) -> None:
    """Renew the sweep lease every third of its duration until the sweep ends (a long copy outlives it)."""
    while not stop.wait(LEASE_SECONDS / 3):
        try:
            lease.renew()
        except Exception:
            log.warning("could not renew the sweep lease", exc_info=True)


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
        self.clients = clients
        self.store = store
        self.clock = clock
        self.toolkit = Toolkit(
            settings=settings,
            store=store,
            runs=RunStore(store, clock),
            staging=StagingLogs(clients, settings.staging_log_auth),
            clock=clock,
            copy_mode=copy_mode,
            _dispatcher=dispatcher,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        credential: Any = None,
        *,
        dispatcher: Any = None,
        clock: Callable[[], datetime] | None = None,
        copy_mode: str = "auto",
        dry_run: bool = False,
    ) -> Monitor:
        """The monitor the settings describe. ``dry_run``: it reads the archive but writes nothing there (a
        ``DryRunStore`` overlay) and sends nothing (a ``DryRunDispatcher`` that records what it would send)."""
        from monitor.storage.factory import open_store

        clients = AzureClients(settings, credential)
        store = open_store(settings, clients)
        if dry_run:
            from monitor.alerts import AlertDispatcher
            from monitor.alerts.dryrun import DryRunDispatcher
            from monitor.storage.dryrun import DryRunStore

            store = DryRunStore(store)
            dispatcher = DryRunDispatcher(AlertDispatcher.from_settings(settings, store))
        monitor = cls(settings, clients, store, dispatcher, clock=clock or now_utc, copy_mode=copy_mode)
        if settings.diagnosis_rules:  # the user's rule files: a bad one fails at start-up, naming the setting
            from diagnosis.rules import KnowledgeBaseError

            try:
                _ = monitor.toolkit.knowledge
            except KnowledgeBaseError as exc:
                monitor.close()
                raise SettingsError("DIAGNOSIS_RULES", str(exc)) from None
        return monitor

    @property
    def counts(self) -> RequestCounts:
        return self.clients.counts

    def close(self) -> None:
        self.clients.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- sweep -----------------------------------------------------------------------------------------------
    def sweep(self) -> SweepReport:
        """One pass over every (filtered) template, under the sweep lease.

        The first page of the template list is asked before anything is written: when ARM cannot be reached or
        refuses the credential, the sweep ends there (``report.list_error``), having created nothing (no lease,
        no outbox flush; the next sweep does both)."""
        started, before = time.monotonic(), self.counts.copy()
        report = SweepReport()
        listing = self.clients.list_templates()
        try:
            first = next(listing, None)
        except Exception as exc:
            # Reported in report.errors (the timer function logs them, the CLI prints one line).
            log.info("listing image templates failed", exc_info=True)
            report.errors.append(f"listing templates: {type(exc).__name__}: {exc}")
            report.list_error = exc
        if report.list_error is None:
            deadline = started + self.settings.sweep_budget_minutes * 60
            try:
                with self.store.lease(SWEEP_LEASE_KEY, LEASE_SECONDS) as lease:
                    self._sweep(report, lease, first, listing, deadline)
            except LeaseUnavailable:
                log.info("another sweep holds the lease; skipping this one")
                report.skipped_lease = True
        spent = self.counts - before
        report.arm_requests, report.storage_requests = spent.arm, spent.storage
        report.request_paths = spent.by_path
        report.seconds = time.monotonic() - started
        return report

    def _sweep(self, report: SweepReport, lease: Any, first: Any, listing: Any, deadline: float) -> None:
        try:
            report.outbox = self.toolkit.dispatcher.flush_outbox()
        except Exception as exc:  # the outbox must not stop the sweep
            log.exception("alert outbox flush failed")
            report.errors.append(f"outbox: {exc}")
        index = SweepIndex(self.store).load()
        seen: set[str] = set()
        slots: list[_Slot] = []  # one per listed template, in list order
        listed_all = False
        stop = threading.Event()
        renewer = threading.Thread(target=_keep_renewing, args=(lease, stop), name="sweep-lease", daemon=True)
        renewer.start()
        # Templates are handled concurrently (a slow staging account holds one worker, not the sweep).
        pool = ThreadPoolExecutor(max_workers=SWEEP_WORKERS, thread_name_prefix="sweep-template")
        try:
            for template in listing if first is None else _chain(first, listing):
                report.listed += 1
                slots.append(self._submit(pool, template.as_dict(), index, seen, deadline))
                if time.monotonic() > deadline:
                    report.errors.append(f"listing templates: stopped after {report.listed}: {BUDGET_SPENT}")
                    break
            else:
                listed_all = True
        except Exception as exc:  # ARM list failed mid-way: keep what was done, forget nothing
            log.exception("listing image templates failed")
            report.errors.append(f"listing templates: {type(exc).__name__}: {exc}")
        try:
            changes = self._collect(slots, index, report, deadline)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            stop.set()
            renewer.join()
        # Templates that are gone: assemble the snapshots of a run that was still active, then forget them.
        for tid, entry in list(index.entries.items()) if listed_all else ():
            if tid in seen:
                continue
            if entry.active and entry.run_key:
                try:
                    report.rows.append(handle_deleted(self.toolkit, tid, entry))
                except Exception as exc:
                    log.exception("finalizing deleted template %s failed", tid)
                    report.errors.append(f"{tid}: {type(exc).__name__}: {exc}")
                    continue
            changes[tid] = None
        index.apply(changes)

    def _submit(
        self, pool: ThreadPoolExecutor, data: dict[str, Any], index: SweepIndex, seen: set[str], deadline: float
    ) -> _Slot:
        """Hand one listed template to a worker; a template that cannot be handled gets its row (or nothing)."""
        full = self._full(data)
        if isinstance(full, _Slot):
            seen.add(full.ref.id.lower())  # kept as seen (not deleted) for the next sweep
            return full
        try:
            ref = TemplateRef.parse(full.get("id") or "")
        except ValueError as exc:
            return _Slot(None, error=str(exc))
        if not self.settings.template_filter.matches(ref.resource_group, ref.name, full.get("tags")):
            return _Slot(ref, skipped=True)
        seen.add(ref.id.lower())
        return _Slot(ref, future=pool.submit(self._handle_by, deadline, full, ref, index.get(ref.id)))

    def _handle_by(
        self, deadline: float, data: dict[str, Any], ref: TemplateRef, entry: IndexEntry | None
    ) -> tuple[TemplateOutcome, IndexEntry | None]:
        """``handle`` in a worker, sending no Azure request after the sweep's deadline."""
        with requests_until(deadline):
            return handle(self.toolkit, data, ref, entry)

    def _collect(
        self, slots: list[_Slot], index: SweepIndex, report: SweepReport, deadline: float
    ) -> dict[str, IndexEntry | None]:
        """The rows of every template in list order, waiting for each until the sweep deadline; the index
        changes they make."""
        changes: dict[str, IndexEntry | None] = {}
        for slot in slots:
            ref = slot.ref
            if slot.skipped:
                continue
            if ref is None:
                report.errors.append(slot.error or "")
                continue
            if slot.future is None:
                report.errors.append(f"{ref.id}: {slot.error}")
                report.rows.append(TemplateOutcome(ref.id, ref.name, ref.resource_group, "error", error=slot.error))
                continue
            try:
                outcome, entry = slot.future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                slot.future.cancel()  # not started: nothing done; started: it finishes on its own, claim-safe
                error = BUDGET_SPENT
                log.warning("template %s: %s", ref.id, error)
                report.errors.append(f"{ref.id}: {error}")
                report.rows.append(TemplateOutcome(ref.id, ref.name, ref.resource_group, "error", error=error))
                continue
            except Exception as exc:  # isolate one template's failure; the next sweep retries it
                error = describe(exc)
                if is_transient(exc):  # an unhealthy account or endpoint: one line, the traceback at debug
                    log.warning("template %s: %s", ref.id, error)
                    log.debug("template %s failed", ref.id, exc_info=exc)
                else:
                    log.error("template %s failed", ref.id, exc_info=exc)
                report.errors.append(f"{ref.id}: {error}")
                report.rows.append(TemplateOutcome(ref.id, ref.name, ref.resource_group, "error", error=error))
                continue
            if outcome.note == "unchanged":
                report.unchanged += 1
            report.rows.append(outcome)
            if entry is not None and entry != index.get(ref.id):
                changes[ref.id.lower()] = entry
        return changes

    def _full(self, data: dict[str, Any]) -> dict[str, Any] | _Slot:
        """A listed template as the list gave it; a stand-in whose list omits the properties costs one GET for
        that template. An error slot when that GET fails."""
        props = data.get("properties")
        # A full resource has its required source/distribute or a status; a summary has none of them.
        if isinstance(props, dict) and any(k in props for k in ("provisioningState", "lastRunStatus", "source")):
            return data
        try:
            ref = TemplateRef.parse(data.get("id") or "")
        except ValueError:
            return data  # _submit reports the bad id
        try:
            got = self.clients.imagebuilder.virtual_machine_image_templates.get(ref.resource_group, ref.name)
        except Exception as exc:
            return _Slot(ref, error=f"listed without status; GET failed: {type(exc).__name__}: {exc}")
        return got.as_dict()

    # -- one template ----------------------------------------------------------------------------------------
    def check_template(self, resource_id: str) -> TemplateOutcome | None:
        """Look at one template now (an Event Grid event said it changed). Transient Azure errors propagate."""
        from azure.core.exceptions import ResourceNotFoundError

        ref = TemplateRef.parse(resource_id)
        if ref.subscription_id.lower() != self.clients.subscription_id.lower():
            log.info("template %s is in another subscription; ignored", ref.id)
            return None
        try:
            template = self.clients.imagebuilder.virtual_machine_image_templates.get(ref.resource_group, ref.name)
        except ResourceNotFoundError:
            index = SweepIndex(self.store).load()
            entry = index.get(ref.id)
            if entry is not None and entry.active and entry.run_key:
                outcome = handle_deleted(self.toolkit, ref.id.lower(), entry)
                index.apply({ref.id.lower(): None})
                return outcome
            return None
        data = template.as_dict()
        if not self.settings.template_filter.matches(ref.resource_group, ref.name, data.get("tags")):
            log.debug("template %s does not match TEMPLATE_FILTER", ref.id)
            return None
        index = SweepIndex(self.store).load()
        old = index.get(ref.id)
        outcome, entry = handle(self.toolkit, data, ref, old)
        if entry is not None and entry != old:
            index.apply({ref.id.lower(): entry})
        return outcome

    def check_staging_group(self, subscription_id: str, group_name: str) -> TemplateOutcome | None:
        """A staging group changed or a build in it ended: find its template (a template's own staging group
        from the sweep index, the group's Image Builder tags, else for ``IT_`` groups exactStagingResourceGroup).
        Any other group (a VM deleted elsewhere) costs one index read and one group read, never a template list."""
        if subscription_id.lower() != self.clients.subscription_id.lower():
            return None
        custom = not is_staging_group(group_name)
        if custom:
            known = SweepIndex(self.store).load().entries.items()
            wanted = group_name.lower()
            owner = next((tid for tid, e in known if (e.custom_staging_group or "").lower() == wanted), None)
            if owner is not None:
                return self.check_template(owner)
        path = f"/subscriptions/{subscription_id}/resourcegroups/{group_name}"
        staging = self.toolkit.staging
        # Gone, or a stand-in without the route: fall back to the exactStagingResourceGroup search below.
        group = staging.optional_arm("resourceGroups.get", lambda: self.clients.arm_get(path, RESOURCES_API), {})
        tags = {k.lower(): v for k, v in (group.get("tags") or {}).items()}
        name, rg = tags.get("imagetemplatename"), tags.get("imagetemplateresourcegroupname")
        if name and rg:
            return self.check_template(template_id(subscription_id, rg, name))
        if custom:
            log.debug("resource group %s is not the staging group of a watched template", group_name)
            return None
        for template in self.clients.list_templates():
            data = template.as_dict()
            exact = (data.get("properties") or {}).get("exactStagingResourceGroup")
            if (staging_group_name(exact) or "").lower() == group_name.lower():
                return self.check_template(data["id"])
        return None


def _chain(first: Any, rest: Any) -> Any:
    yield first
    yield from rest
