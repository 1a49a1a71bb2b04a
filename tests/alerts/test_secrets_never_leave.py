"""A secret of every kind in the redaction catalogue, planted in the status message, the customization.log, a
template tag or a customizer's inline command, appears in no output: the CLI (text and --json),
``Diagnosis.to_dict()``, every alert channel's payload (rendered by the real channel code), the files channel,
the outbox and its dead letters, the archive's status.json and diagnosis.json, and the log records."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from diagnosis import diagnose, load_knowledge_base
from diagnosis.cli import run
from diagnosis.redact import MASK, redact
from diagnosis.scanner import BACKEND_ENV, scan
from monitor.alerts.email_webhook import EmailWebhookChannel
from monitor.alerts.files import FileChannel
from monitor.alerts.model import BUILD_FAILED, Alert
from monitor.alerts.outbox import Outbox
from monitor.alerts.retry import Retrier
from monitor.alerts.teams_messagecard import TeamsMessageCardChannel
from monitor.alerts.teams_workflows import TeamsWorkflowsChannel
from monitor.alerts.webhook import JsonWebhookChannel
from monitor.archive.layout import json_bytes, redacted_status
from monitor.storage import LocalDirStore
from tests.diagnosis.test_secret_kinds import EXAMPLES

OP = "45f485cf-5a8c-4379-9937-8d85493bc791"
MESSAGE = (
    "Failed while waiting for packerizer: Microservice has failed: Packer build command has failed: exit status 1."
    f" OperationId: {OP}."
)
TAG_SECRET = "correct horse battery staple"  # only its tag name says it is a secret
TEMPLATE_ID = "/subscriptions/0000/resourceGroups/rg-img/providers/Microsoft.VirtualMachineImages/imageTemplates/t1"
PLANTS = [(kind_id, text, secret) for kind_id, (pos, _neg) in sorted(EXAMPLES.items()) for text, secret in pos]
PLACES = ("message", "log", "tag", "inline")


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(use_env=False)


def _log(planted: list[str]) -> bytes:
    p = f"[{OP}] PACKER"
    lines = [
        f"{p} ERR 2024/05/01 10:06:01 [INFO] (telemetry) Starting provisioner powershell",
        f"{p} OUT ==> azure-arm: Provisioning with powershell script: install.ps1",
    ]
    for text in planted:  # an error line, then whatever else the script printed (a key dump's body)
        first, *rest = text.split("\n")
        lines.append(f"{p} OUT     azure-arm: ERROR: PLANTED {first}")
        lines += [f"{p} OUT     azure-arm: {line}" for line in rest]
    lines += [
        f"{p} OUT ==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
        f"{p} ERR 2024/05/01 10:18:01 [INFO] command 'powershell install.ps1' exited with code: 1",
        f"{p} OUT Build 'azure-arm' errored after 12 minutes: Script exited with non-zero exit status: 1",
    ]
    return ("\n".join(lines) + "\n").encode()


def _template(message: str, place: str, planted: list[str]) -> dict:
    inline = ["Write-Host start", *(f"PLANTED {text}" for text in planted if place == "inline")]
    tags = {"owner": "team-a", "sp-secret": TAG_SECRET}
    if place == "tag":
        tags.update({f"note{i}": f"PLANTED {text}" for i, text in enumerate(planted)})
    return {
        "id": TEMPLATE_ID,
        "name": "t1",
        "location": "westeurope",
        "tags": tags,
        "properties": {
            "provisioningState": "Succeeded",
            "lastRunStatus": {"runState": "Failed", "runSubState": "Customizing", "message": message},
            "customize": [{"type": "PowerShell", "name": "install", "inline": inline}],
            "source": {"type": "PlatformImage", "publisher": "MicrosoftWindowsServer"},
        },
    }


def _outputs(kb, tmp_path: Path, place: str, planted: list[str]) -> dict[str, str]:
    message = " ".join([MESSAGE, *(f"PLANTED {text}" for text in planted)]) if place == "message" else MESSAGE
    log = _log(planted if place == "log" else [])
    template = _template(message, place, planted)
    out: dict[str, str] = {}

    d = diagnose(log=log, template=template, rules=kb)
    out["Diagnosis.to_dict()"] = json.dumps(d.to_dict(), ensure_ascii=False)

    (tmp_path / "customization.log").write_bytes(log)
    (tmp_path / "template.json").write_text(json.dumps(template))
    for flags in ([], ["--json"]):
        stdout, stderr = io.StringIO(), io.StringIO()
        code = run(
            [*flags, "--template", str(tmp_path / "template.json"), str(tmp_path / "customization.log")],
            stdout=stdout,
            stderr=stderr,
        )
        assert code == 1, stderr.getvalue()
        out[f"CLI {flags}"] = stdout.getvalue() + stderr.getvalue()

    # As the monitor builds it (status message redacted), and with the raw message: the channels redact again.
    for label, status_message in (("monitor", redact(message)), ("raw", message)):
        alert = Alert(
            kind=BUILD_FAILED,
            template_id=TEMPLATE_ID,
            template_name="t1",
            resource_group="rg-img",
            subscription_id="0000",
            run_key=f"{TEMPLATE_ID}|2024-05-01T10:00:00Z",
            run_state="Failed",
            status_message=status_message,
            stuck_reason=None if label == "monitor" else f"waiting on {message!r}",
            diagnosis=d.to_dict(),
        )
        retrier = Retrier()
        url = "https://example.invalid/hook"
        for channel in (
            TeamsWorkflowsChannel(url, retrier),
            TeamsMessageCardChannel(url, retrier),
            EmailWebhookChannel(url, ["ops@example.com"], retrier),
            JsonWebhookChannel(url, retrier),
        ):
            out[f"{channel.name} {type(channel).__name__} ({label})"] = channel.render(alert).decode("utf-8")
        files = tmp_path / f"alerts-{label}"
        assert FileChannel(files).deliver(alert).ok
        out[f"files channel ({label})"] = "".join(p.read_text(encoding="utf-8") for p in sorted(files.iterdir()))
        store_dir = tmp_path / f"store-{label}"
        outbox = Outbox(LocalDirStore(store_dir))
        outbox.add(alert, ["teams"], {"teams": "HTTP 503"})
        outbox.bury(alert.to_dict(), "email", "HTTP 400", response="rejected")
        out[f"outbox and dead letters ({label})"] = "".join(
            p.read_text(encoding="utf-8", errors="replace") for p in sorted(store_dir.rglob("*")) if p.is_file()
        )

    out["archive status.json"] = json_bytes({"template": redacted_status(template, redact)}).decode()
    out["archive diagnosis.json"] = json_bytes(d.to_dict()).decode()
    return out


def _assert_absent(outputs: dict[str, str], secrets: list[str], records: list[logging.LogRecord]) -> None:
    for name, text in outputs.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into {name}"
        assert TAG_SECRET not in text, f"the secret-named tag leaked into {name}"
    for record in records:
        for secret in secrets:
            assert secret not in record.getMessage(), f"{secret!r} leaked into the log: {record.getMessage()}"


CHUNK = 6  # planted lines per scenario: few enough that every one is among the evidence lines
CHUNKS = [PLANTS[i : i + CHUNK] for i in range(0, len(PLANTS), CHUNK)]


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("chunk", range(len(CHUNKS)))
def test_planted_secrets_of_every_kind_never_leave(kb, tmp_path, caplog, place, chunk):
    caplog.set_level(logging.DEBUG)
    plants = CHUNKS[chunk]
    outputs = _outputs(kb, tmp_path, place, [text for _kind, text, _secret in plants])
    _assert_absent(outputs, [secret for _kind, _text, secret in plants], caplog.records)
    if place in ("message", "log"):
        # The line carrying the secret did reach the outputs (so the test would see a leak).
        assert "PLANTED" in outputs["Diagnosis.to_dict()"] and "PLANTED" in outputs["webhook JsonWebhookChannel (raw)"]
    if place == "tag":
        assert "PLANTED" in outputs["archive status.json"]


WORDS = st.sampled_from(["error", "value:", "=", "token", "at", "(", ")", "'", '"', "->", "x", "Write-Host", "--"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@example(  # a summary cut after the start of an account key (it was cut, then redacted)
    plant=next(p for p in PLANTS if p[0] == "azure-account-key"), place="log", before=["error", "error"], after=[]
)
@example(  # a chained assignment: "token = $env:ADMIN_PASSWORD = '...'" (the first match ate the second's name)
    plant=next(p for p in PLANTS if p[0] == "secret-assignment"), place="message", before=["token", "="], after=[]
)
@example(  # the same, the value followed by a stray '='
    plant=next(p for p in PLANTS if p[0] == "secret-assignment"), place="message", before=[], after=["="]
)
@given(
    plant=st.sampled_from(PLANTS),
    place=st.sampled_from(PLACES),
    before=st.lists(WORDS, max_size=4),
    after=st.lists(WORDS, max_size=4),
)
def test_planted_secret_with_any_surroundings_never_leaves(kb, tmp_path_factory, plant, place, before, after):
    _kind_id, text, secret = plant
    planted = " ".join([*before, text, *after])
    outputs = _outputs(kb, tmp_path_factory.mktemp("plant"), place, [planted])
    _assert_absent(outputs, [secret], [])


KEY_BODY = [f"MIIEowIBAAKCAQEA{i:02d}" + "x9Zq" * 12 for i in range(40)]  # base64-like, 64 characters a line


def _key_log(p: str, *, end: bool, after: str) -> bytes:
    lines = [f"{p} -----BEGIN RSA PRIVATE KEY-----", *(f"{p} {body}" for body in KEY_BODY)]
    if end:
        lines.append(f"{p} -----END RSA PRIVATE KEY-----")
    lines.append(after)
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("backend", ["hyperscan", "stdlib"])
@pytest.mark.parametrize("closed", [True, False], ids=["with-end", "without-end"])
def test_private_key_body_lines_that_are_error_lines(kb, monkeypatch, backend, closed):
    """A key's body line that is itself an error line never leaves; the lines after its END line are kept, and a
    key without END masks to the end of the log."""
    monkeypatch.setenv(BACKEND_ENV, backend)
    p = f"[{OP}] PACKER OUT     azure-arm: ERROR:"
    after = f"[{OP}] PACKER OUT     azure-arm: ERROR: E: Unable to locate package contoso-agent"
    d = json.dumps(diagnose(MESSAGE, log=_key_log(p, end=closed, after=after), rules=kb).to_dict())
    assert not [body for body in KEY_BODY if body in d]
    assert MASK in d  # the key's lines were among the evidence, masked
    assert ("contoso-agent" in d) is closed


def test_more_private_keys_than_blocks_kept_still_mask_every_key(kb):
    p = f"[{OP}] PACKER OUT     azure-arm: ERROR:"
    key = "{p} -----BEGIN EC PRIVATE KEY-----\n{p} MHcCAQEEI{i:03d}key\n{p} -----END EC PRIVATE KEY-----\n"
    log = "".join(key.format(p=p, i=i) for i in range(150)) + f"{p} E: Unable to locate package contoso-agent\n"
    result = scan(log.encode(), kb)
    kept = [h.text for rh in result.hits.values() for h in rh.samples()] + [h.text for h in result.tail_errors]
    assert MASK in kept
    assert not [text for text in kept if "MHcCAQEEI" in text]
    assert any("contoso-agent" in text for text in kept)
