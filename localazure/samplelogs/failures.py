"""Logs of builds that fail outside a customizer: the failure kinds in ``FAILURES`` and their tails."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .begin import _connect, _deploy, _header, _new, default_customizers
from .customize import _provision
from .finish import _capture, _cleanup, _deprovision, _done, _finish_error, _finish_success
from .writer import FAILURES, SampleLog, _Log, _make, status_message


def _context_cancel(w: _Log, *, remote_exit: bool) -> None:
    w.tick(5)
    w.err("Cancelling builder after context cancellation context canceled")
    w.out("Cancelling build after receiving terminated")
    w.err("Cancelling provisioning due to context cancellation: context canceled", "packer")
    w.ui("")
    w.err("Cancelling hook after context cancellation context canceled", "packer")
    if remote_exit:
        w.tick(2)
        w.err("[ERROR] Remote command exited without exit status or exit signal.", "packer")
        w.err("[INFO] RPC endpoint: Communicator ended with: 2300218", "packer")
        w.err("[INFO] 148974 bytes written for 'stdout'")
        w.err("[INFO] 0 bytes written for 'stderr'")
        w.err("[INFO] RPC client: Communicator ended with: 2300218")
        w.err("[INFO] RPC endpoint: Communicator ended with: 2300218")


def _shell_cancelled(w: _Log, script: str, says: str, *, hours: int, remote_exit: bool) -> None:
    """A shell customizer that runs for ``hours`` until Packer's context is cancelled, then the build's end."""
    w.err("[INFO] (telemetry) Starting provisioner shell")
    w.ui(f"Provisioning with shell script: /tmp/{script}")
    w.say(says)
    w.tick(hours * 3600)
    _context_cancel(w, remote_exit=remote_exit)
    w.err("[INFO] (telemetry) ending shell")
    _cleanup(w, retries=1)
    _finish_error(w, "context canceled")


def _resources_tail(w: _Log) -> str:
    """The guide's 'low Windows resource' block: Windows Update on D1_v2, 1115, unexpected EOF."""
    w.err("[INFO] (telemetry) Starting provisioner windows-update")
    w.say("Running Windows update...")
    w.say("Installing Windows updates...")
    for cpu, mem in ((1, 37), (51, 35), (21, 37), (21, 36), (90, 32)):
        w.tick(60)
        w.say(f"Waiting for operation to complete (system performance: {cpu}% cpu; {mem}% memory)...")
    w.say("Waiting for the Windows Modules Installer to exit...")
    w.err(
        "[INFO] command 'PowerShell -ExecutionPolicy Bypass -OutputFormat Text -File "
        "C:/Windows/Temp/packer-windows-update-elevated.ps1' exited with code: 101",
        "packer",
    )
    w.ui("Restarting the machine...")
    w.err("[INFO] RPC endpoint: Communicator ended with: 101", "packer")
    w.ui("Waiting for machine to become available...")
    w.err('[INFO] starting remote command: shutdown.exe -f -r -t 0 -c "packer restart"', "packer")
    w.ui("A system shutdown is in progress.(1115)")
    w.tick(1)
    w.err('[INFO] starting remote command: shutdown.exe -f -r -t 60 -c "packer restart test"', "packer")
    w.err(
        "[INFO] command 'shutdown.exe -f -r -t 60 -c \"packer restart test\"' exited with code: 1115",
        "packer",
    )
    w.err("[INFO] RPC endpoint: Communicator ended with: 1115", "packer")
    w.err(
        "Retryable error: Machine not yet available (exit status 1115)", "packer-provisioner-windows-update"
    )
    w.err("[INFO] (telemetry) ending windows-update")
    w.out("Build 'azure-arm' errored: unexpected EOF")
    w.out("")
    return "unexpected EOF"


def _failure_tail(w: _Log, failure: str) -> tuple[str, dict[str, Any]]:
    """Emit the end of a build failing with ``failure``; returns (category, extra attrs)."""
    if failure == "customizer":
        prov = _provision(
            w,
            {"type": "Shell" if w.os == "linux" else "PowerShell", "name": "install-agent"},
            9,
            fail=100 if w.os == "linux" else 1,
        )
        _cleanup(w, retries=1)
        _finish_error(w, w.last_error or "exit status 1")
        return "customizer-failed", {"failed_customizer": prov, "exit_code": 100 if w.os == "linux" else 1}
    if failure == "download":
        prov = _provision(w, {"type": "File", "name": "big-artifact"}, 9, fail=1)
        _cleanup(w, retries=1)
        _finish_error(w, w.last_error or "download failed")
        return "customizer-download-failed", {"failed_customizer": prov}
    if failure == "restart":
        prov = _provision(w, {"type": "WindowsRestart", "name": "restart"}, 9, fail=1190)
        _cleanup(w, retries=1)
        _finish_error(w, "Timeout waiting for machine to restart.")
        return "windows-restart-failed", {"failed_customizer": prov}
    if failure == "sysprep":
        _deprovision(w, loop=240)
        _context_cancel(w, remote_exit=False)
        _cleanup(w, retries=1)
        _finish_error(w, "context canceled")
        return "sysprep-timing", {}
    if failure == "resources":
        error = _resources_tail(w)
        _cleanup(w, retries=1)
        _finish_error(w, error)
        return "vm-resources-exhausted", {}
    if failure == "connection":
        _shell_cancelled(w, "packer-shell448812377", "Configuring firewall rules ...", hours=1, remote_exit=True)
        return "connection-lost", {"failed_customizer": "shell"}
    if failure == "no-artifacts":
        _deprovision(w)
        _capture(w, finish=False)
        error = (
            "Future#WaitForCompletion: context has been cancelled: StatusCode=200 -- Original Error: "
            "context deadline exceeded"
        )
        w.out(f"Build 'azure-arm' errored: {error}")
        w.err("==> Some builds didn't complete successfully and had errors:")
        w.out("")
        w.err(f'machine readable: azure-arm,error []string{{"{error}"}}')
        w.out("==> Some builds didn't complete successfully and had errors:")
        w.err("==> Builds finished but no artifacts were created.")
        w.out(f"--> azure-arm: {error}")
        w.err("Cancelling builder after context cancellation context canceled")
        w.out("")
        w.err("[INFO] (telemetry) Finalizing.")
        w.out("==> Builds finished but no artifacts were created.")
        w.err("waiting for all plugin processes to complete...")
        _done(w)
        return "no-artifacts", {}
    if failure == "timeout":
        says = "Compiling the world, this may take a while ..."
        _shell_cancelled(w, "packer-shell99120", says, hours=3, remote_exit=False)
        return "build-timeout", {"failed_customizer": "shell"}
    if failure == "none":
        _deprovision(w)
        _capture(w)
        _cleanup(w)
        _finish_success(w)
        return "none", {}
    raise ValueError(f"failure must be one of {', '.join(FAILURES)}, not {failure!r}")


def failure_log(
    failure: str,
    *,
    os: str | None = None,
    style: str = "classic",
    seed: int = 4,
    operation_id: str | None = None,
    start: datetime | None = None,
) -> SampleLog:
    """A complete small log ending in ``failure`` (one of FAILURES)."""
    if failure not in FAILURES:
        raise ValueError(f"failure must be one of {', '.join(FAILURES)}, not {failure!r}")
    os_ = os or ("windows" if failure in ("sysprep", "resources", "restart") else "linux")
    w = _new(os_, style, operation_id, start, seed)
    _header(w)
    _deploy(w)
    _connect(w)
    for i, c in enumerate(default_customizers(os_)[:2]):
        _provision(w, c, i)
    category, extra = _failure_tail(w, failure)
    return _make(
        w.lines,
        w,
        expected_category=category,
        status_message=status_message(failure, w.op, w.folder),
        **extra,
    )
