"""Ready-made Image Builder situations on a ``LocalCloud``, shared by tests and benchmarks.

- ``add_failed_build``: a template whose last run failed, with its ``customization.log`` in its own staging
  account and a failure message naming that log's URL, as Image Builder leaves it;
- ``set_staging_failure``: the template's staging account answers every request with an HTTP status (503
  ``ServerBusy`` by default) through a ``StorageGate`` over HTTPS, or serves again (``status=None``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .cloud import LocalCloud
from .templates import LocalTemplate

FAILURE_ERROR = "Packer build command has failed: exit status 1"


def add_failed_build(
    cloud: LocalCloud,
    resource_group: str,
    name: str,
    log: bytes,
    *,
    subscription_id: str | None = None,
    staging_status: int | None = None,
    ended_minutes_ago: float = 2.0,
) -> LocalTemplate:
    """A failed run that started 50 minutes before it ended; ``staging_status`` makes its staging account
    answer that status to everything (the log is written before the account turns unhealthy)."""
    template = cloud.add_template(resource_group, name, subscription_id=subscription_id, storage=True)
    if staging_status is not None:
        cloud.front_staging(template.id, scheme="https")  # the gate plays the account's health; auth unchanged
    cloud.put_staging_blob(template.id, template.log_blob_path, log)
    ended = datetime.now(UTC) - timedelta(minutes=ended_minutes_ago)
    cloud.set_run_status(
        template.id,
        "Failed",
        message=cloud.failure_message(template.id, FAILURE_ERROR),
        start_time=ended - timedelta(minutes=50),
        end_time=ended,
    )
    if staging_status is not None:
        set_staging_failure(cloud, template.id, staging_status)
    return template


def set_staging_failure(cloud: LocalCloud, template_id: str, status: int | None = 503) -> None:
    """Every request to the template's staging account is answered with ``status`` (None: served again). The
    account must be fronted by a gate (``front_staging``; ``add_failed_build`` does it)."""
    gate = cloud.gate(template_id)
    if gate is None:
        raise ValueError(f"the staging account of {template_id} has no gate in front: call front_staging first")
    gate.fail(cloud.storage_account(template_id), status)
