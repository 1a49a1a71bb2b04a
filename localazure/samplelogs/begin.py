"""The start of a build: Packer's header, the template deployment, the communicator's connection, and a new
writer with its default customizers."""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from typing import Any

from .writer import DEFAULT_START, _Log


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


def default_customizers(os_: str) -> list[Any]:
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
