"""What ``LocalCloud`` does to a template's served state between runs: its fields, its ``lastRunStatus`` as Image
Builder moves a run along, the failure message naming the run's log, and the staging container group whose logs
hold a running build's live output."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from .armstate import ArmState, ContainerGroup, resource_key
from .templates import LocalTemplate, UnknownTemplate, next_run_status, provisioning_error_body, run_outputs


class TemplateRuns:
    """``LocalCloud``'s run-status and container-log methods; the cloud provides ``state`` and the lookups
    declared here."""

    state: ArmState

    if TYPE_CHECKING:

        def template(self, template_id: str) -> LocalTemplate: ...

        def staging_blob_url(self, template_id: str, path: str) -> str: ...

    def update_template(
        self,
        template_id: str,
        *,
        provisioning_state: str | None = None,
        provisioning_error: dict[str, Any] | str | None = None,
        properties: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        """Change served fields (``properties`` merged shallowly; ``provisioning_error=""`` removes it)."""
        t = self.template(template_id)
        with self.state.lock:
            body = self.state.template(t.subscription_id, t.resource_group, t.name)
            if body is None:
                raise UnknownTemplate(template_id)
            props = body["properties"]
            props.update(properties or {})
            if provisioning_state is not None:
                props["provisioningState"] = provisioning_state
            if provisioning_error == "":
                props.pop("provisioningError", None)
            elif provisioning_error is not None:
                props["provisioningError"] = provisioning_error_body(provisioning_error)
            if tags is not None:
                body["tags"] = dict(tags)

    def set_run_status(
        self,
        template_id: str,
        run_state: str = "Running",
        run_sub_state: str | None = None,
        message: str = "",
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        *,
        new_run: bool = False,
    ) -> dict[str, Any]:
        """Set ``lastRunStatus`` (returns it). Running/Canceling runs get ``endTime`` 0001-01-01.

        ``startTime``: ``start_time`` when given; otherwise the previous run's start is kept (the same run
        moving on, e.g. Running -> Failed, or the same state set again), while Running after a finished run,
        a finished state other than the last one (Failed -> Succeeded) or ``new_run=True`` start a new run
        now. ``new_run=True`` also starts a new log folder (``t.log_blob_path`` changes). A
        Succeeded run gets run outputs for every ``distribute`` target."""
        t = self.template(template_id)
        if new_run:
            t.log_folder = uuid.uuid4().hex[:8]
        with self.state.lock:
            body = self.state.template(t.subscription_id, t.resource_group, t.name)
            if body is None:
                raise UnknownTemplate(template_id)
            previous = body["properties"].get("lastRunStatus") or {}
            status = next_run_status(previous, run_state, run_sub_state, message, start_time, end_time, new_run=new_run)
            body["properties"]["lastRunStatus"] = status
            key = resource_key(t.subscription_id, t.resource_group, t.name)
            if run_state.lower() == "succeeded":
                self.state.run_outputs[key] = run_outputs(t, body["properties"].get("distribute") or [])
            else:
                self.state.run_outputs.pop(key, None)
            return dict(status)

    def failure_message(self, template_id: str, error: str, *, blob_path: str | None = None) -> str:
        """A ``lastRunStatus.message`` like Image Builder's, naming the log URL of this template."""
        t = self.template(template_id)
        url = self.staging_blob_url(template_id, blob_path or t.log_blob_path)
        return (
            f"{error}. Image Build log location: {url}. OperationId: {uuid.uuid4()}. "
            "Use this operationId to search packer logs."
        )

    def set_container_logs(self, template_id: str, text: str, *, container: str = "packerizercontainer") -> str:
        """Create/update ``vmimagebuilder-build-container-<hex>`` in the staging group; returns its name."""
        t = self.template(template_id)
        with self.state.lock:
            if t.container_group is None:
                t.container_group = f"vmimagebuilder-build-container-{uuid.uuid4().hex[:12]}"
            key = resource_key(t.subscription_id, t.staging_group, t.container_group)
            group = self.state.container_groups.get(key)
            if group is None:
                group = ContainerGroup(t.subscription_id, t.staging_group, t.container_group)
                self.state.container_groups[key] = group
            group.logs[container] = text
        return t.container_group

    def delete_container_group(self, template_id: str) -> None:
        t = self.template(template_id)
        with self.state.lock:
            if t.container_group:
                key = resource_key(t.subscription_id, t.staging_group, t.container_group)
                self.state.container_groups.pop(key, None)
                t.container_group = None
