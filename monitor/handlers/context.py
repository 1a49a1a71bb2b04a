"""What every state handler works with: the ``Toolkit`` (settings, archive store, run records, staging logs,
clock, knowledge base, alert dispatcher; one per Monitor) and the ``Look`` (one template, as seen now: its ARM
JSON, its reference, the observation, what the sweep index remembered, and the outcome row being filled in)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from diagnosis.times import iso
from monitor.archive.layout import run_prefix
from monitor.azure.ids import TemplateRef
from monitor.azure.staging import LogLocation, StagingLogs
from monitor.observe import Observation
from monitor.report import TemplateOutcome
from monitor.runs import Claim, IndexEntry, RunRecord, RunStore
from monitor.settings import Settings
from monitor.storage.base import ObjectStore
from monitor.stuck import StuckPolicy

log = logging.getLogger(__name__)

@dataclass
class Toolkit:
    settings: Settings
    store: ObjectStore
    runs: RunStore
    staging: StagingLogs
    clock: Callable[[], datetime]
    copy_mode: str = "auto"  # auto: server-side Copy Blob where allowed, else streamed; stream: always streamed
    server_copy_ok: bool = True  # cleared once the service refuses a server-side copy: stream from then on
    _knowledge: Any = None
    _dispatcher: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def stuck_policy(self) -> StuckPolicy:
        return StuckPolicy.from_settings(self.settings)

    @property
    def knowledge(self) -> Any:
        """The knowledge base (built-in entries + DIAGNOSIS_RULES), loaded and validated once."""
        with self._lock:
            if self._knowledge is None:
                import diagnosis  # on first use: loading the knowledge base takes a moment

                self._knowledge = diagnosis.load_knowledge_base(self.settings.diagnosis_rules, use_env=False)
            return self._knowledge

    @property
    def dispatcher(self) -> Any:
        with self._lock:
            if self._dispatcher is None:
                from monitor.alerts import AlertDispatcher

                self._dispatcher = AlertDispatcher.from_settings(self.settings, self.store)
            return self._dispatcher

    def now_text(self) -> str:
        return self.clock().isoformat(timespec="seconds")

    def url(self, key: str | None) -> str | None:
        return self.store.url(key) if key else None

    def load_json(self, key: str) -> dict[str, Any] | None:
        obj = self.store.get(key)
        return json.loads(obj.data) if obj is not None else None

    def cleanup_live(self, record: RunRecord) -> None:
        """Delete a run's live snapshots (their content is in the archived log, or no longer needed)."""
        for _offset, _length, key in record.live_parts:
            try:
                self.store.delete(key)
            except Exception:
                log.warning("could not delete live snapshot %s", key, exc_info=True)
        record.live_parts = []

    def locate(self, record: RunRecord, obs: Observation) -> LogLocation | None:
        """Where the run's log is: the message's URL, else what the record remembers, else a search of the
        staging group (remembered in the record)."""
        if record.log_account_url and record.log_folder:
            known = LogLocation(record.log_account_url, record.log_folder, record.log_container or "packerlogs")
            return self.staging.locate(obs.message, None) or known
        location = self.staging.locate(obs.message, obs.staging_group, template_id=record.template_id)
        if location is not None:
            record.log_account_url, record.log_folder = location.account_url, location.folder
            record.log_container = location.container
        return location


@dataclass
class Look:
    """One template as seen now, handed to the handler of its state."""

    template: dict[str, Any]  # the ARM JSON (ImageTemplate.as_dict())
    ref: TemplateRef
    obs: Observation
    base: IndexEntry  # what the sweep index remembered (empty when nothing)
    outcome: TemplateOutcome

    def fresh_record(self) -> RunRecord:
        """The run's record as it is created when nobody has handled the run yet."""
        return RunRecord(
            run_key=self.obs.run_key or "",
            template_id=self.ref.id,
            template_name=self.ref.name,
            resource_group=self.ref.resource_group,
            subscription_id=self.ref.subscription_id,
            state=self.obs.state,
            run_state=self.obs.run_state,
            start_time=iso(self.obs.start_time),
            end_time=iso(self.obs.end_time),
            archive_prefix=run_prefix(self.ref, self.obs),
        )


@contextmanager
def run_claim(tk: Toolkit, look: Look) -> Iterator[Claim | None]:
    """The claim on the observed run (None, and the outcome noted, when another worker holds it), with the
    record brought up to date with what was just observed."""
    with tk.runs.claimed(look.fresh_record()) as claim:
        if claim is None:
            look.outcome.note = "being handled elsewhere"
        else:
            record = claim.record
            record.state, record.run_state, record.end_time = look.obs.state, look.obs.run_state, iso(look.obs.end_time)
        yield claim
