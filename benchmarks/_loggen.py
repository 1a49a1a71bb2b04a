"""customization.log generators for benchmarks: one per line mix real builds print.

Every mix has the same frame — deploy, SSH connect, provisioners — and differs in what the provisioners print:

* ``apt``: a Linux build (apt output, Azure requests, RPC bookkeeping);
* ``windows-update``: a Windows Update run where every fifth line is packer's
  ``Waiting for operation to complete (system performance: ...)``;
* ``bookkeeping``: command bookkeeping (``[INFO] command '...' exited with code: 0``, ``RPC endpoint:
  Communicator ended with: 0``, ``$ErrorActionPreference = 'Stop'``, ``exit status 0``);
* ``keywords``: a worst case where a large share of lines contain the knowledge base's keywords without being
  failures (``error``, ``Timeout waiting for``, ``exit status 0`` ...);
* ``all-match``: every line is a match (an apt lock retry loop);
* ``error-lines``: every line is an error record or failure line, of varied kinds (apt, dpkg, PowerShell,
  WinRM/SSH, disk, ARM policy, non-zero exit codes, packer's own failure lines).

The realistic mixes end in a failing PowerShell customizer (exit code 1: ``customizer-failed``). The body is
a block of distinct lines repeated to the size asked for, so generation runs at disk speed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

OPID = "45f485cf-5a8c-4379-9937-8d85493bc791"
P = f"[{OPID}] PACKER"
BLOCK_LINES = 40000


def _ts(sec: int) -> str:
    h, rem = divmod(sec, 3600)
    m, s = divmod(rem, 60)
    return f"2024/12/23 {10 + h % 14:02d}:{m:02d}:{s:02d}"


def _apt(rnd: random.Random, ts: str) -> str:
    n = rnd.randrange(100000)
    return rnd.choice(
        [
            f'{P} ERR {ts} packer: {ts} Azure request method="GET" request="https://management.azure.com/'
            f"subscriptions/0000/resourcegroups/IT_rg_tpl_1234/providers/Microsoft.Resources/deployments/"
            f'pkrdp51lc0339jg/operationStatuses/0858613317620752{n}?[REDACTED]" body=""',
            f"{P} OUT     azure-arm: Get:{n} http://azure.archive.ubuntu.com/ubuntu jammy-updates/main amd64 "
            f"libssl3 amd64 3.0.2-0ubuntu1.{n} [1903 kB]",
            f"{P} OUT     azure-arm: Setting up libxml2:amd64 (2.9.13+dfsg-1ubuntu0.{n}) ...",
            f"{P} ERR {ts} [INFO] {n} bytes written for 'stdout'",
            f"{P} ERR {ts} packer: {ts} [INFO] RPC endpoint: Communicator ended with: 0",
            f"{P} OUT     azure-arm: Unpacking python3-pkg-{n} (1.{n}-1) over (1.{n}-0) ...",
            f"{P} OUT     azure-arm: Selecting previously unselected package lib{n}-dev.",
            f"{P} OUT     azure-arm: Processing triggers for man-db (2.10.2-1) ...",
            f"{P} ERR {ts} packer: {ts} [DEBUG] Opening new ssh session",
        ]
    )


def _windows_update(rnd: random.Random, ts: str) -> str:
    n = rnd.randrange(100000)
    if rnd.random() < 0.2:
        return (
            f"{P} OUT     azure-arm: Waiting for operation to complete (system performance: "
            f"{rnd.randrange(100)}% cpu; {rnd.randrange(100)}% memory)..."
        )
    return rnd.choice(
        [
            f"{P} OUT     azure-arm: Downloading update KB50{n} (Cumulative Update for Windows Server)...",
            f"{P} OUT     azure-arm: Installing update KB50{n} ({rnd.randrange(100)}% complete)",
            f"{P} OUT     azure-arm: VERBOSE: Performing the operation \"Install-WindowsUpdate\" on target {n}.",
            f"{P} ERR {ts} packer-provisioner-windows-update plugin: {ts} [INFO] {n} bytes written for 'stdout'",
            f"{P} OUT     azure-arm: Found {rnd.randrange(40)} updates; {rnd.randrange(40)} selected for install",
            f"{P} ERR {ts} packer: {ts} [DEBUG] WinRM: executing elevated command {n}",
        ]
    )


def _bookkeeping(rnd: random.Random, ts: str) -> str:
    n = rnd.randrange(100000)
    return rnd.choice(
        [
            f"{P} ERR {ts} packer-provisioner-shell plugin: {ts} [INFO] command 'chmod +x /tmp/script_{n}.sh' "
            "exited with code: 0",
            f"{P} ERR {ts} packer: {ts} [INFO] RPC endpoint: Communicator ended with: 0",
            f"{P} OUT     azure-arm: $ErrorActionPreference = 'Stop'",
            f"{P} ERR {ts} packer-provisioner-powershell plugin: {ts} [INFO] remote command {n} exit status 0",
            f"{P} ERR {ts} packer: {ts} [INFO] RPC client: Communicator ended with: 0",
            f"{P} ERR {ts} [INFO] {n} bytes written for 'stderr'",
        ]
    )


def _keywords(rnd: random.Random, ts: str) -> str:
    n = rnd.randrange(100000)
    return rnd.choice(
        [
            f"{P} OUT     azure-arm: Timeout waiting for operation {n} is 30m0s",
            f"{P} OUT     azure-arm: 0 errors, {n} warnings; error count: 0",
            f"{P} OUT     azure-arm: Setting up failed-unit-helper ({n}) ...",
            f"{P} ERR {ts} packer: {ts} [INFO] remote command exit status 0 after {n} ms",
            f"{P} OUT     azure-arm: VERBOSE: Checking quota usage: {n} of 100000 cores",
            f"{P} OUT     azure-arm: Could not get lockfile stats for cache {n}, retrying",
            f"{P} OUT     azure-arm: StatusCode=200 for request {n}",
            f"{P} OUT     azure-arm: Validation of {n} files passed",
            f"{P} OUT     azure-arm: No errors. WinRM session {n} ok; Connected to WinRM host",
            f"{P} ERR {ts} packer: {ts} [INFO] (telemetry) timing: step {n} ok",
            f"{P} OUT     azure-arm: The specified blob name is valid: script{n}.ps1",
            f"{P} OUT     azure-arm: Error handling: errors are reported below (none for {n})",
        ]
    )


def _all_match(rnd: random.Random, ts: str) -> str:
    return (
        f"{P} OUT     azure-arm: E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process "
        f"{rnd.randrange(100000)} (apt-get)"
    )


def _error_lines(rnd: random.Random, ts: str) -> str:
    n = rnd.randrange(100000)
    return rnd.choice(
        [
            f"{P} OUT     azure-arm: E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process {n} "
            "(apt-get)",
            f"{P} OUT     azure-arm: E: Unable to locate package libfoo{n}",
            f"{P} OUT     azure-arm: E: Failed to fetch http://azure.archive.ubuntu.com/ubuntu/pool/main/p/pkg{n}.deb "
            "404  Not Found",
            f"{P} OUT     azure-arm: dpkg: error processing package pkg{n} (--configure):",
            f"{P} OUT     azure-arm: C:\\Windows\\Temp\\script-{n}.ps1 : Access to the path is denied.",
            f"{P} OUT     azure-arm:     + FullyQualifiedErrorId : UnauthorizedAccess,script-{n}.ps1",
            f"{P} ERR {ts} packer: {ts} [ERROR] Timeout waiting for WinRM on 10.0.{n % 256}.4",
            f"{P} OUT     azure-arm: write /var/tmp/cache-{n}: No space left on device",
            f"{P} ERR {ts} packer: {ts} ssh: handshake failed: EOF (attempt {n})",
            f"{P} OUT ==> azure-arm: Error deleting resource. Will retry. (request {n})",
            f'{P} OUT     azure-arm: fatal: [default]: FAILED! => {{"changed": false, "rc": {n % 100 + 1}}}',
            f"{P} OUT ==> azure-arm: Script exited with non-zero exit status: {n % 120 + 1}. Allowed exit codes "
            "are: [0]",
            f"{P} ERR {ts} packer-provisioner-shell plugin: {ts} [INFO] command 'sh /tmp/s{n}.sh' exited with code: "
            f"{n % 120 + 1}",
            f"{P} OUT Build 'azure-arm' errored after {n % 60} minutes: Script exited with non-zero exit status: 2",
        ]
    )


MIXES: dict[str, tuple[Callable[[random.Random, str], str], str | None]] = {
    "apt": (_apt, "customizer-failed"),
    "windows-update": (_windows_update, "customizer-failed"),
    "bookkeeping": (_bookkeeping, "customizer-failed"),
    "keywords": (_keywords, "customizer-failed"),
    "all-match": (_all_match, None),
    "error-lines": (_error_lines, None),
}


def generate(
    target_bytes: int, *, mix: str = "apt", seed: int = 7, fail: bool = True, block_lines: int = BLOCK_LINES
) -> Iterator[bytes]:
    body_line, _expected = MIXES[mix]
    rnd = random.Random(seed)
    head = [
        f"{P} OUT ==> azure-arm: Running builder ...",
        f"{P} OUT ==> azure-arm: Deploying deployment template ...",
        f"{P} OUT ==> azure-arm: Waiting for SSH to become available...",
        f"{P} ERR {_ts(60)} packer: {_ts(60)} [INFO] Waiting for SSH, up to timeout: 20m0s",
        f"{P} OUT ==> azure-arm: Connected to SSH!",
    ]
    out = ("\n".join(head) + "\n").encode()
    yield out
    written = len(out)
    sec = 120
    lines = [
        f"{P} ERR {_ts(sec)} [INFO] (telemetry) Starting provisioner shell",
        f"{P} OUT ==> azure-arm: Provisioning with shell script: /tmp/script.sh",
    ]
    for _ in range(block_lines):
        sec += rnd.random() < 0.01
        lines.append(body_line(rnd, _ts(sec)))
    lines.append(f"{P} ERR {_ts(sec)} [INFO] (telemetry) ending shell")
    block = ("\n".join(lines) + "\n").encode()
    while written < target_bytes:
        yield block
        written += len(block)
    if fail:
        t = _ts(sec + 30)
        tail = [
            f"{P} ERR {t} [INFO] (telemetry) Starting provisioner powershell",
            f"{P} OUT ==> azure-arm: Provisioning with powershell script: C:/Windows/Temp/install-dotnet.ps1",
            f"{P} OUT     azure-arm: Installing .NET Framework 4.8 ...",
            f"{P} OUT ==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
            f"{P} ERR {_ts(sec + 750)} packer: {_ts(sec + 750)} [INFO] command 'pwsh x.ps1' exited with code: 1",
            f"{P} OUT Build 'azure-arm' errored after 2 hours 3 minutes: "
            "Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
            f"{P} ERR ==> Some builds didn't complete successfully and had errors:",
            f"{P} OUT ==> azure-arm: Error deleting resource. Will retry.",
            f"{P} ERR {_ts(sec + 760)} [INFO] (telemetry) Finalizing.",
            f"{P} OUT ==> Builds finished but no artifacts were created.",
            f"Done exporting Packer logs to Azure for Packer prefix: [{OPID}] PACKER OUT",
        ]
    else:
        tail = [
            f"{P} ERR {_ts(sec)} [INFO] (telemetry) Finalizing.",
            f"{P} OUT ==> Builds finished. The artifacts of successful builds are:",
            f"Done exporting Packer logs to Azure for Packer prefix: [{OPID}] PACKER OUT",
        ]
    yield ("\n".join(tail) + "\n").encode()
