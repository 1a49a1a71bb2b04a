"""Template advisories: the troubleshooting guide's advice, checked on an image template before it fails.

``check_template(template)`` accepts the template as

- an ARM resource or REST request/response body (``{"location": ..., "properties": {...}}``),
- ``az image builder show`` output (properties at the top level, camelCase),
- the SDK's ``as_dict()`` (snake_case keys),
- an ARM deployment template
  (``{"resources": [{"type": "Microsoft.VirtualMachineImages/imageTemplates", ...}]}``) or a REST example
  file (``{"parameters": {"parameters": {"properties": ...}}}``),

and returns a list of :class:`~diagnosis.model.Advisory` (stable kebab-case ``id``, ``message``, JSON ``path``
into the given document, ``severity`` "info" or "warning"). See ``ADVISORY_IDS`` for what is checked.

Only the template is read: scripts behind ``scriptUri`` are not fetched (an ``info`` advisory says so).
"""

from __future__ import annotations

import re
from typing import Any

from .model import Advisory
from .script_checks import check_line, shortened
from .template_doc import (
    TemplateDoc,
    customizer_label,
    customizer_type,
    documents,
    field,
    field_key,
    inline_lines,
    is_gen2,
    is_windows,
)

ADVISORY_IDS: dict[str, str] = {
    "install-without-yes": "a package install or upgrade that can wait for a [Y/n] answer",
    "install-module-without-force": "Install-Module / Install-PackageProvider without -Force (NuGet prompt)",
    "script-uri-not-checked": "a script behind scriptUri cannot be checked for prompts and firewall changes",
    "firewall-change": "a script changes the firewall; SSH (22) / WinRM (5986) must stay open",
    "remote-access-change": "a script changes sshd or WinRM, which Image Builder needs to reach the VM",
    "reboot-in-script": "a script restarts the VM itself; Packer loses its connection",
    "windows-update-without-restart": "WindowsUpdate without a WindowsRestart after it",
    "windows-restart-timeout-short": "WindowsRestart after WindowsUpdate with a short restartTimeout (1190)",
    "windows-final-restart": "a Windows build whose last customizer is not a WindowsRestart",
    "windows-default-vm-size": "a Windows source on the default build VM size (Standard_D1_v2 for Gen1)",
    "windows-small-vm-size": "a Windows build on a VM size with 1 vCPU / less than 4 GB",
    "sysprep-timing-risk": "a short Windows customization on a small VM: sysprep can start before the agent",
    "build-timeout-too-short": "buildTimeoutInMinutes 1-5: the service token (client_jwt) expires",
    "build-timeout-low": "buildTimeoutInMinutes lower than the customizers are likely to take",
    "deprovision-script-deleted": "a script deletes the deprovisioning script (or the folder holding it)",
    "deprovision-script-overridden": "a script writes its own deprovisioning script",
    "file-customizer-large": "a File customizer for a large artifact (it is meant for files under 20 MB)",
    "error-handling-cleanup": "errorHandling left on cleanup: the build VM is deleted before you can look",
}

DEFAULT_BUILD_TIMEOUT = 240
# Rough minutes per step, for the build-timeout estimate (measured builds vary a lot; these are floors).
BASE_MINUTES = 20  # deploy, connect, sysprep/deprovision, capture, cleanup
STEP_MINUTES = {"windowsupdate": 60, "windowsrestart": 10, "file": 2, "shell": 5, "powershell": 5}
SCRIPT_URI_MINUTES = 10
LARGE_FILE_MINUTES = 30
DISTRIBUTE_MINUTES = {"sharedimage": 20, "vhd": 10, "managedimage": 5}
EXTRA_REGION_MINUTES = 5
VALIDATION_MINUTES = 10

LARGE_EXTENSIONS = (
    ".iso",
    ".vhd",
    ".vhdx",
    ".wim",
    ".img",
    ".zip",
    ".msi",
    ".msix",
    ".tar.gz",
    ".tgz",
    ".tar",
    ".7z",
    ".rar",
    ".cab",
    ".gz",
    ".xz",
    ".bz2",
    ".zst",
    ".exe",
    ".bin",
    ".dmg",
    ".ova",
    ".qcow2",
    ".nupkg",
    ".jar",
    ".war",
)
CERTAINLY_LARGE = (".iso", ".vhd", ".vhdx", ".wim", ".img", ".ova", ".qcow2")
SMALL_VM_SIZES = re.compile(
    r"(?i)^(?:Standard_)?(?:A[0-4](?:_v2)?|A1_v2|A2_v2|D1(?:_v2)?|DS1(?:_v2)?|B1\w*|B2s?"
    r"|F1s?|D2a?s?_v[3-5]?|)$"
)
ONE_CPU_SIZES = re.compile(r"(?i)^(?:Standard_)?(?:A[0-1](?:_v2)?|D1(?:_v2)?|DS1(?:_v2)?|B1\w*|F1s?)$")

_SLEEP = re.compile(r"(?i)\bStart-Sleep\b|\bsleep\s+\d|\btimeout\s+/t\s+\d")
# -------------------------------------------------------------------------------------------------- checks


def check_template(template: dict[str, Any]) -> list[Advisory]:
    """Advisories for one image template (or every image template in an ARM deployment template)."""
    if not isinstance(template, dict):
        raise TypeError(f"template must be a JSON object (dict), not {type(template).__name__}")
    out: list[Advisory] = []
    for doc in documents(template):
        out.extend(_check(doc))
    return out


def _check(doc: TemplateDoc) -> list[Advisory]:
    props = doc.props
    base = doc.path
    adv: list[Advisory] = []

    def add(id_: str, message: str, path: str, severity: str = "warning") -> None:
        adv.append(Advisory(id=id_, message=message, path=path, severity=severity))

    raw_customize = field(props, "customize")
    customizers = raw_customize if isinstance(raw_customize, list) else []
    ckey = field_key(props, "customize")
    windows = is_windows(props, customizers)

    for i, c in enumerate(customizers):
        if not isinstance(c, dict):
            continue
        cpath = f"{base}.{ckey}[{i}]"
        ctype = customizer_type(c)
        label = customizer_label(c, i)
        ikey = field_key(c, "inline")
        for j, line in inline_lines(c):
            lpath = f"{cpath}.{ikey}[{j}]" if j is not None else f"{cpath}.{ikey}"
            check_line(add, line, lpath, label, windows)
        script = field(c, "scriptUri")
        if ctype in ("shell", "powershell") and isinstance(script, str) and script:
            add(
                "script-uri-not-checked",
                f"{label} runs {shortened(script, 90)}, which cannot be checked here: make sure it runs without "
                f"prompts (apt-get -y, -Force), exits 0, keeps SSH (22) / WinRM (5986) open and does not "
                f"delete the deprovisioning script.",
                f"{cpath}.{field_key(c, 'scriptUri')}",
                "info",
            )
        if ctype == "file":
            _check_file(add, c, cpath, label)

    _check_windows_restarts(add, customizers, base, ckey, windows)
    _check_vm_size(add, props, base, customizers, windows)
    _check_timeout(add, props, base, customizers)
    _check_error_handling(add, props, base)
    return adv


def _extension(url: str) -> str | None:
    clean = url.split("?", 1)[0].split("#", 1)[0].lower().rstrip("/")
    for ext in sorted(LARGE_EXTENSIONS, key=len, reverse=True):
        if clean.endswith(ext):
            return ext
    return None


def _check_file(add: Any, c: dict[str, Any], cpath: str, label: str) -> None:
    for field_name in ("sourceUri", "destination"):
        value = field(c, field_name)
        if not isinstance(value, str):
            continue
        ext = _extension(value)
        if ext:
            certain = ext in CERTAINLY_LARGE
            add(
                "file-customizer-large",
                f"{label} copies a {ext} file with the File customizer ({shortened(value, 90)}). The File "
                f"customizer is meant for files under 20 MB; larger ones take hours. Download large files in "
                f"a script (curl/wget on Linux, Invoke-WebRequest or azcopy on Windows)."
                + ("" if certain else " Ignore this if the file is small."),
                f"{cpath}.{field_key(c, field_name)}",
                "warning",
            )
            return


def _check_windows_restarts(
    add: Any, customizers: list[Any], base: str, ckey: str, windows: bool | None
) -> None:
    types = [customizer_type(c) if isinstance(c, dict) else "" for c in customizers]
    flagged_update = False
    for i, t in enumerate(types):
        if t != "windowsupdate":
            continue
        later = [j for j in range(i + 1, len(types)) if types[j] == "windowsrestart"]
        if not later:
            flagged_update = True
            add(
                "windows-update-without-restart",
                f"{customizer_label(customizers[i], i)} installs Windows updates but no WindowsRestart follows: "
                f"updates left pending can break Sysprep or leave 'Please wait for the Windows Modules Installer' at "
                f"first logon. Add a WindowsRestart customizer after it.",
                f"{base}.{ckey}[{i}]",
            )
            continue
        j = later[0]
        restart = customizers[j]
        timeout = field(restart, "restartTimeout")
        minutes = _duration_minutes(timeout) if isinstance(timeout, str) else None
        if minutes is None or minutes < 10:
            shown = f"restartTimeout {timeout!r}" if timeout else "the default restartTimeout (5m)"
            add(
                "windows-restart-timeout-short",
                f"{customizer_label(restart, j)} follows Windows Update with {shown}: finishing updates during the "
                f"restart often takes longer ('A system shutdown has already been scheduled.(1190)', "
                f"'Timeout waiting for machine to restart'). Use restartTimeout '30m' or more.",
                f"{base}.{ckey}[{j}]" + (f".{field_key(restart, 'restartTimeout')}" if timeout else ""),
            )
    if (
        windows
        and customizers
        and types
        and types[-1] != "windowsrestart"
        and ({"windowsupdate", "powershell"} & set(types))
        # (when an update has no restart after it at all, windows-update-without-restart already says so)
        and not flagged_update
    ):
        add(
            "windows-final-restart",
            "The last customizer is not a WindowsRestart: a restart still pending from installs can break "
            "Sysprep or slow the first logon (Windows Modules Installer). Consider a WindowsRestart as the "
            "last customizer.",
            f"{base}.{ckey}[{len(customizers) - 1}]",
            "info",
        )


def _duration_minutes(text: str) -> float | None:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text or "")
    if not m:
        return None
    value = float(m.group(1))
    return value * {"s": 1 / 60, "m": 1.0, "h": 60.0, "": 1.0}[m.group(2)]


def _check_vm_size(
    add: Any, props: dict[str, Any], base: str, customizers: list[Any], windows: bool | None
) -> None:
    if not windows:
        return
    profile = field(props, "vmProfile")
    size = field(profile, "vmSize") if isinstance(profile, dict) else None
    size = size.strip() if isinstance(size, str) else ""
    pkey = field_key(props, "vmProfile")
    types = {customizer_type(c) for c in customizers if isinstance(c, dict)}
    gen2 = is_gen2(props)
    if not size and not gen2:
        add(
            "windows-default-vm-size",
            "No vmProfile.vmSize: a Windows Gen1 source builds on the default Standard_D1_v2 (1 vCPU, 3.5 "
            "GB). Windows Update on it runs out of resources ('A system shutdown is in progress.(1115)', "
            "'unexpected EOF') and Sysprep can race the guest agent. Set a larger size, e.g. "
            "Standard_D4s_v5.",
            f"{base}.{pkey}.{field_key(profile, 'vmSize') if isinstance(profile, dict) else 'vmSize'}",
        )
    elif size and SMALL_VM_SIZES.match(size) and ONE_CPU_SIZES.match(size):
        add(
            "windows-small-vm-size",
            f"vmSize {size} has 1 vCPU: Windows builds on it are slow and fail under Windows Update (1115) "
            f"or Sysprep timing. Use at least 2 vCPUs and 8 GB.",
            f"{base}.{pkey}.{field_key(profile, 'vmSize')}",
        )
    small = (not size and not gen2) or bool(size and ONE_CPU_SIZES.match(size))
    dicts = [c for c in customizers if isinstance(c, dict)]
    # "short": a few inline PowerShell/File steps, nothing that takes minutes (scripts, updates, restarts)
    short = all(customizer_type(c) in ("powershell", "file") and not field(c, "scriptUri") for c in dicts) and (
        sum(len(inline_lines(c)) for c in dicts) <= 3
    )
    has_sleep = any(_SLEEP.search(line) for c in dicts for _, line in inline_lines(c))
    if small and short and not has_sleep and "windowsupdate" not in types:
        add(
            "sysprep-timing-risk",
            "A short Windows customization on a small VM: Sysprep can start before the Azure guest agent is "
            "installed (IMAGE_STATE_UNDEPLOYABLE loop until the timeout). Add a PowerShell customizer "
            "'Start-Sleep -Seconds 60' before the end, or use a larger VM size.",
            f"{base}.{field_key(props, 'customize')}",
            "info",
        )


def _estimate_minutes(props: dict[str, Any], customizers: list[Any]) -> tuple[int, list[str]]:
    total = BASE_MINUTES
    parts = [f"{BASE_MINUTES} min deploy/sysprep/capture"]
    for c in customizers:
        if not isinstance(c, dict):
            continue
        t = customizer_type(c)
        minutes = STEP_MINUTES.get(t, 5)
        if t in ("shell", "powershell") and field(c, "scriptUri"):
            minutes = SCRIPT_URI_MINUTES
        if t == "file" and any(
            isinstance(field(c, f), str) and _extension(field(c, f)) for f in ("sourceUri", "destination")
        ):
            minutes = LARGE_FILE_MINUTES
        total += minutes
        if t == "windowsupdate":
            parts.append(f"{minutes} min Windows Update")
    distribute = field(props, "distribute")
    for d in distribute if isinstance(distribute, list) else []:
        t = customizer_type(d)
        minutes = DISTRIBUTE_MINUTES.get(t, 10)
        regions = field(d, "targetRegions") or field(d, "replicationRegions") or []
        if isinstance(regions, list) and len(regions) > 1:
            minutes += EXTRA_REGION_MINUTES * (len(regions) - 1)
        total += minutes
    validate = field(props, "validate")
    if isinstance(validate, dict) and field(validate, "inVMValidations"):
        total += VALIDATION_MINUTES
    return total, parts


def _check_timeout(add: Any, props: dict[str, Any], base: str, customizers: list[Any]) -> None:
    raw = field(props, "buildTimeoutInMinutes")
    path = f"{base}.{field_key(props, 'buildTimeoutInMinutes')}"
    try:
        timeout = int(raw) if raw is not None and not isinstance(raw, bool) else 0
    except (TypeError, ValueError, OverflowError):  # not a number, or infinite
        return
    if 1 <= timeout <= 5:
        add(
            "build-timeout-too-short",
            f"buildTimeoutInMinutes is {timeout}: the service's token (client_jwt) must stay valid for at "
            f"least 5 minutes, so the build fails at once. Use 0 (the default, 240) or at least 6 - "
            f"realistically 60 or more.",
            path,
        )
        return
    effective = timeout or DEFAULT_BUILD_TIMEOUT
    estimate, parts = _estimate_minutes(props, customizers)
    if effective < estimate:
        add(
            "build-timeout-low",
            f"buildTimeoutInMinutes {effective} is below a rough estimate of {estimate} min for these "
            f"customizers and distribution targets ({', '.join(parts)}, ...); the build may end with "
            f"'context deadline exceeded'. Raise it (maximum 960).",
            path,
        )


def _check_error_handling(add: Any, props: dict[str, Any], base: str) -> None:
    eh = field(props, "errorHandling")
    on_error = field(eh, "onCustomizerError") if isinstance(eh, dict) else None
    if on_error is None or str(on_error).lower() == "cleanup":
        path = (
            f"{base}.{field_key(props, 'errorHandling')}.{field_key(eh, 'onCustomizerError')}"
            if isinstance(eh, dict)
            else f"{base}.errorHandling"
        )
        add(
            "error-handling-cleanup",
            "errorHandling.onCustomizerError is 'cleanup' (the default): after a failed customizer the build "
            "VM is deleted. While debugging, set it to 'abort' to keep the VM and look inside (delete it "
            "afterwards).",
            path,
            "info",
        )
