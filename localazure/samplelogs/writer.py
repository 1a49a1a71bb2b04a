"""What a sample log is and the writer that stamps its lines: the failure kinds and running stages the
generators know, ``SampleLog`` and ``_Log``."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
