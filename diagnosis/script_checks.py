"""What an inline script line does that the troubleshooting guide warns about: a package install that can wait
for a [Y/n] answer, Install-Module without -Force, firewall or remote-access changes, a restart from a script, a
deleted or replaced deprovisioning script. ``check_line`` reports each through the caller's ``add``.
"""

from __future__ import annotations

import re
from typing import Any

from .redact import redact

_SEGMENT_SPLIT = re.compile(r"&&|\|\||;|\n|\|")
_PKG = re.compile(
    r"(?:^|[\s(`$])(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+\S+=\S+\s+)*(?P<tool>apt-get|apt|yum|dnf|tdnf|zypper|choco)"
    r"(?P<args>(?:\s+\S+)*)"
)
_PROMPTING_SUBCOMMANDS = {
    "install",
    "upgrade",
    "dist-upgrade",
    "full-upgrade",
    "remove",
    "purge",
    "autoremove",
    "update",
    "reinstall",
    "groupinstall",
    "in",
    "up",
    "dup",
    "rm",
    "uninstall",
}
_YES_FLAG = re.compile(
    r"(?i)(?:^|\s)(?:-[a-z]*y[a-z]*|--yes|--assume-yes|--force-yes|--non-interactive|-n|--no-confirm|--confirm"
    r"|-o\s*APT::Get::Assume-Yes=(?:true|1)|--accept-package-agreements)\b"
)
_PIPED_YES = re.compile(r"(?i)\byes\s*(?:\S+\s*)?\||\becho\s+['\"]?y(?:es)?['\"]?\s*\|")
_INSTALL_MODULE = re.compile(r"(?i)\b(Install-Module|Install-PackageProvider|Install-Script|Update-Module)\b")
_FORCE = re.compile(r"(?i)\s-Force\b|-Confirm:\s*\$false")
_FIREWALL = re.compile(
    r"(?i)\bufw\b|\biptables\b|\bip6tables\b|\bnft\b|\bfirewall-cmd\b|\bfirewalld\b|\bnetsh\s+(?:adv)?firewall|"
    r"\bnetsh\s+advfirewall\b|(?:Set|New|Remove|Disable|Enable)-NetFirewall(?:Rule|Profile)\b|"
    r"\bSet-NetFirewallProfile\b|\bRemove-NetFirewallRule\b|\bcsf\b\s+-[a-z]"
)
_REMOTE_ACCESS = re.compile(
    r"(?i)sshd_config|\bsystemctl\s+(?:stop|disable|mask|restart)\s+(?:sshd?|ssh\.service)\b|"
    r"\bservice\s+sshd?\s+(?:stop|restart)\b|\bwinrm\s+(?:set|delete|quickconfig|qc)\b|"
    r"\bSet-WSManQuickConfig\b|\bDisable-PSRemoting\b|\bEnable-PSRemoting\b|\bSet-Item\s+WSMan:|"
    r"(?:Stop|Set|Restart)-Service\s+(?:-Name\s+)?['\"]?WinRM\b|\bRemove-Item\s+.*WSMan:|"
    r"\b(?:22|5986|5985)\b.{0,80}\b(?:deny|drop|reject|block)\b|\b(?:deny|drop|reject|block)\b.{0,80}\b(?:22|5986)\b"
)
_REBOOT = re.compile(
    r"(?i)(?:^|[\s;&|(])(?:sudo\s+)?(?:reboot|shutdown\s+(?:-r|/r|-h|/s)|Restart-Computer|Stop-Computer|"
    r"systemctl\s+reboot|init\s+6)\b"
)
_DELETE = re.compile(r"(?i)(?:^|[\s;&|(])(?:sudo\s+)?(?:rm|Remove-Item|del|erase|rd|rmdir|ri|unlink|shred)\b")
_DEPROV_NAME = re.compile(r"(?i)DeprovisioningScript\.(?:ps1|sh)")
_TMP_WIPE = re.compile(r"(?i)(?:\s|^|[\"'])/tmp/?(?:\*|\s|$|[\"'])|[cC]:\\?\*\.ps1|[cC]:\\\*(?:\s|$)")


def shortened(text: str, n: int = 120) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= n else text[: n - 3] + "..."


def _segments(line: str) -> list[str]:
    return [s.strip() for s in _SEGMENT_SPLIT.split(line) if s.strip()]


def _install_without_yes(line: str) -> str | None:
    """The offending command when ``line`` runs a package manager that may prompt."""
    if _PIPED_YES.search(line) or "DEBIAN_FRONTEND=noninteractive apt-get -y" in line:
        return None
    for seg in _segments(line):
        m = _PKG.search(seg)
        if not m:
            continue
        tool = m.group("tool").lower()
        args = m.group("args") or ""
        words = [w for w in args.split() if not w.startswith("-")]
        sub = words[0].lower() if words else ""
        if sub not in _PROMPTING_SUBCOMMANDS:
            continue
        if tool in ("apt", "apt-get") and sub == "update":
            continue  # apt-get update never prompts
        if tool == "choco" and sub not in ("install", "upgrade", "uninstall"):
            continue
        if _YES_FLAG.search(args) or (tool == "zypper" and re.search(r"zypper\s+(?:-n|--non-interactive)", seg)):
            continue
        return seg
    return None


def check_line(add: Any, line: str, path: str, label: str, windows: bool | None) -> None:
    cmd = _install_without_yes(line)
    if cmd:
        add(
            "install-without-yes",
            f"{label}: '{shortened(cmd)}' can stop at a [Y/n] question that nobody answers until the build "
            f"times out; add -y (apt-get/yum/dnf/choco) or --non-interactive (zypper).",
            path,
        )
    m = _INSTALL_MODULE.search(line)
    if m and not _FORCE.search(line):
        add(
            "install-module-without-force",
            f"{label}: '{shortened(line)}' can ask to install the NuGet provider or trust the repository; add "
            f"-Force (and -Confirm:$false).",
            path,
        )
    if _FIREWALL.search(line):
        port = "5986 (WinRM)" if windows else "22 (SSH)" if windows is False else "22 (SSH) / 5986 (WinRM)"
        add(
            "firewall-change",
            f"{label} changes the firewall ('{shortened(line)}'): Image Builder reaches the build VM on port "
            f"{port}; if that port closes, the build loses its connection (context canceled). Keep it open "
            f"until the end.",
            path,
        )
    if _REMOTE_ACCESS.search(line):
        add(
            "remote-access-change",
            f"{label} changes remote access ('{shortened(line)}'): Image Builder needs SSH on port 22 (Linux) "
            f"or WinRM over HTTPS on 5986 (Windows) for the whole build, including deprovisioning.",
            path,
        )
    if _REBOOT.search(line):
        add(
            "reboot-in-script",
            f"{label} restarts the VM from a script ('{shortened(line)}'): Packer loses the connection and the "
            f"customizer fails. Use a WindowsRestart customizer (Windows) or split the work around the "
            f"restart.",
            path,
        )
    deletes = _DELETE.search(line) is not None
    if _DEPROV_NAME.search(line):
        if deletes:
            add(
                "deprovision-script-deleted",
                f"{label} deletes the deprovisioning script ('{shortened(line)}'): Image Builder runs "
                f"c:\\DeprovisioningScript.ps1 / /tmp/DeprovisioningScript.sh last; without it the image is "
                f"not generalized and the build may fail.",
                path,
            )
        else:
            add(
                "deprovision-script-overridden",
                f"{label} writes its own deprovisioning script ('{shortened(line)}'): it must still generalize "
                f"the image (Sysprep /generalize, waagent -deprovision+user).",
                path,
                "info",
            )
    elif deletes and _TMP_WIPE.search(line):
        add(
            "deprovision-script-deleted",
            f"{label} wipes the folder holding the deprovisioning script ('{shortened(line)}'); Image Builder "
            f"needs /tmp/DeprovisioningScript.sh (Linux) or c:\\DeprovisioningScript.ps1 (Windows) at the "
            f"end.",
            path,
        )
