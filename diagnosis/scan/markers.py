"""The line markers the scanner follows besides the knowledge base: provisioner steps, phases, exit codes,
packer's own failure and success lines.

``MARKERS`` is data: (kind, regex) pairs. A line matching a marker's regex is handed to ``apply_marker`` with its
kind; add a marker by adding a pair here (and, for a new kind, its handling in ``apply_marker``). Each regex is
compiled into the scanning automaton with the knowledge base's patterns and must be linear-time like them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from diagnosis.logline import CAPTURE_STEPS, PROVISIONER_END, PROVISIONER_START
from diagnosis.scan.model import EVIDENCE_CHARS, MAX_SECRET_BLOCKS, MAX_STEPS, Hit, ScanResult, Step
from diagnosis.times import find_time

# what precedes an exit code in packer's and its provisioners' output
_EXIT_PREFIX = (
    r"(?:exited with code:? |non-zero exit status:? |Erroneous exit code |\(exit status "
    r"|errored[^\n]{0,200}exit status:? )"
)


@dataclass(frozen=True)
class Marker:
    kind: str
    pattern: str  # a regex over the line's UTF-8 bytes


MARKERS: tuple[Marker, ...] = (
    Marker("start", r"\(telemetry\) Starting provisioner [\w.-]"),
    Marker("end", r"\(telemetry\) ending [\w.-]"),
    Marker("finalize", r"\(telemetry\) Finalizing"),
    Marker("found-error", r"\(telemetry\) found error"),
    Marker("deploy", r"Deploying deployment template"),
    Marker("connect", r"Waiting for (?:SSH|WinRM)"),
    Marker("connected", r"Connected to SSH|WinRM connected"),
    Marker("deprovision", r"DeprovisioningScript"),
    Marker("distribute", CAPTURE_STEPS),
    # the steps that run after the last provisioner succeeded: the shutdown step of the virtualbox, vmware, hyperv,
    # parallels and qemu builders, amazon-ebs' stopping of the source instance, digitalocean's shutdown and snapshot
    # (step_shutdown.go, step_snapshot.go), hcloud's (step_shutdown_server.go, step_create_snapshot.go),
    # googlecompute's image (step_create_image.go), vsphere's shutdown, snapshot and template
    # (common/step_shutdown.go, step_snapshot.go, step_template.go); the generic wordings only under Packer's arrow
    Marker(
        "provisioned",
        r"Gracefully halting virtual machine|Stopping the source instance"
        r"|(?:Gracefully|Forcefully) shutting down [Dd]roplet\.\.\.|==> [^:\n]{1,80}: Creating snapshot: \S"
        r"|==> [^:\n]{1,80}: (?:Shutting down server|Creating snapshot|Creating image|Running shutdown command"
        r"|Converting virtual machine to template)\.\.\.",
    ),
    # packer-plugin-azure's cleanup of the build's resources (step_deploy_template.go, step_create_resource_group.go)
    Marker(
        "cleanup",
        r"deleting individual resources|[Dd]eleting resource group|Attempting deletion -> |Adding to deletion queue -> "
        r"|Deleting Virtual Machine deployment and its attached resources|Removing the created Deployment object",
    ),
    Marker("exit", _EXIT_PREFIX + r"-?0*[1-9]"),  # a non-zero exit code
    Marker("exit-zero", _EXIT_PREFIX + r"-?0+\b"),
    Marker(
        "failure",
        r"Build '[^'\n]{1,80}' errored|Some builds didn't complete successfully"
        r"|Cancelling build after receiving terminated|Deployment failed with a status of '(?:Failed|Canceled)'"
        # packer command/build.go: the build's context was cancelled by an interrupt (exit 1)
        r"|Cleanly cancelled builds after being interrupted"
        # packer validate and build refusing the template before any build ran (command/validate.go, the core's
        # prepare log line)
        r"|Template validation failed\. Errors are shown below|Build '[^'\n]{1,80}' prepare failure: "
        # packer command/build.go: a build's error as a machine-readable event
        r"|machine readable: [\w.-]{1,120},error \[\]string"
        # packer-plugin-sdk multistep with -on-error=ask/abort or -debug: a step failed, and the question that follows
        r"|Step \"[\w.-]{1,80}\" failed|\[c\] Clean up and exit, \[a\] abort without cleanup"
        # packer-plugin-sdk communicator/step_connect_*.go: the connect step gave up or failed, then halted the build
        # (old Packer said "finished" after)
        r"|Timeout waiting for (?:SSH|WinRM)\.|Error waiting for (?:SSH|WinRM): ",
    ),
    # packer command/build.go: "Build '<name>' finished after <duration>." for each build that succeeded
    Marker("success", r"Builds finished\. The artifacts of successful builds are|Build '[^'\n]{1,80}' finished\b"),
    # printed when no build returned an artifact: a failure unless a build finished (Image Builder's successful
    # runs print it after "Build 'azure-arm' finished")
    Marker("no-artifacts", r"Builds finished but no artifacts were created"),
    Marker("exported", r"Done exporting Packer logs"),
    # Packer's "<build>: Provisioning with ..." (also with the build's prefix cut off by a reporter's copy),
    # Vagrant's "==> <machine>: Running provisioner: <type>..." for a box's provisioners, and the head of Vagrant's
    # report of a guest command that failed, whose stdout and stderr follow it (templates/locales/en.yml
    # ssh_bad_exit_status, winrm_bad_exit_status)
    Marker(
        "ui-step",
        r"(?:[\w.-]: |^[ \t]{0,8})(?:Provisioning with |Restarting Machine\b|Running provisioner: \w"
        r"|The following (?:SSH|WinRM) command responded with a non-zero exit status)",
    ),
    Marker("ui-step-failed", r"Provisioning step had errors"),
    Marker("secret-begin", r"-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY"),
    Marker("secret-end", r"-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY"),
)

# kinds in the order they apply to one line (a step's start before an exit code on the same line)
KIND_ORDER: tuple[str, ...] = tuple(dict.fromkeys(m.kind for m in MARKERS))
_NONZERO_CODE = re.compile(_EXIT_PREFIX + r"(-?0*[1-9]\d{0,18})")
_TIMED = frozenset({"start", "end", "failure", "finalize"})
MAX_FAILURE_LINES = 20


class StepTracker:
    """Applies marker lines, in log order, to a ``ScanResult``: steps, phase, exit codes, times."""

    def __init__(self, result: ScanResult) -> None:
        self.result = result
        self.current: Step | None = None

    def apply(self, kind: str, text: str, line_no: int) -> None:
        res = self.result
        ts = find_time(text) if kind in _TIMED else None
        if ts:
            res.first_time = res.first_time or ts
            res.last_time = ts
        if kind == "start":
            m = PROVISIONER_START.search(text)
            if m:
                res.steps_started += 1
                step = Step(m.group(1), res.steps_started, line_no, ts)
                res.steps.append(step)
                if len(res.steps) > 2 * MAX_STEPS:  # bounded memory on pathological logs: keep the latest
                    del res.steps[:MAX_STEPS]
                self.current = step
                res.phase = "customize"
        elif kind == "end":
            self._end(text, line_no, ts)
        elif kind in ("exit", "exit-zero"):
            cur = self.current or (res.steps[-1] if res.steps else None)
            if cur is None:
                return
            if kind == "exit":
                m = _NONZERO_CODE.search(text)
                if m and cur.exit_code in (None, 0):  # the first non-zero code is the decisive one
                    cur.exit_code, cur.exit_line, cur.exit_text = int(m.group(1)), line_no, text[:EVIDENCE_CHARS]
            elif cur.exit_code is None:
                cur.exit_code, cur.exit_line, cur.exit_text = 0, line_no, text[:EVIDENCE_CHARS]
        elif kind == "found-error":
            cur = self.current or (res.steps[-1] if res.steps else None)
            if cur is not None and cur.error_line is None:
                cur.error_line, cur.error_text = line_no, text[:EVIDENCE_CHARS]
        elif kind == "failure":
            if len(res.failure_lines) < MAX_FAILURE_LINES:
                position = self.current.position if self.current else None
                res.failure_lines.append(Hit("packer-failure", line_no, text[:EVIDENCE_CHARS], position, res.phase))
        elif kind == "success":
            res.success = True
            res.success_line = line_no
        elif kind == "no-artifacts":
            if res.no_artifacts is None:
                res.no_artifacts = Hit("packer-no-artifacts", line_no, text[:EVIDENCE_CHARS], None, res.phase)
        elif kind == "exported":
            res.exported = True
        elif kind == "finalize":
            res.finalized = True
        elif kind == "ui-step":
            if not res.ui_steps or res.ui_steps[-1] != line_no:
                res.ui_steps.append(line_no)
                if len(res.ui_steps) > 2 * MAX_STEPS:  # bounded memory: keep the latest
                    del res.ui_steps[:MAX_STEPS]
        elif kind == "provisioned":
            if res.provisioned_line is None:
                res.provisioned_line = line_no
        elif kind == "ui-step-failed":
            if res.ui_failed_line is None:
                res.ui_failed_line = line_no
        elif kind in ("secret-begin", "secret-end"):
            self._secret_block(kind, line_no)
        else:
            self._phase(kind, line_no)

    def needs_zero_exit(self) -> bool:
        """A zero exit code changes nothing unless the running step has seen no exit code yet."""
        cur = self.current or (self.result.steps[-1] if self.result.steps else None)
        return cur is not None and cur.exit_code is None

    def exit_code_settled(self) -> bool:
        """A non-zero exit code changes nothing until the next step starts (the first one is kept)."""
        cur = self.current or (self.result.steps[-1] if self.result.steps else None)
        return cur is None or cur.exit_code not in (None, 0)

    def failure_settled(self) -> bool:
        """A failure line changes nothing but the last time once the first ones are kept."""
        return len(self.result.failure_lines) >= MAX_FAILURE_LINES and self.result.first_time is not None

    def _secret_block(self, kind: str, line_no: int) -> None:
        """Opens a private key's block at its BEGIN line, closes it at its END line (a block left open runs to
        the end of the log). Past MAX_SECRET_BLOCKS the two oldest merge: more is masked, never less."""
        blocks = self.result.secret_blocks
        is_open = bool(blocks) and blocks[-1][1] is None
        if kind == "secret-begin":
            if not is_open:
                blocks.append((line_no, None))
                if len(blocks) > MAX_SECRET_BLOCKS:
                    blocks[:2] = [(blocks[0][0], blocks[1][1])]
        elif is_open:
            blocks[-1] = (blocks[-1][0], line_no)

    def _end(self, text: str, line_no: int, ts) -> None:
        m = PROVISIONER_END.search(text)
        if not m:
            return
        cur = self.current
        if cur is not None and cur.name == m.group(1):
            cur.end_line, cur.end_time = line_no, ts
            self.current = None
            return
        for step in reversed(self.result.steps):  # an ending without its start: close the latest open one
            if step.name == m.group(1) and not step.ended:
                step.end_line, step.end_time = line_no, ts
                break

    def _phase(self, kind: str, line_no: int) -> None:
        res = self.result
        if kind == "deprovision":
            if self.current is not None:
                self.current.deprovision = True
                res.phase = "deprovision"
        elif kind in ("deploy", "connect", "cleanup"):
            if kind == "cleanup" and res.capture_line is not None and res.capture_end_line is None:
                res.capture_end_line = line_no
            if kind == "cleanup" or res.phase in ("unknown", "deploy", "connect"):
                res.phase = kind
        elif kind == "distribute":
            if res.phase != "cleanup":
                res.phase = "distribute"
                if res.capture_line is None:
                    res.capture_line = line_no
                if res.provisioned_line is None:
                    res.provisioned_line = line_no
        elif kind == "connected" and res.phase in ("unknown", "deploy", "connect"):
            res.phase = "connect"
