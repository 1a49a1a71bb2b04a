"""``python -m monitor``: settings errors exit 2 naming the setting; sweep and check print a table."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main, render_table
from monitor.report import TemplateOutcome

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ARCHIVE_", "ARM_", "TEMPLATE_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_subscription_exits_2() -> None:
    result = _run(["sweep"], {})
    assert result.returncode == 2
    assert "AZURE_SUBSCRIPTION_ID" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STUCK_AFTER_MINUTES", "soon"),
        ("STAGING_LOG_AUTH", "password"),
        ("TEMPLATE_FILTER", "colour:red"),
        ("ARCHIVE_CONTAINER", "Bad_Name"),
    ],
)
def test_bad_setting_exits_2_and_names_it(name: str, value: str) -> None:
    result = _run(
        ["check", "/subscriptions/x"],
        {"AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001", name: value},
    )
    assert result.returncode == 2, result.stderr
    assert name in result.stderr and "Traceback" not in result.stderr


def test_connection_string_is_never_echoed() -> None:
    secret = "AccountKey=c2VjcmV0c2VjcmV0"
    result = _run(["sweep"], {"AZURE_SUBSCRIPTION_ID": "nope", "ARCHIVE_CONNECTION_STRING": secret})
    assert result.returncode == 2 and secret not in result.stderr + result.stdout


def test_check_rejects_a_non_template_id(monkeypatch, capsys) -> None:
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000001")
    code = main(["check", "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/images/i"])
    assert code == 2 and "not an image template resource id" in capsys.readouterr().err


def test_table_rendering() -> None:
    rows = [
        TemplateOutcome(
            "/t/a",
            "tpl-a",
            "rg1",
            "failed",
            category="customizer-failed",
            archive_path="https://x/aib-logs/s/rg1/tpl-a/20240101T101500Z",
            alerts=["build-failed"],
        ),
        TemplateOutcome(
            "/t/b",
            "tpl-b",
            "rg1",
            "running",
            stuck_reason="timeout: running for 300 min",
            alerts=["build-stuck"],
        ),
        TemplateOutcome("/t/c", "tpl-c", "rg2", "succeeded", note="unchanged"),
    ]
    out = io.StringIO()
    render_table(rows, out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["template", "resource", "group", "state", "category", "alert", "archive"]
    assert "customizer-failed" in lines[2] and "build-failed" in lines[2] and "20240101T101500Z" in lines[2]
    assert "running (timeout)" in lines[3] and "build-stuck" in lines[3]
    assert "(unchanged)" in lines[4]


def test_sweep_into_a_local_folder_prints_the_table(harness, monkeypatch, tmp_path) -> None:
    from datetime import UTC, datetime, timedelta

    from localazure import samplelogs

    h = harness
    t = h.add("tpl-cli")
    log = bytes(samplelogs.failed_customizer_log(seed=21))
    h.cloud.put_staging_blob(t.id, t.log_blob_path, log)
    start = datetime.now(UTC) - timedelta(hours=1)
    h.cloud.set_run_status(
        t.id,
        "Failed",
        message=h.cloud.failure_message(t.id, "exit status 1"),
        start_time=start,
        end_time=start + timedelta(minutes=30),
    )
    env = h.env(ARCHIVE_DIR=str(tmp_path / "archive"))
    env.pop("ARCHIVE_STORAGE_URL")
    for key in list(os.environ):
        if key.startswith(("ARCHIVE_", "AZURE_", "ALERT_", "ARM_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = io.StringIO()
    assert main(["sweep"], out=out) == 0
    text = out.getvalue()
    assert "tpl-cli" in text and "build-failed" in text and "failed" in text
    folder = (
        tmp_path
        / "archive"
        / t.subscription_id
        / t.resource_group
        / "tpl-cli"
        / start.strftime("%Y%m%dT%H%M%SZ")
    )
    assert (folder / "customization.log").read_bytes() == log
    assert (folder / "status.json").exists() and (folder / "diagnosis.json").exists()
    out = io.StringIO()
    assert main(["sweep"], out=out) == 0
    assert "0 alert(s) sent" in out.getvalue()
    out = io.StringIO()
    assert main(["check", t.id], out=out) == 0
    assert "tpl-cli" in out.getvalue()
    assert h.receiver.kinds() == ["build-failed"]


def test_azure_refusal_is_a_clear_error(harness, monkeypatch, capsys) -> None:
    t = harness.add("tpl-forbidden")
    for key, value in harness.env().items():
        monkeypatch.setenv(key, value)
    harness.cloud.arm.inject(403, count=5, path_contains=t.name, code="AuthorizationFailed")
    try:
        assert main(["check", t.id]) == 1
    finally:
        harness.cloud.arm.clear_faults()
    err = capsys.readouterr().err
    assert "Azure request failed" in err and "AuthorizationFailed" in err and "Traceback" not in err
    assert err.count("\n") == 1 and "needs Reader" in err, err  # one line, naming what to do


def test_sweep_without_a_credential_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    env = {
        "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001",
        "ARCHIVE_DIR": str(tmp_path / "archive"),
        "ALERT_DIR": str(tmp_path / "alerts"),
        "HOME": str(tmp_path / "home"),  # no az CLI login, no token cache
        "PATH": "/usr/bin:/bin",  # no az, azd or pwsh on the path
        "AZURE_POD_IDENTITY_AUTHORITY_HOST": "https://127.0.0.1:9",
        "IDENTITY_ENDPOINT": "https://127.0.0.1:9/token",  # a managed identity endpoint nobody serves
        "IDENTITY_HEADER": "x",
    }
    result = _run(["sweep"], env)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no Azure credential worked"), result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "archive").exists() and not (tmp_path / "alerts").exists()


def test_plain_http_arm_endpoint_is_a_settings_error() -> None:
    result = _run(
        ["sweep"], {"AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001", "ARM_ENDPOINT": "http://arm"}
    )
    assert result.returncode == 2 and result.stderr.strip() == "error: setting ARM_ENDPOINT: must be an https URL"


def test_verbose_is_accepted_after_the_command(monkeypatch) -> None:
    from monitor.cli import build_parser

    assert build_parser().parse_args(["sweep", "-v"]).verbose == 1
    assert build_parser().parse_args(["-vv", "check", "/x"]).verbose == 2
    assert build_parser().parse_args(["sweep"]).verbose == 0


def test_ctrl_c_exits_130_without_a_traceback(monkeypatch, capsys) -> None:
    import monitor.cli as cli

    def interrupted(*_args):
        raise KeyboardInterrupt

    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setattr(cli, "cmd_sweep", interrupted)
    assert main(["sweep"]) == cli.ExitStatus.INTERRUPTED == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_unreachable_arm_is_one_line(harness, monkeypatch, capsys, tmp_path) -> None:
    import socket

    # a port bound but not listening for the whole test: connections are refused, and no other test's server takes it
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        env = harness.env(ARM_ENDPOINT=f"https://127.0.0.1:{port}", ARCHIVE_DIR=str(tmp_path / "archive"))
        env.pop("ARCHIVE_STORAGE_URL")
        for key in list(os.environ):
            if key.startswith(("ARCHIVE_", "ARM_")):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert main(["sweep"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach https://127.0.0.1:{port}") and err.count("\n") == 1, err
    assert not (tmp_path / "archive").exists()
