"""A real sweep (local ARM, Azurite, the webhook receiver) of a failed build whose status message, log and tags
carry a secret of every catalogue kind: the alert, status.json and diagnosis.json hold none of them, and the
archived customization.log is the raw copy the README says it is."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.alerts.test_secrets_never_leave import PLANTS, TAG_SECRET, _log

MESSAGE = "Failed while waiting for packerizer: Packer build command has failed: exit status 1."


def _ago(**delta) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def test_sweep_outputs_hold_no_planted_secret(harness) -> None:
    h = harness
    texts = [text for _kind, text, _secret in PLANTS]
    secrets = [secret for _kind, _text, secret in PLANTS]
    tags = {"owner": "team-a", "sp-secret": TAG_SECRET}
    tags.update({f"note{i}": text[:256] for i, text in enumerate(texts) if "\n" not in text})
    t = h.add("tpl-secrets", tags=tags)
    log = _log(texts)
    h.cloud.put_staging_blob(t.id, t.log_blob_path, log)
    message = " ".join([MESSAGE, *(f"PLANTED {text}" for text in texts)])
    h.cloud.set_run_status(
        t.id, "Failed", "Customizing", message=message, start_time=_ago(minutes=50), end_time=_ago(minutes=2)
    )

    report = h.monitor().sweep()
    assert not report.errors, report.errors
    assert h.receiver.kinds("tpl-secrets") == ["build-failed"]

    archive = h.archive()
    outputs = {"alert": json.dumps(h.receiver.alerts, ensure_ascii=False)}
    raw_log = b""
    for blob in archive.list_blobs(name_starts_with=f"{t.subscription_id}/{t.resource_group}/tpl-secrets/"):
        data = archive.download_blob(blob.name).readall()
        if blob.name.endswith("customization.log"):
            raw_log = data
        else:
            outputs[blob.name.rsplit("/", 1)[-1]] = data.decode("utf-8", "replace")
    assert {"alert", "status.json", "diagnosis.json"} <= set(outputs)
    assert "PLANTED" in outputs["alert"] and "PLANTED" in outputs["diagnosis.json"]
    for name, text in outputs.items():
        for secret in [*secrets, TAG_SECRET]:
            assert secret not in text, f"{secret!r} leaked into {name}"
    assert raw_log == log  # the archived log is a byte-identical raw copy, secrets included
