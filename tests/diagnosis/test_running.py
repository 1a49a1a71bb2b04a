"""diagnosis.running.analyze_running: what a live build waits on, from its log tail."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnosis.model import RunningAnalysis
from diagnosis.running import analyze_running
from localazure import samplelogs

CASES = Path(__file__).parent / "cases" / "guide"  # the guide's code blocks, one file each
WAITING_ON = {
    "connection",
    "provisioner",
    "download",
    "loop",
    "prompt",
    "restart",
    "deploy",
    "distribute",
    "nothing",
    "unknown",
}


def guide_block(slug: str) -> str:
    """The troubleshooting guide's code block for the section ``slug``."""
    found = sorted(CASES.glob(f"*{slug}*.txt"))
    assert found, f"no guide case matching {slug!r} in {CASES}"
    return found[0].read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------- each stuck situation


@pytest.mark.parametrize("style", ["classic", "modern"])
@pytest.mark.parametrize("minutes", [3, 40])
@pytest.mark.parametrize("stage", samplelogs.RUNNING_STAGES)
def test_generated_tails(stage: str, minutes: int, style: str) -> None:
    log = samplelogs.running_log(stage, minutes=minutes, style=style)
    a = analyze_running(log, 2, minutes_remaining=60, now=log.ended)
    assert a.waiting_on == log.expected_waiting_on, a.detail
    assert a.category == log.expected_category, a.detail
    assert a.evidence, "every finding shows its evidence"
    assert all(e.line and e.line >= 1 for e in a.evidence)


def test_connection_wait_against_packer_timeout() -> None:
    log = samplelogs.running_log("waiting-ssh", minutes=25)
    a = analyze_running(log, 1, now=log.ended)
    assert a.waiting_on == "connection"
    assert a.minutes_in_state == pytest.approx(25, abs=1.5)
    assert a.can_finish is False  # past "up to timeout: 20m0s"
    assert "20 min" in a.detail and "port 22" in a.detail
    early = samplelogs.running_log("waiting-winrm", minutes=4)
    b = analyze_running(early, 1, now=early.ended)
    assert b.waiting_on == "connection" and b.can_finish is None and b.category is None
    assert "WinRM" in b.detail


def test_connected_is_no_longer_waiting_for_connection() -> None:
    text = (
        "[op] PACKER OUT ==> azure-arm: Waiting for SSH to become available...\n[op] PACKER ERR 2020/04/10 "
        "17:20:51 packer: 2020/04/10 17:20:51 [INFO] Waiting for SSH, up to timeout: 20m0s\n[op] PACKER OUT "
        "==> azure-arm: Connected to SSH!\n[op] PACKER ERR 2020/04/10 17:21:03 [INFO] (telemetry) Starting "
        "provisioner shell\n"
    )
    a = analyze_running(text, 0, now=datetime(2020, 4, 10, 17, 51, 3, tzinfo=UTC))
    assert a.waiting_on == "provisioner"
    assert a.provisioner == "shell"
    assert a.minutes_in_state == pytest.approx(30)


def test_provisioner_minutes_default_now_is_last_timestamp_plus_stall() -> None:
    text = (
        "[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner powershell\n[op] PACKER "
        "OUT     azure-arm: installing ...\n[op] PACKER ERR 2024/05/14 10:20:00 "
        "packer-provisioner-powershell plugin: [DEBUG] still running\n"
    )
    a = analyze_running(text, 10)
    assert a.waiting_on == "provisioner" and a.provisioner == "powershell"
    assert a.minutes_in_state == pytest.approx(30)
    assert "no output for 10 min" in a.detail


def test_naive_now_is_utc() -> None:
    text = "[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner shell\n"
    a = analyze_running(text, 0, now=datetime(2024, 5, 14, 10, 45))
    assert a.minutes_in_state == pytest.approx(45)


def test_provisioner_cannot_finish_when_no_time_remains() -> None:
    text = "[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner shell\n"
    assert analyze_running(text, 5, minutes_remaining=0).can_finish is False
    assert analyze_running(text, 5, minutes_remaining=100).can_finish is None


# ---------------------------------------------------------------------------------------------- downloads


def test_guide_long_file_download_block() -> None:
    block = guide_block("long-file-download")
    live = block.split("..")[0]  # the tail as it looks early on: 1%, 2%
    a = analyze_running(live, 30, minutes_remaining=60)
    assert a.waiting_on == "download"
    assert a.category == "large-file-download"
    # 826 B per progress step and no new step for 30 minutes: at most 826 B / 1800 s
    assert a.rate_bytes_per_second is not None and a.rate_bytes_per_second <= 826 / 1800 + 1e-9
    assert a.eta_minutes is not None and a.eta_minutes > 60
    assert a.can_finish is False
    assert a.evidence[0].text == "myBigFile.zip 1652 B / 826000 B  2.00%"


def test_download_without_any_time_information_gives_no_rate() -> None:
    a = analyze_running("myBigFile.zip 826 B / 826000 B  1.00%\n", 0)
    assert a.waiting_on == "download" and a.rate_bytes_per_second is None and a.can_finish is None


def test_download_rate_from_progress_timestamps() -> None:
    log = samplelogs.running_log("download", minutes=30, style="modern", rate_bytes_per_second=50_000)
    a = analyze_running(log, 1, minutes_remaining=120, now=log.ended)
    assert a.rate_bytes_per_second == pytest.approx(50_000, rel=0.01)
    assert "timestamps" in a.detail
    expected_eta = (826_000_000 - 50_000 * 60 * 30) / 50_000 / 60
    assert a.eta_minutes == pytest.approx(expected_eta, rel=0.02)
    assert a.can_finish is False


def test_download_rate_since_upload_started() -> None:
    log = samplelogs.running_log("download", minutes=20, rate_bytes_per_second=30_000)
    a = analyze_running(log, 0, minutes_remaining=600, now=log.ended)
    assert a.rate_bytes_per_second == pytest.approx(30_000, rel=0.05)
    assert a.eta_minutes is not None and a.eta_minutes < 600
    assert a.can_finish is True


def test_fast_download_can_finish() -> None:
    log = samplelogs.running_log(
        "download", minutes=3, file_size=400_000_000, rate_bytes_per_second=2_000_000
    )
    a = analyze_running(log, 0, minutes_remaining=30, now=log.ended)
    assert a.waiting_on == "download" and a.can_finish is True
    assert a.eta_minutes is not None and a.eta_minutes < 5


@pytest.mark.parametrize(
    ("line", "done", "total"),
    [
        ("app.iso 12.50 MiB / 787.73 MiB [==>-----------] 1.59% 2m30s", 12.5 * 2**20, 787.73 * 2**20),
        ("setup.msi 1.2 GB / 4.0 GB  30.00%", 1.2e9, 4e9),
        ("[op] PACKER OUT     azure-arm: data.tar.gz 512 KiB / 2048 KiB 25.00%", 512 * 1024, 2048 * 1024),
    ],
)
def test_progress_line_shapes(line: str, done: float, total: float) -> None:
    a = analyze_running(line, 0)
    assert a.waiting_on == "download"
    assert f"({100 * done / total:.1f}%)" in a.detail
    assert a.category == "large-file-download"


# ---------------------------------------------------------------------------------------------- loops


def test_guide_sysprep_block_while_still_looping() -> None:
    block = guide_block("sysprep-timing")
    live = block.split("\n...\n")[0]  # before the cancellation: the loop as a live tail shows it
    a = analyze_running(live, 1)
    assert a.waiting_on == "loop"
    assert a.category == "sysprep-timing"
    assert a.can_finish is False  # the guest agent service is missing: the loop cannot end
    assert any("WindowsAzureGuestAgent" in e.text for e in a.evidence)
    assert "IMAGE_STATE_UNDEPLOYABLE" in a.evidence[0].text


def test_short_sysprep_wait_is_not_yet_a_failure() -> None:
    prefix = "[op] PACKER OUT     azure-arm: "
    lines = [
        "[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner powershell",
        f"{prefix}>>> Sysprepping VM ...",
        f"{prefix}IMAGE_STATE_COMPLETE",
    ]
    lines += [f"{prefix}IMAGE_STATE_UNDEPLOYABLE"] * 20
    a = analyze_running("\n".join(lines), 0, now=datetime(2024, 5, 14, 10, 3, tzinfo=UTC))
    assert a.waiting_on == "loop" and a.can_finish is None and a.category is None
    few = analyze_running("\n".join(lines[:8]), 0)
    assert few.waiting_on == "provisioner"


def test_long_sysprep_loop_without_agent_error_is_hopeless() -> None:
    prefix = "[op] PACKER OUT     azure-arm: "
    lines = ["[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner powershell"]
    lines += [f"{prefix}IMAGE_STATE_UNDEPLOYABLE"] * 300  # 25 minutes of 5-second polls
    a = analyze_running("\n".join(lines), 0)
    assert a.category == "sysprep-timing" and a.can_finish is False
    assert a.minutes_in_state is not None and a.minutes_in_state >= 25


def test_generic_repeated_cycle() -> None:
    prefix = "[op] PACKER OUT     azure-arm: "
    lines = ["[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner shell"]
    for _ in range(15):
        lines += [f"{prefix}Checking service status...", f"{prefix}Service not ready, retrying in 10s"]
    a = analyze_running("\n".join(lines), 0, now=datetime(2024, 5, 14, 10, 5, tzinfo=UTC))
    assert a.waiting_on == "loop" and "cycle of 2 lines" in a.detail
    assert a.can_finish is None
    hopeless = analyze_running("\n".join(lines), 0, now=datetime(2024, 5, 14, 11, 0, tzinfo=UTC))
    assert hopeless.can_finish is False


def test_varying_progress_output_is_not_a_loop() -> None:
    prefix = "[op] PACKER OUT     azure-arm: "
    lines = ["[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner windows-update"]
    lines += [
        f"{prefix}Waiting for operation to complete (system performance: {i % 90}% cpu; 37% memory)..."
        for i in range(40)
    ]
    a = analyze_running("\n".join(lines), 0)
    assert a.waiting_on == "provisioner" and a.provisioner == "windows-update"


# ---------------------------------------------------------------------------------------------- prompts


@pytest.mark.parametrize(
    "prompt",
    [
        "Do you want to continue? [Y/n]",
        "Press any key to continue . . .",
        "Are you sure you want to continue connecting (yes/no/[fingerprint])?",
        '[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [S] Suspend  [?] Help (default is "Y"):',
        "Proceed (y/N)?",
        "replace config.json? [y]es, [n]o, [A]ll, [N]one, [r]ename:",
    ],
)
def test_prompt_at_the_end(prompt: str) -> None:
    text = (
        f"[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner shell\n[op] PACKER OUT "
        f"    azure-arm: Reading package lists...\n[op] PACKER OUT     azure-arm: {prompt}\n"
    )
    a = analyze_running(text, 5)
    assert a.waiting_on == "prompt" and a.category == "interactive-prompt"
    assert a.can_finish is False
    assert prompt[:10] in a.evidence[0].text
    growing = analyze_running(text, 0)
    assert growing.waiting_on == "prompt" and growing.can_finish is None


def test_answered_prompt_is_not_waiting() -> None:
    text = (
        "[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner shell\n[op] PACKER OUT  "
        "   azure-arm: Do you want to continue? [Y/n] Y\n[op] PACKER OUT     azure-arm: Get:1 "
        "http://archive.ubuntu.com/ubuntu jammy/main amd64 jq amd64 [52 kB]\n[op] PACKER OUT     azure-arm: "
        "Unpacking jq ...\n[op] PACKER OUT     azure-arm: Setting up jq ...\n[op] PACKER OUT     azure-arm: "
        "Processing triggers for man-db ...\n"
    )
    assert analyze_running(text, 5).waiting_on == "provisioner"


def test_evidence_is_redacted() -> None:
    text = (
        "[op] PACKER OUT     azure-arm: curl "
        "'https://a.blob.core.windows.net/c/f?sv=1&sig=TOPSECRETSIG'\n[op] PACKER OUT     azure-arm: Press "
        "any key to continue\n"
    )
    a = analyze_running(text, 3)
    assert a.waiting_on == "prompt"
    joined = " ".join(e.text for e in a.evidence) + a.detail
    assert "TOPSECRETSIG" not in joined


# ---------------------------------------------------------------------------------------------- restarts


def test_guide_low_resources_block_while_restarting() -> None:
    block = guide_block("low-windows-resource")
    live = block.split("PACKER OUT Build 'azure-arm' errored")[0]
    a = analyze_running(live, 5)
    assert a.waiting_on == "restart"
    assert a.category in ("pending-restart", "windows-restart-failed")
    assert any("1115" in e.text or "Modules Installer" in e.text for e in a.evidence)


def test_restart_after_1190_for_long_cannot_finish() -> None:
    log = samplelogs.running_log("restart", minutes=45)
    a = analyze_running(log, 1, now=log.ended)
    assert a.category == "windows-restart-failed" and a.can_finish is False
    assert "1190" in a.detail


def test_restarted_machine_is_not_pending() -> None:
    text = (
        "[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner windows-restart\n[op] "
        "PACKER OUT ==> azure-arm: Restarting Machine\n[op] PACKER OUT ==> azure-arm: Waiting for machine to "
        "restart...\n[op] PACKER OUT     azure-arm: WIN-7Q2M4K restarted.\n[op] PACKER OUT ==> azure-arm: "
        "Machine successfully restarted, moving on\n"
    )
    assert analyze_running(text, 1).waiting_on == "provisioner"


# ---------------------------------------------------------------------------------------------- whole logs


@pytest.mark.parametrize("os_", ["linux", "windows"])
def test_finished_logs_wait_on_nothing(os_: str) -> None:
    log = samplelogs.success_log(os_)
    a = analyze_running(log, 0)
    assert a.waiting_on == "nothing" and a.can_finish is True
    assert "Done exporting" in a.evidence[0].text


def test_failed_log_waits_on_nothing() -> None:
    assert analyze_running(samplelogs.failed_customizer_log(), 0).waiting_on == "nothing"


def test_cancelled_build() -> None:
    a = analyze_running(guide_block("cancelling-builder-after-context"), 0)
    assert a.waiting_on == "nothing" and "canceled" in a.detail


def test_deploy_and_distribute_minutes() -> None:
    log = samplelogs.running_log("distribute", minutes=50)
    a = analyze_running(log, 0, now=log.ended)
    assert a.waiting_on == "distribute" and a.minutes_in_state is not None and a.minutes_in_state > 45
    log = samplelogs.running_log("deploy", minutes=12)
    a = analyze_running(log, 0, now=log.ended)
    assert a.waiting_on == "deploy" and a.minutes_in_state == pytest.approx(13, abs=1.5)


# ---------------------------------------------------------------------------------------------- inputs


def test_input_forms_agree() -> None:
    log = samplelogs.running_log("prompt", minutes=10)
    text = log.text
    forms = [
        text,
        bytes(log),
        text.splitlines(),
        text.splitlines(keepends=True),
        [bytes(log)[i : i + 97] for i in range(0, len(log), 97)],  # byte chunks cutting lines anywhere
        text.replace("\n", "\r\n").encode("utf-16"),
        b"\xef\xbb\xbf" + bytes(log),
        text.replace("\n", "\n\x00"),
        iter(text.splitlines()),
    ]
    results = [analyze_running(f, 5) for f in forms]
    assert {r.waiting_on for r in results} == {"prompt"}


def test_empty_and_none_inputs() -> None:
    for tail in ("", b"", [], None, "\n\n\n"):
        a = analyze_running(tail, 0)  # type: ignore[arg-type]
        assert a.waiting_on == "unknown"


@pytest.mark.parametrize("stall", [float("nan"), -5, float("inf"), "7", None])
def test_odd_minutes_since_growth(stall: object) -> None:
    a = analyze_running(
        "[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner shell", stall
    )  # type: ignore[arg-type]
    assert a.waiting_on == "provisioner"


def test_huge_line_and_many_lines() -> None:
    big = "x" * 5_000_000
    lines = ["[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner shell", big]
    lines += [f"[op] PACKER OUT     azure-arm: compiling unit {i}" for i in range(100_000)]
    a = analyze_running("\n".join(lines), 0)
    assert a.waiting_on == "provisioner"


def test_to_dict_is_json_ready() -> None:
    import json

    log = samplelogs.running_log("download", minutes=10)
    d = analyze_running(log, 1, minutes_remaining=30, now=log.ended).to_dict()
    assert json.loads(json.dumps(d))["waiting_on"] == "download"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4000), st.floats(allow_nan=True), st.one_of(st.none(), st.floats()))
def test_arbitrary_bytes_never_raise(data: bytes, stall: float, remaining: float | None) -> None:
    a = analyze_running(data, stall, minutes_remaining=remaining)
    assert isinstance(a, RunningAnalysis) and a.waiting_on in WAITING_ON


_LINE = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner shell",
            "[op] PACKER ERR 2024/99/99 99:99:99 [INFO] (telemetry) ending shell",
            "[op] PACKER OUT ==> azure-arm: Waiting for SSH to become available...",
            "[op] PACKER ERR 2024/05/14 10:00:00 packer: [INFO] Waiting for SSH, up to timeout: 99999999h",
            "myBigFile.zip 826 B / 0 B  1.00%",
            "x 99999999999999 TB / 1 B 100%",
            "[op] PACKER OUT     azure-arm: IMAGE_STATE_UNDEPLOYABLE",
            "Do you want to continue? [Y/n]",
            "[op] PACKER OUT ==> azure-arm: A system shutdown is in progress.(1115)",
            "[op] PACKER OUT ==> azure-arm: Capturing image ...",
            "Done exporting Packer logs to Azure for Packer prefix: [op] PACKER OUT",
            "[op] PACKER 2024/12/23 16:27:00 ui: ==> azure-arm: Deploying deployment template ...",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINE, max_size=60), st.floats(min_value=0, max_value=1e6), st.booleans())
def test_arbitrary_line_mixtures_never_raise(lines: list[str], stall: float, with_now: bool) -> None:
    now = datetime(2024, 5, 14, 12, 0, tzinfo=UTC) if with_now else None
    a = analyze_running(lines, stall, minutes_remaining=30, now=now)
    assert a.waiting_on in WAITING_ON
    assert a.can_finish in (True, False, None)
    if a.minutes_in_state is not None:
        assert a.minutes_in_state == a.minutes_in_state  # not NaN


def test_lines_without_operation_id_and_indented() -> None:
    # container output and pasted guide snippets: no "[opid]", maybe indented
    text = (
        "    PACKER OUT ==> azure-arm: Waiting for SSH to become available...\n"
        "    PACKER ERR 2019/12/10 17:20:51 packer: [INFO] Waiting for SSH, up to timeout: 20m0s\n"
    )
    a = analyze_running(text, 5)
    assert a.waiting_on == "connection"
    assert a.minutes_in_state == pytest.approx(5)  # from the first timestamp after the wait began


def test_failed_build_cleaning_up_says_it_failed() -> None:
    log = samplelogs.failed_customizer_log("install-app", "Shell", 100)
    lines = log.lines
    cut = next(i for i, line in enumerate(lines) if "Deleting individual resources" in line)
    a = analyze_running(lines[: cut + 3], 1)
    assert a.waiting_on == "nothing" and a.can_finish is True
    assert "failed" in a.detail and "non-zero exit status: 100" in a.detail
    done = analyze_running(lines, 0)
    assert "failed" in done.detail


def test_windows_update_continuing_after_modules_installer_is_not_a_restart() -> None:
    prefix = "[op] PACKER OUT     azure-arm: "
    text = "\n".join(
        [
            "[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner windows-update",
            f"{prefix}Waiting for the Windows Modules Installer to exit...",
            f"{prefix}Waiting for operation to complete (system performance: 40% cpu; 50% memory)...",
        ]
    )
    assert analyze_running(text, 1).waiting_on == "provisioner"


def test_now_before_the_log_gives_no_negative_minutes() -> None:
    text = "[op] PACKER ERR 2024/05/14 10:00:00 [INFO] (telemetry) Starting provisioner shell\n"
    a = analyze_running(text, 0, now=datetime(2024, 5, 14, 9, 0, tzinfo=UTC))
    assert a.waiting_on == "provisioner" and a.minutes_in_state == 0
