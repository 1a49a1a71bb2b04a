"""Tails of builds still running, stopped at one of ``RUNNING_STAGES``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .begin import _connect, _deploy, _header, _new, default_customizers
from .customize import _provision
from .finish import _capture, _cleanup, _deprovision, _finish_success
from .writer import _STAGE_EXPECT, RUNNING_STAGES, SampleLog, _make


def running_log(
    stage: str = "provisioner",
    *,
    minutes: float = 30.0,
    os: str | None = None,
    style: str = "classic",
    file_size: int = 826_000_000,
    rate_bytes_per_second: float = 20_000.0,
    operation_id: str | None = None,
    start: datetime | None = None,
    seed: int = 5,
) -> SampleLog:
    """The tail of a live log for each stuck situation (see RUNNING_STAGES), ``minutes`` into that situation.

    The log's clock ends at ``SampleLog.ended``; pass it as ``now`` to the analyzer.
    ``expected_waiting_on`` / ``expected_category`` say what an analyzer should report.
    """
    if stage not in RUNNING_STAGES:
        raise ValueError(f"stage must be one of {', '.join(RUNNING_STAGES)}, not {stage!r}")
    windows_stages = ("waiting-winrm", "sysprep-loop", "restart", "windows-modules-installer")
    os_ = os or ("windows" if stage in windows_stages else "linux")
    w = _new(os_, style, operation_id, start, seed)
    waiting_on, category = _STAGE_EXPECT[stage]
    if stage in ("waiting-ssh", "waiting-winrm") and minutes >= 10:
        category = "network-config"  # a connection wait this long points at the network, not the VM
    info: dict[str, Any] = {}
    _header(w)
    if stage == "deploy":
        _deploy(w, finish=False)
        for _ in range(int(minutes * 4)):
            w.tick(15)
            w.azure_request(
                "GET",
                f"/providers/Microsoft.Resources/deployments/pkrdp{w.hexid()}/operationStatuses/"
                f"0858{w.hexid(14)}",
            )
        return _make(w.lines, w, expected_waiting_on=waiting_on, expected_category=category)
    _deploy(w)
    if stage in ("waiting-ssh", "waiting-winrm"):
        _connect(w, connect=False, wait_minutes=minutes)
        return _make(w.lines, w, expected_waiting_on=waiting_on, expected_category=category)
    _connect(w)
    if stage == "provisioner":
        _provision(w, default_customizers(os_)[0], 0)
        w.tick(3)
        w.err(
            "[INFO] (telemetry) Starting provisioner shell"
            if os_ == "linux"
            else "[INFO] (telemetry) Starting provisioner powershell"
        )
        w.ui(
            "Provisioning with shell script: /tmp/packer-shell552180"
            if os_ == "linux"
            else "Provisioning with powershell script: C:/Windows/Temp/script-build.ps1"
        )
        w.say("Building application (this takes a while) ...")
        steps = max(1, int(minutes))
        for i in range(steps):
            w.tick(60)
            w.say(f"[{i + 1:>3}/{steps + 40}] Compiling module_{i:03d}.o")
        info["provisioner"] = "shell" if os_ == "linux" else "powershell"
    elif stage == "download":
        name = "myBigFile.zip"
        w.err("[INFO] (telemetry) Starting provisioner file")
        w.ui(f"Uploading {w.op}.0.customizer.fp => /tmp/{name}")
        steps = max(2, int(minutes))
        done = 0.0
        for _ in range(steps):
            w.tick(60)
            done = min(file_size, done + rate_bytes_per_second * 60)
            w.progress(f"{name} {int(done)} B / {file_size} B  {100.0 * done / file_size:.2f}%")
        w.out("")
        info.update(file=name, file_size=file_size, bytes_done=int(done), rate=rate_bytes_per_second)
    elif stage == "sysprep-loop":
        _provision(w, {"type": "PowerShell", "name": "short-setup"}, 0)
        _deprovision(w, loop=max(1, int(minutes * 12)))
    elif stage == "loop":
        w.err("[INFO] (telemetry) Starting provisioner shell")
        w.ui("Provisioning with shell script: /tmp/packer-shell77102")
        w.say("Waiting for cloud-init to finish ...")
        for _ in range(max(1, int(minutes * 6))):
            w.tick(10)
            w.say(
                "waiting for dpkg lock: /var/lib/dpkg/lock-frontend is held by process 1873 (unattended-upgr)"
            )
    elif stage == "prompt":
        w.err("[INFO] (telemetry) Starting provisioner shell")
        w.ui("Provisioning with shell script: /tmp/packer-shell55102")
        w.say("Reading package lists...")
        w.say("Building dependency tree...")
        w.say("Reading state information...")
        w.say("The following NEW packages will be installed:")
        w.say("  libjq1 libonig5 jq")
        w.say("0 upgraded, 3 newly installed, 0 to remove and 12 not upgraded.")
        w.say("Need to get 357 kB of archives.")
        w.say("After this operation, 1,087 kB of additional disk space will be used.")
        w.say("Do you want to continue? [Y/n]")
        w.tick(minutes * 60)
    elif stage in ("restart", "windows-modules-installer"):
        _provision(w, {"type": "WindowsUpdate", "name": "updates"}, 0)
        w.err("[INFO] (telemetry) Starting provisioner windows-restart")
        w.ui("Restarting Machine")
        w.ui("Waiting for machine to restart...")
        if stage == "restart":
            w.say("A system shutdown has already been scheduled.(1190)")
        else:
            w.say("Waiting for the Windows Modules Installer to exit...")
        w.tick(minutes * 60)
    elif stage == "distribute":
        _deprovision(w)
        _capture(w, finish=False)
        for _ in range(max(0, int(minutes) - 4)):
            w.tick(60)
            w.err("packer-builder-azure-arm plugin: Waiting for SIG replication to complete ...")
    elif stage == "ended":
        _deprovision(w)
        _capture(w)
        _cleanup(w)
        _finish_success(w)
    return _make(w.lines, w, expected_waiting_on=waiting_on, expected_category=category, **info)
