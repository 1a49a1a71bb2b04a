"""One handler per state a template's last run can be in: failed.py (failed run or submission), running.py,
succeeded.py, deleted.py (template deleted while its run was active). ``handle`` observes a template and hands
it to the handler of its state; each returns the outcome row and the new sweep index entry (None: leave it)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from monitor.azure.ids import TemplateRef
from monitor.events.routing import is_staging_group
from monitor.handlers.context import Look, Toolkit
from monitor.handlers.failed import handle_failed
from monitor.handlers.running import handle_running
from monitor.handlers.succeeded import handle_succeeded
from monitor.observe import IDLE, RUNNING, SUCCEEDED, Observation, observe
from monitor.report import TemplateOutcome
from monitor.runs import IndexEntry


def handle(
    tk: Toolkit, template: dict[str, Any], ref: TemplateRef, entry: IndexEntry | None
) -> tuple[TemplateOutcome, IndexEntry | None]:
    """Observe ``template`` and act on its state; ``entry`` is what the sweep index remembered of it. A template
    whose status did not change since it was last fully handled costs nothing more. The index also remembers a
    template's own staging group, so the end of a build there is recognised (``Monitor.check_staging_group``)."""
    obs = observe(template)
    outcome, new = _handle_state(tk, template, ref, entry, obs)
    custom = obs.staging_group if obs.staging_group and not is_staging_group(obs.staging_group) else None
    if new is not None and new.custom_staging_group != custom:
        new = replace(new, custom_staging_group=custom)
    return outcome, new


def _handle_state(
    tk: Toolkit, template: dict[str, Any], ref: TemplateRef, entry: IndexEntry | None, obs: Observation
) -> tuple[TemplateOutcome, IndexEntry | None]:
    outcome = TemplateOutcome(ref.id, ref.name, ref.resource_group, obs.state, obs.run_state, obs.run_key)
    if entry is not None and entry.run_key == obs.run_key:
        outcome.archive_path, outcome.category = entry.archive_prefix, entry.category
        outcome.archive_partial = entry.partial
    if entry is not None and entry.fp == obs.fingerprint and not entry.active:
        outcome.note = "unchanged"
        return outcome, entry
    base = entry or IndexEntry()
    if obs.state == IDLE:
        return outcome, IndexEntry(
            fp=obs.fingerprint, open_failure=base.open_failure, open_failure_stuck=base.open_failure_stuck
        )
    look = Look(template, ref, obs, base, outcome)
    if obs.state == RUNNING:
        return handle_running(tk, look)
    if obs.state == SUCCEEDED:
        return handle_succeeded(tk, look)
    return handle_failed(tk, look)
