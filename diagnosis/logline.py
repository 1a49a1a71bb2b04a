"""The Packer log-line grammar: one reading of a customization.log line for every part that needs one.

Image Builder writes Packer's output into customization.log with its own prefix; the same lines reach the build
container's output without it, and users paste them with or without either. Shapes (all optional but the text):

    [<operation id>] PACKER OUT ==> azure-arm: Provisioning with powershell script: ...
    [<operation id>] PACKER OUT     azure-arm: <a line the script printed>
    [<operation id>] PACKER ERR 2024/04/30 23:28:50 ui error: ==> azure-arm: Script exited with ...
    [<operation id>] PACKER ERR 2024/04/30 23:28:50 machine readable: azure-arm,error []string{"..."}
    [<operation id>] PACKER ERR 2024/04/30 23:28:50 packer-provisioner-shell plugin: 2024/04/30 23:28:50 [INFO] ...
    [<operation id>] PACKER 2024/12/23 16:27:00 [INFO] (telemetry) Starting provisioner powershell
    ==> azure-arm: ...            azure-arm: ...            2024-04-30T23:28:50Z <anything>
    ==> ubuntu-22_04.azure-arm.image: ...   (a named Packer source: <name>.azure-arm.<name>)

``parse_line`` splits a line into those parts; ``message`` is what is left when every prefix is removed, the
text a person reads (alert evidence, summaries). Every quantifier is bounded, so a line of any length parses in
linear time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from diagnosis.times import parse_time

# Packer builder types whose name alone marks a line as Packer's output ("    <type>: <line>"): the Azure builders,
# "vhd" (the name actions/runner-images' templates give their azure-arm build), and the builders of other clouds and
# hypervisors whose provisioners print the same lines (their names from the Packer plugins' builder registrations)
PACKER_BUILDERS = (
    r"azure-arm|azure-chroot|azure-dtl|vhd|amazon-(?:ebs(?:surrogate|volume)?|instance|chroot)|googlecompute"
    r"|vsphere-(?:iso|clone)|vmware-(?:iso|vmx)|virtualbox-(?:iso|ovf|vm)|hyperv-(?:iso|vmcx)|parallels-(?:iso|pvm)"
    r"|proxmox-(?:iso|clone)|oracle-(?:oci|classic)|alicloud-ecs|tencentcloud-cvm"
)
# makepkg's, mkinitcpio's and pacman's message levels after an arrow ("==> WARNING: ", "==> ERROR: "): no build is
# named so
NOT_A_BUILD_NAME = r"(?!(?:ERROR|WARNING)\b)"
# Image Builder's own prefix: "[<operation id>] PACKER OUT " / "PACKER ERR " / "PACKER ".
_IMAGE_BUILDER = r"^\s{0,8}(?:\[(?P<op>[^\]\s]{1,80})\]\s?)?(?:PACKER(?:\s(?P<stream>OUT|ERR)\b)?\s{0,4})?"
_IMAGE_BUILDER_PREFIX = re.compile(_IMAGE_BUILDER)
_HEAD = re.compile(
    _IMAGE_BUILDER +
    # a CI system's own stamp before Packer's line: Jenkins' "[2022-09-09T10:25:14.366Z] " or "10:25:14  "
    r"(?:\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z\]\s{1,4}|\d\d:\d\d:\d\d\s{1,8}(?=\S))?"
    r"(?:(?P<ts>\d{4}[/-]\d\d[/-]\d\d[ T]\d\d:\d\d:\d\d(?:\.\d{1,9})?Z?):?\s{1,4})?"
    r"(?:(?P<plugin>packer(?:-[\w.-]{1,120})?(?: plugin)?|[\w.-]{1,120} plugin):\s"
    r"(?:(?P<ts2>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)\s)?)?"
    r"(?:(?P<ui>ui error|ui|machine readable):\s?)?"
    r"(?:\[(?P<level>INFO|DEBUG|ERROR|ERR|WARN|WARNING|TRACE)\]\s)?"
    r"(?:(?P<arrow>==>|-->)\s?)?"
    # the build's name: a builder's type (alone or inside "<source>.azure-arm.<name>"), or any name after Packer's
    # arrow
    r"(?:\s{0,8}(?:[\w-]{1,80}\.)?(?P<builder>" + PACKER_BUILDERS + r")(?:\.[\w-]{1,80})?:\s?"
    r"|(?<=> )" + NOT_A_BUILD_NAME + r"(?P<named>[A-Za-z][\w.-]{0,79}):\s)?"
)

PROVISIONER_START = re.compile(r"\(telemetry\) Starting provisioner ([\w.-]{1,80})")
PROVISIONER_END = re.compile(r"\(telemetry\) ending ([\w.-]{1,80})")
# packer-plugin-azure's azure-arm steps after the provisioners, in order (StepGetOSDisk, StepPowerOffCompute,
# StepSnapshotOSDisk, StepCaptureImage, StepPublishToSharedImageGallery): Packer reaches the first one only when
# every provisioner succeeded, and what fails from there on is storing the image
CAPTURE_STEPS = (
    r"Querying the machine's properties|Powering off machine|Snapshotting OS disk|Generalizing machine"
    r"|Capturing image|Publishing to Shared Image Gallery"
)


@dataclass(frozen=True)
class LogLine:
    """One log line split into its parts; ``message`` is the text without any prefix."""

    message: str
    operation_id: str | None = None
    stream: str | None = None  # "OUT" | "ERR" (Image Builder's prefix)
    time: datetime | None = None  # the line's own timestamp (the plugin's when both are printed), UTC
    plugin: str | None = None  # "packer", "packer-provisioner-shell plugin", "packer-plugin-azure plugin"
    ui: str | None = None  # "ui", "ui error", "machine readable"
    level: str | None = None  # "INFO", "DEBUG", "ERROR", ...
    builder: str | None = None  # a type of PACKER_BUILDERS (also in "ubuntu.azure-arm.image") or the name after "==>"
    step_output: bool = False  # "==> azure-arm:" (Packer's step message) rather than "    azure-arm:" (output)

    @property
    def packer(self) -> bool:
        """The line carries Image Builder's ``PACKER`` prefix or a Packer ui/plugin marker."""
        return self.stream is not None or self.plugin is not None or self.ui is not None

    @property
    def is_ui_error(self) -> bool:
        return self.ui == "ui error"


def parse_line(text: str) -> LogLine:
    """Split one log line (no trailing newline needed) into its parts."""
    line = text.rstrip("\r\n")
    m = _HEAD.match(line)
    if m is None or m.end() == 0:
        return LogLine(message=line.strip())
    ts = m.group("ts2") or m.group("ts")
    return LogLine(
        message=line[m.end() :].strip(),
        operation_id=m.group("op"),
        stream=m.group("stream"),
        time=parse_time(ts) if ts else None,
        plugin=m.group("plugin"),
        ui=m.group("ui"),
        level=m.group("level"),
        builder=m.group("builder") or m.group("named"),
        step_output=m.group("arrow") is not None,
    )


def without_image_builder_prefix(text: str) -> str:
    """The line as Packer printed it: only Image Builder's ``[<operation id>] PACKER OUT`` prefix removed."""
    line = text.rstrip("\r\n")
    m = _IMAGE_BUILDER_PREFIX.match(line)
    return line[m.end() :] if m and m.end() else line


def message(text: str) -> str:
    """The readable text of a log line: every Image Builder / Packer prefix removed."""
    return parse_line(text).message
