"""localazure.samplelogs: generated logs have the real line shapes and say what they contain."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from localazure import samplelogs

# The shapes a customization.log line can have (aib-facts.md, "Log line shapes").
LINE_SHAPES = [
    re.compile(r"^\[[0-9a-f-]{36}\] PACKER OUT (?:==> |--> |    )?.*$"),
    re.compile(r"^\[[0-9a-f-]{36}\] PACKER ERR \d{4}/\d\d/\d\d \d\d:\d\d:\d\d .+$"),
    re.compile(r"^\[[0-9a-f-]{36}\] PACKER \d{4}/\d\d/\d\d \d\d:\d\d:\d\d .+$"),
    re.compile(r"^Done exporting Packer logs to Azure for Packer prefix: \[[0-9a-f-]{36}\] PACKER OUT$"),
    re.compile(r"^\S+ \d+ B / \d+ B  \d+\.\d\d%$"),  # File upload progress (bare)
]


def assert_real_shapes(lines: list[str]) -> None:
    for n, line in enumerate(lines, 1):
        assert any(p.match(line) for p in LINE_SHAPES), f"line {n} has no known shape: {line!r}"


def telemetry(lines: list[str]) -> list[str]:
    return [m.group(1) for line in lines if (m := re.search(r"\(telemetry\) (.+)$", line))]


@pytest.mark.parametrize("style", ["classic", "modern"])
@pytest.mark.parametrize("os_", ["linux", "windows"])
def test_success_log(os_: str, style: str) -> None:
    log = samplelogs.success_log(os_, style=style)
    assert isinstance(log, bytes) and log.endswith(b"\n")
    lines = log.lines
    assert_real_shapes(lines)
    assert all(f"[{log.operation_id}]" in line for line in lines if " B / " not in line)
    assert log.expected_category == "none" and log.status_message == ""
    events = telemetry(lines)
    starts = [e for e in events if e.startswith("Starting provisioner")]
    ends = [e for e in events if e.startswith("ending ") and e != "ending azure-arm"]
    assert len(starts) == len(ends) == len(samplelogs.default_customizers(os_)) + 1  # + deprovisioning
    assert events[-1] == "Finalizing."
    assert any("Error deleting resource. Will retry." in line for line in lines)  # benign cleanup retries
    assert "Build 'azure-arm' finished" in log.text
    assert lines[-1].startswith("Done exporting Packer logs")
    deprov = "c:\\DeprovisioningScript.ps1" if os_ == "windows" else "/tmp/DeprovisioningScript.sh"
    assert deprov in log.text
    if os_ == "windows":
        assert "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" in log.text
        assert "Waiting for WinRM, up to timeout: 20m0s" in log.text
    else:
        assert "Connected to SSH!" in log.text


def test_success_log_timestamps_advance() -> None:
    log = samplelogs.success_log("windows")
    stamps = [
        datetime.strptime(m.group(0), "%Y/%m/%d %H:%M:%S")
        for m in re.finditer(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", log.text)
    ]
    assert stamps == sorted(stamps)
    assert stamps[-1] > stamps[0]


def test_custom_customizers_and_ids() -> None:
    start = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    log = samplelogs.success_log(
        "linux",
        ["Shell", {"type": "File", "destination": "/opt/x.json"}],
        operation_id="11111111-2222-3333-4444-555555555555",
        start=start,
    )
    assert log.operation_id == "11111111-2222-3333-4444-555555555555"
    assert log.started == start and log.ended > start
    assert "2025/01/02 03:04" in log.text
    assert [e for e in telemetry(log.lines) if e.startswith("Starting provisioner")] == [
        "Starting provisioner shell",
        "Starting provisioner file",
        "Starting provisioner shell",
    ]
    assert "x.json 187392 B / 187392 B  100.00%" in log.text
    with pytest.raises(ValueError, match="os must be"):
        samplelogs.success_log("solaris")
    with pytest.raises(ValueError, match="style must be"):
        samplelogs.success_log(style="fancy")


@pytest.mark.parametrize(
    ("type_", "exit_code", "provisioner", "category", "signature"),
    [
        ("Shell", 100, "shell", "customizer-failed", "Script exited with non-zero exit status: 100"),
        ("PowerShell", 1, "powershell", "customizer-failed", "Script exited with non-zero exit status: 1"),
        ("WindowsUpdate", 2147942402, "windows-update", "customizer-failed", "exited with code: 2147942402"),
        (
            "WindowsRestart",
            1190,
            "windows-restart",
            "windows-restart-failed",
            "Timeout waiting for machine to restart",
        ),
        ("File", 1, "file", "customizer-download-failed", "Downloading external file"),
    ],
)
def test_failed_customizer_log(
    type_: str, exit_code: int, provisioner: str, category: str, signature: str
) -> None:
    log = samplelogs.failed_customizer_log("my-step", type_, exit_code)
    lines = log.lines
    assert_real_shapes(lines)
    assert log.expected_category == category
    assert log.failed_customizer == provisioner and log.failed_customizer_type == type_
    assert signature in log.text
    # Packer ends the span of a failing provisioner too: the failed one is the last started before the error.
    starts = [e for e in telemetry(lines) if e.startswith("Starting provisioner")]
    assert starts[-1] == f"Starting provisioner {provisioner}"
    assert f"ending {provisioner}" in telemetry(lines)
    assert "Builds finished but no artifacts were created." in log.text
    assert "Build 'azure-arm' errored" in log.text
    assert log.info["position"] == len(starts)
    msg = log.status_message
    assert "Packer build command has failed" in msg and f"OperationId: {log.operation_id}." in msg
    assert f"/packerlogs/{log.folder}/customization.log" in msg and log.log_url in msg


def test_failed_customizer_position_and_modern_found_error() -> None:
    log = samplelogs.failed_customizer_log("x", "Shell", 3, position=1, style="modern")
    starts = [e for e in telemetry(log.lines) if e.startswith("Starting provisioner")]
    assert starts == ["Starting provisioner shell"]
    assert "(telemetry) found error: Script exited with non-zero exit status: 3" in log.text


def test_sysprep_loop_log_matches_the_guide() -> None:
    log = samplelogs.sysprep_loop_log(loops=50)
    text = log.text
    assert log.expected_category == "sysprep-timing"
    assert text.count("azure-arm: IMAGE_STATE_UNDEPLOYABLE") == 50
    assert "Cannot find any service with service name 'WindowsAzureGuestAgent'" in text
    assert "Cancelling builder after context cancellation context canceled" in text
    assert "context deadline exceeded" in log.status_message
    live = samplelogs.sysprep_loop_log(loops=20, complete=False)
    assert live.lines[-1].endswith("IMAGE_STATE_UNDEPLOYABLE") and live.expected_waiting_on == "loop"


@pytest.mark.parametrize("failure", samplelogs.FAILURES)
def test_failure_log_categories(failure: str) -> None:
    log = samplelogs.failure_log(failure)
    assert_real_shapes(log.lines)
    assert log.expected_category == samplelogs.FAILURE_CATEGORY[failure]
    assert log.lines[-1].startswith("Done exporting Packer logs")
    assert bool(log.status_message) == (failure != "none")
    with pytest.raises(ValueError):
        samplelogs.failure_log("meteor")


def test_resources_failure_has_the_guides_signature() -> None:
    text = samplelogs.failure_log("resources").text
    for s in (
        "Waiting for the Windows Modules Installer to exit...",
        "A system shutdown is in progress.(1115)",
        "Retryable error: Machine not yet available (exit status 1115)",
        "Build 'azure-arm' errored: unexpected EOF",
    ):
        assert s in text


@pytest.mark.parametrize("stage", samplelogs.RUNNING_STAGES)
def test_running_log_stages(stage: str) -> None:
    log = samplelogs.running_log(stage, minutes=15)
    assert_real_shapes(log.lines)
    assert log.expected_waiting_on
    assert log.ended >= log.started
    if stage != "ended":
        assert "Done exporting" not in log.text
    with pytest.raises(ValueError):
        samplelogs.running_log("sleeping")


def test_running_download_progress_is_consistent() -> None:
    log = samplelogs.running_log(
        "download", minutes=10, file_size=1_000_000_000, rate_bytes_per_second=10_000
    )
    progress = [line for line in log.lines if " B / " in line]
    assert len(progress) == 10
    assert progress[-1] == "myBigFile.zip 6000000 B / 1000000000 B  0.60%"
    assert log.info["bytes_done"] == 6_000_000


@pytest.mark.parametrize("failure", samplelogs.FAILURES)
def test_write_large_log(tmp_path: Path, failure: str) -> None:
    path = tmp_path / "customization.log"
    info = samplelogs.write_large_log(path, 3_000_000, failure)
    data = path.read_bytes()
    assert info.bytes_written == len(data)
    assert 2_900_000 <= len(data) <= 3_000_000
    assert info.lines == data.count(b"\n")
    assert info.expected_category == samplelogs.FAILURE_CATEGORY[failure]
    lines = data.decode().splitlines()
    assert_real_shapes(lines[:400] + lines[-400:])
    assert lines[-1].startswith("Done exporting Packer logs")
    # the failure is at the end: its signature is not in the first 90%
    head = data[: int(len(data) * 0.9)]
    if failure == "customizer":
        assert b"non-zero exit status" not in head and b"non-zero exit status" in data[-20000:]
        assert info.failed_customizer == "shell" and info.exit_code == 100
    if failure == "sysprep":
        assert b"IMAGE_STATE_UNDEPLOYABLE" not in head


def test_write_large_log_timestamps_advance_and_blocks_vary(tmp_path: Path) -> None:
    info = samplelogs.write_large_log(tmp_path / "c.log", 2_000_000, "none", style="modern")
    text = info.path.read_text()
    stamps = re.findall(r"\] PACKER (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)", text)
    assert stamps == sorted(stamps) and len(set(stamps)) > 50
    assert len(set(text.splitlines()[200:2200])) > 1500  # not one block repeated verbatim


def test_write_large_log_is_fast_for_big_files(tmp_path: Path) -> None:
    # 200 MB in well under the time a test may take; the benchmark writes 500 MB+ the same way.
    info = samplelogs.write_large_log(tmp_path / "big.log", 200_000_000, "customizer")
    assert info.path.stat().st_size == info.bytes_written > 190_000_000
    with info.path.open("rb") as f:
        f.seek(-3000, 2)
        assert b"Script exited with non-zero exit status: 100" in f.read()
