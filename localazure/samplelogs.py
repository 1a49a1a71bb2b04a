
"""Realistic Azure VM Image Builder ``customization.log`` content for demos, tests and benchmarks.

The lines follow the shapes of real logs (see ``shared/reference/aib-facts.md`` and the troubleshooting guide):
``[opid] PACKER OUT ==> azure-arm: ...``, ``[opid] PACKER OUT     azure-arm: ...``,
``[opid] PACKER ERR 2020/04/30 23:28:50 packer: 2020/04/30 23:28:50 ...`` (style ``"classic"``) and
``[opid] PACKER 2024/12/23 16:27:00 ui: ==> azure-arm: ...`` (style ``"modern"``), plus bare lines (file upload
progress). Packer logs ``(telemetry) ending X`` for a failing provisioner too (its ``TelemetrySpan.End`` runs
whatever the result); newer versions add ``(telemetry) found error: ...``; the generators do the same.

Every generator returns a :class:`SampleLog`: the log as ``bytes`` (it *is* a ``bytes`` object) carrying what it
wrote: ``operation_id``, ``folder``, ``expected_category``, ``status_message`` (the ``lastRunStatus.message`` a
failed run would show), and for running tails ``expected_waiting_on``. ``write_large_log`` streams a log of any
size to a file quickly by repeating realistic blocks with advancing timestamps, with the failure at the end.

No Azure imports; the standard library only.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_START = datetime(2024, 5, 14, 9, 2, 11, tzinfo=UTC)
FAILURES = (
    "customizer",
    "sysprep",
    "resources",
    "no-artifacts",
    "connection",
    "restart",
    "download",
    "timeout",
    "none",
)
FAILURE_CATEGORY = {
    "customizer": "customizer-failed",
    "sysprep": "sysprep-timing",
    "resources": "vm-resources-exhausted",
    "no-artifacts": "no-artifacts",
    "connection": "connection-lost",
    "restart": "windows-restart-failed",
    "download": "customizer-download-failed",
    "timeout": "build-timeout",
    "none": "none",
}
RUNNING_STAGES = (
    "deploy",
    "waiting-ssh",
    "waiting-winrm",
    "provisioner",
    "download",
    "sysprep-loop",
    "loop",
    "prompt",
    "restart",
    "windows-modules-installer",
    "distribute",
    "ended",
)
_STAGE_EXPECT = {  # stage -> (waiting_on, category)
    "deploy": ("deploy", None),
    "waiting-ssh": ("connection", None),
    "waiting-winrm": ("connection", None),
    "provisioner": ("provisioner", None),
    "download": ("download", "large-file-download"),
    "sysprep-loop": ("loop", "sysprep-timing"),
    "loop": ("loop", None),
    "prompt": ("prompt", "interactive-prompt"),
    "restart": ("restart", "windows-restart-failed"),
    "windows-modules-installer": ("restart", "pending-restart"),
    "distribute": ("distribute", None),
    "ended": ("nothing", None),
}
PROVISIONER_NAMES = {
    "shell": "shell",
    "powershell": "powershell",
    "file": "file",
    "windowsrestart": "windows-restart",
    "windowsupdate": "windows-update",
}


class SampleLog(bytes):
    """A generated log: ``bytes`` plus what was written into it."""

    operation_id: str
    folder: str
    expected_category: str
    status_message: str
    expected_waiting_on: str | None
    failed_customizer: str | None
    failed_customizer_type: str | None
    exit_code: int | None
    os: str
    started: datetime
    ended: datetime
    info: dict[str, Any]

    @property
    def text(self) -> str:
        return self.decode("utf-8")

    @property
    def lines(self) -> list[str]:
        return self.decode("utf-8").splitlines()

    @property
    def log_url(self) -> str:
        return f"https://{_account(self.operation_id)}.blob.core.windows.net/packerlogs/{self.folder}/customization.log"


def _make(lines: Sequence[str], w: _Log, **attrs: Any) -> SampleLog:
    data = SampleLog(("\n".join(lines) + "\n").encode("utf-8"))
    data.operation_id = w.op
    data.folder = w.folder
    data.os = w.os
    data.started = w.start
    data.ended = w.t
    data.expected_category = attrs.pop("expected_category", "none")
    data.status_message = attrs.pop("status_message", "")
    data.expected_waiting_on = attrs.pop("expected_waiting_on", None)
    data.failed_customizer = attrs.pop("failed_customizer", None)
    data.failed_customizer_type = attrs.pop("failed_customizer_type", None)
    data.exit_code = attrs.pop("exit_code", None)
    data.info = attrs
    return data


def _account(op: str) -> str:
    return "a" + op.replace("-", "")[:15] + "st"


def status_message(kind: str, operation_id: str, folder: str) -> str:
    """The ``lastRunStatus.message`` Image Builder shows for a failure of ``kind`` (see FAILURES)."""
    url = f"https://{_account(operation_id)}.blob.core.windows.net/packerlogs/{folder}/customization.log"
    tail = f" Image Build log location: {url}. OperationId: {operation_id}. Use this operationId to search packer logs."
    if kind in ("none", ""):
        return ""
    if kind in ("timeout", "sysprep"):
        return (
            "Failed while waiting for packerizer: Timeout waiting for microservice to complete: "
            "'context deadline exceeded'" + tail
        )
    return (
        "Failed while waiting for packerizer: Microservice has failed: Failed while processing request: Error when "
        "executing packerizer: Packer build command has failed: exit status 1. During the image build, a failure "
        "has occurred, please review the build log to identify which build/customization step failed. For more "
        "troubleshooting steps go to https://aka.ms/azvmimagebuilderts." + tail
    )


@dataclass
class _Log:
    """Builds log lines of one run with a clock that advances as the build goes."""

    op: str
    start: datetime
    style: str = "classic"
    os: str = "linux"
    folder: str = ""
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    lines: list[str] = field(default_factory=list)
    t: datetime = field(init=False)
    sub: str = "00000000-0000-0000-0000-000000000000"
    staging: str = ""
    last_error: str | None = None  # the error text of the last failing provisioner

    def __post_init__(self) -> None:
        if self.style not in ("classic", "modern"):
            raise ValueError(f"style must be 'classic' or 'modern', not {self.style!r}")
        self.t = self.start
        if not self.folder:
            self.folder = f"{self.start:%Y%m%d%H%M%S}_{self.op[:8]}"
        self.staging = f"IT_rg-images_tpl-{self.os}_{uuid.UUID(int=self.rng.getrandbits(128))}"

    # -- clock
    def tick(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)

    def ts(self) -> str:
        return f"{self.t:%Y/%m/%d %H:%M:%S}"

    # -- line shapes
    def ui(self, msg: str) -> None:
        """``==> azure-arm: msg`` (a step)."""
        self._ui(f"==> azure-arm: {msg}")

    def say(self, msg: str) -> None:
        """``    azure-arm: msg`` (output of a remote command)."""
        self._ui(f"    azure-arm: {msg}")

    def out(self, text: str) -> None:
        """A raw PACKER OUT line (``Build 'azure-arm' ...``, ``==> Builds finished``, empty)."""
        self._ui(text)

    def _ui(self, text: str) -> None:
        if self.style == "classic":
            self.lines.append(f"[{self.op}] PACKER OUT {text}")
        else:
            self.lines.append(f"[{self.op}] PACKER {self.ts()} ui: {text}")

    def progress(self, text: str) -> None:
        """A file-upload progress line: bare after an empty PACKER OUT (classic), a ui line (modern)."""
        if self.style == "classic":
            self.out("")
            self.bare(text)
        else:
            self._ui(text)

    def err(self, text: str, plugin: str | None = None) -> None:
        """A log line of packer (stderr): ``PACKER ERR <ts> [<plugin>: <ts>] text``."""
        if self.style == "classic":
            if plugin:
                self.lines.append(f"[{self.op}] PACKER ERR {self.ts()} {plugin}: {self.ts()} {text}")
            else:
                self.lines.append(f"[{self.op}] PACKER ERR {self.ts()} {text}")
        else:
            if plugin == "packer":
                plugin = "packer-plugin-azure_v2.1.7_x5.0_linux_amd64 plugin"
            if plugin:
                self.lines.append(f"[{self.op}] PACKER {self.ts()} {plugin}: {self.ts()} {text}")
            else:
                self.lines.append(f"[{self.op}] PACKER {self.ts()} {text}")

    def bare(self, text: str) -> None:
        self.lines.append(text)

    def azure_request(self, method: str, path: str) -> None:
        self.err(
            f'Azure request method="{method}" request="https://management.azure.com/subscriptions/{self.sub}'
            f'/resourceGroups/{self.staging}{path}?[REDACTED]" body=""',
            "packer",
        )

    def rpc_end(self, code: int, plugin: str, stdout: int = 0, stderr: int = 0) -> None:
        self.err(f"[INFO] RPC client: Communicator ended with: {code}", f"packer-provisioner-{plugin} plugin")
        self.err(f"[INFO] {stdout} bytes written for 'stdout'")
        self.err(f"[INFO] {stderr} bytes written for 'stderr'")
        self.err(f"[INFO] RPC client: Communicator ended with: {code}")
        self.err(f"[INFO] RPC endpoint: Communicator ended with: {code}")

    def hexid(self, n: int = 10) -> str:
        return "".join(self.rng.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(n))


# ---------------------------------------------------------------------------------------------------- stages


def _header(w: _Log) -> None:
    w.out("azure-arm: output will be in this color.")
    w.out("")
    w.err("[INFO] Packer version: 1.10.3 [go1.21.9 linux amd64]")
    w.err("[INFO] PACKER_CONFIG env var not set; checking the default config file path")
    w.err("[INFO] Setting cache directory: /root/.cache/packer")
    w.err("[INFO] (telemetry) Starting builder azure-arm")
    w.ui("Running builder ...")
    w.ui("Getting tokens using Managed Identity for Azure")
    w.err("packer-builder-azure-arm plugin: [INFO] Using Managed Identity for authentication")


def _deploy(w: _Log, *, finish: bool = True) -> None:
    vm = "pkrvm" + w.hexid()
    w.ui("Using existing resource group ...")
    w.ui(f" -> ResourceGroupName : '{w.staging}'")
    w.ui(" -> Location          : 'westeurope'")
    w.tick(2)
    w.ui("Validating deployment template ...")
    w.azure_request("POST", "/providers/Microsoft.Resources/deployments/pkrdp" + w.hexid() + "/validate")
    w.ui(f" -> DeploymentName    : 'pkrdp{w.hexid()}'")
    w.tick(3)
    w.ui("Deploying deployment template ...")
    w.ui(f" -> ResourceGroupName : '{w.staging}'")
    w.ui(f" -> DeploymentName    : 'pkrdp{w.hexid()}'")
    for _ in range(6 if finish else 4):
        w.tick(15)
        w.azure_request(
            "GET",
            f"/providers/Microsoft.Resources/deployments/pkrdp{w.hexid()}/operationStatuses/0858{w.hexid(14)}",
        )
    if not finish:
        return
    w.tick(20)
    w.ui(f" -> VM Name           : '{vm}'")
    w.ui("Getting the VM's IP address ...")
    w.ui(f" -> ResourceGroupName   : '{w.staging}'")
    w.ui(f" -> PublicIPAddressName : 'pkrip{w.hexid()}'")
    w.ui(f" -> NicName             : 'pkrni{w.hexid()}'")
    w.ui(" -> Network Connection  : 'PrivateEndpoint'")
    w.ui(" -> IP Address          : '10.1.0.4'")


def _connect(w: _Log, *, connect: bool = True, wait_minutes: float = 1.5) -> None:
    if w.os == "windows":
        w.ui("Waiting for WinRM to become available...")
        w.err("packer-builder-azure-arm plugin: [INFO] Waiting for WinRM, up to timeout: 20m0s")
        w.err("packer-builder-azure-arm plugin: [INFO] Attempting WinRM connection...")
        steps = max(1, int(wait_minutes * 2))
        for _ in range(steps):
            w.tick(30)
            w.err(
                "packer-builder-azure-arm plugin: [DEBUG] connecting to remote shell using WinRM",
            )
            if not connect:
                w.err(
                    "packer-builder-azure-arm plugin: [ERROR] connection error: unknown error Post "
                    '"https://10.1.0.4:5986/wsman": dial tcp 10.1.0.4:5986: i/o timeout'
                )
                w.err(
                    "packer-builder-azure-arm plugin: [ERROR] WinRM connection err: unknown error Post "
                    '"https://10.1.0.4:5986/wsman": dial tcp 10.1.0.4:5986: i/o timeout'
                )
        if connect:
            w.say("WinRM connected.")
            w.ui("Connected to WinRM!")
    else:
        w.ui("Waiting for SSH to become available...")
        w.err("packer-builder-azure-arm plugin: [INFO] Waiting for SSH, up to timeout: 20m0s")
        steps = max(1, int(wait_minutes * 4))
        for _ in range(steps):
            w.tick(15)
            w.err(
                "packer-builder-azure-arm plugin: [DEBUG] TCP connection to SSH ip/port failed: "
                "dial tcp 10.1.0.4:22: i/o timeout"
            )
        if connect:
            w.tick(5)
            w.err("packer-builder-azure-arm plugin: [INFO] Attempting SSH connection to 10.1.0.4:22...")
            w.err("packer-builder-azure-arm plugin: [DEBUG] reconnecting to TCP connection for SSH")
            w.err("packer-builder-azure-arm plugin: [DEBUG] handshaking with SSH")
            w.err("packer-builder-azure-arm plugin: [DEBUG] handshake complete!")
            w.ui("Connected to SSH!")


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


_DEPROV_PS1 = (
    "Write-Output '>>> Waiting for GA Service (RdAgent) to start ...'",
    "while ((Get-Service RdAgent) -and ((Get-Service RdAgent).Status -ne 'Running')) { Start-Sleep -s 5 }",
    "Write-Output '>>> Waiting for GA Service (WindowsAzureTelemetryService) to start ...'",
    "while ((Get-Service WindowsAzureTelemetryService) -and ((Get-Service WindowsAzureTelemetryService).Status "
    "-ne 'Running')) { Start-Sleep -s 5 }",
    "Write-Output '>>> Waiting for GA Service (WindowsAzureGuestAgent) to start ...'",
    "while ((Get-Service WindowsAzureGuestAgent) -and ((Get-Service WindowsAzureGuestAgent).Status -ne "
    "'Running')) { Start-Sleep -s 5 }",
    "Write-Output '>>> Sysprepping VM ...'",
    "if( Test-Path $Env:SystemRoot\\system32\\Sysprep\\unattend.xml ) {",
    "  Remove-Item $Env:SystemRoot\\system32\\Sysprep\\unattend.xml -Force",
    "}",
    "& $Env:SystemRoot\\System32\\Sysprep\\Sysprep.exe /oobe /generalize /quiet /quit",
    "while($true) {",
    "  $imageState = (Get-ItemProperty HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State).ImageState",
    "  Write-Output $imageState",
    "  if ($imageState -eq 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE') { break }",
    "  Start-Sleep -s 5",
    "}",
    "Write-Output '>>> Sysprep complete ...'",
)


def _deprovision(w: _Log, *, loop: int | None = None) -> None:
    """AIB's hidden last customizer. ``loop``: number of IMAGE_STATE_UNDEPLOYABLE lines of a sysprep loop."""
    w.tick(3)
    if w.os == "windows":
        w.err("[INFO] (telemetry) Starting provisioner powershell")
        w.ui("Provisioning with powershell script: C:/Windows/Temp/script-deprovision.ps1")
        w.err(
            "Found command: if( TEST-PATH c:\\DeprovisioningScript.ps1 ){cat c:\\DeprovisioningScript.ps1} else "
            '{echo "Deprovisioning script [c:\\DeprovisioningScript.ps1] could not be found. Image build may fail '
            "or the VM created from the Image may not boot. Please make sure the deprovisioning script is not "
            'accidentally deleted by a Customizer in the Template."}',
            "packer",
        )
        for line in _DEPROV_PS1:
            w.say(line)
        w.say(">>> Waiting for GA Service (RdAgent) to start ...")
        w.say(">>> Waiting for GA Service (WindowsAzureTelemetryService) to start ...")
        w.say(">>> Waiting for GA Service (WindowsAzureGuestAgent) to start ...")
        w.say(">>> Sysprepping VM ...")
        w.say("IMAGE_STATE_COMPLETE")
        if loop is not None:
            w.ui("Get-Service : Cannot find any service with service name 'WindowsAzureGuestAgent'.")
            w.ui("At C:\\DeprovisioningScript.ps1:6 char:9")
            w.ui("+ while ((Get-Service WindowsAzureGuestAgent) -and ((Get-Service Window ...")
            w.ui("+         ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~")
            w.ui(
                "    + CategoryInfo          : ObjectNotFound: (WindowsAzureGuestAgent:String) [Get-Service], "
                "ServiceCommandException"
            )
            w.ui(
                "    + FullyQualifiedErrorId : NoServiceFoundForGivenName,Microsoft.PowerShell.Commands."
                "GetServiceCommand"
            )
            w.ui("")
            for _ in range(loop):
                w.tick(5)
                w.say("IMAGE_STATE_UNDEPLOYABLE")
            return
        for _ in range(w.rng.randint(4, 9)):  # a normal sysprep also passes through UNDEPLOYABLE for a while
            w.tick(5)
            w.say("IMAGE_STATE_UNDEPLOYABLE")
        w.say("IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE")
        w.say(">>> Sysprep complete ...")
        w.rpc_end(0, "powershell", stdout=1650)
        w.err("[INFO] (telemetry) ending powershell")
    else:
        w.err("[INFO] (telemetry) Starting provisioner shell")
        w.ui("Provisioning with shell script: /tmp/packer-shell187355302")
        w.err(
            "[INFO] starting remote command: chmod 0755 /tmp/script_4071.sh",
            "packer-provisioner-shell plugin",
        )
        w.err("[INFO] starting remote command: sudo /tmp/DeprovisioningScript.sh", "packer")
        w.say("WARNING! The waagent service will be stopped.")
        w.say("WARNING! Cached DHCP leases will be deleted.")
        w.say("WARNING! root password will be disabled. You will not be able to login as root.")
        w.say("WARNING! /etc/resolv.conf will be deleted.")
        w.say("WARNING! packer account and entire home directory will be deleted.")
        w.tick(4)
        w.rpc_end(0, "shell", stdout=312)
        w.err("[INFO] (telemetry) ending shell")


def _capture(w: _Log, *, distribute: str = "SharedImage", finish: bool = True) -> None:
    w.tick(5)
    w.ui("Querying the machine's properties ...")
    w.ui(f" -> ResourceGroupName : '{w.staging}'")
    w.ui("Querying the machine's additional properties ...")
    w.ui("Powering off machine ...")
    w.tick(40)
    w.ui("Generalizing machine ...")
    w.ui("Capturing image ...")
    w.ui(" -> Compute ResourceGroupName : 'rg-images'")
    w.ui(" -> Compute Name              : 'img-" + w.os + "-2024'")
    w.tick(70)
    if distribute == "SharedImage":
        w.ui(
            " -> SIG publication   : 'gal_images/" + w.os + "-base/1.0." + str(w.rng.randint(100, 999)) + "'"
        )
        w.ui("Publishing to Shared Image Gallery ...")
        w.ui(" -> SIG image name    : '" + w.os + "-base'")
        w.ui(" -> SIG replicated regions    : [westeurope northeurope]")
        if not finish:
            for _ in range(4):
                w.tick(60)
                w.err("packer-builder-azure-arm plugin: Waiting for SIG replication to complete ...")
            return
        w.tick(600)


def _cleanup(w: _Log, *, retries: int = 2) -> None:
    w.ui("Deleting individual resources ...")
    for kind, name in (
        ("Microsoft.Compute/virtualMachines", "pkrvm"),
        ("Microsoft.Network/networkInterfaces", "pkrni"),
        ("Microsoft.Network/publicIPAddresses", "pkrip"),
        ("Microsoft.Network/networkSecurityGroups", "pkrsg"),
        ("Microsoft.Network/virtualNetworks", "pkrvn"),
    ):
        w.ui(f"Adding to deletion queue -> {kind} : '{name}{w.hexid()}'")
    w.ui("Waiting for deletion of all resources...")
    w.tick(30)
    for i in range(retries):
        if i % 2 == 0:
            w.ui("Error deleting resource. Will retry.")
            w.ui(f"Name: pkrip{w.hexid()}")
            w.ui(
                "Error: network.PublicIPAddressesClient#Delete: Failure sending request: StatusCode=400 -- Original "
                'Error: Code="PublicIPAddressCannotBeDeleted" Message="Public IP address /subscriptions/'
                f"{w.sub}/resourceGroups/{w.staging}/providers/Microsoft.Network/publicIPAddresses/pkrip{w.hexid()} "
                "can not be deleted since it is still allocated to resource /subscriptions/"
                f"{w.sub}/resourceGroups/{w.staging}/providers/Microsoft.Network/networkInterfaces/pkrni"
                f'{w.hexid()}/ipConfigurations/ipconfig."'
            )
        else:
            w.ui("Error deleting resource. Will retry.")
            w.ui(f"Name: pkrsg{w.hexid()}")
            w.ui(
                "Error: network.SecurityGroupsClient#Delete: Failure sending request: StatusCode=400 -- Original "
                'Error: Code="InUseNetworkSecurityGroupCannotBeDeleted" Message="Network security group '
                f"pkrsg{w.hexid()} cannot be deleted because it is in use by the following resources: "
                f'pkrni{w.hexid()}."'
            )
        w.tick(10)
        w.ui("")
    w.azure_request("DELETE", f"/providers/Microsoft.Network/networkInterfaces/pkrni{w.hexid()}")
    w.ui(f"Removing the created Deployment object: 'pkrdp{w.hexid()}'")
    w.tick(5)


def _finish_success(w: _Log) -> None:
    w.err("[INFO] (telemetry) ending azure-arm")
    elapsed = w.t - w.start
    mins, secs = divmod(int(elapsed.total_seconds()), 60)
    w.out(f"Build 'azure-arm' finished after {mins} minutes {secs} seconds.")
    w.out("")
    w.out(f"==> Wait completed after {mins} minutes {secs} seconds")
    w.out("")
    w.out("==> Builds finished. The artifacts of successful builds are:")
    w.out("--> azure-arm: Azure.ResourceManagement.VMImage:")
    w.out("")
    w.out("OSType: " + ("Windows" if w.os == "windows" else "Linux"))
    w.out("ManagedImageResourceGroupName: rg-images")
    w.out(f"ManagedImageName: img-{w.os}-2024")
    w.out(
        f"ManagedImageId: /subscriptions/{w.sub}/resourceGroups/rg-images/providers/Microsoft.Compute/images/"
        f"img-{w.os}-2024"
    )
    w.out("ManagedImageLocation: westeurope")
    w.out("")
    w.err("[INFO] (telemetry) Finalizing.")
    w.err("waiting for all plugin processes to complete...")
    w.err("/usr/bin/packer: plugin process exited")
    _done(w)


def _finish_error(w: _Log, error: str) -> None:
    w.err("[INFO] (telemetry) ending azure-arm")
    elapsed = w.t - w.start
    mins, secs = divmod(int(elapsed.total_seconds()), 60)
    w.out(f"Build 'azure-arm' errored after {mins} minutes {secs} seconds: {error}")
    w.out("")
    w.out(f"==> Wait completed after {mins} minutes {secs} seconds")
    w.out("")
    w.out("==> Some builds didn't complete successfully and had errors:")
    w.out(f"--> azure-arm: {error}")
    w.out("")
    w.out("==> Builds finished but no artifacts were created.")
    w.err(f'machine readable: azure-arm,error []string{{"{error}"}}')
    w.err("[INFO] (telemetry) Finalizing.")
    w.err("waiting for all plugin processes to complete...")
    w.err("/usr/bin/packer: plugin process exited")
    _done(w)


def _done(w: _Log) -> None:
    w.bare(f"Done exporting Packer logs to Azure for Packer prefix: [{w.op}] PACKER OUT")


def _default_customizers(os_: str) -> list[Any]:
    if os_ == "windows":
        return [
            {"type": "PowerShell", "name": "install-iis", "inline": ["Install-WindowsFeature Web-Server"]},
            {
                "type": "File",
                "name": "app-config",
                "sourceUri": "https://contosoartifacts.blob.core.windows.net/files/appsettings.json",
                "destination": "C:\\BuildArtifacts\\appsettings.json",
            },
            {"type": "WindowsUpdate", "name": "updates"},
            {"type": "WindowsRestart", "name": "restart-after-updates", "restartTimeout": "10m"},
        ]
    return [
        {
            "type": "Shell",
            "name": "install-packages",
            "inline": ["sudo apt-get update", "sudo apt-get install -y nginx"],
        },
        {
            "type": "File",
            "name": "app-bundle",
            "sourceUri": "https://contosoartifacts.blob.core.windows.net/files/app.tar.gz",
            "destination": "/tmp/app.tar.gz",
        },
        {
            "type": "Shell",
            "name": "configure-app",
            "scriptUri": "https://contosoartifacts.blob.core.windows.net/scripts/configure.sh",
        },
    ]


def _new(os_: str, style: str, operation_id: str | None, start: datetime | None, seed: int) -> _Log:
    if os_ not in ("linux", "windows"):
        raise ValueError(f"os must be 'linux' or 'windows', not {os_!r}")
    rng = random.Random(seed)
    op = operation_id or str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return _Log(op=op, start=start or DEFAULT_START, style=style, os=os_, rng=rng)


# ------------------------------------------------------------------------------------------------ public API


def success_log(
    os: str = "linux",
    customizers: Sequence[Any] | None = None,
    *,
    style: str = "classic",
    cleanup_retries: int = 2,
    operation_id: str | None = None,
    start: datetime | None = None,
    seed: int = 1,
) -> SampleLog:
    """A complete successful build, with the harmless ``Error deleting resource. Will retry.`` cleanup lines."""
    w = _new(os, style, operation_id, start, seed)
    _header(w)
    _deploy(w)
    _connect(w)
    custs = list(customizers) if customizers is not None else _default_customizers(os)
    for i, c in enumerate(custs):
        _provision(w, c, i)
    _deprovision(w)
    _capture(w)
    _cleanup(w, retries=cleanup_retries)
    _finish_success(w)
    return _make(w.lines, w, expected_category="none", customizers=custs)


def failed_customizer_log(
    name: str = "install-app",
    type: str = "Shell",
    exit_code: int = 1,
    *,
    os: str | None = None,
    position: int | None = None,
    before: Sequence[Any] | None = None,
    message: str | None = None,
    style: str = "classic",
    operation_id: str | None = None,
    start: datetime | None = None,
    seed: int = 2,
) -> SampleLog:
    """A build whose customizer ``name`` of ``type`` fails with ``exit_code``.

    ``before``: customizers that succeed first (default: one or two realistic ones; ``position`` trims them).
    The expected category is ``customizer-failed`` (``windows-restart-failed`` for WindowsRestart,
    ``customizer-download-failed`` for File).
    """
    kind = type.lower()
    os_ = os or ("windows" if kind in ("powershell", "windowsupdate", "windowsrestart") else "linux")
    w = _new(os_, style, operation_id, start, seed)
    ok = list(before) if before is not None else _default_customizers(os_)[:2]
    if position is not None:
        ok = ok[: max(0, position - 1)]
    _header(w)
    _deploy(w)
    _connect(w)
    for i, c in enumerate(ok):
        _provision(w, c, i)
    spec = {"type": type, "name": name}
    if kind == "windowsrestart":
        spec["restartTimeout"] = "5m"
    prov = _provision(w, spec, len(ok), fail=exit_code, message=message)
    error = w.last_error or f"exit status {exit_code}"
    _cleanup(w, retries=1)
    _finish_error(w, error)
    category = {"windowsrestart": "windows-restart-failed", "file": "customizer-download-failed"}.get(
        kind, "customizer-failed"
    )
    return _make(
        w.lines,
        w,
        expected_category=category,
        status_message=status_message("customizer", w.op, w.folder),
        failed_customizer=prov,
        failed_customizer_type=type,
        exit_code=None if kind in ("file", "windowsrestart") else exit_code,
        position=len(ok) + 1,
        customizer_name=name,
    )


def sysprep_loop_log(
    *,
    loops: int = 400,
    style: str = "classic",
    operation_id: str | None = None,
    start: datetime | None = None,
    seed: int = 3,
    complete: bool = True,
) -> SampleLog:
    """The guide's sysprep-timing case: WindowsAzureGuestAgent missing, IMAGE_STATE_UNDEPLOYABLE until the timeout.

    ``complete=False`` gives the live tail (the loop still growing, no cancellation yet).
    """
    w = _new("windows", style, operation_id, start, seed)
    _header(w)
    _deploy(w)
    _connect(w)
    _provision(w, {"type": "PowerShell", "name": "short-setup", "inline": ["Write-Host hello"]}, 0)
    _deprovision(w, loop=loops)
    if not complete:
        return _make(w.lines, w, expected_category="sysprep-timing", expected_waiting_on="loop")
    _context_cancel(w, remote_exit=False)
    w.ui("The resource group was not created by Packer, deleting individual resources ...")
    w.err("==> azure-arm: The resource group was not created by Packer, deleting individual resources ...")
    _cleanup(w, retries=1)
    _finish_error(w, "context canceled")
    return _make(
        w.lines,
        w,
        expected_category="sysprep-timing",
        status_message=status_message("sysprep", w.op, w.folder),
    )


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
        w.err("[INFO] (telemetry) Starting provisioner shell")
        w.ui("Provisioning with shell script: /tmp/packer-shell448812377")
        w.say("Configuring firewall rules ...")
        w.tick(3600)
        _context_cancel(w, remote_exit=True)
        w.err("[INFO] (telemetry) ending shell")
        _cleanup(w, retries=1)
        _finish_error(w, "context canceled")
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
        w.err("[INFO] (telemetry) Starting provisioner shell")
        w.ui("Provisioning with shell script: /tmp/packer-shell99120")
        w.say("Compiling the world, this may take a while ...")
        w.tick(3 * 3600)
        _context_cancel(w, remote_exit=False)
        w.err("[INFO] (telemetry) ending shell")
        _cleanup(w, retries=1)
        _finish_error(w, "context canceled")
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
    for i, c in enumerate(_default_customizers(os_)[:2]):
        _provision(w, c, i)
    category, extra = _failure_tail(w, failure)
    return _make(
        w.lines,
        w,
        expected_category=category,
        status_message=status_message(failure, w.op, w.folder),
        **extra,
    )


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
        _provision(w, _default_customizers(os_)[0], 0)
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


@dataclass(frozen=True)
class LargeLogInfo:
    path: Path
    bytes_written: int
    lines: int
    operation_id: str
    folder: str
    expected_category: str
    status_message: str
    failed_customizer: str | None = None
    exit_code: int | None = None


def _filler_block(w: _Log) -> tuple[list[bytes], int]:
    """One block of chatty provisioner output; returns its parts split at the timestamp slots, and its line count."""
    marker = "\x00TS\x00"
    rng = w.rng
    lines: list[str] = []
    if w.style == "classic":
        p = f"[{w.op}] PACKER OUT     azure-arm: "
        e = f"[{w.op}] PACKER ERR {marker} "
    else:
        p = f"[{w.op}] PACKER {marker} ui:     azure-arm: "
        e = f"[{w.op}] PACKER {marker} "
    for i in range(160):
        pkg = _APT_PACKAGES[i % len(_APT_PACKAGES)]
        r = i % 8
        if r == 0:
            lines.append(
                f"{p}Get:{i} http://azure.archive.ubuntu.com/ubuntu jammy/main amd64 {pkg} amd64 "
                f"{rng.randint(1, 9)}.{rng.randint(0, 40)}-1 [{rng.randint(10, 999)} kB]"
            )
        elif r == 1:
            lines.append(f"{p}Unpacking {pkg} ({rng.randint(1, 9)}.{rng.randint(0, 40)}-1) ...")
        elif r == 2:
            lines.append(f"{p}  CC       src/{pkg}/module_{rng.randint(0, 9999):04d}.o")
        elif r == 3:
            lines.append(f"{e}packer-provisioner-shell plugin: {marker} [DEBUG] Opening new ssh session")
        elif r == 4:
            lines.append(
                f"{p}npm WARN deprecated {pkg}@{rng.randint(1, 5)}.0.0: this version is no longer "
                f"supported, 0 errors"
            )
        elif r == 5:
            lines.append(f"{p}  test_{pkg.replace('-', '_')}_{rng.randint(0, 999)} ... ok")
        elif r == 6:
            lines.append(f"{e}[INFO] {rng.randint(100, 99999)} bytes written for 'stdout'")
        else:
            lines.append(f"{p}Selecting previously unselected package {pkg}.")
    block = "\n".join(lines) + "\n"
    return [part.encode() for part in block.split(marker)], len(lines)


def write_large_log(
    path: str | Path,
    size_bytes: int,
    failure: str = "customizer",
    *,
    os: str = "linux",
    style: str = "classic",
    seed: int = 6,
    operation_id: str | None = None,
    start: datetime | None = None,
) -> LargeLogInfo:
    """Stream a realistic log of about ``size_bytes`` (at least the head and tail) to ``path``.

    The middle is the output of a long, chatty provisioner (package installs, compiler and test output, packer
    debug lines) repeated in blocks whose timestamps advance; the failure (one of FAILURES) comes at the end.
    Runs at disk speed (hundreds of MB/s) in constant memory.
    """
    if failure not in FAILURES:
        raise ValueError(f"failure must be one of {', '.join(FAILURES)}, not {failure!r}")
    if failure in ("sysprep", "resources", "restart"):
        os = "windows"
    w = _new(os, style, operation_id, start, seed)
    _header(w)
    _deploy(w)
    _connect(w)
    _provision(w, _default_customizers(os)[0], 0)
    w.tick(2)
    w.err("[INFO] (telemetry) Starting provisioner shell")
    w.ui("Provisioning with shell script: /tmp/packer-shell" + str(w.rng.randint(100000000, 999999999)))
    head = ("\n".join(w.lines) + "\n").encode()
    head_lines = len(w.lines)
    w.lines = []
    variants = [_filler_block(w) for _ in range(8)]  # cycle a few different blocks
    block_lines = variants[0][1]
    # Render the tail once with a provisional clock, to know its size; the clock is fixed after the filler.
    probe = _new(os, style, w.op, w.t, seed)
    probe.staging = w.staging
    _failure_tail(probe, failure)
    tail_estimate = len(("\n".join(probe.lines) + "\n").encode())
    block_size = max(sum(len(p) for p in v[0]) + 19 * (len(v[0]) - 1) for v in variants)
    budget = max(0, size_bytes - len(head) - tail_estimate)
    blocks = budget // block_size
    out = Path(path)
    written = 0
    lines = head_lines
    with out.open("wb", buffering=1 << 20) as f:
        f.write(head)
        written += len(head)
        t = w.t
        one = timedelta(seconds=1)
        for i in range(blocks):
            t += one
            stamp = f"{t:%Y/%m/%d %H:%M:%S}".encode()
            chunk = stamp.join(variants[i % len(variants)][0])
            f.write(chunk)
            written += len(chunk)
        lines += blocks * block_lines  # every variant has the same number of lines
        w.t = t
        w.err("packer-provisioner-shell plugin: [INFO] RPC client: Communicator ended with: 0")
        w.err("[INFO] (telemetry) ending shell")
        category, extra = _failure_tail(w, failure)
        tail = ("\n".join(w.lines) + "\n").encode()
        f.write(tail)
        written += len(tail)
        lines += len(w.lines)
    return LargeLogInfo(
        path=out,
        bytes_written=written,
        lines=lines,
        operation_id=w.op,
        folder=w.folder,
        expected_category=category,
        status_message=status_message(failure, w.op, w.folder),
        failed_customizer=extra.get("failed_customizer"),
        exit_code=extra.get("exit_code"),
    )


def chunks(data: bytes, size: int = 65536) -> Iterable[bytes]:
    """Split ``data`` into chunks of ``size`` bytes (for feeding streaming readers in tests)."""
    for i in range(0, len(data), size):
        yield data[i : i + size]
