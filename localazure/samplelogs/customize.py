"""The customizers' part of a log: each provisioner's start, output, telemetry and exit."""

from __future__ import annotations

import random
from typing import Any

from .writer import PROVISIONER_NAMES, _Log

_APT_PACKAGES = (
    "nginx",
    "libnginx-mod-http-geoip2",
    "liberror-perl",
    "git-man",
    "git",
    "jq",
    "libonig5",
    "unzip",
    "ca-certificates",
    "curl",
    "libcurl4",
    "python3-pip",
    "libpython3.10",
    "gnupg",
)


def _shell_output(w: _Log, n: int, rng: random.Random) -> None:
    w.say("Hit:1 http://azure.archive.ubuntu.com/ubuntu jammy InRelease")
    w.say("Get:2 http://azure.archive.ubuntu.com/ubuntu jammy-updates InRelease [119 kB]")
    w.say("Reading package lists...")
    w.say("Building dependency tree...")
    w.say("Reading state information...")
    w.say("The following NEW packages will be installed:")
    w.say("  " + " ".join(_APT_PACKAGES[: min(n, len(_APT_PACKAGES))]))
    w.say(f"0 upgraded, {n} newly installed, 0 to remove and 3 not upgraded.")
    for i in range(n):
        pkg = _APT_PACKAGES[i % len(_APT_PACKAGES)]
        ver = f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}-{rng.randint(1, 4)}ubuntu1"
        w.say(
            f"Get:{i + 3} http://azure.archive.ubuntu.com/ubuntu jammy/main amd64 {pkg} amd64 {ver} "
            f"[{rng.randint(8, 900)} kB]"
        )
        w.tick(rng.choice((0, 0, 1)))
    for i in range(n):
        pkg = _APT_PACKAGES[i % len(_APT_PACKAGES)]
        w.say(f"Setting up {pkg} ({rng.randint(1, 9)}.{rng.randint(0, 30)}) ...")
    w.say("Processing triggers for man-db (2.10.2-1) ...")
    w.say("debconf: unable to initialize frontend: Dialog")
    w.say("debconf: (TERM is not set, so the dialog frontend is not usable.)")


def _powershell_output(w: _Log, n: int, rng: random.Random) -> None:
    w.say("Installing application prerequisites ...")
    for i in range(n):
        w.say(f"Installed feature Web-Server component {i} : Success")
        w.tick(rng.choice((0, 1, 2)))
    w.say(
        "WARNING: The names of some imported commands from the module 'WebAdministration' include "
        "unapproved verbs that might make them less discoverable."
    )
    w.say("Done.")


def _customizer_key(c: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(c, str):
        return c.lower(), {"type": c}
    if isinstance(c, dict):
        return str(c.get("type", "Shell")).lower(), c
    raise TypeError(f"customizer must be a type name or a template customizer dict, not {type(c).__name__}")


def _provision(w: _Log, c: Any, index: int, *, fail: int | None = None, message: str | None = None) -> str:
    """Emit one customizer's provisioner run. Returns the packer provisioner name. ``fail`` = exit code."""
    kind, spec = _customizer_key(c)
    name = PROVISIONER_NAMES.get(kind, kind)
    rng = w.rng
    w.tick(2)
    w.err(f"[INFO] (telemetry) Starting provisioner {name}")
    error_text = None
    if kind == "shell":
        w.ui(f"Provisioning with shell script: /tmp/packer-shell{rng.randint(100000000, 999999999)}")
        w.say(f"Running customizer '{spec.get('name', f'shell-{index}')}'")
        _shell_output(w, rng.randint(6, 12), rng)
        if fail is not None:
            w.say(message or "E: Unable to locate package contoso-agent")
            w.rpc_end(fail, "shell", stdout=4871, stderr=37)
            error_text = f"Script exited with non-zero exit status: {fail}. Allowed exit codes are: [0]"
            w.err(f"Retryable error: {error_text}", "packer-provisioner-shell plugin")
        else:
            w.rpc_end(0, "shell", stdout=4871)
    elif kind == "powershell":
        w.ui(f"Provisioning with powershell script: C:/Windows/Temp/script-{w.hexid(8)}.ps1")
        w.err(
            'Found command: powershell -executionpolicy bypass "& { if (Test-Path variable:global:'
            "ProgressPreference){set-variable -name variable:global:ProgressPreference -value 'SilentlyContinue'}"
            ";. c:/Windows/Temp/packer-ps-env-vars.ps1; &'c:/Windows/Temp/script.ps1'; exit $LastExitCode }\"",
            "packer-provisioner-powershell plugin",
        )
        _powershell_output(w, rng.randint(4, 9), rng)
        if fail is not None:
            w.ui(
                message
                or "Install-Package : No match was found for the specified search criteria and package "
                "name 'contoso-agent'."
            )
            w.ui("At C:\\Windows\\Temp\\script-3f2a.ps1:4 char:1")
            w.ui(
                "    + CategoryInfo          : ObjectNotFound: (Microsoft.Power...lets.InstallPackage:InstallPackage)"
                " [Install-Package], Exception"
            )
            w.rpc_end(fail, "powershell", stdout=2210, stderr=318)
            error_text = f"Script exited with non-zero exit status: {fail}. Allowed exit codes are: [0]"
        else:
            w.rpc_end(0, "powershell", stdout=2210)
    elif kind == "file":
        src = spec.get("sourceUri", "https://contosoartifacts.blob.core.windows.net/files/app.tar.gz")
        dest = spec.get(
            "destination", "/tmp/app.tar.gz" if w.os == "linux" else "C:\\BuildArtifacts\\app.zip"
        )
        base = dest.replace("\\", "/").rsplit("/", 1)[-1]
        if fail is not None:
            w.err(
                f"Downloading external file ({src}) to local file ({w.op}.{index}.customizer.fp) "
                f"[attempt 10 of 10] failed: Error downloading '{src}' to '{w.op}.{index}.customizer.fp'.."
            )
            w.ui(
                f"Error downloading '{src}': 403 This request is not authorized to perform this operation using "
                "this permission."
            )
            error_text = f"Error downloading '{src}' to '{w.op}.{index}.customizer.fp'.."
        else:
            size = int(spec.get("_size", 187_392))
            w.ui(f"Uploading {w.op}.{index}.customizer.fp => {dest}")
            for pct in (25, 50, 75, 100):
                w.progress(f"{base} {size * pct // 100} B / {size} B  {pct:.2f}%")
                w.tick(1)
            w.out("")
    elif kind == "windowsupdate":
        w.say("Uploading the Windows update elevated script...")
        w.say("Uploading the Windows update check for reboot required elevated script...")
        w.say("Running Windows update...")
        w.say("Searching for Windows updates...")
        w.tick(60)
        w.say(
            "Found Windows update (2024-05 Cumulative Update for Windows Server 2022 for x64-based Systems "
            "(KB5037782); 346.1 MB): 81c6a6a6-3b8f-4f4c-9f2c-3a2f6a52d2c1"
        )
        w.say(
            "Found Windows update (Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 "
            "(Version 1.411.171.0); 64.5 MB): 7e1cd3b1-0b8d-4c5e-8f3f-b1e1f3a9c201"
        )
        w.say("Downloading Windows updates (2 updates; 410.6 MB)...")
        w.tick(180)
        w.say("Installing Windows updates...")
        for cpu, mem in ((1, 37), (51, 35), (21, 37), (90, 32)):
            w.tick(60)
            w.say(f"Waiting for operation to complete (system performance: {cpu}% cpu; {mem}% memory)...")
        if fail is not None:
            w.err(
                f"[INFO] command 'PowerShell -ExecutionPolicy Bypass -OutputFormat Text -File "
                f"C:/Windows/Temp/packer-windows-update-elevated.ps1' exited with code: {fail}",
                "packer",
            )
            w.rpc_end(fail, "windows-update")
            error_text = f"Windows update script exited with non-zero exit status: {fail}"
        else:
            w.err(
                "[INFO] command 'PowerShell -ExecutionPolicy Bypass -OutputFormat Text -File "
                "C:/Windows/Temp/packer-windows-update-elevated.ps1' exited with code: 101",
                "packer",
            )
            w.ui("Restarting the machine...")
            w.err('[INFO] starting remote command: shutdown.exe -f -r -t 0 -c "packer restart"', "packer")
            w.ui("Waiting for machine to become available...")
            w.tick(90)
            w.say("Searching for Windows updates...")
            w.say("No Windows updates found")
    elif kind == "windowsrestart":
        timeout = spec.get("restartTimeout", "5m")
        w.ui("Restarting Machine")
        command = spec.get("restartCommand", 'shutdown /r /f /t 0 /c "packer restart"')
        w.err(f"[INFO] starting remote command: {command}", "packer")
        w.ui("Waiting for machine to restart...")
        if fail is not None:
            w.say("A system shutdown has already been scheduled.(1190)")
            w.tick(_minutes(timeout) * 60)
            w.err(
                "packer-provisioner-windows-restart plugin: [ERROR] Timeout waiting for machine to restart."
            )
            error_text = "Timeout waiting for machine to restart."
        else:
            w.tick(45)
            w.say("WIN-7Q2M4K restarted.")
            w.ui("Machine successfully restarted, moving on")
    else:
        w.ui(f"Provisioning with {name} ...")
    w.err(f"[INFO] (telemetry) ending {name}")
    if error_text:
        if w.style == "modern":
            w.err(f"[INFO] (telemetry) found error: {error_text}")
        w.ui(error_text)
        w.ui("Provisioning step had errors: Running the cleanup provisioner, if present...")
        w.last_error = error_text
    return name


def _minutes(duration: str) -> float:
    try:
        if duration.endswith("h"):
            return float(duration[:-1]) * 60
        if duration.endswith("m"):
            return float(duration[:-1])
        if duration.endswith("s"):
            return float(duration[:-1]) / 60
        return float(duration)
    except ValueError:
        return 5.0
