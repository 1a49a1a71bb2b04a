"""A realistic customization.log generator for benchmarks (used when localazure.samplelogs is not available).

Lines follow the shapes of real logs: Azure requests during deploy, SSH connect, provisioners with apt and
PowerShell output, RPC bookkeeping lines, and a failing customizer at the end.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

OPID = "45f485cf-5a8c-4379-9937-8d85493bc791"


def _ts(sec: int) -> str:
    h, rem = divmod(sec, 3600)
    m, s = divmod(rem, 60)
    return f"2024/12/23 {10 + h % 14:02d}:{m:02d}:{s:02d}"


def generate(target_bytes: int, *, seed: int = 7, fail: bool = True) -> Iterator[bytes]:
    rnd = random.Random(seed)
    p = f"[{OPID}] PACKER"
    head = [
        f"{p} OUT ==> azure-arm: Running builder ...",
        f"{p} OUT ==> azure-arm: Deploying deployment template ...",
        f"{p} OUT ==> azure-arm: Waiting for SSH to become available...",
        f"{p} ERR {_ts(60)} packer: {_ts(60)} [INFO] Waiting for SSH, up to timeout: 20m0s",
        f"{p} OUT ==> azure-arm: Connected to SSH!",
    ]
    out = "\n".join(head) + "\n"
    yield out.encode()
    written = len(out)
    sec = 120
    step = 0
    body = [
        '{p} ERR {ts} packer: {ts} Azure request method="GET" request="https://management.azure.com/subscriptions/'
        "0000/resourcegroups/IT_rg_tpl_1234/providers/Microsoft.Resources/deployments/pkrdp51lc0339jg/"
        'operationStatuses/0858613317620752{n}?[REDACTED]" body=""',
        "{p} OUT     azure-arm: Get:{n} http://azure.archive.ubuntu.com/ubuntu jammy-updates/main amd64 "
        "libssl3 amd64 3.0.2-0ubuntu1.{n} [1903 kB]",
        "{p} OUT     azure-arm: Setting up libxml2:amd64 (2.9.13+dfsg-1ubuntu0.{n}) ...",
        "{p} ERR {ts} [INFO] {n} bytes written for 'stdout'",
        "{p} ERR {ts} packer: {ts} [INFO] RPC endpoint: Communicator ended with: 0",
        "{p} OUT     azure-arm: Unpacking python3-pkg-{n} (1.{n}-1) over (1.{n}-0) ...",
        "{p} OUT     azure-arm: Selecting previously unselected package lib{n}-dev.",
        "{p} OUT     azure-arm: Processing triggers for man-db (2.10.2-1) ...",
        "{p} ERR {ts} packer: {ts} [DEBUG] Opening new ssh session",
        "{p} OUT     azure-arm: VERBOSE: Installing feature {n} of 30: Web-Server",
    ]
    while written < target_bytes:
        step += 1
        lines = [
            f"{p} ERR {_ts(sec)} [INFO] (telemetry) Starting provisioner shell",
            f"{p} OUT ==> azure-arm: Provisioning with shell script: /tmp/script_{step}.sh",
        ]
        for _ in range(20000):
            sec += rnd.random() < 0.01
            lines.append(body[rnd.randrange(len(body))].format(p=p, ts=_ts(sec), n=rnd.randrange(100000)))
        lines.append(
            f"{p} ERR {_ts(sec)} packer: {_ts(sec)} [INFO] command 'chmod +x /tmp/s.sh' exited with code: 0"
        )
        lines.append(f"{p} ERR {_ts(sec)} [INFO] (telemetry) ending shell")
        chunk = ("\n".join(lines) + "\n").encode()
        written += len(chunk)
        yield chunk
    if fail:
        t = _ts(sec + 30)
        tail = [
            f"{p} ERR {t} [INFO] (telemetry) Starting provisioner powershell",
            f"{p} OUT ==> azure-arm: Provisioning with powershell script: C:/Windows/Temp/install-dotnet.ps1",
            f"{p} OUT     azure-arm: Installing .NET Framework 4.8 ...",
            f"{p} OUT ==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
            f"{p} ERR {_ts(sec + 750)} packer: {_ts(sec + 750)} [INFO] command 'pwsh x.ps1' "
            "exited with code: 1",
            f"{p} OUT Build 'azure-arm' errored after 2 hours 3 minutes: "
            "Script exited with non-zero exit status: 1. "
            "Allowed exit codes are: [0]",
            f"{p} ERR ==> Some builds didn't complete successfully and had errors:",
            f"{p} OUT ==> azure-arm: Error deleting resource. Will retry.",
            f"{p} ERR {_ts(sec + 760)} [INFO] (telemetry) Finalizing.",
            f"{p} OUT ==> Builds finished but no artifacts were created.",
            f"Done exporting Packer logs to Azure for Packer prefix: [{OPID}] PACKER OUT",
        ]
    else:
        tail = [
            f"{p} ERR {_ts(sec)} [INFO] (telemetry) Finalizing.",
            f"{p} OUT ==> Builds finished. The artifacts of successful builds are:",
            f"Done exporting Packer logs to Azure for Packer prefix: [{OPID}] PACKER OUT",
        ]
    yield ("\n".join(tail) + "\n").encode()
