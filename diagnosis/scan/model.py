"""What a scan finds: rule hits with bounded evidence, provisioner steps, phase, failure lines, times."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime

from diagnosis.secret_kinds import MASK

EVIDENCE_CHARS = 400  # characters of a line kept as evidence
FIRST_HITS = 3
LAST_HITS = 5
MAX_STEPS = 1000
MAX_SECRET_BLOCKS = 64


@dataclass
class Hit:
    rule_id: str
    line: int
    text: str
    step: int | None = None  # position of the provisioner running at this line
    phase: str = "unknown"


@dataclass
class RuleHits:
    count: int = 0
    first: list[Hit] = field(default_factory=list)
    last: deque[Hit] = field(default_factory=lambda: deque(maxlen=LAST_HITS))

    def add(self, hit: Hit) -> None:
        self.count += 1
        if len(self.first) < FIRST_HITS:
            self.first.append(hit)
        self.last.append(hit)

    def samples(self) -> list[Hit]:
        seen: dict[int, Hit] = {h.line: h for h in self.first}
        for h in self.last:
            seen.setdefault(h.line, h)
        return sorted(seen.values(), key=lambda h: h.line)


@dataclass
class Step:
    """One packer provisioner run, from ``(telemetry) Starting provisioner X`` to ``(telemetry) ending X``."""

    name: str
    position: int
    start_line: int
    start_time: datetime | None = None
    end_line: int | None = None
    end_time: datetime | None = None
    exit_code: int | None = None  # first non-zero exit code seen while it ran (0 when only zeros were seen)
    exit_line: int | None = None
    exit_text: str | None = None
    deprovision: bool = False
    error_line: int | None = None  # "(telemetry) found error: ..." logged for this step (newer packer)
    error_text: str | None = None

    @property
    def ended(self) -> bool:
        return self.end_line is not None


@dataclass
class ScanResult:
    source: str = "log"
    bytes_read: int = 0
    lines: int = 0
    encoding: str = "utf-8"
    hits: dict[str, RuleHits] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)  # the latest provisioner runs (at most 2 * MAX_STEPS)
    steps_started: int = 0
    phase: str = "unknown"  # the last phase reached
    failure_lines: list[Hit] = field(default_factory=list)  # packer's own failure lines (bounded)
    success: bool = False
    success_line: int | None = None  # the last line that said Packer's builds finished
    no_artifacts: Hit | None = None  # packer's "Builds finished but no artifacts were created"
    finalized: bool = False
    exported: bool = False
    operation_id: str | None = None
    first_time: datetime | None = None
    last_time: datetime | None = None
    tail_errors: list[Hit] = field(default_factory=list)  # error-looking lines near the end
    # near the end, the reporter's first sentences saying the build failed or hung
    failure_sentences: list[Hit] = field(default_factory=list)
    truncated_lines: int = 0
    packer_lines: int = 0  # lines in packer's shape seen among the hit lines (log vs pasted text)
    # lines where Packer's UI started a provisioner ("==> azure-arm: Provisioning with ...", "Restarting Machine"),
    # the latest MAX_STEPS, and the first "Provisioning step had errors" line: what pasted output shows of steps
    ui_steps: list[int] = field(default_factory=list)
    ui_failed_line: int | None = None
    # the first line of Packer's capture steps (powering off, capturing, publishing): provisioning was over
    capture_line: int | None = None
    capture_end_line: int | None = None  # the first cleanup line after it: the capture was over, done or failed
    # the first line of Packer's steps after the last provisioner (capturing, a builder's shutdown step)
    provisioned_line: int | None = None
    # lines of a pasted text that are script text inside an image template's "inline" array (set by the engine)
    template_script_lines: frozenset[int] = frozenset()
    # the first line of Packer's output in a pasted text (builder-prefixed lines, a build's summary line); None when
    # it shows none (set by the engine)
    packer_output_line: int | None = None
    # Packer's only lines in a pasted text are its summaries (``Build '<name>' errored``): the reporter left out the
    # builder's prefixes, so the lines above are the build's output as much as the reporter's (set by the engine)
    packer_summary_only: bool = False
    # the build names of Packer's "==> <name>: " lines in a pasted text (set by the engine)
    build_names: frozenset[str] = frozenset()
    # lines of the error a ``Build '<name>' errored`` line repeats: the builder's own error, printed as ``==> <name>:``
    builder_error: frozenset[str] = frozenset()
    # entries whose problem recovered later in the text, and the lines benign or recovered entries explain (set by
    # the engine once per scan)
    recovered: frozenset[str] = frozenset()
    harmless_lines: frozenset[int] = frozenset()
    # the lines of errors that report nothing wrong: a ``whole_record`` benign entry's lines and the PowerShell error
    # records they are part of (set by the engine once per scan; ``admissible`` drops them)
    noise_records: frozenset[int] = frozenset()
    # PEM private keys printed in the log: (BEGIN line, END line or None while open), the latest MAX_SECRET_BLOCKS
    secret_blocks: list[tuple[int, int | None]] = field(default_factory=list)

    @property
    def failed_step(self) -> Step | None:
        """The provisioner the build failed in.

        The one that started and never ended; else (packer also logs ``ending X`` for a provisioner that
        failed) when the build failed: the last one with ``(telemetry) found error`` or a non-zero exit code,
        or the last one that started before packer's first failure line.
        """
        for step in reversed(self.steps):
            if not step.ended:
                return step
        if not self.failure_lines or not self.steps:
            return None
        first_failure = self.failure_lines[0].line
        for step in reversed(self.steps):
            if step.start_line < first_failure and (
                step.error_line is not None or step.exit_code not in (None, 0)
            ):
                return step
        for step in reversed(self.steps):
            if step.start_line < first_failure:
                return step if step.end_line is not None and first_failure - step.end_line <= 50 else None
        return None

    @property
    def stated_failure(self) -> Hit | None:
        """The first of ``failure_sentences`` that no benign or recovered entry explains (``harmless_lines``)."""
        return next((said for said in self.failure_sentences if said.line not in self.harmless_lines), None)

    def in_secret_block(self, line: int) -> bool:
        return any(begin <= line and (end is None or line <= end) for begin, end in self.secret_blocks)

    def mask_secret_lines(self) -> None:
        """Replaces the text of every kept line inside a private key's block by the mask: a key's body line is
        only recognisable by its place between the BEGIN and END lines, never by its own text."""
        if not self.secret_blocks:
            return

        def masked(hit: Hit) -> Hit:
            return replace(hit, text=MASK) if self.in_secret_block(hit.line) else hit

        for rh in self.hits.values():
            rh.first = [masked(h) for h in rh.first]
            rh.last = deque((masked(h) for h in rh.last), maxlen=rh.last.maxlen)
        self.failure_lines = [masked(h) for h in self.failure_lines]
        self.tail_errors = [masked(h) for h in self.tail_errors]
        self.failure_sentences = [masked(h) for h in self.failure_sentences]
        for step in self.steps:
            if step.exit_line is not None and self.in_secret_block(step.exit_line):
                step.exit_text = MASK
            if step.error_line is not None and self.in_secret_block(step.error_line):
                step.error_text = MASK

    @property
    def failure_seen(self) -> bool:
        """Packer printed a failure line, or that no build produced an artifact and none finished."""
        return bool(self.failure_lines) or (self.no_artifacts is not None and not self.success)
